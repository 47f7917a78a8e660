"""``pixyproxy worker``: installed processes running jobs queued by another, on both backends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import pytest

from pixyproxy_cli.core.image_options import ImageOptions
from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.init import build_services
from pixyproxy_cli.service.jobs import JobService
from tests.conftest import settings_environment
from tests.helpers import EXECUTABLE


def test_two_worker_processes_run_a_queued_batch_once_and_stop_on_sigterm(
    backend_settings, tmp_path
):
    if not EXECUTABLE.exists():
        pytest.fail(f"{EXECUTABLE} is missing: install the project (pip install -e '.[test]')")
    env = {**os.environ, **settings_environment(backend_settings), "IMAGE_SIZE": "64x64"}
    env.pop("OPENAI_API_KEY", None)
    services = build_services(backend_settings)
    try:
        jobs = services.jobs
        requests = [JobService.request_for(f"queued {n}", ImageOptions()) for n in range(12)]
        batch = jobs.submit(requests, Caller())
        workers = [
            subprocess.Popen(
                [str(EXECUTABLE), "worker", "-j", "2", "--json"],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            deadline = time.monotonic() + 60
            while jobs.progress(batch).done < 12:
                assert time.monotonic() < deadline, jobs.progress(batch)
                time.sleep(0.1)
        finally:
            for process in workers:
                process.send_signal(signal.SIGTERM)
        results = [process.communicate(timeout=30) for process in workers]
        codes = [process.returncode for process in workers]
        images = list(services.prompts.get_all_images())
    finally:
        services.close()

    assert codes == [0, 0], results
    ended = [json.loads(line) for out, _ in results for line in out.splitlines()]
    assert sorted(job["line"] for job in ended) == list(range(1, 13))  # each once, by one
    assert {job["state"] for job in ended} == {"done"}
    assert len(images) == 12


def test_a_worker_killed_mid_job_leaves_it_to_another_after_its_lease(
    backend_settings, fake_openai, tmp_path
):
    """kill -9 of a `pixyproxy worker` while its provider call is in flight: the job stays
    held until its lease runs out, then another worker takes it, says it may have been
    billed, and stores its image once."""
    from tests.openai_server import client_environment, image_answer, provider_for

    if not EXECUTABLE.exists():
        pytest.fail(f"{EXECUTABLE} is missing: install the project (pip install -e '.[test]')")
    env = {**os.environ, **settings_environment(backend_settings)}
    env.update(client_environment(fake_openai, "sk-killed-worker"), OPENAI_TIMEOUT="30")
    slow = image_answer()
    slow.delay = 20.0  # the killed worker's call: still in flight when it dies
    fake_openai.script(slow)
    services = build_services(backend_settings)
    try:
        batch = services.jobs.submit([JobService.request_for("killed", ImageOptions())], Caller())
        worker = subprocess.Popen(
            [str(EXECUTABLE), "worker", "-j", "1"], env=env, cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while len(fake_openai.requests) == 0:  # the provider has the request
                assert time.monotonic() < deadline
                assert worker.poll() is None
                time.sleep(0.05)
        finally:
            worker.kill()
            worker.wait(10)
        admin = Caller(local_admin=True, sees_everything=True)
        (held,) = services.jobs.batch_jobs(batch, admin)
        assert (held.state, held.sent) == ("running", 1)
        assert services.jobs.claim("too early", batch) is None  # its lease still runs

        # Past the lease (OPENAI_TIMEOUT + 60 s), as another machine's clock would see it.
        other = build_services(
            backend_settings, provider=provider_for(fake_openai, "sk-killed-worker")
        )
        try:
            later = JobService(
                other.prompts.dependencies, provider_timeout=30, clock=lambda: time.time() + 3600
            )
            taken = later.claim("the next worker", batch)
            notices: list[str] = []
            ended = later.run(taken, "the next worker", notices.append)
        finally:
            other.close()
        images = list(services.prompts.get_all_images())
    finally:
        services.close()

    assert (taken.guid, taken.sent) == (held.guid, 2)
    assert notices == [
        f"line 1 ({held.guid}) was sent 1 time(s) before without a stored result, and may "
        "have been billed: sending it again"
    ]
    assert (ended.state, len(ended.images)) == ("done", 1)
    assert [image.prompt for image in images] == ["killed"]


def test_a_worker_says_when_collecting_batches_fails_and_goes_on(
    sqlite_settings, fake_openai, tmp_path
):
    """A `pixyproxy worker` whose look at the Batch API fails (OpenAI unreachable) says so on
    stderr each time, goes on, and stops cleanly; the batch waits, uncollected."""
    from tests.openai_server import client_environment

    if not EXECUTABLE.exists():
        pytest.fail(f"{EXECUTABLE} is missing: install the project (pip install -e '.[test]')")
    env = {**os.environ, **settings_environment(sqlite_settings)}
    env.update(client_environment(fake_openai, "sk-unreachable"))
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a lighthouse at dawn\na quiet harbour\n", encoding="utf-8")
    sent = subprocess.run(
        [str(EXECUTABLE), "generate", "--from", str(prompts), "--batch", "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    batch = json.loads(sent.stdout)["batch"]
    env.update(OPENAI_BASE_URL="http://127.0.0.1:9/v1", BATCH_POLL_SECONDS="0.2")
    worker = subprocess.Popen(
        [str(EXECUTABLE), "worker", "-j", "1"], env=env, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    watchdog = threading.Timer(60, worker.kill)  # a worker that never says it: fail, not hang
    watchdog.start()
    said = []
    try:
        assert worker.stderr is not None
        while len([line for line in said if line.startswith("Warning:")]) < 2:
            line = worker.stderr.readline()
            assert line, f"the worker ended without saying so: {said}"
            said.append(line)
        worker.send_signal(signal.SIGTERM)
        rest, _ = worker.communicate(timeout=30)
    finally:
        watchdog.cancel()
        worker.kill()

    warnings = [line for line in said if line.startswith("Warning:")]
    assert warnings[0].startswith(
        "Warning: collecting the Batch API's batches failed, trying again later: "
    )
    assert warnings[0] == warnings[1]  # each look tried again, and said so again
    assert worker.returncode == 0, rest
    services = build_services(sqlite_settings)
    try:
        (record,) = services.jobs.remote.recent(uncollected=True, limit=5)
    finally:
        services.close()
    assert (record.batch, record.collected_at) == (batch, None)
