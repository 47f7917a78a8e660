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
import inspect
import json
import re
import threading
import time
import typing
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openai.types import ImageModel, image_generate_params, image_model
from openai.types.image_generate_params import (
    ImageGenerateParamsBase,
    ImageGenerateParamsStreaming,
)

from pixyproxy_cli.data.placeholder import render_png

PNG = render_png("fake openai image", 16, 16)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"fake jpeg body" + b"\xff\xd9"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 " + b"fake webp body"
BY_FORMAT = {"png": PNG, "jpeg": JPEG, "webp": WEBP}
"""What the fake answers for each output_format (bytes that start as the real ones do)."""
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
_hints = typing.get_type_hints(ImageGenerateParamsBase)


def _choices(name: str) -> set[str]:
    """The values an Optional[Literal[...]] parameter of the SDK takes."""
    return set(typing.get_args(typing.get_args(_hints[name])[0]))


OUTPUT_FORMATS = _choices("output_format")
BACKGROUNDS = _choices("background")
MODERATIONS = _choices("moderation")
_quality = _hints["quality"]
QUALITIES = set(typing.get_args(typing.get_args(_quality)[0])) - deprecated_values(
    _field_docs(image_generate_params, "quality")
)
"""The qualities the SDK accepts, less those it documents as deprecated (DALL-E only)."""


@dataclass
class Answer:
    """One scripted answer: a status with a JSON body, optionally after a delay."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


INPUT_TOKENS = 50
"""What the fake reports for a request's prompt (the API counts it once per request)."""
OUTPUT_TOKENS_PER_IMAGE = 1056


def image_answer(data: bytes = PNG, n: int = 1) -> Answer:
    """n images (the k-th with k bytes more at its end, so that the files differ), with the
    request's token usage as the API reports it."""
    items = [{"b64_json": base64.b64encode(data + b"\0" * k).decode()} for k in range(n)]
    usage = {
        "input_tokens": INPUT_TOKENS,
        "input_tokens_details": {"image_tokens": 0, "text_tokens": INPUT_TOKENS},
        "output_tokens": OUTPUT_TOKENS_PER_IMAGE * n,
        "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS_PER_IMAGE * n,
    }
    return Answer(200, {"created": int(time.time()), "data": items, "usage": usage})


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


def refusal(body: dict[str, Any]) -> Answer | None:
    """The API's answer to a generation request it would refuse, or None when it is valid."""
    unknown = sorted(set(body) - GENERATE_PARAMETERS)
    if unknown:
        return error_answer(
            400, f"Unknown parameter: '{unknown[0]}'.", "unknown_parameter", param=unknown[0]
        )
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        return error_answer(400, "Missing required parameter: 'prompt'.", param="prompt")
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
    n = body.get("n", 1)
    if not isinstance(n, int) or not 1 <= n <= 10:
        return error_answer(400, f"Invalid value for n: {n!r}.", "invalid_value", param="n")
    for param, allowed in (
        ("output_format", OUTPUT_FORMATS),
        ("background", BACKGROUNDS),
        ("moderation", MODERATIONS),
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
    size = body.get("size", "auto")
    if size != "auto" and not SIZE.match(str(size)):
        return error_answer(400, f"Invalid value: '{size}'.", "invalid_value", param="size")
    return None


OTHER_MODELS = {"gpt-5.1", "text-embedding-3-large", "whisper-1"}
"""Models the real list holds beside image models (the API lists every model a key has)."""
SHUTDOWN_DATES = {"gpt-image-1-mini": "2027-03-01"}
"""Announced shutdowns, as the API's model objects carry them (``shutdown_date``)."""


def model_object(model: str) -> dict[str, Any]:
    return {
        "id": model,
        "object": "model",
        "created": 1_700_000_000,
        "owned_by": "openai",
        "shutdown_date": SHUTDOWN_DATES.get(model),
    }


class FakeOpenAI:
    """The server: ``base_url`` to point the SDK at, ``script`` to queue answers."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.models: set[str] = set(CURRENT_MODELS)
        """The models this fake API key may use (``/v1/models``)."""
        self._answers: list[Answer] = []
        self._lock = threading.Lock()
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
                if self.path == "/v1/models":
                    data = [model_object(m) for m in sorted(fake.models | OTHER_MODELS)]
                    self._answer(Answer(200, {"object": "list", "data": data}))
                elif self.path.startswith("/v1/models/"):
                    model = self.path.removeprefix("/v1/models/")
                    found = model in fake.models
                    answer = Answer(200, model_object(model)) if found else model_not_found(model)
                    self._answer(answer)
                else:
                    self._answer(error_answer(404, f"Invalid URL (GET {self.path})"))

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                self._record(body)
                if not self.path.endswith("/images/generations"):
                    answer = error_answer(404, f"Invalid URL (POST {self.path})")
                else:
                    answer = refusal(body) or fake._next_answer(
                        body.get("output_format", "png"), body.get("n", 1)
                    )
                if answer.delay and fake._stopping.wait(answer.delay):
                    return
                self._answer(answer)

            def _answer(self, answer: Answer) -> None:
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

    def _next_answer(self, output_format: str = "png", n: int = 1) -> Answer:
        with self._lock:
            if self._answers:
                return self._answers.pop(0)
        return image_answer(BY_FORMAT[output_format], n)

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


def provider_for(server: FakeOpenAI, api_key: str, timeout: float = 5):
    """An OpenAIImageProvider (the default model, no retries) pointed at ``server``."""
    from pixyproxy_cli.core.constants import DEFAULT_IMAGE_MODEL
    from pixyproxy_cli.core.image_options import ImageOptions
    from pixyproxy_cli.data.openai_provider import OpenAIImageProvider

    return OpenAIImageProvider(
        api_key=api_key,
        model=DEFAULT_IMAGE_MODEL,
        options=ImageOptions(size="auto"),
        timeout=timeout,
        max_retries=0,
        base_url=server.base_url,
    )
