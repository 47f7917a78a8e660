"""A small OpenAI-compatible Images API server on 127.0.0.1, for tests of the real SDK.

It is a contract with the real service, taken from the installed ``openai`` SDK's own types
and docs rather than from memory. A generation request with a parameter that
``ImageGenerateParams`` does not declare, a retired model (the "Deprecated values" the SDK
documents for ``ImageModel``), a model the SDK does not list, a deprecated quality, or the
legacy ``response_format`` is refused with the error shape the API uses: 404
``model_not_found`` for a retired model, 400 naming the ``param`` otherwise. When the SDK
retires the default model, a test breaks here instead of a user's run.

Tests script answers to valid generation requests in order (``server.script(...)``); once the
script is used up it answers with a PNG. ``GET /v1/models`` and ``GET /v1/models/{id}``
answer with the current image models. It records every request it received.
"""

from __future__ import annotations

import base64
import email.policy
import hashlib
import hmac
import inspect
import io
import json
import re
import threading
import time
import typing
import uuid
from dataclasses import dataclass, field
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openai.types import (
    Batch,
    BatchCreateParams,
    ContentProvenanceCheck,
    FileObject,
    FilePurpose,
    ImageEditStreamEvent,
    ImageGenStreamEvent,
    ImageModel,
    ImagesResponse,
    image_edit_params,
    image_generate_params,
    image_model,
)
from openai.types.image_edit_params import ImageEditParamsBase, ImageEditParamsStreaming
from openai.types.image_generate_params import (
    ImageGenerateParamsBase,
    ImageGenerateParamsStreaming,
)
from openai.types.webhooks import (
    BatchCancelledWebhookEvent,
    BatchCompletedWebhookEvent,
    BatchExpiredWebhookEvent,
    BatchFailedWebhookEvent,
)
from pydantic import TypeAdapter

from pixyproxy_cli.data.providers.placeholder import render_png, render_svg


def picture(image_format: str = "png", size: tuple[int, int] = (16, 16)) -> bytes:
    """A real image of ``size`` in ``image_format`` (Pillow), as the API would answer."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 90, 40)).save(
        buffer, {"jpeg": "JPEG", "webp": "WEBP"}.get(image_format, "PNG")
    )
    return buffer.getvalue()


def animation(size: tuple[int, int], frames: int, frame_ms: int) -> bytes:
    """An animated GIF of ``frames`` frames of ``size``, each ``frame_ms`` long."""
    from PIL import Image

    buffer = io.BytesIO()
    images = [Image.new("RGB", size, (20 * k % 256, 90, 40)) for k in range(frames)]
    images[0].save(
        buffer, "GIF", save_all=True, append_images=images[1:], duration=frame_ms, loop=0
    )
    return buffer.getvalue()


SVG_USAGE = {
    "input_tokens": 40,
    "model": "gpt-5.1",
    "output_tokens": 900,
    "reasoning_tokens": 300,
    "total_tokens": 940,
}
"""What the fake reports for an SVG's authoring (the SDK's SvgUsage)."""
PNG = render_png("fake openai image", 16, 16)
JPEG = picture("jpeg")
WEBP = picture("webp")
BY_FORMAT = {"png": PNG, "jpeg": JPEG, "webp": WEBP}
"""What the fake answers for each output_format when no size is asked for (16x16)."""
SIZE = re.compile(r"^[1-9][0-9]*x[1-9][0-9]*$")


def deprecated_values(docs: str) -> set[str]:
    """The values that the first ``Deprecated values:`` section of SDK docs lists."""
    if "Deprecated values:" not in docs:
        return set()
    section = docs.split("Deprecated values:", 1)[1].split('"""', 1)[0]
    found: set[str] = set()
    for line in section.splitlines():
        item = re.match(r'\s*- ((?:"[^"]+",?\s*)+):', line)
        if item:
            found.update(re.findall(r'"([^"]+)"', item.group(1)))
    return found


def _field_docs(module: Any, name: str) -> str:
    """The docstring the SDK's source gives one TypedDict field (from its definition on)."""
    source = inspect.getsource(module)
    return source.split(f"\n    {name}:", 1)[1].split('"""', 2)[1]


RETIRED_MODELS = deprecated_values(inspect.getsource(image_model))
"""Models the SDK documents as shut down or retired: the API answers 404 for them."""
CURRENT_MODELS = set(typing.get_args(ImageModel)) - RETIRED_MODELS
"""The image models the SDK lists as supported today."""
GENERATE_PARAMETERS = set(typing.get_type_hints(ImageGenerateParamsBase)) | set(
    typing.get_type_hints(ImageGenerateParamsStreaming)
)
EDIT_PARAMETERS = set(typing.get_type_hints(ImageEditParamsBase)) | set(
    typing.get_type_hints(ImageEditParamsStreaming)
)
"""What ``images.edit`` takes (no ``moderation``: the edit endpoint has none)."""
_hints = typing.get_type_hints(ImageGenerateParamsBase)
EDIT_IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp"}
MAX_EDIT_IMAGES = 16
MAX_EDIT_IMAGE_BYTES = 50 * 1000 * 1000
MAX_MASK_BYTES = 4 * 1000 * 1000


def _choices(name: str) -> set[str]:
    """The values an Optional[Literal[...]] parameter of the SDK takes."""
    return set(typing.get_args(typing.get_args(_hints[name])[0]))


OUTPUT_FORMATS = _choices("output_format")
BACKGROUNDS = _choices("background")
MODERATIONS = _choices("moderation")
COMPLEXITIES = _choices("complexity")
_quality = _hints["quality"]
QUALITIES = set(typing.get_args(typing.get_args(_quality)[0])) - deprecated_values(
    _field_docs(image_generate_params, "quality")
)
"""The qualities the SDK accepts, less those it documents as deprecated (DALL-E only)."""


def _models_named(docs: str, before: str) -> set[str]:
    """The models a sentence of SDK docs names before ``before``, their snapshots included
    when it says "including their `SNAPSHOT` snapshots"."""
    sentence = " ".join(docs.split()).split(before, 1)[0].rsplit(". ", 1)[-1]
    names = set(re.findall(r"`(gpt-image-[^`]+|chatgpt-image-[^`]+)`", sentence))
    snapshot = re.search(r"including their `([0-9-]+)` snapshots", sentence)
    if snapshot:
        names |= {f"{name}-{snapshot.group(1)}" for name in set(names)}
    return names


_SIZE_DOCS = _field_docs(image_generate_params, "size")
CUSTOM_SIZE_MODELS = _models_named(_SIZE_DOCS, "arbitrary resolutions are supported")
"""The models the SDK says take any WIDTHxHEIGHT; the others take the standard sizes only."""
STANDARD_SIZES = set(
    re.findall(
        r"`([0-9]+x[0-9]+)`",
        _SIZE_DOCS.split("The standard sizes", 1)[1].split("are supported", 1)[0],
    )
)
MAX_SIZE = tuple(
    int(side)
    for side in re.search(
        r"maximum supported\s+resolution is `([0-9]+)x([0-9]+)`", _SIZE_DOCS
    ).groups()
)
SIZE_STEP = int(re.search(r"divisible by ([0-9]+)", _SIZE_DOCS).group(1))
_RATIO = re.search(r"between ([0-9]+):([0-9]+) and ([0-9]+):([0-9]+)", " ".join(_SIZE_DOCS.split()))
MAX_ASPECT = int(_RATIO.group(3)) // int(_RATIO.group(4))
EXTRA_QUALITY_MODELS = _models_named(
    _field_docs(image_generate_params, "quality"), "also support `xhigh` and `max`"
)
"""The models the SDK says also take xhigh and max."""
_BACKGROUND_DOCS = " ".join(_field_docs(image_generate_params, "background").split())
TRANSPARENT_FORMATS = set(
    re.findall(r"`(\w+)`", _BACKGROUND_DOCS.split("When using `transparent`,", 1)[1])
)
"""The output formats the SDK says a transparent background needs."""


_FIDELITY_DOCS = " ".join(_field_docs(image_edit_params, "input_fidelity").split())
INPUT_FIDELITY_MODELS: dict[str, set[str]] = {}
"""The models the SDK says take an input fidelity, and which values (the others: none)."""
for _values, _model in re.findall(r"Supports ((?:`\w+`(?: and )?)+) on `([^`]+)`", _FIDELITY_DOCS):
    INPUT_FIDELITY_MODELS[_model] = set(re.findall(r"`(\w+)`", _values))
for _model, _values in re.findall(
    r"`([^`]+)` supports only ((?:`\w+`(?: and )?)+)", _FIDELITY_DOCS
):
    INPUT_FIDELITY_MODELS[_model] = set(re.findall(r"`(\w+)`", _values))


_FRAME_DOCS = " ".join(_field_docs(image_generate_params, "frame_count").split())
FRAMES = tuple(
    int(side)
    for side in re.search(r"integers from ([0-9]+) through ([0-9]+)", _FRAME_DOCS).groups()
)
"""The frame counts a GIF may have (the SDK: "Accepts integers from 2 through 16")."""
DEFAULT_FRAMES = int(re.search(r"Defaults to ([0-9]+) when omitted", _FRAME_DOCS).group(1))
_DELAY_DOCS = " ".join(_field_docs(image_generate_params, "frame_duration_ms").split())
DEFAULT_FRAME_MS = int(re.search(r"Defaults to ([0-9]+) when omitted", _DELAY_DOCS).group(1))
MAX_FRAME_MS = int(
    re.search(r"caps the encoded delay at ([0-9,]+) ms", _DELAY_DOCS).group(1).replace(",", "")
)
FORMAT_ONLY = {
    name: re.search(r"Only supported with output_format=(\w+)", docs).group(1)
    for name, docs in (("frame_count", _FRAME_DOCS), ("frame_duration_ms", _DELAY_DOCS))
}
"""The parameters the SDK says only one output format takes, and which."""


def _unsupported(docs: str, sentence: str) -> set[str]:
    """The features a "... does not support a, b, or c" sentence of SDK docs lists."""
    listed = re.search(sentence + r" ([^.]+)\.", docs).group(1)
    return {item.strip().removeprefix("or ").strip() for item in listed.split(",")}


_SVG_DOCS = " ".join(_field_docs(image_generate_params, "svg").split())
UNSUPPORTED = {
    "gif": _unsupported(_FRAME_DOCS, "GIF output does not support"),
    "svg": _unsupported(_SVG_DOCS, "requires n=1 and does not support"),
}
"""What the SDK says each preview format does not take: streaming, partial images, ..."""
SINGLE_IMAGE_FORMATS = {"svg"} if "SVG generation requires n=1" in _SVG_DOCS else set()
_FEATURE_PARAMS = {
    "streaming": "stream",
    "partial images": "partial_images",
    "masks": "mask",
    "custom output compression": "output_compression",
    "output_compression": "output_compression",
    "prompt_rewriter": "prompt_rewriter",
}
"""The request parameter that asks for each feature the docs name."""


def format_refusal(body: dict[str, Any]) -> Answer | None:
    """The API's answer to a request whose GIF or SVG options the SDK says it refuses."""
    output_format = body.get("output_format", "png")
    for param, only in FORMAT_ONLY.items():
        if param in body and output_format != only:
            return error_answer(
                400,
                f"{param} is only supported with output_format={only}.",
                "invalid_value",
                param=param,
            )
    frames = body.get("frame_count")
    if frames is not None and (not isinstance(frames, int) or not FRAMES[0] <= frames <= FRAMES[1]):
        return error_answer(
            400,
            f"Invalid value for frame_count: {frames!r}; expected {FRAMES[0]} to {FRAMES[1]}.",
            "invalid_value",
            param="frame_count",
        )
    delay = body.get("frame_duration_ms")
    if delay is not None and not isinstance(delay, int):
        return error_answer(
            400, f"Invalid type for frame_duration_ms: {delay!r}.", param="frame_duration_ms"
        )
    if "svg" in body and output_format != "svg":
        return error_answer(400, "svg requires output_format=svg.", "invalid_value", param="svg")
    for feature in sorted(UNSUPPORTED.get(output_format, ())):
        param = _FEATURE_PARAMS[feature]
        value = body.get(param)
        if value not in (None, False):
            return error_answer(
                400,
                f"{output_format} output does not support {feature}.",
                "invalid_value",
                param=param,
            )
    if output_format in SINGLE_IMAGE_FORMATS and body.get("n", 1) != 1:
        return error_answer(
            400, f"{output_format} output requires n=1.", "invalid_value", param="n"
        )
    return None


def size_refusal(size: str, model: str) -> str | None:
    """Why the API refuses ``size`` for ``model`` (the SDK's size docs), or None."""
    if size == "auto" or size in STANDARD_SIZES:
        return None
    found = re.fullmatch(r"([1-9][0-9]*)x([1-9][0-9]*)", size)
    if found is None:
        return f"Invalid value: '{size}'."
    if model not in CUSTOM_SIZE_MODELS:
        standard = ", ".join(sorted(STANDARD_SIZES))
        return f"Invalid size '{size}' for {model}: use one of {standard} or auto."
    width, height = int(found[1]), int(found[2])
    if width % SIZE_STEP or height % SIZE_STEP:
        return f"Invalid size '{size}': width and height must be divisible by {SIZE_STEP}."
    if max(width, height) > MAX_SIZE[0] or min(width, height) > MAX_SIZE[1]:
        return f"Invalid size '{size}': the maximum is {MAX_SIZE[0]}x{MAX_SIZE[1]}."
    if max(width, height) > MAX_ASPECT * min(width, height):
        return f"Invalid size '{size}': the aspect ratio must be between 1:3 and 3:1."
    return None


@dataclass
class Answer:
    """One scripted answer: a status with a JSON body, optionally after a delay."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    event_delay: float = 0.0
    """For a streamed answer: the pause after each event (so a watcher can see progress)."""
    events: list[dict[str, Any]] | None = None
    """Events to stream as they are (an error inside a stream, say), instead of the body's."""


INPUT_TOKENS = 50
"""What the fake reports for a request's prompt (the API counts it once per request)."""
OUTPUT_IMAGE_TOKENS_PER_IMAGE = 1000
OUTPUT_TEXT_TOKENS_PER_IMAGE = 56
OUTPUT_TOKENS_PER_IMAGE = OUTPUT_IMAGE_TOKENS_PER_IMAGE + OUTPUT_TEXT_TOKENS_PER_IMAGE


def usage_of(n: int, image_tokens: int = 0, *, output_details: bool = True) -> dict[str, Any]:
    """A request's token usage as the API reports it (``image_tokens``: an edit's sources).

    ``output_details``: with the optional ``output_tokens_details`` (a stream's completed
    event has none in the SDK's type).
    """
    usage: dict[str, Any] = {
        "input_tokens": INPUT_TOKENS + image_tokens,
        "input_tokens_details": {"image_tokens": image_tokens, "text_tokens": INPUT_TOKENS},
        "output_tokens": OUTPUT_TOKENS_PER_IMAGE * n,
        "total_tokens": INPUT_TOKENS + image_tokens + OUTPUT_TOKENS_PER_IMAGE * n,
    }
    if output_details:
        usage["output_tokens_details"] = {
            "image_tokens": OUTPUT_IMAGE_TOKENS_PER_IMAGE * n,
            "text_tokens": OUTPUT_TEXT_TOKENS_PER_IMAGE * n,
        }
    return usage


def image_answer(data: bytes = PNG, n: int = 1, image_tokens: int = 0) -> Answer:
    """n images (the k-th with k bytes more at its end, so that the files differ), with the
    request's token usage as the API reports it."""
    items = [{"b64_json": base64.b64encode(data + b"\0" * k).decode()} for k in range(n)]
    body = {"created": int(time.time()), "data": items, "usage": usage_of(n, image_tokens)}
    ImagesResponse.model_validate(body)  # the SDK's own type accepts what we send
    return Answer(200, body)


def stream_events(
    kind: str, data: bytes, partial_images: int, fields: dict[str, Any], image_tokens: int = 0
) -> list[dict[str, Any]]:
    """The events of a streamed generation (``kind`` image_generation) or edit (image_edit):
    ``partial_images`` partial images, then the completed one, each checked against the SDK's
    own event type."""
    common = {
        "background": fields.get("background", "auto"),
        "created_at": int(time.time()),
        "output_format": fields.get("output_format", "png"),
        "quality": fields.get("quality", "auto"),
        "size": fields.get("size", "auto"),
    }
    encoded = base64.b64encode(data).decode()
    events: list[dict[str, Any]] = [
        {**common, "type": f"{kind}.partial_image", "b64_json": encoded, "partial_image_index": k}
        for k in range(partial_images)
    ]
    events.append(
        {
            **common,
            "type": f"{kind}.completed",
            "b64_json": encoded,
            "usage": usage_of(1, image_tokens, output_details=False),
        }
    )
    adapter = TypeAdapter(
        ImageGenStreamEvent if kind == "image_generation" else ImageEditStreamEvent
    )
    for event in events:
        adapter.validate_python(event)
    return events


def error_answer(
    status: int,
    message: str,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    param: str | None = None,
) -> Answer:
    error_type = "invalid_request_error" if status < 500 else "server_error"
    return Answer(
        status,
        {"error": {"message": message, "type": error_type, "param": param, "code": code}},
        headers or {},
    )


def model_not_found(model: str) -> Answer:
    """The API's answer for a model that does not exist (or was shut down)."""
    return error_answer(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        "model_not_found",
    )


def refusal(body: dict[str, Any], parameters: set[str] = GENERATE_PARAMETERS) -> Answer | None:
    """The API's answer to a generation (or, with EDIT_PARAMETERS, an edit's fields) that it
    would refuse, or None when it is valid."""
    unknown = sorted(set(body) - parameters)
    if unknown:
        return error_answer(
            400, f"Unknown parameter: '{unknown[0]}'.", "unknown_parameter", param=unknown[0]
        )
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        return error_answer(400, "Missing required parameter: 'prompt'.", param="prompt")
    partial = body.get("partial_images")
    if partial is not None and (not isinstance(partial, int) or not 0 <= partial <= 3):
        return error_answer(
            400,
            f"Invalid value for partial_images: {partial!r}.",
            "invalid_value",
            param="partial_images",
        )
    model = body.get("model")
    if model in RETIRED_MODELS:
        return model_not_found(model)
    if model not in CURRENT_MODELS:
        return error_answer(
            400,
            f"Invalid value: '{model}'. Supported values are: "
            + ", ".join(f"'{name}'" for name in sorted(CURRENT_MODELS))
            + ".",
            "invalid_value",
            param="model",
        )
    if "response_format" in body:
        return error_answer(
            400,
            "Unknown parameter: 'response_format'. GPT image models always return base64.",
            "unknown_parameter",
            param="response_format",
        )
    if "quality" in body and body["quality"] not in QUALITIES:
        return error_answer(
            400, f"Invalid value: '{body['quality']}'.", "invalid_value", param="quality"
        )
    if body.get("quality") in ("xhigh", "max") and model not in EXTRA_QUALITY_MODELS:
        return error_answer(
            400,
            f"Invalid value: '{body['quality']}' is not supported by {model}.",
            "invalid_value",
            param="quality",
        )
    if body.get("background") == "transparent" and body.get("output_format", "png") not in (
        TRANSPARENT_FORMATS
    ):
        return error_answer(
            400,
            "Transparent background requires output_format png or webp.",
            "invalid_value",
            param="background",
        )
    n = body.get("n", 1)
    if not isinstance(n, int) or not 1 <= n <= 10:
        return error_answer(400, f"Invalid value for n: {n!r}.", "invalid_value", param="n")
    for param, allowed in (
        ("output_format", OUTPUT_FORMATS),
        ("background", BACKGROUNDS),
        ("moderation", MODERATIONS),
        ("complexity", COMPLEXITIES),
    ):
        if param in body and body[param] not in allowed:
            return error_answer(
                400, f"Invalid value: '{body[param]}'.", "invalid_value", param=param
            )
    compression = body.get("output_compression")
    if compression is not None and (
        not isinstance(compression, int)
        or not 0 <= compression <= 100
        or body.get("output_format", "png") not in ("webp", "jpeg")
    ):
        return error_answer(
            400,
            "output_compression takes 0-100 and only webp or jpeg output.",
            "invalid_value",
            param="output_compression",
        )
    fidelity = body.get("input_fidelity")
    if fidelity is not None and fidelity not in INPUT_FIDELITY_MODELS.get(model, set()):
        return error_answer(
            400,
            f"Invalid value: input_fidelity '{fidelity}' is not supported by {model}.",
            "invalid_value",
            param="input_fidelity",
        )
    problem = size_refusal(str(body.get("size", "auto")), model)
    if problem is not None:
        return error_answer(400, problem, "invalid_value", param="size")
    return format_refusal(body)


def form_values(fields: dict[str, str]) -> dict[str, Any]:
    """A multipart form's text fields as the JSON values they stand for ("2" -> 2, "true")."""
    values: dict[str, Any] = {}
    for name, text in fields.items():
        if text in ("true", "false"):
            values[name] = text == "true"
        elif re.fullmatch(r"-?[0-9]+", text):
            values[name] = int(text)
        else:
            values[name] = text
    return values


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """A multipart/form-data body: its text fields, and its files (field, name, type, data).

    ``image[]`` (how the SDK names an array of files) counts as ``image``.
    """
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, str] = {}
    files: list[dict[str, Any]] = []
    for part in message.iter_parts():
        name = (part.get_param("name", header="content-disposition") or "").removesuffix("[]")
        filename = part.get_param("filename", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if filename is None:
            fields[name] = data.decode()
        else:
            files.append(
                {"field": name, "filename": filename, "type": part.get_content_type(), "data": data}
            )
    return fields, files


def dimensions(data: bytes) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (OSError, ValueError, SyntaxError):
        return None


def edit_refusal(values: dict[str, Any], files: list[dict[str, Any]]) -> Answer | None:
    """The API's answer to an edit it would refuse (fields as values, files), or None."""
    names = set(values) | {file["field"] for file in files}
    answer = refusal({**values, **{name: "file" for name in names - set(values)}}, EDIT_PARAMETERS)
    if answer is not None:
        return answer
    images = [file for file in files if file["field"] == "image"]
    masks = [file for file in files if file["field"] == "mask"]
    if not images:
        return error_answer(400, "Missing required parameter: 'image'.", param="image")
    if len(images) > MAX_EDIT_IMAGES:
        return error_answer(
            400, f"Too many images: at most {MAX_EDIT_IMAGES}.", "invalid_value", param="image"
        )
    for file in images:
        if file["type"] not in EDIT_IMAGE_TYPES or dimensions(file["data"]) is None:
            return error_answer(
                400,
                f"Invalid file '{file['filename']}': unsupported mimetype ('{file['type']}'). "
                "Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'.",
                "invalid_image_format",
                param="image",
            )
        if len(file["data"]) >= MAX_EDIT_IMAGE_BYTES:
            return error_answer(400, "Image files must be under 50MB.", param="image")
    if masks:
        mask = masks[0]
        if mask["type"] != "image/png" or len(mask["data"]) >= MAX_MASK_BYTES:
            return error_answer(400, "The mask must be a PNG under 4MB.", param="mask")
        if dimensions(mask["data"]) != dimensions(images[0]["data"]):
            return error_answer(
                400, "The mask must have the same dimensions as the image.", param="mask"
            )
    return None


OTHER_MODELS = {"gpt-5.1", "text-embedding-3-large", "whisper-1"}
"""Models the real list holds beside image models (the API lists every model a key has)."""


def model_object(model: str, shutdown_date: str | None = None) -> dict[str, Any]:
    """A model as ``GET /v1/models`` gives it. The SDK announces no upcoming shutdown, so
    the fake announces none unless a test scripts one (``FakeOpenAI.shutdown_dates``)."""
    return {
        "id": model,
        "object": "model",
        "created": 1_700_000_000,
        "owned_by": "openai",
        "shutdown_date": shutdown_date,
    }


_batch_hints = typing.get_type_hints(BatchCreateParams)  # Required[...] is dropped
BATCH_ENDPOINTS: tuple[str, ...] = typing.get_args(_batch_hints["endpoint"])
"""The endpoints ``batches.create`` names (the SDK's ``Literal``)."""
COMPLETION_WINDOWS: tuple[str, ...] = typing.get_args(_batch_hints["completion_window"])
FILE_PURPOSES: tuple[str, ...] = typing.get_args(FilePurpose)
BATCH_STEPS = ("validating", "in_progress", "finalizing", "completed")
"""The states a batch passes through, one a retrieve (a fake's day in a few requests)."""
DEPRECATED_ENDPOINTS = {"/v1/videos"}
"""Endpoints the SDK lists and says batch creation no longer accepts."""


class FakeBatchApi:
    """Files and batches as the API keeps them, each checked against the SDK's own type.

    A batch advances a state a retrieve (``BATCH_STEPS``); on reaching ``completed`` its
    lines run through the same rules and answers as live requests: refused lines go to the
    error file, made images to the output file (lines of the API's ``BatchRequestOutput``).
    ``fate`` ends the next batches otherwise: ``expired`` makes only the first half of the
    lines, ``failed`` fails validation.
    """

    def __init__(self, fake: FakeOpenAI) -> None:
        self.fake = fake
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.fate = "completed"
        self.refuse: set[str] = set()
        """Prompts whose lines the safety system refuses (as the API words a refusal)."""
        self._lock = threading.Lock()

    def upload(self, fields: dict[str, str], files: list[dict[str, Any]]) -> Answer:
        """POST /v1/files."""
        purpose = fields.get("purpose")
        if purpose not in FILE_PURPOSES:
            return error_answer(
                400, f"Invalid value for purpose: {purpose!r}.", "invalid_value", param="purpose"
            )
        uploads = [item for item in files if item["field"] == "file"]
        if len(uploads) != 1:
            return error_answer(400, "Missing required parameter: 'file'.", param="file")
        data = uploads[0]["data"]
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        body = {
            "id": file_id,
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": uploads[0]["filename"] or "upload",
            "object": "file",
            "purpose": purpose,
            "status": "processed",
        }
        FileObject.model_validate(body)
        with self._lock:
            self.files[file_id] = body
            self.contents[file_id] = data
        return Answer(200, body)

    def content(self, file_id: str) -> bytes | None:
        """GET /v1/files/{id}/content."""
        with self._lock:
            return self.contents.get(file_id)

    def create(self, body: dict[str, Any]) -> Answer:
        """POST /v1/batches."""
        endpoint = body.get("endpoint")
        if endpoint not in BATCH_ENDPOINTS or endpoint in DEPRECATED_ENDPOINTS:
            return error_answer(
                400, f"Invalid value for endpoint: {endpoint!r}.", "invalid_value", param="endpoint"
            )
        if body.get("completion_window") not in COMPLETION_WINDOWS:
            return error_answer(
                400,
                f"Invalid value for completion_window: {body.get('completion_window')!r}.",
                "invalid_value",
                param="completion_window",
            )
        input_file = self.files.get(str(body.get("input_file_id")))
        if input_file is None:
            return error_answer(404, f"No such File object: {body.get('input_file_id')}")
        if input_file["purpose"] != "batch":
            return error_answer(
                400,
                "The input file must be uploaded with the purpose 'batch'.",
                param="input_file_id",
            )
        batch_id = f"batch_{uuid.uuid4().hex[:24]}"
        now = int(time.time())
        batch = {
            "id": batch_id,
            "object": "batch",
            "endpoint": endpoint,
            "input_file_id": input_file["id"],
            "completion_window": body["completion_window"],
            "status": "validating",
            "created_at": now,
            "expires_at": now + 86400,
            "metadata": body.get("metadata"),
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
        }
        Batch.model_validate(batch)
        with self._lock:
            self.batches[batch_id] = {**batch, "_fate": self.fate}
        return Answer(200, batch)

    def retrieve(self, batch_id: str) -> Answer:
        """GET /v1/batches/{id}: the batch, one state further on."""
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return error_answer(404, f"No batch found with id '{batch_id}'.")
            self._advance(batch)
            return Answer(200, self._public(batch))

    def listing(self) -> Answer:
        """GET /v1/batches: every batch, newest first, in one page (as the SDK pages it)."""
        with self._lock:
            data = [self._public(batch) for batch in reversed(self.batches.values())]
        body = {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": False,
        }
        return Answer(200, body)

    def cancel(self, batch_id: str) -> Answer:
        """POST /v1/batches/{id}/cancel."""
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return error_answer(404, f"No batch found with id '{batch_id}'.")
            if batch["status"] in ("completed", "failed", "expired", "cancelled"):
                return error_answer(409, f"Cannot cancel a batch with status '{batch['status']}'.")
            batch["status"] = "cancelling"
            batch["cancelling_at"] = int(time.time())
            return Answer(200, self._public(batch))

    def _public(self, batch: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in batch.items() if not k.startswith("_")}
        Batch.model_validate(body)
        return body

    def _advance(self, batch: dict[str, Any]) -> None:
        status = batch["status"]
        now = int(time.time())
        if status == "cancelling":
            batch.update(status="cancelled", cancelled_at=now)
        elif status in BATCH_STEPS[:-1]:
            following = BATCH_STEPS[BATCH_STEPS.index(status) + 1]
            if following == "in_progress":
                lines = self.contents[batch["input_file_id"]].decode().splitlines()
                batch["request_counts"]["total"] = len([line for line in lines if line.strip()])
                if batch["_fate"] == "failed":
                    batch.update(
                        status="failed",
                        failed_at=now,
                        errors={
                            "object": "list",
                            "data": [
                                {"code": "invalid_request", "message": "The batch was refused."}
                            ],
                        },
                    )
                    return
                batch["in_progress_at"] = now
            if following == "completed":
                self._run(batch)
                if batch["_fate"] == "expired":
                    batch.update(status="expired", expired_at=now)
                    return
                batch["completed_at"] = now
            batch["status"] = following

    def _run(self, batch: dict[str, Any]) -> None:
        """Answer each line of the input file, as the live endpoint would."""
        lines = [
            line for line in self.contents[batch["input_file_id"]].decode().splitlines() if line
        ]
        if batch["_fate"] == "expired":
            lines = lines[: len(lines) // 2]
        output, errors = [], []
        for line in lines:
            request = json.loads(line)
            body = request.get("body") or {}
            answer = None
            if request.get("url") != batch["endpoint"]:
                answer = error_answer(
                    400, f"The url {request.get('url')!r} is not the batch's endpoint."
                )
            if body.get("prompt") in self.refuse:
                answer = error_answer(
                    400, "Your request was rejected by the safety system.", "moderation_blocked"
                )
            answer = answer or refusal(body) or self.fake._preview_refusal(body)
            answer = answer or self.fake._made_answer(body, [])
            self.fake._remember(answer.body, str(body.get("model", "")))
            record = {
                "id": f"batch_req_{uuid.uuid4().hex[:24]}",
                "custom_id": request.get("custom_id"),
                "response": {
                    "status_code": answer.status,
                    "request_id": f"req_{uuid.uuid4().hex[:24]}",
                    "body": answer.body,
                },
                "error": None,
            }
            (output if answer.status == 200 else errors).append(record)
        batch["request_counts"].update(completed=len(output), failed=len(errors))
        for name, records in (("output_file_id", output), ("error_file_id", errors)):
            if records:
                file_id = f"file-{uuid.uuid4().hex[:24]}"
                data = "".join(json.dumps(record) + "\n" for record in records).encode()
                self.files[file_id] = {"id": file_id, "purpose": "batch_output"}
                self.contents[file_id] = data
                batch[name] = file_id


WEBHOOK_EVENTS = {
    "batch.completed": BatchCompletedWebhookEvent,
    "batch.expired": BatchExpiredWebhookEvent,
    "batch.failed": BatchFailedWebhookEvent,
    "batch.cancelled": BatchCancelledWebhookEvent,
}


def webhook(
    kind: str, batch_id: str, secret: str, *, sent_at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """A webhook's body (checked against the SDK's event type) and its signed headers,
    as the Standard Webhooks scheme the SDK verifies: v1, HMAC-SHA256 of id.timestamp.body
    with the secret (base64 after ``whsec_``)."""
    event = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "created_at": int(time.time()),
        "type": kind,
        "data": {"id": batch_id},
    }
    WEBHOOK_EVENTS[kind].model_validate(event)
    payload = json.dumps(event).encode()
    webhook_id = f"wh_{uuid.uuid4().hex[:24]}"
    timestamp = str(sent_at if sent_at is not None else int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + payload, hashlib.sha256)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + base64.b64encode(mac.digest()).decode(),
        "content-type": "application/json",
    }
    return payload, headers


class FakeOpenAI:
    """The server: ``base_url`` to point the SDK at, ``script`` to queue answers."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.models: set[str] = set(CURRENT_MODELS)
        """The models this fake API key may use (``/v1/models``)."""
        self.made: dict[str, str] = {}
        """The SHA-256 of each image this fake answered with, and the model asked for."""
        self.previews: set[str] = {"gif", "svg"}
        """The preview formats this fake key may ask for (the others: 403)."""
        self.shutdown_dates: dict[str, str] = {}
        """Shutdowns a test announces for its scenario (none by default: the SDK states none)."""
        self._answers: list[Answer] = []
        self._lock = threading.Lock()
        self.batch_api = FakeBatchApi(self)
        """Files and batches (the Batch API)."""
        self.latency = 0.0
        """Seconds every unscripted live answer waits before it is sent (a benchmark's)."""
        self._stopping = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _record(self, body: Any) -> None:
                with fake._lock:
                    fake.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "body": body,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                        }
                    )

            def do_GET(self) -> None:
                self._record(None)
                content = re.fullmatch(r"/v1/files/([^/]+)/content", self.path)
                batch = re.fullmatch(r"/v1/batches/([^/]+)", self.path)
                if content:
                    data = fake.batch_api.content(content.group(1))
                    if data is None:
                        self._answer(error_answer(404, f"No such File object: {content.group(1)}"))
                    else:
                        self._send_bytes(data)
                elif batch:
                    self._answer(fake.batch_api.retrieve(batch.group(1)))
                elif self.path.split("?", 1)[0] == "/v1/batches":
                    self._answer(fake.batch_api.listing())
                elif self.path == "/v1/models":
                    data = [
                        model_object(m, fake.shutdown_dates.get(m))
                        for m in sorted(fake.models | OTHER_MODELS)
                    ]
                    self._answer(Answer(200, {"object": "list", "data": data}))
                elif self.path.startswith("/v1/models/"):
                    model = self.path.removeprefix("/v1/models/")
                    found = model in fake.models
                    answer = (
                        Answer(200, model_object(model, fake.shutdown_dates.get(model)))
                        if found
                        else model_not_found(model)
                    )
                    self._answer(answer)
                else:
                    self._answer(error_answer(404, f"Invalid URL (GET {self.path})"))

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                files: list[dict[str, Any]] = []
                kind = "image_generation"
                if self.path == "/v1/files":
                    fields, files = parse_multipart(self.headers.get("content-type", ""), raw)
                    self._record({**fields, "files": [f["filename"] for f in files]})
                    self._answer(fake.batch_api.upload(fields, files))
                    return
                cancel = re.fullmatch(r"/v1/batches/([^/]+)/cancel", self.path)
                if self.path == "/v1/batches" or cancel:
                    body = json.loads(raw or b"{}")
                    self._record(body)
                    api = fake.batch_api
                    self._answer(api.cancel(cancel.group(1)) if cancel else api.create(body))
                    return
                if self.path.endswith("/content_provenance_checks"):
                    fields, files = parse_multipart(self.headers.get("content-type", ""), raw)
                    self._record({"files": [{**f, "data": len(f["data"])} for f in files]})
                    self._answer(fake._scripted() or fake._provenance(files))
                    return
                if self.path.endswith("/images/edits"):
                    kind = "image_edit"
                    fields, files = parse_multipart(self.headers.get("content-type", ""), raw)
                    body = form_values(fields)
                    self._record(
                        {
                            **body,
                            "files": [
                                {k: v for k, v in f.items() if k != "data"}
                                | {"size": len(f["data"])}
                                for f in files
                            ],
                        }
                    )
                    answer = edit_refusal(body, files)
                else:
                    body = json.loads(raw or b"{}")
                    self._record(body)
                    answer = (
                        error_answer(404, f"Invalid URL (POST {self.path})")
                        if not self.path.endswith("/images/generations")
                        else refusal(body)
                    )
                if answer is None:
                    answer = fake._preview_refusal(body)
                if answer is None:
                    images = [f["data"] for f in files if f["field"] == "image"]
                    answer = fake._next_answer(body, images)
                if answer.delay and fake._stopping.wait(answer.delay):
                    return
                if answer.status == 200 and body.get("stream") and (answer.body or answer.events):
                    self._stream(kind, answer, body)
                else:
                    self._answer(answer, str(body.get("model", "")))

            def _stream(self, kind: str, answer: Answer, body: dict[str, Any]) -> None:
                """An answer's images as the API streams them: server-sent events."""
                assert answer.body is not None
                items = [] if answer.events is not None else answer.body["data"]
                usage = answer.body.get("usage") or {}
                image_tokens = usage.get("input_tokens_details", {}).get("image_tokens", 0)
                events = list(answer.events or [])
                fake._remember(answer.body, body.get("model", ""))
                for item in items:
                    data = base64.b64decode(item["b64_json"])
                    events += stream_events(
                        kind, data, body.get("partial_images", 0), body, image_tokens
                    )
                chunks = [
                    f"event: {event.get('type', 'error')}\ndata: {json.dumps(event)}\n\n".encode()
                    for event in events
                ]
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("content-length", str(sum(map(len, chunks))))
                self.end_headers()
                for chunk in chunks:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    if answer.event_delay and fake._stopping.wait(answer.event_delay):
                        return

            def _send_bytes(self, data: bytes) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/octet-stream")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self, answer: Answer, model: str = "") -> None:
                fake._remember(answer.body, model)
                payload = json.dumps(answer.body or {}).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def _scripted(self) -> Answer | None:
        """The next scripted answer, if a test queued one."""
        with self._lock:
            return self._answers.pop(0) if self._answers else None

    def _remember(self, body: dict[str, Any] | None, model: str) -> None:
        """Keep what each image this fake made hashes to, with its model: the provenance
        check finds its signals in exactly those files."""
        for item in (body or {}).get("data") or []:
            if item.get("b64_json"):
                digest = hashlib.sha256(base64.b64decode(item["b64_json"])).hexdigest()
                with self._lock:
                    self.made[digest] = model

    def _provenance(self, files: list[dict[str, Any]]) -> Answer:
        """The check of ``files``' one ``file`` part, as ``ContentProvenanceCheck``: the
        signals of an image this fake made, none in any other; a file of another kind than
        the SDK names (PNG, JPEG, WebP, GIF) is a 400."""
        uploads = [file for file in files if file["field"] == "file"]
        if len(uploads) != 1:
            return error_answer(400, "Missing required parameter: 'file'.", param="file")
        data = uploads[0]["data"]
        if dimensions(data) is None:
            return error_answer(
                400,
                "Unsupported file format. Supported image formats are PNG, JPEG, WebP, and GIF.",
                "invalid_value",
                param="file",
            )
        model = self.made.get(hashlib.sha256(data).hexdigest())
        if model is None:
            results: list[dict[str, Any]] = [
                {"type": "c2pa", "outcome": "not_detected", "validation_state": "not_present"},
                {"type": "synthid", "outcome": "not_detected"},
            ]
        else:
            made_at = "2026-12-06T09:00:00Z"
            results = [
                {
                    "type": "c2pa",
                    "outcome": "detected",
                    "validation_state": "valid",
                    "model": model,
                    "generated_at": made_at,
                },
                {"type": "synthid", "outcome": "detected", "model": model},
            ]
        body = {
            "created_at": int(time.time()),
            "object": "content_provenance_check",
            "results": results,
        }
        ContentProvenanceCheck.model_validate(body)
        return Answer(200, body)

    def _preview_refusal(self, body: dict[str, Any]) -> Answer | None:
        """403 for a format this key has no access to (``previews``; the SDK: GIF "Requires
        access to the GIF preview", SVG "requires a supported image model and project
        access"). The status is the API's for a permission it denies; the words are ours."""
        output_format = body.get("output_format", "png")
        if output_format in ("gif", "svg") and output_format not in self.previews:
            return error_answer(
                403,
                f"Your project does not have access to {output_format} output with "
                f"{body.get('model')}.",
                param="output_format",
            )
        return None

    def _next_answer(self, body: dict[str, Any], sources: list[bytes]) -> Answer:
        """The scripted answer, else ``n`` images of the size asked for (``auto``: the first
        source's size for an edit, 16x16 for a generation, to keep tests quick)."""
        scripted = self._scripted()
        if scripted is not None:
            return scripted
        return self._made_answer(body, sources)

    def _made_answer(self, body: dict[str, Any], sources: list[bytes]) -> Answer:
        """``n`` images as ``body`` asks (a valid request's), as the API answers them, after
        ``latency`` seconds (a live answer's)."""
        output_format = body.get("output_format", "png")
        size = body.get("size", "auto")
        n = body.get("n", 1)
        image_tokens = 0
        if size != "auto":
            width, height = (int(side) for side in size.split("x"))
        elif sources:
            width, height = dimensions(sources[0]) or (16, 16)
        else:
            width, height = 16, 16
        if sources:
            image_tokens = 100 * len(sources)
        if output_format == "gif":
            data = animation(
                (width, height),
                body.get("frame_count", DEFAULT_FRAMES),
                min(body.get("frame_duration_ms", DEFAULT_FRAME_MS), MAX_FRAME_MS),
            )
        elif output_format == "svg":
            data = render_svg(body["prompt"], width, height)
        elif (width, height) == (16, 16) and not sources:
            data = BY_FORMAT[output_format]
        else:
            data = picture(output_format, (width, height))
        answer = image_answer(data, n, image_tokens)
        answer.delay = self.latency
        if output_format == "svg":
            assert answer.body is not None
            answer.body["svg_usage"] = SVG_USAGE
            ImagesResponse.model_validate(answer.body)
        return answer

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self._answers.extend(answers)

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()


def client_environment(server: FakeOpenAI, api_key: str) -> dict[str, str]:
    """The settings that point pixyproxy at ``server`` with ``api_key``: no retries, 5 s."""
    return {
        "OPENAI_API_KEY": api_key,
        "OPENAI_BASE_URL": server.base_url,
        "OPENAI_MAX_RETRIES": "0",
        "OPENAI_TIMEOUT": "5",
    }


def provider_for(server: FakeOpenAI, api_key: str, timeout: float = 5):
    """An OpenAIImageProvider (the default model, no retries) pointed at ``server``."""
    from pixyproxy_cli.core.constants import DEFAULT_IMAGE_MODEL
    from pixyproxy_cli.core.image_options import ImageOptions
    from pixyproxy_cli.data.providers.openai_provider import OpenAIImageProvider

    return OpenAIImageProvider(
        api_key=api_key,
        model=DEFAULT_IMAGE_MODEL,
        options=ImageOptions(size="auto"),
        timeout=timeout,
        max_retries=0,
        base_url=server.base_url,
    )
