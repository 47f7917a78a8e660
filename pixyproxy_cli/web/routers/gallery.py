"""The gallery: HTML pages at ``/`` and under ``/gallery/`` over the same services as the API.

Pages are thin: they read the query or the form, call the services, and render a template
(``web/pages.py`` adds the headers, the cookies and the CSRF check). Every form works
without JavaScript; ``static/gallery.js`` adds loading more images on scroll and the
generate form's progress.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request, Response
from starlette.concurrency import run_in_threadpool

from pixyproxy_cli.core.constants import MAX_IMAGES_PER_REQUEST, MAX_JOBS_QUEUED
from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    InputValidationError,
    RecordNotFoundError,
    TooManyRequestsError,
)
from pixyproxy_cli.core.filters import image_filters
from pixyproxy_cli.core.image_options import IMAGE_FORMATS, qualities_for
from pixyproxy_cli.core.models import ImagePublic, User
from pixyproxy_cli.core.prompt_file import read_prompt_lines
from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.interfaces import PromptServiceInterface
from pixyproxy_cli.service.validation import validate_model
from pixyproxy_cli.web.dependencies import ServicesDep, client_address, cookie_user
from pixyproxy_cli.web.pages import (
    check_csrf,
    redirect,
    render,
    session_token,
    sign_in,
    sign_out,
)
from pixyproxy_cli.web.requests import ImageRequest
from pixyproxy_cli.web.routers.images import generate
from pixyproxy_cli.web.routers.jobs import caller_of, queue

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
"""Thumbnails per page of the grid (the next ones load on scrolling)."""
FILTER_FIELDS = ("q", "model", "since", "until", "order", "mine", "private")
SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536")
SIGN_IN_LABEL = "Gallery sign-in"
WRONG_CREDENTIALS = "Wrong user name or password"


async def page_user(request: Request, services: ServicesDep) -> User | None:
    """The signed-in user of the browser's cookie, or None (kept for the error pages)."""
    viewer = await cookie_user(request, services)
    request.state.viewer = viewer
    # A cookie whose token was revoked or expired is forgotten with this page.
    request.state.stale_session = viewer is None and session_token(request) is not None
    return viewer


PageUser = Annotated[User | None, Depends(page_user)]
CsrfField = Annotated[str | None, Form(alias="csrf")]


def _prompts(services: ServicesDep, viewer: PageUser) -> PromptServiceInterface:
    return services.prompts_for(viewer)


PagePrompts = Annotated[PromptServiceInterface, Depends(_prompts)]


@router.get("/")
def gallery(
    request: Request,
    prompts: PagePrompts,
    viewer: PageUser,
    services: ServicesDep,
    deleted: str | None = None,
    batch: str | None = None,
) -> Response:
    """The grid of images the viewer may see, newest first, filtered by the query.

    With ``batch`` (a list of prompts queued from the form), that batch's jobs come first:
    ``gallery.js`` follows the open ones (their events) until they turn into images.
    """
    given = {name: request.query_params.get(name, "").strip() for name in FILTER_FIELDS}
    after = request.query_params.get("after") or None
    context: dict[str, Any] = {
        "viewer": viewer,
        "filters": given,
        "filtered": any(v for k, v in given.items() if (k, v) != ("order", "newest")),
        "notice": "The image was deleted." if deleted else None,
        "qualities": qualities_for(services.image_model),  # only what the model takes
        "formats": IMAGE_FORMATS,
        "sizes": SIZES,
        "counts": range(1, min(4, MAX_IMAGES_PER_REQUEST) + 1),
        "batch": batch,
        "jobs": [],
    }
    try:
        if batch:
            context["jobs"] = services.jobs.batch_jobs(batch, caller_of(prompts), limit=1000)
        images = _page(prompts, given, after)
    except (InputValidationError, AuthenticationError, RecordNotFoundError) as error:
        return render(request, "gallery.html", 422, images=[], error=error.message, **context)
    more_url = None
    if len(images) > PAGE_SIZE:
        images = images[:PAGE_SIZE]
        kept = {name: value for name, value in given.items() if value}
        more_url = "/?" + urlencode({**kept, "after": images[-1].guid})
    return render(request, "gallery.html", images=images, more_url=more_url, **context)


def _page(
    prompts: PromptServiceInterface, given: dict[str, str], after: str | None
) -> list[ImagePublic]:
    """One page of the grid, and one image more (which says whether there is a next page)."""
    filters = image_filters(
        search=given["q"] or None,
        since=given["since"] or None,
        until=given["until"] or None,
        model=given["model"] or None,
        order=given["order"] or "newest",
    )
    images = prompts.get_all_images(
        limit=PAGE_SIZE + 1,
        after=after,
        mine=bool(given["mine"]),
        private=True if given["private"] else None,
        filters=filters,
    )
    return list(itertools.islice(images, PAGE_SIZE + 1))


@router.get("/gallery/image/{guid}")
def image_page(request: Request, guid: str, prompts: PagePrompts, viewer: PageUser) -> Response:
    """One image: the picture, its details, download, and delete for its owner."""
    image = prompts.get_image_by_guid(guid)
    may_delete = _owns(viewer, image)
    return render(request, "image.html", image=image, viewer=viewer, may_delete=may_delete)


@router.get("/gallery/image/{guid}/delete")
def confirm_delete(request: Request, guid: str, prompts: PagePrompts, viewer: PageUser) -> Response:
    """Asks the owner to confirm the delete (the form posts back here)."""
    image = prompts.get_image_by_guid(guid)
    Caller(viewer=prompts.viewer).check_may_delete(image.guid, image.owner)
    return render(request, "delete.html", image=image, viewer=viewer)


@router.post("/gallery/image/{guid}/delete")
def delete(request: Request, guid: str, prompts: PagePrompts, csrf: CsrfField = None) -> Response:
    """Deletes the image (owner only, CSRF checked), then back to the grid."""
    check_csrf(request, csrf)
    prompts.delete_images([guid])
    return redirect(request, "/?deleted=1")


@router.post("/gallery/generate")
def generate_form(
    request: Request,
    services: ServicesDep,
    prompts: PagePrompts,
    viewer: PageUser,
    prompt: Annotated[str, Form()] = "",
    n: Annotated[str, Form()] = "1",
    size: Annotated[str, Form()] = "",
    quality: Annotated[str, Form()] = "",
    image_format: Annotated[str, Form(alias="format")] = "",
    private: Annotated[str, Form()] = "",
    as_list: Annotated[str, Form(alias="list")] = "",
    csrf: CsrfField = None,
) -> Response:
    """Generates from the form, then shows the image (or the grid, for several).

    With ``list``, the prompt is a list, one prompt a line (or a JSON line with options
    of its own, as ``generate --from`` reads them): it is queued as jobs, and the grid
    shows them as they run.
    """
    check_csrf(request, csrf)
    if private and viewer is None:
        raise AuthenticationError("Sign in to make a private image")
    values: dict[str, Any] = {
        "prompt": prompt,
        "n": int(n) if n.isdecimal() else n,
        "private": bool(private),
    }
    values.update(
        {
            name: value
            for name, value in (("size", size), ("quality", quality), ("format", image_format))
            if value
        }
    )
    if as_list:
        batch = queue(prompts, services, request, _listed(prompt, values))
        return redirect(request, f"/?batch={batch}")
    body = validate_model(ImageRequest, values)
    images = generate(prompts, services, request, body)
    return redirect(request, f"/gallery/image/{images[0].guid}" if len(images) == 1 else "/")


def _listed(text: str, values: dict[str, Any]) -> list[ImageRequest]:
    """The requests of a pasted list: each line's own fields over the form's.

    Raises InputValidationError naming the first line that is not valid.
    """
    lines = read_prompt_lines(text, "the list")
    if len(lines) > MAX_JOBS_QUEUED:
        raise InputValidationError(f"the list has more than {MAX_JOBS_QUEUED} prompts")
    requests = []
    for line in lines:
        fields = {**values, "prompt": line.prompt, **line.options}
        if line.n is not None:
            fields["n"] = line.n
        if line.private is not None:
            fields["private"] = line.private
        try:
            requests.append(validate_model(ImageRequest, fields))
        except InputValidationError as error:
            raise InputValidationError(f"the list, line {line.line}: {error.message}") from None
    return requests


@router.get("/gallery/signin")
def sign_in_page(request: Request, viewer: PageUser, next: str = "/") -> Response:
    """The sign-in form."""
    return render(request, "signin.html", viewer=viewer, next=_local(next), error=None)


@router.post("/gallery/signin")
async def sign_in_form(
    request: Request,
    services: ServicesDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    csrf: CsrfField = None,
) -> Response:
    """Checks the password once, then keeps an API token in the sign-in cookie."""
    check_csrf(request, csrf)
    try:
        user = await run_in_threadpool(
            services.login_throttle.authenticate, username, password, client_address(request)
        )
    except (AuthenticationError, TooManyRequestsError) as error:
        status = 429 if isinstance(error, TooManyRequestsError) else 401
        message = error.message if status == 429 else WRONG_CREDENTIALS
        context = {"next": _local(next), "error": message, "username": username}
        return render(request, "signin.html", status, **context)
    previous = session_token(request)
    if previous is not None:  # signing in again, perhaps as someone else: one token each
        await run_in_threadpool(services.tokens.revoke_token, previous)
    issued = await run_in_threadpool(services.tokens.issue, user, SIGN_IN_LABEL)
    response = redirect(request, _local(next))
    max_age = int((issued.expires_at - issued.created_at).total_seconds())
    sign_in(request, response, issued.token, max_age)
    return response


@router.post("/gallery/signout")
def sign_out_form(request: Request, services: ServicesDep, csrf: CsrfField = None) -> Response:
    """Revokes the sign-in's token and forgets the cookie."""
    check_csrf(request, csrf)
    token = session_token(request)
    if token is not None:
        services.tokens.revoke_token(token)
    response = redirect(request, "/")
    sign_out(request, response)
    return response


def _owns(viewer: User | None, image: ImagePublic) -> bool:
    """Whether the viewer may delete the image (the rule is the service's)."""
    return Caller(viewer=viewer.username if viewer else None).may_delete(image.guid, image.owner)


def _local(target: str) -> str:
    """``target`` when it is a path of this site, else ``/`` (no redirect to elsewhere)."""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"
