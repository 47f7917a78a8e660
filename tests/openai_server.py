"""A small OpenAI-compatible Images API server on 127.0.0.1, for tests of the real SDK.

Tests script its answers in order (``server.script(...)``); once the script is used up it
answers every request with a PNG. It records each request it received.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pixyproxy_cli.data.placeholder import render_png

PNG = render_png("fake openai image", 16, 16)


@dataclass
class Answer:
    """One scripted answer: a status with a JSON body, optionally after a delay."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def image_answer(data: bytes = PNG) -> Answer:
    return Answer(
        200, {"created": int(time.time()), "data": [{"b64_json": base64.b64encode(data).decode()}]}
    )


def error_answer(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> Answer:
    error_type = "invalid_request_error" if status < 500 else "server_error"
    return Answer(
        status,
        {"error": {"message": message, "type": error_type, "param": None, "code": code}},
        headers or {},
    )


class FakeOpenAI:
    """The server: ``base_url`` to point the SDK at, ``script`` to queue answers."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.requests.append(
                        {
                            "path": self.path,
                            "body": body,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                        }
                    )
                    answer = fake._answers.pop(0) if fake._answers else image_answer()
                if not self.path.endswith("/images/generations"):
                    answer = error_answer(404, f"no route {self.path}")
                if answer.delay and fake._stopping.wait(answer.delay):
                    return
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
    """An OpenAIImageProvider (gpt-image-1, no retries) pointed at ``server``."""
    from pixyproxy_cli.data.openai_provider import OpenAIImageProvider

    return OpenAIImageProvider(
        api_key=api_key,
        model="gpt-image-1",
        size="auto",
        quality="auto",
        timeout=timeout,
        max_retries=0,
        base_url=server.base_url,
    )
