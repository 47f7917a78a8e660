"""uvicorn's h11 protocol with the limits it lacks, for ``pixyproxy serve``.

uvicorn keeps a connection open for as long as a client takes to send a request's headers
(1,100 slow-header connections were held open for 20 s and more) or its body (200 dripping
bodies held their files until the server had none left), and answers an oversized header
block with a bare 400. This protocol closes a connection whose request headers are not
complete within ``header_timeout`` seconds; answers 408 and closes one whose body is not
complete within ``body_timeout`` seconds plus one per ``BODY_RATE`` bytes it declared; and
answers 431 when an incomplete header block passes ``MAX_HEADER_BYTES``. h11 checks that
size only while a request is incomplete, and never counts fields, so
``HeaderLimitMiddleware`` checks both of every complete request.

It is named explicitly (``uvicorn.run(http=GuardedH11Protocol)``) so that installing
httptools never silently swaps these limits out.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from pixyproxy_cli.web.middleware import MAX_HEADER_BYTES

HEADER_TIMEOUT = 10.0
"""Default seconds a client has to send a request's line and headers (HTTP_HEADER_TIMEOUT)."""
BODY_TIMEOUT = 30.0
"""Default seconds a client has to send a request's body (HTTP_BODY_TIMEOUT), on top of the
time ``BODY_RATE`` allows for its declared length."""
BODY_RATE = 1_000_000
"""Bytes a second a large body is allowed: an 805 MB edit has 805 s more."""
DRAIN_SECONDS = 2.0
"""How long a refused request's remaining bytes are read and dropped before closing."""


class GuardedH11Protocol(H11Protocol):
    """H11Protocol with deadlines for request headers and bodies, and 431 for huge headers."""

    header_timeout = HEADER_TIMEOUT
    """Set from the settings when the app starts in each worker (``web.app``)."""
    body_timeout = BODY_TIMEOUT
    """Likewise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._body_deadline: asyncio.TimerHandle | None = None
        self._draining = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clocks with the connection."""
        self._disarm()
        self._disarm_body()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Start the clock when a new request begins on a kept-alive connection."""
        if self._draining:
            return  # the rest of a refused request
        if self._header_deadline is None and self.conn.their_state is h11.IDLE:
            self._arm()
        super().data_received(data)

    def handle_events(self) -> None:
        """Stop the header clock once the headers arrived; run the body's until it has."""
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            self._disarm()
        if self.conn.their_state is h11.SEND_BODY:
            if self._body_deadline is None:
                self._body_deadline = self.loop.call_later(
                    self._body_seconds(), self._body_too_slow
                )
        else:
            self._disarm_body()

    def send_400_response(self, msg: str) -> None:
        """Answer 431 instead when what h11 refused was an oversized header block."""
        if len(self.conn.trailing_data[0]) > MAX_HEADER_BYTES:
            self._send_error(431, "Request header fields too large")
        else:
            self._send_error(400, msg)

    def _send_error(self, status: int, message: str) -> None:
        body = message.encode("ascii")
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        reason = HTTPStatus(status).phrase.encode()
        for event in (
            h11.Response(status_code=status, headers=headers, reason=reason),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self._disarm()
        if self.transport.can_write_eof():
            # Closing with the client's unread bytes in our buffer would make the kernel send
            # a reset, and the client could lose the answer: end our side, drain briefly.
            self.transport.write_eof()
            self._draining = True
            self.loop.call_later(DRAIN_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _body_seconds(self) -> float:
        cycle = getattr(self, "cycle", None)
        headers = dict(cycle.scope["headers"]) if cycle is not None else {}
        declared = headers.get(b"content-length", b"0")
        length = int(declared) if declared.isdigit() else 0
        return self.body_timeout + length / BODY_RATE

    def _disarm_body(self) -> None:
        if self._body_deadline is not None:
            self._body_deadline.cancel()
            self._body_deadline = None

    def _body_too_slow(self) -> None:
        self._body_deadline = None
        if self.transport.is_closing():
            return
        cycle = getattr(self, "cycle", None)
        if cycle is not None and not cycle.response_started:
            # The app, waiting for the rest of the body, is told the client went away; the
            # client is told why (408), and nothing the app does next reaches it.
            cycle.disconnected = True
            cycle.message_event.set()
            self._send_error(408, "Request body not received in time")
        else:
            self.transport.close()

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
