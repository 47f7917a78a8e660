"""The Batch API on SQLite and MariaDB: the real SDK against the fake's files and batches.

A batch is sent whole (its jobs out of the live workers' reach), collected only once it has
ended, and each job's images are stored exactly once however often it is collected.
"""

from __future__ import annotations

import json
import threading

import pytest

from pixyproxy_cli.core.constants import DEFAULT_IMAGE_MODEL
from pixyproxy_cli.core.exceptions import ConfigurationError
from pixyproxy_cli.core.image_options import ImageOptions
from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.init import build_services
from pixyproxy_cli.service.jobs import JobService
from tests.fakes import FakeProvider, Journal
from tests.openai_server import provider_for

ADMIN = Caller(local_admin=True, sees_everything=True)


@pytest.fixture
def world(backend_settings, fake_openai):
    services = build_services(backend_settings, provider=provider_for(fake_openai, "sk-batch"))
    try:
        yield services, fake_openai
    finally:
        services.close()


def requests(*prompts: str, n: int = 1, private: bool = False):
    options = ImageOptions(size="1024x1024")
    return [JobService.request_for(p, options, n=n, private=private) for p in prompts]


def image_count(services) -> int:
    return len(list(services.prompts.get_all_images()))


def test_a_batch_is_sent_whole_and_collected_once_it_has_ended(world):
    services, fake = world
    jobs = services.jobs
    sent = jobs.remote.send(requests("one", "two", "three"), Caller())

    assert (sent.provider, sent.status, sent.total) == ("openai", "validating", 0)
    assert sent.remote_id.startswith("batch_")
    (upload,) = [r for r in fake.requests if r["path"] == "/v1/files"]
    assert upload["body"]["purpose"] == "batch"
    created = next(r["body"] for r in fake.requests if r["path"] == "/v1/batches")
    assert created["endpoint"] == "/v1/images/generations"
    assert created["completion_window"] == "24h"
    assert created["metadata"] == {"pixyproxy_batch": sent.batch}
    lines = [
        json.loads(line)
        for line in fake.batch_api.contents[created["input_file_id"]].decode().splitlines()
    ]
    queued = jobs.batch_jobs(sent.batch, ADMIN)
    assert [line["custom_id"] for line in lines] == [job.guid for job in queued]
    assert {line["url"] for line in lines} == {"/v1/images/generations"}
    assert [line["body"]["prompt"] for line in lines] == ["one", "two", "three"]
    assert {line["body"]["size"] for line in lines} == {"1024x1024"}
    assert {job.state for job in queued} == {"running"}
    assert jobs.claim("a live worker") is None  # the provider runs them, not our workers

    # validating -> in_progress -> finalizing: nothing to store yet.
    for status in ("in_progress", "finalizing"):
        (collected,) = jobs.remote.collect(sent.batch)
        assert (collected.batch.status, collected.stored, collected.failed) == (status, 0, 0)
        assert image_count(services) == 0

    (collected,) = jobs.remote.collect(sent.batch)
    assert (collected.batch.status, collected.stored, collected.failed) == ("completed", 3, 0)
    assert (collected.batch.total, collected.batch.completed) == (3, 3)
    assert collected.batch.collected_at is not None
    done = jobs.batch_jobs(sent.batch, ADMIN)
    assert {job.state for job in done} == {"done"}
    assert image_count(services) == 3
    made = services.prompts.get_image_by_guid(done[0].images[0])
    assert (made.prompt, made.model) == ("one", DEFAULT_IMAGE_MODEL)

    # Collected again (by name, or among all): nothing is stored twice.
    assert jobs.remote.collect(sent.batch)[0].stored == 0
    assert jobs.remote.collect() == []  # every batch is collected
    assert image_count(services) == 3


def test_two_collectors_at_once_store_each_image_once(world):
    services, _fake = world
    jobs = services.jobs
    sent = jobs.remote.send(requests("a", "b", "c", "d", n=2), Caller())
    for _ in range(2):
        jobs.remote.collect(sent.batch)  # in progress, finalizing
    results = []
    barrier = threading.Barrier(2)

    def collect() -> None:
        barrier.wait()
        results.extend(jobs.remote.collect(sent.batch))

    threads = [threading.Thread(target=collect) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(result.stored for result in results) == 4
    assert image_count(services) == 8
    # The loser's files were removed with its transaction: one file per image.
    assert len(list(services.prompts.dependencies.store.list_filenames())) == 8


def test_refused_lines_fail_alone_and_an_expired_batch_fails_the_rest(world):
    services, fake = world
    jobs = services.jobs
    fake.batch_api.refuse = {"refused"}
    sent = jobs.remote.send(requests("fine", "refused"), Caller())
    for _ in range(3):
        (collected,) = jobs.remote.collect(sent.batch)
    assert (collected.stored, collected.failed) == (1, 1)
    failed = jobs.batch_jobs(sent.batch, ADMIN)[1]
    assert (failed.state, failed.error) == (
        "failed",
        "Your request was rejected by the safety system.",
    )

    fake.batch_api.fate = "expired"
    expired = jobs.remote.send(requests("first", "second", "third", "fourth"), Caller())
    for _ in range(3):
        (collected,) = jobs.remote.collect(expired.batch)
    assert (collected.batch.status, collected.stored, collected.failed) == ("expired", 2, 2)
    last = jobs.batch_jobs(expired.batch, ADMIN)[-1]
    assert last.error == "the batch ended (expired) without a result for this line"


def test_a_refused_batch_fails_its_jobs_and_says_why(world):
    services, fake = world
    fake.batch_api.fate = "failed"
    sent = services.jobs.remote.send(requests("x", "y"), Caller())

    (collected,) = services.jobs.remote.collect(sent.batch)

    assert (collected.batch.status, collected.failed) == ("failed", 2)
    assert collected.batch.error == "The batch was refused."
    errors = {job.error for job in services.jobs.batch_jobs(sent.batch, ADMIN)}
    assert errors == {
        "the batch ended (failed) without a result for this line: The batch was refused."
    }


def test_a_cancelled_batch_stores_nothing(world):
    services, _fake = world
    jobs = services.jobs
    sent = jobs.remote.send(requests("stop", "this"), Caller())

    assert jobs.remote.cancel(sent.batch, Caller()) == 2
    assert jobs.remote.get(sent.batch).status == "cancelling"
    assert {job.state for job in jobs.batch_jobs(sent.batch, ADMIN)} == {"cancelled"}
    (collected,) = jobs.remote.collect(sent.batch)
    assert (collected.batch.status, collected.stored, collected.failed) == ("cancelled", 0, 0)
    assert image_count(services) == 0


def test_a_provider_without_a_batch_api_queues_nothing(backend_settings):
    services = build_services(backend_settings, provider=FakeProvider(Journal()))
    try:
        with pytest.raises(ConfigurationError, match="The fake provider has no Batch API"):
            services.jobs.remote.send(requests("x"), Caller())
        assert services.jobs.recent(ADMIN) == []
    finally:
        services.close()


def test_a_batch_the_provider_refuses_to_create_fails_its_jobs(world):
    from pixyproxy_cli.core.exceptions import GenerationError
    from tests.openai_server import error_answer

    services, fake = world
    original = fake.batch_api.create
    fake.batch_api.create = lambda body: error_answer(400, "Too many batches in progress.")
    try:
        with pytest.raises(GenerationError, match="Too many batches in progress"):
            services.jobs.remote.send(requests("x"), Caller())
    finally:
        fake.batch_api.create = original
    (job,) = services.jobs.recent(ADMIN)
    assert job.state == "failed"
    assert job.error.startswith("not sent: ")
    (record,) = services.jobs.remote.recent()
    assert (record.status, record.remote_id) == ("failed", None)
    assert services.jobs.remote.collect() == []


def test_images_made_through_a_batch_are_priced_at_the_batch_factor(world):
    from pixyproxy_cli.core.models import ImageDetailCreate
    from pixyproxy_cli.service.usage import UsageService, parse_prices

    services, _fake = world
    services.prompts.generate_image(ImageDetailCreate(prompt="live"))
    sent = services.jobs.remote.send(requests("batched"), Caller())
    for _ in range(3):
        services.jobs.remote.collect(sent.batch)
    usage = UsageService(
        uow=services.prompts.dependencies.uow,
        prices=parse_prices(f"{DEFAULT_IMAGE_MODEL}=1:1"),
        batch_price_factor=0.5,
    )

    (line,) = usage.summary(by="model")

    assert (line.images, line.input_tokens, line.output_tokens) == (2, 100, 2112)
    live = (50 + 1056) / 1_000_000
    assert line.cost == pytest.approx(live + live / 2)
    providers = {image.provider for image in services.prompts.get_all_images()}
    assert providers == {"openai", "openai-batch"}


@pytest.mark.parametrize("died", ["after the provider took it", "before"])
def test_a_send_whose_sender_died_is_found_by_its_label_or_its_jobs_fail(world, died):
    import time

    from pixyproxy_cli.service.remote_batches import SEND_GRACE, RemoteBatches

    services, _fake = world
    provider = services.prompts.dependencies.provider
    real_send = provider.send_batch

    def dying_send(lines, label):
        if died != "before":
            real_send(lines, label)  # the provider has it...
        raise KeyboardInterrupt  # ...and the process dies before recording its id

    provider.send_batch = dying_send
    with pytest.raises(KeyboardInterrupt):
        services.jobs.remote.send(requests("lost", "found"), Caller())
    provider.send_batch = real_send
    (record,) = services.jobs.remote.recent()
    assert (record.status, record.remote_id) == ("sending", None)
    # Soon after, the send may still be going on: nothing is decided.
    assert services.jobs.remote.collect()[0].batch.status == "sending"

    later = RemoteBatches(
        services.jobs,
        services.prompts.dependencies,
        clock=lambda: time.time() + SEND_GRACE + 1,
    )
    results = [later.collect() for _ in range(4)]

    jobs = services.jobs.batch_jobs(record.batch, ADMIN)
    if died == "before":
        assert results[0][0].batch.status == "failed"
        assert {job.state for job in jobs} == {"failed"}
        assert {job.error for job in jobs} == {
            "not sent: the sender stopped before the provider took it"
        }
    else:
        adopted = results[0][0].batch
        assert (adopted.status, adopted.remote_id.startswith("batch_")) == ("validating", True)
        assert results[-1][0].batch.status == "completed"
        assert sum(result[0].stored for result in results) == 2
        assert {job.state for job in jobs} == {"done"}
    assert image_count(services) == (0 if died == "before" else 2)
