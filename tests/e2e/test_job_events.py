"""A job over real HTTP: the installed ``serve`` runs it on its job workers, a real client
reads its server-sent events as they come, and SIGTERM waits for the job in hand."""

from __future__ import annotations

import base64
import json
import os
import signal
import time

import httpx

from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.init import build_services
from tests.conftest import settings_environment
from tests.helpers import running_server
from tests.openai_server import image_answer


def test_events_arrive_as_the_job_runs_and_sigterm_finishes_the_job_in_hand(
    sqlite_settings, fake_openai, tmp_path
):
    env = {
        **os.environ,
        **settings_environment(sqlite_settings),
        "OPENAI_API_KEY": "sk-job-events-test",
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_MAX_RETRIES": "0",
    }
    slow = image_answer()
    slow.delay = 1.0
    slow.event_delay = 0.6  # each partial image stays the latest long enough to be seen
    fake_openai.script(slow, slow)
    log_path = tmp_path / "serve.log"

    with running_server(env, log_path, "--job-workers", "1") as (base_url, process):
        with httpx.Client(base_url=base_url, timeout=30) as client:
            accepted = client.post(
                "/image", json={"prompt": "watched"}, headers={"Prefer": "respond-async"}
            )
            assert accepted.status_code == 202, accepted.text
            location = accepted.headers["location"]
            seen: list[tuple[float, str]] = []
            partials: list[dict] = []
            kind = ""
            with client.stream("GET", f"{location}/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind == "partial":
                        partials.append(json.loads(line[6:]))
                    elif line.startswith("data: "):
                        seen.append((time.monotonic(), json.loads(line[6:])["state"]))
            states = [state for _, state in seen]
            assert states[-1] == "done", states
            assert "running" in states, states
            # The running state arrived while the provider was still working, not at the end.
            running_at = next(at for at, state in seen if state == "running")
            assert seen[-1][0] - running_at > 0.5, seen
            # The provider streamed the image: its partial images came as events of their own.
            assert partials, seen
            assert {partial["number"] for partial in partials} <= {1, 2}
            prefix = "data:image/png;base64,"
            assert all(partial["image"].startswith(prefix) for partial in partials)
            assert base64.b64decode(partials[0]["image"][len(prefix) :]).startswith(b"\x89PNG")
            streamed = next(
                r["body"] for r in fake_openai.requests if r["path"].endswith("generations")
            )
            assert (streamed["stream"], streamed["partial_images"]) == (True, 2)
            done = client.get(location).json()
            assert client.get(f"/image/{done['images'][0]}/content").status_code == 200

            # A job in hand when the server is told to stop is finished, not dropped.
            second = client.post(
                "/image", json={"prompt": "in hand"}, headers={"Prefer": "respond-async"}
            )
            deadline = time.monotonic() + 30
            while client.get(second.headers["location"]).json()["state"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        # uvicorn ends by raising the signal it caught again, once shutdown has finished.
        assert process.wait(30) in (0, -signal.SIGTERM), log_path.read_text()

    services = build_services(sqlite_settings)
    try:
        jobs = services.jobs.recent(Caller(local_admin=True, sees_everything=True))
    finally:
        services.close()
    assert [(job.request.prompt, job.state) for job in jobs] == [
        ("in hand", "done"),
        ("watched", "done"),
    ]
    assert "job " in log_path.read_text()  # each ended job is logged
