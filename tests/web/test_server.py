"""A real ``pixyproxy serve`` in a subprocess on 127.0.0.1, on SQLite and on MariaDB."""

from __future__ import annotations

import json
import os
import subprocess
import time

import httpx
import pytest

from tests.conftest import settings_environment
from tests.helpers import EXECUTABLE, add_user, concurrently, free_port, running_server

PASSWORD = "a password for the server test"


@pytest.fixture
def server(request, backend_settings, tmp_path):
    env = {**os.environ, **settings_environment(backend_settings), "IMAGE_SIZE": "64x64"}
    env.update(getattr(request, "param", {}))
    env.pop("OPENAI_API_KEY", None)
    add_user(env, "alice", PASSWORD)
    log_path = tmp_path / "serve.log"
    with running_server(env, log_path) as (base_url, _):
        yield base_url, log_path, backend_settings
    assert PASSWORD not in log_path.read_text()  # no secret in the server's log


def test_post_list_details_content_round_trip(server):
    base_url, _, settings = server
    with httpx.Client(base_url=base_url, timeout=30) as client:
        created = client.post("/image", json={"prompt": "a lighthouse at dawn 🌅"})
        guid = created.json()["guid"]
        listed = client.get("/image")
        details = client.get(created.headers["location"])
        content = client.get(f"/image/{guid}/content")

    assert created.status_code == 201
    assert [item["guid"] for item in listed.json()] == [guid]
    assert details.json() == created.json()
    stored = (settings.image_dir / f"{guid}.png").read_bytes()
    assert content.content == stored
    assert content.headers["content-type"] == "image/png"


def test_private_images_over_http_basic(server):
    base_url, _, _ = server
    with httpx.Client(base_url=base_url, timeout=30) as client:
        created = client.post(
            "/image", json={"prompt": "secret", "private": True}, auth=("alice", PASSWORD)
        )
        guid = created.json()["guid"]
        as_owner = client.get(f"/image/{guid}", auth=("alice", PASSWORD))
        as_anyone = client.get(f"/image/{guid}")
        refused = client.post("/image", json={"prompt": "secret", "private": True})

    assert created.status_code == 201
    assert as_owner.status_code == 200
    assert as_anyone.status_code == 404
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Basic realm="pixyproxy"'


def test_concurrent_requests_get_distinct_ids_each_in_the_log(server):
    base_url, log_path, _ = server
    with httpx.Client(base_url=base_url, timeout=60) as client:
        guid = client.post("/image", json={"prompt": "load"}).json()["guid"]
        paths = [f"/image/{guid}", "/image", f"/image/{guid}/content", "/image/not-a-guid"] * 50

    responses = concurrently(base_url, 32, [("GET", path, None) for path in paths])

    assert len(responses) == 200
    assert {response.status_code for response in responses} == {200, 422}
    ids = [response.headers["x-request-id"] for response in responses]
    assert len(set(ids)) == 200
    deadline = time.monotonic() + 10
    while True:
        log = log_path.read_text()
        missing = [request_id for request_id in ids if f"request_id={request_id} " not in log]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert missing == []


@pytest.mark.parametrize(
    "server",
    [{"DB_POOL_SIZE": "4", "DB_POOL_TIMEOUT": "30", "GENERATE_RATE_LIMIT": "0"}],
    indirect=True,
)
def test_64_concurrent_posts_wait_for_the_pool_and_all_succeed(server):
    base_url, log_path, settings = server
    requests = [("POST", "/image", {"prompt": f"burst {n}"}) for n in range(64)]
    responses = concurrently(base_url, 64, requests)
    listed = httpx.get(f"{base_url}/image", timeout=60).json()

    assert [r.status_code for r in responses] == [201] * 64
    guids = {r.json()["guid"] for r in responses}
    assert len(guids) == 64
    assert {item["guid"] for item in listed} == guids
    assert sorted(p.stem for p in settings.image_dir.iterdir()) == sorted(guids)
    assert "No connection to" not in log_path.read_text()


def test_serve_with_two_workers(sqlite_settings, tmp_path):
    temporary = tmp_path / "tmp"  # where serve makes its workers' metrics folder
    temporary.mkdir()
    env = {**os.environ, **settings_environment(sqlite_settings), "IMAGE_SIZE": "64x64"}
    env.update(TMPDIR=str(temporary))
    env.pop("OPENAI_API_KEY", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_path = tmp_path / "workers.log"
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(EXECUTABLE), "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                created = httpx.post(
                    f"http://127.0.0.1:{port}/image", json={"prompt": "two"}, timeout=10
                )
                break
            except httpx.TransportError:
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline
                time.sleep(0.2)
        responses = concurrently(f"http://127.0.0.1:{port}", 8, [("GET", "/image", None)] * 40)
        folders_while_serving = [path.name[:18] for path in temporary.iterdir()]
        # Each scrape may reach either worker: every one must count both workers' requests.
        scrapes = concurrently(f"http://127.0.0.1:{port}", 4, [("GET", "/metrics", None)] * 12)
    finally:
        process.terminate()
        process.wait(20)

    assert created.status_code == 201
    assert {response.status_code for response in responses} == {200}
    assert all(len(response.json()) == 1 for response in responses)
    assert log_path.read_text().count("Started server process") == 2
    listed = 'pixyproxy_http_requests_total{method="GET",route="/image",status="200"}'
    counted = {
        float(line.rsplit(" ", 1)[1])
        for scrape in scrapes
        for line in scrape.text.splitlines()
        if line.startswith(listed + " ")
    }
    assert counted == {40.0}, counted
    assert folders_while_serving == ["pixyproxy-metrics-"]
    assert list(temporary.iterdir()) == []  # serve removed the folder it made


def test_sigterm_lets_a_generation_in_flight_finish_and_store_its_image(
    sqlite_settings, fake_openai, tmp_path
):
    import signal
    import threading
    from dataclasses import replace

    from tests.openai_server import client_environment, image_answer

    env = {
        **os.environ,
        **settings_environment(sqlite_settings),
        **client_environment(fake_openai, "sk-test"),
        "OPENAI_TIMEOUT": "60",
    }
    fake_openai.script(replace(image_answer(), delay=2))  # the provider takes 2 s
    answers: list[httpx.Response] = []
    with running_server(env, tmp_path / "serve.log") as (base_url, process):
        posting = threading.Thread(
            target=lambda: answers.append(
                httpx.post(f"{base_url}/image", json={"prompt": "in flight"}, timeout=60)
            )
        )
        posting.start()
        deadline = time.monotonic() + 60
        while not fake_openai.requests:  # until the request is with the provider (for 2 s)
            assert time.monotonic() < deadline, "the request never reached the provider"
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        posting.join(60)
        # uvicorn exits by the signal it was sent, once it has finished (its documented way).
        assert process.wait(60) in (0, -signal.SIGTERM)

    assert answers[0].status_code == 201, answers[0].text
    guid = answers[0].json()["guid"]
    shown = subprocess.run(
        [str(EXECUTABLE), "show", guid, "--json"], env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["prompt"] == "in flight"  # stored before the exit


def test_a_metrics_folder_that_is_not_one_stops_serve_before_it_starts(sqlite_settings, tmp_path):
    env = {**os.environ, **settings_environment(sqlite_settings)}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "missing")
    result = subprocess.run(
        [str(EXECUTABLE), "serve", "--port", str(free_port()), "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert result.stderr == (
        f"Error: PROMETHEUS_MULTIPROC_DIR={tmp_path / 'missing'} is not a folder: create it "
        "(empty), or unset it (serve --workers N then makes one of its own)\n"
    )
