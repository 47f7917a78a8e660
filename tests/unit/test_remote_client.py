"""The remote client's pieces without a server: URLs, the loopback rule, error mapping, and
global options written after the command."""

from __future__ import annotations

import http.server
import threading

import httpx
import pytest

from pixyproxy_cli.commands.options import hoist_global_options
from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    ConfigurationError,
    InputValidationError,
    PermissionDeniedError,
    RecordNotFoundError,
    RemoteServerError,
    TooManyRequestsError,
)
from pixyproxy_cli.data.remote.client import RemoteClient, is_loopback
from pixyproxy_cli.data.remote.logins import normalize_server


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://Pixy.Example.org/", "https://pixy.example.org"),
        ("pixy.example.org:8443", "https://pixy.example.org:8443"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ],
)
def test_a_server_is_kept_as_scheme_host_and_port(given, kept):
    assert normalize_server(given) == kept


@pytest.mark.parametrize("bad", ["ftp://x", "https://", "https://x/path", "https://u@x"])
def test_anything_else_is_refused(bad):
    with pytest.raises(InputValidationError):
        normalize_server(bad)


def test_loopback_addresses():
    assert is_loopback("http://127.0.0.1:8000")
    assert is_loopback("http://127.9.9.9")
    assert is_loopback("http://[::1]:8000")
    assert is_loopback("http://localhost:1")
    assert not is_loopback("http://10.0.0.1")
    assert not is_loopback("http://pixy.example.org")


def test_no_credentials_over_plain_http_to_another_host():
    client = RemoteClient("http://pixy.example.org", token="pxy_x", environ={})

    with pytest.raises(ConfigurationError, match="Refusing to send credentials over plain HTTP"):
        client.request("GET", "/image")


def test_https_to_a_server_that_speaks_plain_http_says_to_use_http():
    # "pixyproxy login --server 127.0.0.1:8000" means https://; `serve` without a
    # certificate speaks plain HTTP, and OpenSSL's "wrong version number" does not say so.
    class Plain(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_error(404)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Plain)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        client = RemoteClient(normalize_server(f"127.0.0.1:{port}"), environ={})
        with pytest.raises(RemoteServerError) as caught:
            client.request("GET", "/image")
    finally:
        server.shutdown()
        server.server_close()

    message = caught.value.message
    assert message.startswith(f"The pixyproxy server at https://127.0.0.1:{port} does not speak ")
    assert message.endswith(f"; if it serves plain HTTP, use http://127.0.0.1:{port}")


def answer(status, body=None, **headers):
    headers = {"x-request-id": "r1", **headers}
    if body is None:
        return httpx.Response(status, text="<h1>no</h1>", headers={"content-type": "text/html"})
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, "authentication_failed", AuthenticationError),
        (403, "forbidden", PermissionDeniedError),
        (404, "not_found", RecordNotFoundError),
        (422, "validation_error", InputValidationError),
        (404, "some_future_code", RecordNotFoundError),  # unknown code: by status
    ],
)
def test_a_servers_error_comes_back_as_the_class_that_raised_it(status, code, expected):
    client = RemoteClient("http://127.0.0.1:1", environ={})

    error = client._error(answer(status, {"error": code, "message": "the words"}))

    assert type(error) is expected
    assert error.message == "the words"


def test_429_says_when_to_retry():
    client = RemoteClient("http://127.0.0.1:1", environ={})

    error = client._error(
        answer(429, {"error": "too_many_requests", "message": "Slow down"}, **{"retry-after": "7"})
    )

    assert isinstance(error, TooManyRequestsError)
    assert (error.message, error.retry_after) == ("Slow down (retry after 7 s)", 7.0)


def test_an_answer_that_is_not_pixyproxys_is_said_so():
    client = RemoteClient("http://127.0.0.1:1", environ={})

    error = client._error(answer(502))

    assert isinstance(error, RemoteServerError)
    assert (
        error.message
        == "http://127.0.0.1:1 did not answer as a pixyproxy server (HTTP 502, text/html)"
    )


@pytest.mark.parametrize(
    ("args", "hoisted"),
    [
        (["list", "--server", "URL", "--json"], ["--server", "URL", "list", "--json"]),
        (["show", "G", "--server=URL"], ["--server=URL", "show", "G"]),
        (["--local", "list"], ["--local", "list"]),
        (["list", "--local"], ["--local", "list"]),
        (["generate", "--", "--server", "x"], ["generate", "--", "--server", "x"]),
        (["generate", "--server"], ["generate", "--server"]),  # no value: left to the parser
        (["list", "-q", "--json"], ["-q", "list", "--json"]),
        (["show", "G", "--verbose"], ["--verbose", "show", "G"]),
    ],
)
def test_global_options_may_follow_the_command(args, hoisted):
    assert hoist_global_options(args) == hoisted


def test_a_model_entry_from_a_newer_server_keeps_what_this_client_knows():
    from pixyproxy_cli.service.models import ModelEntry

    entry = ModelEntry.from_json(
        {"id": "gpt-image-2", "default": True, "available": True, "pricing": {"per": "image"}}
    )

    assert entry == ModelEntry("gpt-image-2", default=True, available=True)
