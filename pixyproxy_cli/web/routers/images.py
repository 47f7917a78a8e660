"""The image resource: generate, list, details, content."""

from __future__ import annotations

import itertools
from email.utils import format_datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from pixyproxy_cli.core.constants import (
    GUID_PATTERN,
    MAX_EDIT_SOURCES,
    MAX_IMAGES_PER_REQUEST,
    MEDIA_TYPE_FORMATS,
    SVG_MEDIA_TYPE,
    THUMBNAIL_SIZES,
)
from pixyproxy_cli.core.edits import LocalImage, source_size_problem
from pixyproxy_cli.core.exceptions import InputValidationError, StorageError
from pixyproxy_cli.core.files import READ_CHUNK
from pixyproxy_cli.core.filters import MAX_MODEL_LENGTH, MOMENT_SCHEMA, image_filters
from pixyproxy_cli.core.image_options import (
    IMAGE_OPTIONS,
    looks_like_guid,
)
from pixyproxy_cli.core.jobs import JobPublic
from pixyproxy_cli.core.json_array import json_array
from pixyproxy_cli.core.models import PROMPT_JSON_SCHEMA, ImageContent, ImagePublic
from pixyproxy_cli.core.search import MAX_SEARCH_LENGTH, SEARCH_PATTERN
from pixyproxy_cli.service.init import Services
from pixyproxy_cli.service.interfaces import (
    PromptServiceInterface,
)
from pixyproxy_cli.service.validation import validate_model
from pixyproxy_cli.web.dependencies import ServicesDep, only_query_parameters
from pixyproxy_cli.web.errors import error_responses
from pixyproxy_cli.web.requests import (
    OPTIONAL_AUTH,
    EditRequest,
    ImageRequest,
    Prompts,
    charge_images,
    give_back_images,
)
from pixyproxy_cli.web.routers.jobs import caller_of, queue, respond_async

router = APIRouter(prefix="/image", tags=["images"])
edits_router = APIRouter(tags=["images"])
"""``POST /edits``: beside ``/image``, not under it, where ``/image/{guid}`` would shadow it."""


GuidPath = Annotated[str, Path(pattern=GUID_PATTERN, description="The image's GUID")]
# A GUID's bytes never change, but the image may be deleted: caches revalidate (a 304).
PUBLIC_CACHE = "public, no-cache"
PRIVATE_CACHE = "private, no-store"
SMALL_FILE_BYTES = 256 * 1024
"""Files up to this size are sent from memory (thumbnails); larger ones are streamed."""


def generate(
    prompts: PromptServiceInterface, services: Services, request: Request, body: ImageRequest
) -> list[ImagePublic]:
    """Generate what ``body`` asks for, charged to the caller first (POST /image, the gallery).

    Raises as ``PromptServiceInterface.generate_images``, and TooManyRequestsError over the
    caller's limit.
    """
    charge_images(prompts, services, request, body.n)
    # The service validates the prompt against the configured limits, and the options.
    images = prompts.generate_images(
        body.model_dump(include={"prompt", "private"}), body.n, body.options(services.image_options)
    )
    request.state.images_made = ("generate", len(images))  # for GET /metrics
    return images


@router.post(
    "",
    status_code=201,
    response_model=ImagePublic | list[ImagePublic],
    summary="Generate images from a prompt",
    description=(
        'Generates an image for `prompt` and stores it. With `"private": true` the image is '
        "visible only to its owner, and HTTP Basic credentials are required. With `n` = 1 "
        "(the default) the answer is the image's details, with `Location`; with `n` > 1 it is "
        "an array of the images' details, oldest first, all stored or none. Each image counts "
        "against the per-user limit. With `Prefer: respond-async` the request is queued as a "
        "job instead: 202 at once, the job in the body, `Location: /jobs/{guid}`."
    ),
    responses={
        202: {
            "model": JobPublic,
            "description": "Queued as a job (Prefer: respond-async); see Location",
        },
        **error_responses(401, 413, 422, 429, 500, 502, 503, 507),
    },
    openapi_extra=OPTIONAL_AUTH,
)
def create_image(
    request_body: ImageRequest,
    prompts: Prompts,
    services: ServicesDep,
    response: Response,
    request: Request,
    prefer: Annotated[
        str | None,
        Header(description="`respond-async`: queue the request as a job and answer 202 at once."),
    ] = None,
) -> Any:
    """POST /image."""
    if respond_async(prefer):
        batch = queue(prompts, services, request, [request_body])
        job = services.jobs.batch_jobs(batch, caller_of(prompts), limit=1)[0]
        location = request.url_for("get_job", guid=job.guid).path
        headers = {"Location": location, "Preference-Applied": "respond-async"}
        return JSONResponse(job.public(), status_code=202, headers=headers)
    images = generate(prompts, services, request, request_body)
    if request_body.n > 1:
        return images
    response.headers["Location"] = str(request.url_for("get_image", guid=images[0].guid).path)
    return images[0]


EDIT_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["prompt", "image"],
    "additionalProperties": False,
    "properties": {
        "prompt": {"type": "string", **PROMPT_JSON_SCHEMA},
        "image": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_EDIT_SOURCES,
            "description": (
                "The sources, in order (the first is the one edited): each the GUID of a "
                "stored image the caller may see, as a text part, or a PNG, JPEG or WebP "
                "file under 50 MB (at most 4096x4096 pixels), as a file part (a part "
                "without a filename that is not a GUID is a file too, of at most 1 MB). "
                "Repeat the field for each."
            ),
            "items": {
                "anyOf": [
                    {"type": "string", "pattern": GUID_PATTERN},
                    {"type": "string", "format": "binary"},
                ]
            },
        },
        "mask": {
            "type": "string",
            "format": "binary",
            "description": "A PNG under 4 MB, the size of the first source: its transparent "
            "pixels mark what to change (not with format gif).",
        },
        "private": {"type": "boolean", "default": False},
        "n": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_IMAGES_PER_REQUEST,
            "default": 1,
            "description": "format svg: 1 only",
        },
        **{
            option.name: {**option.json_schema(), "description": option.summary}
            for option in IMAGE_OPTIONS
            if option.takes("edit")
        },
    },
    # The compression rule only: schemathesis cannot judge an anyOf over a form holding
    # files, so the transparent-background rule is said in `background`'s description.
    "dependentSchemas": {
        name: ImageRequest.model_json_schema()["dependentSchemas"][name]
        for name in ("compression", "frames", "frame_ms")
    },
}
_EDIT_FIELDS = {"prompt", "private", "n"} | {o.name for o in IMAGE_OPTIONS if o.takes("edit")}
_INTEGER_FIELDS = {"n"} | {option.name for option in IMAGE_OPTIONS if option.integer}


@edits_router.post(
    "/edits",
    status_code=201,
    response_model=list[ImagePublic],
    summary="Make images from stored or uploaded images",
    description=(
        "A multipart form: `prompt`, one `image` field per source (a GUID, or a file), an "
        "optional `mask` file, and the options of `POST /image` (no `moderation`: the edit "
        "endpoint has none). The answer is always an array of the new images' details, each "
        "with its `parents` (the GUIDs; null for an uploaded file). An edit of a private "
        "image is private; another user's private image is 404, as for reads. Each image "
        "counts against the per-user limit. Send Content-Length (411 without)."
    ),
    responses=error_responses(401, 404, 411, 413, 422, 429, 500, 502, 503, 507),
    openapi_extra={
        **OPTIONAL_AUTH,
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": EDIT_FORM_SCHEMA}},
        },
    },
)
async def edit_images(
    prompts: Prompts, services: ServicesDep, request: Request
) -> list[ImagePublic]:
    """POST /edits."""
    # The caller's credentials were checked (by ``Prompts``) and one image is charged before a
    # byte of the body is read: a refused upload costs neither memory nor disk. The rest of
    # ``n`` is charged once the form says it; a form refused before any work gives all back.
    await run_in_threadpool(charge_images, prompts, services, request, 1)
    try:
        values, sources, mask = await _edit_form(request)
        fields = validate_model(EditRequest, values)
        services.generation_limiter.check_fits(fields.n)
        if fields.n > 1:
            await run_in_threadpool(charge_images, prompts, services, request, fields.n - 1)
    except Exception:
        await run_in_threadpool(give_back_images, prompts, services, request, 1)
        raise
    images = await run_in_threadpool(
        lambda: prompts.edit_images(
            fields.model_dump(include={"prompt", "private"}),
            sources,
            fields.n,
            fields.options(services.image_options),
            mask=mask,
        )
    )
    request.state.images_made = ("edit", len(images))  # for GET /metrics
    return images


async def _edit_form(
    request: Request,
) -> tuple[dict[str, Any], list[str | LocalImage], LocalImage | None]:
    """The edit form's fields (as JSON values), its sources in order, and its mask.

    Raises InputValidationError for a field that is not part of the form, a field other
    than ``image`` given twice (which one was meant?), or a file where text belongs (and the
    reverse).
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InputValidationError("send the edit as multipart/form-data")
    try:
        form = await request.form(max_files=MAX_EDIT_SOURCES + 1, max_fields=MAX_EDIT_SOURCES + 16)
    except HTTPException as error:  # Starlette's parser: too many parts, a broken body
        raise InputValidationError(f"the form could not be read: {error.detail}") from error
    try:
        values: dict[str, Any] = {}
        sources: list[str | LocalImage] = []
        mask = None
        for name, value in form.multi_items():
            if name != "image" and (name in values or (name == "mask" and mask is not None)):
                raise InputValidationError(f"{name} is given more than once: send it once")
            if isinstance(value, UploadFile):
                if name not in ("image", "mask"):
                    raise InputValidationError(f"{name} must be a text field, not a file")
                label = value.filename or name
                # Starlette spooled the part to a temporary file: its size is known before
                # it is read into memory.
                problem = source_size_problem(label, value.size or 0, mask=name == "mask")
                if problem is not None:
                    raise InputValidationError(problem)
                upload = LocalImage(label, await value.read())
                if name == "mask":
                    mask = upload
                else:
                    sources.append(upload)
            elif name == "image":
                sources.append(value if looks_like_guid(value) else _nameless_file(value))
            elif name in _EDIT_FIELDS:
                values[name] = _form_value(name, value)
            else:
                raise InputValidationError(f"unknown field: {name}")
    finally:
        await form.close()
    return values, sources, mask


def _nameless_file(text: str) -> LocalImage:
    """An ``image`` part sent without a file name that is not a GUID: a file, all the same.

    Starlette decodes such a part as text, UTF-8 when it can and Latin-1 (byte for byte)
    when it cannot; this gives back the bytes the client sent. Such a part is held to
    Starlette's 1 MB for fields without a file name.
    """
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:  # a character past U+00FF: it was valid UTF-8
        return LocalImage("image", text.encode("utf-8"))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:  # not UTF-8, so Latin-1 was how it was read
        return LocalImage("image", data)
    return LocalImage("image", text.encode("utf-8"))


def _form_value(name: str, text: str) -> Any:
    """A form field's text as the JSON value ``ImageRequest`` takes."""
    if name in _INTEGER_FIELDS and text.isdecimal():
        return int(text)
    if name == "private" and text in ("true", "false"):
        return text == "true"
    return text


@router.get(
    "",
    summary="List images",
    description=(
        "Every public image, plus the caller's private ones when authenticated, oldest first "
        "(or `order=newest`), streamed as a JSON array. `q` searches the prompts with the "
        "database's full-text index; `since`, `until` and `model` filter. Page with `limit` "
        "and `after` (the GUID of the last image of the previous page), in either order. "
        "`mine` and `private` need credentials."
    ),
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "A JSON array of image details",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/ImagePublic"},
                    }
                }
            },
        },
        **error_responses(401, 404, 422, 429, 500, 503),
    },
    dependencies=[
        Depends(
            only_query_parameters(
                "limit", "after", "mine", "private", "q", "since", "until", "model", "order"
            )
        )
    ],
    openapi_extra=OPTIONAL_AUTH,
)
def list_images(
    prompts: Prompts,
    limit: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    after: Annotated[
        str | None, Query(pattern=GUID_PATTERN, description="The last GUID of the previous page")
    ] = None,
    mine: bool = False,
    private: bool = False,
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_SEARCH_LENGTH,
            # The rule as a schema, for clients; parse_search enforces it, with its messages.
            json_schema_extra={"pattern": SEARCH_PATTERN},
            description=(
                "Search: images whose prompt has every word (a word begins a word of the "
                "prompt: `light` finds Lighthouse; words with punctuation or emoji, and short "
                "or common words, must appear as written), case aside. 1 to 16 words."
            ),
        ),
    ] = None,
    since: Annotated[
        str | None,
        Query(
            description="Made at or after: a date (YYYY-MM-DD) or a time (ISO 8601, UTC)",
            json_schema_extra=MOMENT_SCHEMA,
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            description="Made up to: a date (that whole day) or a time (ISO 8601, UTC)",
            json_schema_extra=MOMENT_SCHEMA,
        ),
    ] = None,
    model: Annotated[str | None, Query(min_length=1, max_length=MAX_MODEL_LENGTH)] = None,
    order: Literal["oldest", "newest"] = "oldest",
) -> StreamingResponse:
    """GET /image."""
    filters = image_filters(search=q, since=since, until=until, model=model, order=order)
    pages = prompts.get_all_images_json_pages(
        limit=limit, after=after, mine=mine, private=True if private else None, filters=filters
    )
    # Fetch the first chunk now, so that a database failure is still a proper 503.
    first = list(itertools.islice(pages, 1))
    return StreamingResponse(
        json_array(itertools.chain(first, pages)), media_type="application/json"
    )


@router.get(
    "/{guid}",
    response_model=ImagePublic,
    summary="Get an image's details",
    responses=error_responses(401, 404, 422, 429, 500, 503),
    openapi_extra=OPTIONAL_AUTH,
)
async def get_image(guid: GuidPath, prompts: Prompts) -> ImagePublic:
    """GET /image/{guid}."""
    # Cached details are served on the event loop; a miss reads the database in a thread.
    image = prompts.peek_image_by_guid(guid)
    if image is None:
        image = await run_in_threadpool(prompts.get_image_by_guid, guid)
    return image


@router.delete(
    "/{guid}",
    status_code=204,
    summary="Delete an image",
    description=(
        "Deletes the image's details and then its file; no worker serves it afterwards. "
        "Only its owner may (credentials required: 401 without, whatever the GUID names); "
        "images without an owner are deleted "
        "only by the local admin's `pixyproxy rm`. Another user's private image is 404, as "
        "for reads."
    ),
    responses=error_responses(401, 403, 404, 422, 429, 500, 503),
    openapi_extra=OPTIONAL_AUTH,
)
def delete_image(guid: GuidPath, prompts: Prompts) -> Response:
    """DELETE /image/{guid}."""
    prompts.delete_images([guid])
    return Response(status_code=204)


@router.get(
    "/{guid}/content",
    summary="Get an image's file",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The image bytes",
            "content": {media_type: {} for media_type in MEDIA_TYPE_FORMATS},
        },
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        **error_responses(401, 404, 422, 429, 500, 503),
    },
    openapi_extra=OPTIONAL_AUTH,
)
async def get_image_content(
    guid: GuidPath, prompts: Prompts, services: ServicesDep, request: Request
) -> Response:
    """GET /image/{guid}/content."""
    content = prompts.peek_image_file(guid)
    if content is None:
        content = await run_in_threadpool(prompts.get_image_file, guid)
    redirect = services.settings.image_redirect
    return await _file_answer(request, content, f'"{content.guid}-{content.size}"', redirect)


@router.get(
    "/{guid}/thumbnail",
    summary="Get an image's thumbnail",
    description=(
        "A WebP of the image, `size` pixels on its longer side (128, 256 or 512; never "
        "larger than the image), made on first request and cached beside the images; a "
        "GIF's first frame. An SVG is its own thumbnail: the file itself, as `/content` "
        "sends it (sandboxed). The image's visibility rules apply; deleting the image "
        "deletes its thumbnails."
    ),
    response_class=FileResponse,
    responses={
        200: {
            "description": "The thumbnail",
            "content": {"image/webp": {}, SVG_MEDIA_TYPE: {}},
        },
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        **error_responses(401, 404, 422, 429, 500, 503),
    },
    openapi_extra=OPTIONAL_AUTH,
)
async def get_thumbnail(
    guid: GuidPath,
    prompts: Prompts,
    request: Request,
    size: Annotated[
        int,
        Query(
            description="Pixels on the longer side",
            json_schema_extra={"enum": list(THUMBNAIL_SIZES)},
        ),
    ] = 256,
) -> Response:
    """GET /image/{guid}/thumbnail."""
    content = prompts.peek_thumbnail(guid, size)
    if content is None:
        content = await run_in_threadpool(prompts.get_thumbnail, guid, size)
    return await _file_answer(request, content, f'"{content.guid}-t{size}-{content.size}"')


FILE_POLICY = "default-src 'none'; sandbox"
"""The Content-Security-Policy of every stored file answered (contents and thumbnails)."""


async def _file_answer(
    request: Request, content: ImageContent, etag: str, redirect: int = 0
) -> Response:
    """A stored file with its ETag and caching headers, or 304 for a matching If-None-Match.

    A local file is sent as it is (sendfile); an object store's is streamed through, or,
    when ``redirect`` seconds are set (IMAGE_REDIRECT), answered with a 307 to a URL the
    store signs for that long, which the client fetches itself.
    """
    headers = {
        "ETag": etag,
        "Cache-Control": PRIVATE_CACHE if content.private else PUBLIC_CACHE,
        "Last-Modified": format_datetime(content.updated_at, usegmt=True),
        "X-Content-Type-Options": "nosniff",
        # An image file is never a document: should anything but an image ever be stored,
        # a browser opening it runs no script, loads nothing, and is its own origin.
        "Content-Security-Policy": FILE_POLICY,
    }
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    path = content.path
    if path is None:
        url = content.source.url(redirect) if redirect else None
        if url is not None:
            # The URL is a credential for `redirect` seconds: no cache may keep the answer.
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
        if content.size <= SMALL_FILE_BYTES:
            body = await run_in_threadpool(content.source.read)
            return Response(body, media_type=content.media_type, headers=headers)
        headers["Content-Length"] = str(content.size)
        return StreamingResponse(
            content.source.chunks(), media_type=content.media_type, headers=headers
        )
    if content.size <= SMALL_FILE_BYTES:
        # A thumbnail: one read on the loop beats FileResponse's thread hops per chunk.
        try:
            body = path.read_bytes()
        except OSError as error:
            raise StorageError(f"Cannot read the file of image {content.guid}") from error
        return Response(body, media_type=content.media_type, headers=headers)
    return ImageFileResponse(path, media_type=content.media_type, headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names ``etag`` or ``*`` (weak comparison, RFC 9110)."""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


class ImageFileResponse(FileResponse):
    """A FileResponse that reads in ``READ_CHUNK`` (512 KiB) chunks rather than 64 KiB.

    Images are around 1-3 MB, and each chunk costs a worker-thread hop and an ASGI message:
    the size every stored file is streamed in (core/files.py).
    """

    chunk_size = READ_CHUNK
