"""ASGI middleware: the request log line (with its id), HEAD, and caps on headers and body.

Logging is middleware rather than a dependency because a dependency runs before the
response exists and cannot see its status or duration.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from pixyproxy_cli.web.context import new_request_id, request_id_var

access_log = logging.getLogger("pixyproxy.access")
logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
UNEXPECTED_MESSAGE = "An unexpected error occurred; quote the request id to report it"
MAX_HEADER_FIELDS = 100
"""Header fields a request may carry; more is answered 431."""
MAX_HEADER_BYTES = 16 * 1024
"""The size of a request's header fields together; more is answered 431."""

# Whatever could end a log line or fake a field: control characters (C0, DEL, C1), the
# Unicode line separators, spaces, and the backslash that introduces an escape.
_UNSAFE_IN_LOGS = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029\\]")


def log_field(value: str) -> str:
    r"""``value`` with every character that could forge a log line or field escaped.

    ``"a\r\nb c"`` becomes ``a\x0d\x0ab\x20c``: one line, one field, and readable.
    """
    return _UNSAFE_IN_LOGS.sub(_escaped, value)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


async def send_json(send: Any, status: int, body: dict[str, Any]) -> None:
    """Send a whole JSON response through the raw ASGI ``send``."""
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RequestLogMiddleware:
    """Gives each request an id (``X-Request-ID``) and logs one line when it ends.

    The line: ``request_id=… method=… path=… status=… duration_ms=… client=host:port``.
    Every response also gets ``X-Content-Type-Options: nosniff``.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Run the request with its id set, then log it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                if not any(name.lower() == b"x-content-type-options" for name, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            # Answered here, not by Starlette's outermost error middleware, so that the 500
            # still carries the request id (header and body) and is logged under it.
            logger.error("unexpected %s", type(error).__name__, exc_info=error)
            if response_started:
                raise
            body = {"error": "internal_error", "message": UNEXPECTED_MESSAGE}
            await send_json(send_with_id, 500, {**body, "request_id": request_id})
        finally:
            metrics = getattr(getattr(scope.get("app"), "state", None), "metrics", None)
            if metrics is not None:
                metrics.record(scope, status, started)
            client = scope.get("client")
            state = scope.get("state") or {}
            query = scope.get("query_string", b"").decode("latin-1")
            access_log.info(
                "request_id=%s method=%s path=%s%s status=%d duration_ms=%.1f client=%s user=%s",
                request_id,
                log_field(scope["method"]),
                log_field(scope["path"]),
                f" query={log_field(query)}" if query else "",
                status,
                (time.perf_counter() - started) * 1000,
                log_field(f"{client[0]}:{client[1]}") if client else "-",
                log_field(state["user"]) if state.get("user") else "-",
            )
            request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """Answers 413 to a request body over ``limit`` bytes, before the app reads it all.

    ``uploads`` names paths that take larger bodies (file uploads) and their own limits;
    there the body must declare its length (411 otherwise), since buffering an unsized
    upload to count it would hold hundreds of megabytes in memory.
    """

    def __init__(self, app: Any, limit: int, uploads: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.uploads = uploads or {}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Check Content-Length up front, and the streamed size as it arrives."""
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            # No route reads the body of other methods, so there is nothing to guard.
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or {}).get(b"content-length")
        limit = self.uploads.get(scope["path"], self.limit)
        if declared is not None:
            if declared.isdigit() and int(declared) > limit:
                await self._too_large(send, limit)
                return
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.uploads:
            await send_json(
                send,
                411,
                {
                    "error": "length_required",
                    "message": "Send uploads with a Content-Length",
                    "request_id": request_id_var.get(),
                },
            )
            return
        # No declared length (chunked): read the body here, at most `limit` bytes of it, and
        # hand the app what was read. The app's own body parsing would swallow an error.
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > self.limit:
                await self._too_large(send, self.limit)
                return
            if not message.get("more_body", False):
                break
        replay = iter(messages)

        async def replayed_receive() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replayed_receive, send)

    async def _too_large(self, send: Any, limit: int) -> None:
        await send_json(
            send,
            413,
            {
                "error": "request_too_large",
                "message": f"The request body is larger than {limit:,} bytes",
                "request_id": request_id_var.get(),
            },
        )


class HeaderLimitMiddleware:
    """Answers 431 to more than ``MAX_HEADER_FIELDS`` header fields or ``MAX_HEADER_BYTES``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Count the header fields before anything reads them."""
        headers = scope.get("headers") or () if scope["type"] == "http" else ()
        if (
            len(headers) > MAX_HEADER_FIELDS
            or sum(len(name) + len(value) + 4 for name, value in headers) > MAX_HEADER_BYTES
        ):
            message = (
                f"A request may carry at most {MAX_HEADER_FIELDS} header fields of "
                f"{MAX_HEADER_BYTES:,} bytes in all"
            )
            await send_json(
                send,
                431,
                {
                    "error": "headers_too_large",
                    "message": message,
                    "request_id": request_id_var.get(),
                },
            )
            return
        await self.app(scope, receive, send)


class HeadMiddleware:
    """Answers HEAD as GET without the body: the same status and headers (RFC 9110 9.3.2)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Run the GET; send its status and headers, and an empty body."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        ended = False

        async def send_headers_only(message: Message) -> None:
            nonlocal ended
            if message["type"] == "http.response.body":
                if ended:
                    return
                ended = not message.get("more_body", False)
                message = {"type": "http.response.body", "body": b"", "more_body": not ended}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
