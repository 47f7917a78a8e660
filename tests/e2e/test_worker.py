"""``pixyproxy worker``: installed processes running jobs queued by another, on both backends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
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
