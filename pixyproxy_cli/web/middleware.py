"""ASGI middleware: the request log line (with its id), and a cap on request body size.

Logging is middleware rather than a dependency because a dependency runs before the
response exists and cannot see its status or duration.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from pixyproxy_cli.web.context import new_request_id, request_id_var

access_log = logging.getLogger("pixyproxy.access")
logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
UNEXPECTED_MESSAGE = "An unexpected error occurred; quote the request id to report it"


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
            client = scope.get("client")
            access_log.info(
                "request_id=%s method=%s path=%s status=%d duration_ms=%.1f client=%s",
                request_id,
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
                f"{client[0]}:{client[1]}" if client else "-",
            )
            request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """Answers 413 to a request body over ``limit`` bytes, before the app reads it all."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Check Content-Length up front, and the streamed size as it arrives."""
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            # No route reads the body of other methods, so there is nothing to guard.
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or {}).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.limit:
                await self._too_large(send)
                return
            await self.app(scope, receive, send)
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
                await self._too_large(send)
                return
            if not message.get("more_body", False):
                break
        replay = iter(messages)

        async def replayed_receive() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replayed_receive, send)

    async def _too_large(self, send: Any) -> None:
        await send_json(
            send,
            413,
            {
                "error": "request_too_large",
                "message": f"The request body is larger than {self.limit:,} bytes",
                "request_id": request_id_var.get(),
            },
        )
