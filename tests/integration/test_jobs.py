"""The job queue on real SQLite and MariaDB: claims, leases, at-most-once storing, cancels."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    InputValidationError,
    ProviderUnavailableError,
    RateLimitedError,
    RecordNotFoundError,
)
from pixyproxy_cli.core.image_options import ImageOptions
from pixyproxy_cli.core.jobs import JobRequest
from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.init import Services, build_services
from pixyproxy_cli.service.jobs import JobService
from tests.fakes import FakeProvider, Journal

ANYONE = Caller()
ADMIN = Caller(local_admin=True, sees_everything=True)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(backend_settings) -> Iterator[tuple[Services, JobService, FakeProvider, Clock]]:
    provider = FakeProvider(Journal())
    provider.model = "gpt-image-1.5"
    services = build_services(backend_settings, provider=provider)
    clock = Clock()
    jobs = JobService(services.prompts.dependencies, provider_timeout=60, clock=clock)
    try:
        yield services, jobs, provider, clock
    finally:
        services.close()


def requests(*prompts: str, **options) -> list[JobRequest]:
    return [JobService.request_for(p, ImageOptions(**options)) for p in prompts]


def image_count(services: Services) -> int:
    return len(list(services.prompts.get_all_images()))


def test_a_batch_is_queued_whole_and_run_to_done(world):
    services, jobs, provider, _ = world
    batch = jobs.submit(requests("one", "two", "three"), ANYONE)

    assert jobs.progress(batch).queued == 3
    ended = []
    jobs.work(batch, workers=2, stop=threading.Event(), finished=ended.append)

    assert sorted(job.request.prompt for job in ended) == ["one", "three", "two"]
    assert {job.state for job in ended} == {"done"}
    assert jobs.progress(batch).done == 3
    listed = jobs.batch_jobs(batch, ANYONE)
    assert [job.line for job in listed] == [1, 2, 3]
    stored = {image.guid for image in services.prompts.get_all_images()}
    assert {guid for job in listed for guid in job.images} == stored
    assert len(stored) == 3
    assert sorted(provider.prompts) == ["one", "three", "two"]


def test_a_bad_line_queues_nothing_and_names_the_line(world):
    _services, jobs, _, _ = world
    bad = [*requests("fine"), *requests("bad size", size="12x12")]

    with pytest.raises(InputValidationError, match=r"^line 2: "):
        jobs.submit(bad, ANYONE)
    with pytest.raises(InputValidationError, match="line 1: prompt must not be empty"):
        jobs.submit(requests("   "), ANYONE)
    with pytest.raises(AuthenticationError):
        jobs.submit([JobService.request_for("x", ImageOptions(), private=True)], ANYONE)
    assert jobs.recent(ADMIN) == []


def test_a_claim_is_exclusive_and_a_lost_lease_stores_nothing(world):
    services, jobs, _provider, clock = world
    batch = jobs.submit(requests("contested"), ANYONE)

    first = jobs.claim("worker-a", batch)
    assert first is not None
    assert jobs.claim("worker-b", batch) is None  # held
    clock.now += 60 + 60 + 1  # the lease (provider timeout + margin) runs out
    second = jobs.claim("worker-b", batch)
    assert second is not None
    assert second.attempts == 2

    late = jobs.run(first, "worker-a")  # the first worker comes back: it no longer holds it
    assert late.state == "running"
    assert image_count(services) == 0  # its images were not stored (nor their files)
    assert services.prompts.dependencies.store.list_filenames  # the store is there
    assert list(services.prompts.dependencies.store.list_filenames()) == []

    done = jobs.run(second, "worker-b")
    assert done.state == "done"
    assert image_count(services) == 1
    assert done.sent == 0  # stored: no send is outstanding


def test_a_job_sent_before_is_sent_again_only_with_a_notice(world):
    _, jobs, provider, _clock = world
    batch = jobs.submit(requests("maybe billed"), ANYONE)
    job = jobs.claim("worker-a", batch)
    provider.fail_with = KeyboardInterrupt()  # interrupted while the provider works

    with pytest.raises(KeyboardInterrupt):
        jobs.run(job, "worker-a")
    again = jobs.claim("worker-b", batch)  # back in the queue at once
    assert again is not None
    assert again.sent == 2  # the interrupted send, and the one this claim is for
    provider.fail_with = None
    notices: list[str] = []
    done = jobs.run(again, "worker-b", notices.append)

    assert done.state == "done"
    assert len(notices) == 1
    assert (
        "was sent 1 time(s) before without a stored result, and may have been billed"
        in (notices[0])
    )


def test_a_rate_limit_puts_the_job_back_until_retry_after(world):
    _, jobs, provider, clock = world
    batch = jobs.submit(requests("slow down"), ANYONE)
    provider.fail_with = RateLimitedError("429", retry_after=7)

    queued = jobs.run(jobs.claim("w", batch), "w")

    assert queued.state == "queued"
    assert queued.sent == 0  # a 429 is refused before any work: nothing was billed
    assert jobs.claim("w", batch) is None  # not due yet
    clock.now += 7
    provider.fail_with = None
    assert jobs.run(jobs.claim("w", batch), "w").state == "done"


def test_an_unavailable_provider_is_retried_then_the_job_fails(world):
    _, jobs, provider, clock = world
    batch = jobs.submit(requests("down"), ANYONE)
    provider.fail_with = ProviderUnavailableError("The image provider could not be reached")

    states = []
    for _ in range(5):
        job = jobs.claim("w", batch)
        assert job is not None
        states.append(jobs.run(job, "w").state)
        clock.now += 60

    assert states == ["queued"] * 4 + ["failed"]
    failed = jobs.batch_jobs(batch, ANYONE)[0]
    assert failed.error == "The image provider could not be reached"


def test_a_bad_request_fails_its_job_and_the_others_go_on(world):
    _, jobs, provider, _ = world
    batch = jobs.submit(requests("a", "b"), ANYONE)
    provider.fail_with = InputValidationError("Your request was rejected by the safety system")
    first = jobs.run(jobs.claim("w", batch), "w")
    provider.fail_with = None
    second = jobs.run(jobs.claim("w", batch), "w")

    assert (first.state, first.error) == (
        "failed",
        "Your request was rejected by the safety system",
    )
    assert second.state == "done"


def test_a_job_cancelled_while_it_runs_stores_nothing(world):
    services, jobs, provider, _ = world
    batch = jobs.submit(requests("cancel me", "keep me"), ANYONE)
    job = jobs.claim("w", batch)

    def cancel_meanwhile(*args, **kwargs):
        assert jobs.cancel([job.guid], ANYONE) == 1
        raise_nothing = FakeProvider.generate
        return raise_nothing(provider, *args, **kwargs)

    provider.generate = cancel_meanwhile  # type: ignore[method-assign]
    ended = jobs.run(job, "w")

    assert ended.state == "cancelled"
    assert image_count(services) == 0
    assert list(services.prompts.dependencies.store.list_filenames()) == []
    assert jobs.cancel([job.guid], ANYONE) == 0  # finished: nothing to cancel


def test_owners_see_and_cancel_only_their_own_jobs(world):
    services, jobs, _, _ = world
    services.users.add_user(
        {"username": "ann", "password": "a long password for ann", "class_key": "k"}
    )
    ann = Caller(viewer="ann")
    mine = jobs.submit(requests("ann's"), ann)
    theirs = jobs.submit(requests("anonymous"), ANYONE)
    ann_job = jobs.batch_jobs(mine, ann)[0]
    other = jobs.batch_jobs(theirs, ANYONE)[0]

    assert jobs.batch_jobs(theirs, ann) == []
    with pytest.raises(RecordNotFoundError, match=f"No job with GUID {other.guid}"):
        jobs.get(other.guid, ann)
    assert jobs.cancel([other.guid], ann) == 0
    assert jobs.cancel([ann_job.guid], ann) == 1
    assert [job.guid for job in jobs.recent(ann)] == [ann_job.guid]
    assert {job.guid for job in jobs.recent(ADMIN)} == {ann_job.guid, other.guid}


def test_two_processes_worth_of_workers_run_each_job_once(world, backend_settings):
    services, _, provider, _ = world
    other_provider = FakeProvider(Journal())
    other_services = build_services(backend_settings, provider=other_provider)
    try:
        other = JobService(other_services.prompts.dependencies, provider_timeout=60)
        mine = JobService(services.prompts.dependencies, provider_timeout=60)
        batch = mine.submit(requests(*(f"prompt {n}" for n in range(40))), ANYONE)
        ended: list = []
        lock = threading.Lock()

        def finished(job):
            with lock:
                ended.append(job)

        runs = [
            threading.Thread(
                target=service.work,
                args=(batch,),
                kwargs={"workers": 4, "stop": threading.Event(), "finished": finished},
            )
            for service in (mine, other)
        ]
        for run in runs:
            run.start()
        for run in runs:
            run.join(120)
    finally:
        other_services.close()

    assert sorted(job.line for job in ended) == list(range(1, 41))
    assert len(provider.prompts) + len(other_provider.prompts) == 40  # each sent once
    assert image_count(services) == 40
