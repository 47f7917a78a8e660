"""POST /webhooks/openai on SQLite and MariaDB: the signature first, then the batch it names
is collected; and the workers' poll for servers without webhooks."""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import replace

import pytest
from pydantic import SecretStr

from pixyproxy_cli.core.image_options import ImageOptions
from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.init import build_services
from pixyproxy_cli.service.jobs import JobService
from tests.openai_server import provider_for, webhook
from tests.web.conftest import make_api

SECRET = "whsec_" + base64.b64encode(b"a webhook secret of 32 bytes....").decode()
ADMIN = Caller(local_admin=True, sees_everything=True)


@pytest.fixture
def hooked(backend_settings, fake_openai):
    settings = replace(backend_settings, openai_webhook_secret=SecretStr(SECRET))
    built, database = make_api(settings, provider_for(fake_openai, "sk-webhooks"))
    with built.client:
        yield built, fake_openai
    database.close()


def sent_and_ended(api, fake) -> tuple[str, str]:
    """A batch sent and (at the fake) ended, not collected yet: (batch, the provider's id)."""
    record = api.services.jobs.remote.send(
        [JobService.request_for(p, ImageOptions(size="1024x1024")) for p in ("a", "b")], Caller()
    )
    for _ in range(3):
        fake.batch_api.retrieve(record.remote_id)  # the provider's own day goes by
    return record.batch, record.remote_id


def image_count(api) -> int:
    return len(list(api.services.prompts.get_all_images()))


def test_a_signed_batch_completed_event_collects_its_batch_once(hooked):
    api, fake = hooked
    batch, remote_id = sent_and_ended(api, fake)
    payload, headers = webhook("batch.completed", remote_id, SECRET)

    first = api.post("/webhooks/openai", content=payload, headers=headers)
    again = api.post("/webhooks/openai", content=payload, headers=headers)  # a redelivery

    assert first.status_code == 200, first.text
    assert first.json() == {
        "event": "batch.completed",
        "collected": True,
        "batch": batch,
        "stored": 2,
        "failed": 0,
    }
    assert again.json() == {
        "event": "batch.completed",
        "collected": False,
        "batch": None,
        "stored": None,
        "failed": None,
    }
    assert image_count(api) == 2


@pytest.mark.parametrize(
    "tamper",
    ["body", "signature", "secret", "too old", "no signature"],
)
def test_a_webhook_whose_signature_does_not_hold_is_refused_and_collects_nothing(hooked, tamper):
    api, fake = hooked
    _, remote_id = sent_and_ended(api, fake)
    secret = SECRET
    if tamper == "secret":
        secret = "whsec_" + base64.b64encode(b"someone else's secret of 32 b..").decode()
    sent_at = int(time.time()) - 301 if tamper == "too old" else None
    payload, headers = webhook("batch.completed", remote_id, secret, sent_at=sent_at)
    if tamper == "body":
        payload = payload.replace(b"batch.completed", b"batch.cancelled")
    elif tamper == "signature":
        headers["webhook-signature"] = "v1," + base64.b64encode(b"x" * 32).decode()
    elif tamper == "no signature":
        del headers["webhook-signature"]

    response = api.post("/webhooks/openai", content=payload, headers=headers)

    assert response.status_code == (422 if tamper == "no signature" else 401), response.text
    assert image_count(api) == 0
    assert api.services.jobs.remote.recent(uncollected=True)  # still waiting


def test_events_of_other_batches_are_acknowledged_and_ignored(hooked):
    api, _ = hooked
    payload, headers = webhook("batch.completed", "batch_not_ours", SECRET)

    response = api.post("/webhooks/openai", content=payload, headers=headers)

    assert (response.status_code, response.json()["collected"]) == (200, False)


def test_without_a_secret_the_path_is_not_there(sqlite_api):
    payload, headers = webhook("batch.completed", "batch_x", SECRET)

    response = sqlite_api.post("/webhooks/openai", content=payload, headers=headers)

    assert response.status_code == 404
    assert "OPENAI_WEBHOOK_SECRET" in response.json()["message"]


def test_without_webhooks_the_workers_poll_and_collect(backend_settings, fake_openai):
    settings = replace(backend_settings, batch_poll_seconds=0.05)
    services = build_services(settings, provider=provider_for(fake_openai, "sk-poll"))
    try:
        jobs = services.jobs
        record = jobs.remote.send([JobService.request_for("polled", ImageOptions())], Caller())
        stop = threading.Event()
        errors: list[Exception] = []
        runner = jobs.background(1, stop=stop, finished=lambda job: None, failed=errors.append)
        runner.start()
        try:
            deadline = time.monotonic() + 30
            while jobs.remote.get(record.batch).collected_at is None:
                assert time.monotonic() < deadline, jobs.remote.get(record.batch)
                time.sleep(0.02)
        finally:
            stop.set()
            runner.join()
        assert errors == []
        (job,) = jobs.batch_jobs(record.batch, ADMIN)
        assert (job.state, len(job.images)) == ("done", 1)
    finally:
        services.close()


def test_the_secret_may_live_in_the_keyring(memory_keyring, sqlite_settings, fake_openai):
    from typer.testing import CliRunner

    from pixyproxy_cli.commands.main import app
    from tests.conftest import settings_environment

    stored = CliRunner().invoke(
        app,
        ["key", "set", "webhook", "--stdin"],
        input=SECRET + "\n",
        env=settings_environment(sqlite_settings),
    )
    assert stored.exit_code == 0, stored.output
    assert memory_keyring.get_password("pixyproxy:secrets", "webhook") == SECRET
    built, database = make_api(sqlite_settings, provider_for(fake_openai, "sk-keyring-hook"))
    try:
        with built.client:
            payload, headers = webhook("batch.completed", "batch_not_ours", SECRET)
            good = built.post("/webhooks/openai", content=payload, headers=headers)
            headers["webhook-signature"] = "v1," + base64.b64encode(b"y" * 32).decode()
            forged = built.post("/webhooks/openai", content=payload, headers=headers)
    finally:
        database.close()
    assert (good.status_code, forged.status_code) == (200, 401)
