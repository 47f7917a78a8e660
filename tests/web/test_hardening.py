"""HTTP edges an outsider tries: forged log lines, proxy headers, HEAD, Allow, If-None-Match,
oversized or slow headers, an unwritable image directory, and limits across two workers."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from pixyproxy_cli.web.dependencies import CurrentUser
from pixyproxy_cli.web.middleware import log_field
from tests.conftest import settings_environment
from tests.helpers import EXECUTABLE, add_user, running_server

GUID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
PASSWORD = "alice's long password"


# -- in process --------------------------------------------------------------------------


def test_log_fields_escape_everything_that_could_forge_a_line_or_a_field():
    assert log_field("/image/abc\r\nFORGED-line") == "/image/abc\\x0d\\x0aFORGED-line"
    assert log_field("a b\tc\\d\x7f\x85\u2028é") == "a\\x20b\\x09c\\x5cd\\x7f\\x85\\u2028é"


def test_a_forged_line_in_the_path_query_or_user_stays_one_access_line(sqlite_api, caplog):
    caplog.set_level(logging.INFO, logger="pixyproxy.access")

    sqlite_api.get("/image/abc%0d%0aFORGED-path")
    sqlite_api.get("/image?after=x%0aFORGED-query")
    sqlite_api.get("/image", auth=("eve\r\nFORGED-user", "x"))

    lines = [r.getMessage() for r in caplog.records if r.name == "pixyproxy.access"]
    assert len(lines) == 3
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert "path=/image/abc\\x0d\\x0aFORGED-path status=422" in lines[0]
    assert "query=after=x%0aFORGED-query" in lines[1]
    assert "user=eve\\x0d\\x0aFORGED-user" in lines[2]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/image", "GET, HEAD, POST"),
        ("PUT", f"/image/{GUID}", "DELETE, GET, HEAD"),
        ("POST", f"/image/{GUID}/content", "GET, HEAD"),
    ],
)
def test_405_names_every_allowed_method(sqlite_api, method, path, allow):
    response = sqlite_api.request(method, path)

    assert response.status_code == 405
    assert response.headers["allow"] == allow


def test_head_answers_as_get_without_a_body(sqlite_api):
    guid = sqlite_api.post("/image", json={"prompt": "a fox"}).json()["guid"]
    content = sqlite_api.get(f"/image/{guid}/content")

    details_head = sqlite_api.request("HEAD", f"/image/{guid}")
    content_head = sqlite_api.request("HEAD", f"/image/{guid}/content")
    not_modified = sqlite_api.request(
        "HEAD", f"/image/{guid}/content", headers={"If-None-Match": content.headers["etag"]}
    )
    missing = sqlite_api.request("HEAD", f"/image/{GUID}")

    assert (details_head.status_code, details_head.content) == (200, b"")
    assert (content_head.status_code, content_head.content) == (200, b"")
    assert content_head.headers["content-length"] == str(len(content.content))
    assert content_head.headers["etag"] == content.headers["etag"]
    assert not_modified.status_code == 304
    assert (missing.status_code, missing.content) == (404, b"")


@pytest.mark.parametrize("header", ["*", 'W/"{etag}"', '"other", "{etag}"'])
def test_if_none_match_star_weak_and_lists_answer_304(sqlite_api, header):
    guid = sqlite_api.post("/image", json={"prompt": "a fox"}).json()["guid"]
    etag = sqlite_api.get(f"/image/{guid}/content").headers["etag"].strip('"')

    response = sqlite_api.get(
        f"/image/{guid}/content", headers={"If-None-Match": header.format(etag=etag)}
    )

    assert response.status_code == 304


def test_more_than_100_header_fields_is_431(sqlite_api):
    headers = [(f"X-Field-{n}", "v") for n in range(1000)]

    response = sqlite_api.client.get("/image", headers=headers)

    assert response.status_code == 431
    assert response.json()["error"] == "headers_too_large"


def test_an_unwritable_image_directory_is_503_without_server_paths(sqlite_api, monkeypatch):
    """As the kernel answers an ordinary user (the suite runs as root, who may write anywhere)."""
    import errno
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)

    response = sqlite_api.post("/image", json={"prompt": "a fox"})

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body == {
        "error": "storage_unavailable",
        "message": "The image storage is not writable; try again later",
        "request_id": response.headers["x-request-id"],
    }
    assert sqlite_api.get("/image").json() == []


# -- a real `pixyproxy serve` ----------------------------------------------------------------


@pytest.fixture
def serve_env(sqlite_settings):
    env = {**os.environ, **settings_environment(sqlite_settings), "IMAGE_SIZE": "16x16"}
    env.pop("OPENAI_API_KEY", None)
    env.update(
        LOGIN_MAX_FAILURES="3",
        GENERATE_RATE_LIMIT="4",
        HTTP_HEADER_TIMEOUT="1",
        HTTP_BODY_TIMEOUT="1",
    )
    add_user(env, "alice", PASSWORD)
    return env


def posts_from(base_url: str, addresses: int) -> list[int]:
    """One anonymous POST /image per claimed X-Forwarded-For address; the statuses."""
    return [
        httpx.post(
            f"{base_url}/image",
            json={"prompt": "a fox"},
            headers={"X-Forwarded-For": f"10.8.0.{n}"},
        ).status_code
        for n in range(addresses)
    ]


def test_x_forwarded_for_cannot_reset_the_limits(serve_env, tmp_path):
    with running_server(serve_env, tmp_path / "serve.log") as (base_url, _):
        wrong = [
            httpx.get(
                f"{base_url}/image",
                auth=("alice", "wrong"),
                headers={"X-Forwarded-For": f"10.9.0.{n}"},
            ).status_code
            for n in range(12)
        ]
        right = httpx.get(
            f"{base_url}/image", auth=("alice", PASSWORD), headers={"X-Forwarded-For": "10.9.1.1"}
        )
        posts = posts_from(base_url, 15)

    assert wrong == [401] * 3 + [429] * 9
    assert right.status_code == 429
    assert posts == [201] * 4 + [429] * 11


def test_named_proxies_are_believed(serve_env, tmp_path):
    args = ("--forwarded-allow-ips", "127.0.0.1")
    with running_server(serve_env, tmp_path / "serve.log", *args) as (base_url, _):
        posts = posts_from(base_url, 6)
    log = (tmp_path / "serve.log").read_text()

    assert posts == [201] * 6  # six different clients behind the proxy
    assert "client=10.8.0.5:" in log


def test_limits_hold_across_two_workers(serve_env, tmp_path):
    with running_server(serve_env, tmp_path / "serve.log", "--workers", "2") as (base_url, _):

        def post(_: int) -> int:
            with httpx.Client(base_url=base_url, timeout=30) as client:  # a new connection
                return client.post("/image", json={"prompt": "a fox"}).status_code

        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = list(pool.map(post, range(12)))
    log = (tmp_path / "serve.log").read_text()

    assert log.count("Started server process") == 2
    assert sorted(statuses) == [201] * 4 + [429] * 8


def test_oversized_and_slow_headers_are_refused(serve_env, tmp_path):
    with running_server(serve_env, tmp_path / "serve.log") as (base_url, _):
        huge = httpx.get(f"{base_url}/image", headers={"X-Big": "x" * 100_000})
        port = int(base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(b"GET /image HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")  # never finished
            slow.settimeout(30)  # bounds the wait; HTTP_HEADER_TIMEOUT=1 closes it first
            started = time.monotonic()
            closed = slow.recv(1024)
            waited = time.monotonic() - started

    assert huge.status_code == 431
    assert closed == b""
    print(f"slow-header connection closed after {waited:.1f} s (HTTP_HEADER_TIMEOUT=1)")


def test_a_body_that_drips_is_408_and_closed(serve_env, tmp_path):
    with running_server(serve_env, tmp_path / "serve.log") as (base_url, _):
        port = int(base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(
                b"POST /image HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n" + b'{"prompt": "'
            )  # and nothing more: 1 s, plus 1 ms for the 1,000 bytes declared
            slow.settimeout(30)  # bounds the wait; HTTP_BODY_TIMEOUT=1 answers first
            answer = b""
            while chunk := slow.recv(4096):
                answer += chunk
        after = httpx.get(f"{base_url}/image")  # the server still answers

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert answer.endswith(b"Request body not received in time")
    assert after.status_code == 200


def test_serve_on_a_port_in_use_is_one_line_and_exit_1(serve_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(EXECUTABLE), "serve", "--port", str(port)],
            env=serve_env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode == 1
    assert result.stderr == f"Error: port {port} is already in use\n"


def test_the_docs_work_offline(sqlite_api):
    import re

    page = sqlite_api.get("/docs")
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)

    assert page.status_code == 200
    assert assets  # the page does load scripts and styles...
    assert all(url.startswith("/") for url in assets), assets  # ...from this server only
    for url in assets:
        response = sqlite_api.get(url)
        assert response.status_code == 200, url
        assert len(response.content) > 1000, url


async def whoami_route(user: CurrentUser) -> dict[str, str]:
    """A route only an authenticated user may call (module level: annotations resolve)."""
    return {"username": user.username}


def test_current_user_is_the_dependency_for_routes_that_need_a_login(sqlite_api):
    sqlite_api.client.app.add_api_route("/whoami-test", whoami_route)

    anonymous = sqlite_api.get("/whoami-test")
    alice = sqlite_api.get("/whoami-test", auth=sqlite_api.auth("alice"))
    wrong = sqlite_api.get("/whoami-test", auth=("alice", "wrong"))

    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Basic realm="pixyproxy"'
    assert alice.json() == {"username": "alice"}
    assert wrong.status_code == 401


def test_listing_private_images_anonymously_is_refused_by_the_service(sqlite_api):
    response = sqlite_api.get("/image?private=true")

    assert response.status_code == 401
    assert response.json()["message"] == "Log in to list your private images"


# -- several images and the API's options (issue 13) ---------------------------------------


def test_post_n_images_answers_an_array_and_stores_them_all(sqlite_api):
    made = sqlite_api.post("/image", json={"prompt": "three foxes", "n": 3})
    one = sqlite_api.post("/image", json={"prompt": "one fox"})

    assert made.status_code == 201
    assert "location" not in made.headers
    assert [image["prompt"] for image in made.json()] == ["three foxes"] * 3
    assert isinstance(one.json(), dict)  # n = 1: unchanged
    assert one.headers["location"] == f"/image/{one.json()['guid']}"
    listed = sqlite_api.get("/image").json()
    assert [image["guid"] for image in listed] == [
        *(image["guid"] for image in made.json()),
        one.json()["guid"],
    ]


def test_post_options_reach_the_provider_over_the_servers_own(sqlite_api):
    from pixyproxy_cli.core.image_options import ImageOptions

    sqlite_api.post(
        "/image",
        json={"prompt": "a fox", "format": "webp", "compression": 70, "quality": "high"},
    )
    sqlite_api.post("/image", json={"prompt": "a fox"})

    sent, default = sqlite_api.provider.options
    assert sent == ImageOptions(format="webp", compression=70, quality="high")
    assert default == ImageOptions()  # the server's settings, unchanged


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"compression": 50}, "compression applies to webp and jpeg, not png"),
        ({"n": 11}, "n: Input should be less than or equal to 10"),
        ({"n": "2"}, "n: Input should be a valid integer"),
        ({"format": "bmp"}, "format: Input should be 'png', 'webp', 'jpeg', 'gif' or 'svg'"),
    ],
)
def test_bad_options_are_422_and_nothing_is_made(sqlite_api, body, message):
    response = sqlite_api.post("/image", json={"prompt": "a fox", **body})

    assert response.status_code == 422
    assert message in response.json()["message"]
    assert sqlite_api.provider.prompts == []


def test_get_usage_is_the_callers_own(sqlite_api):
    sqlite_api.post("/image", json={"prompt": "mine", "n": 2}, auth=sqlite_api.auth("alice"))
    sqlite_api.post("/image", json={"prompt": "anonymous"})

    anonymous = sqlite_api.get("/usage")
    alice = sqlite_api.get("/usage?by=user", auth=sqlite_api.auth("alice"))
    bob = sqlite_api.get("/usage", auth=sqlite_api.auth("bob"))
    bad = sqlite_api.get("/usage?by=week", auth=sqlite_api.auth("alice"))

    assert anonymous.status_code == 401
    assert alice.json() == [
        {
            "key": "alice",
            "images": 2,
            "input_tokens": 0,
            "output_tokens": 0,
            "input_text_tokens": 0,
            "input_image_tokens": 0,
            "output_image_tokens": 0,
            "output_text_tokens": 0,
            "cost": None,
        }
    ]
    assert bob.json() == []
    assert bad.status_code == 422


def test_get_usage_refuses_unknown_query_parameters(sqlite_api):
    response = sqlite_api.get("/usage?by=day&sinse=2026-01-01", auth=sqlite_api.auth("alice"))
    impossible = sqlite_api.get("/usage?since=2026-02-30", auth=sqlite_api.auth("alice"))

    assert response.status_code == 422
    assert response.json()["message"] == "unknown query parameter 'sinse'"
    assert impossible.status_code == 422
    assert impossible.json()["message"] == "since: 2026-02-30 is not a day of the calendar"


def test_with_no_file_left_the_log_stays_small_and_the_server_recovers(serve_env, tmp_path):
    """200 dripping bodies against a server allowed 150 open files: asyncio's accept error
    repeats thousands of times a second (1.8 million lines, 125 MB in 20 s, before)."""
    log = tmp_path / "serve.log"
    with running_server(serve_env, log, open_files=150) as (base_url, _):
        port = int(base_url.rsplit(":", 1)[1])
        drips = []
        for _ in range(200):
            with contextlib.suppress(OSError):
                drip = socket.create_connection(("127.0.0.1", port), timeout=2)
                drip.sendall(b"POST /image HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
                drips.append(drip)
        for _ in range(5):  # HTTP_BODY_TIMEOUT=1: the server answers 408 and lets them go
            for drip in drips:
                with contextlib.suppress(OSError):
                    drip.send(b" ")
            time.sleep(1)
        answers = []
        for drip in drips:
            drip.settimeout(30)
            with contextlib.suppress(OSError):
                answers.append(drip.recv(64))
            drip.close()
        after = httpx.get(f"{base_url}/image", timeout=30)
    text = log.read_text()

    assert after.status_code == 200
    assert len(drips) > 100
    assert [answer for answer in answers if not answer.startswith(b"HTTP/1.1 408 ")] == []
    assert text.count("socket.accept() out of system resource") <= 3  # once in 10 s, at most
    assert len(text) < 100_000, (
        f"{len(text):,} bytes of log; its commonest lines: {_commonest(text)}"
    )


def _commonest(log: str) -> list[tuple[str, int]]:
    """The log's five commonest lines, their digits masked, for a failure's message."""
    import collections
    import re

    shapes = collections.Counter(re.sub(r"[0-9]+", "N", line)[:160] for line in log.splitlines())
    return shapes.most_common(5)


def test_get_image_refuses_unknown_query_parameters_rather_than_list_everything(sqlite_api):
    sqlite_api.post("/image", json={"prompt": "a fox"})
    misspelt = sqlite_api.get("/image?serach=lighthouse")
    every_known = sqlite_api.get(
        "/image?q=fox&since=2026-01-01&until=2999-01-01&model=placeholder-v1&order=newest"
        "&limit=5&mine=false&private=false"
    )

    assert misspelt.status_code == 422
    assert misspelt.json()["message"] == "unknown query parameter 'serach'"
    assert every_known.status_code == 200, every_known.text
