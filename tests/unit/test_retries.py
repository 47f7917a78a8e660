"""A unit of work that loses a race (deadlock, Galera certification) runs again, whole.

Over fakes whose commit fails with TransactionConflictError a set number of times: what the
database says when a concurrent transaction on another node changed the same rows first.
"""

from __future__ import annotations

import random

import pytest

from pixyproxy_cli.core.exceptions import (
    ConstraintViolationError,
    TooManyRequestsError,
    TransactionConflictError,
)
from pixyproxy_cli.service.limits import Limiter
from pixyproxy_cli.service.public_prompts import PromptDependencies, PromptService
from pixyproxy_cli.service.transaction import MAX_ATTEMPTS, retried
from tests.fakes import (
    FakeImageRepository,
    FakeLimitRepository,
    FakeProvider,
    FakeStore,
    FakeUnitOfWork,
    Journal,
)

TAKE = {"weight": 1, "capacity": 5, "now": 10.0, "window": 60.0}


class Flaky:
    """Units of work whose first ``failures`` commits lose to a concurrent transaction."""

    def __init__(self, journal: Journal, failures: int, **repositories) -> None:
        self.journal = journal
        self.failures = failures
        self.repositories = repositories

    def __call__(self) -> FakeUnitOfWork:
        conflict = None
        if self.failures > 0:
            self.failures -= 1
            conflict = TransactionConflictError("MySQL error 1213: Deadlock found")
        return FakeUnitOfWork(self.journal, fail_commit=conflict, **self.repositories)


class Waits:
    def __init__(self) -> None:
        self.bounds: list[float] = []

    def jitter(self, low: float, high: float) -> float:
        self.bounds.append(high)
        return high / 2

    def sleep(self, seconds: float) -> None:
        pass


def run(uow, waits: Waits, work, attempts: int = MAX_ATTEMPTS):
    result = None
    for attempt in retried(uow, attempts=attempts, sleep=waits.sleep, jitter=waits.jitter):
        with attempt as opened:
            result = work(opened)
    return result


def test_a_lost_commit_runs_the_whole_unit_again_with_growing_jittered_waits():
    journal, limits, waits = Journal(), FakeLimitRepository(), Waits()
    uow = Flaky(journal, 3, limits=limits)

    taken = run(uow, waits, lambda db: db.limits.take("b", 0, **TAKE))

    assert taken
    assert limits.total("b") == 1  # each lost attempt was rolled back: once, not four times
    assert journal.events.count("rollback") == 3
    assert journal.events.count("commit") == 1
    assert waits.bounds == sorted(waits.bounds)
    assert len(set(waits.bounds)) == 3


def test_a_statement_that_loses_runs_the_unit_again():
    journal, waits = Journal(), Waits()
    calls = []

    def work(db):
        calls.append(1)
        if len(calls) == 1:  # a brute-force abort surfaces on the next statement
            raise TransactionConflictError("MySQL error 1213: Deadlock found")
        return "done"

    assert run(Flaky(journal, 0), waits, work) == "done"
    assert len(calls) == 2
    assert journal.events.count("rollback") == 1


def test_the_last_attempt_raises_and_leaves_nothing_behind():
    journal, limits, waits = Journal(), FakeLimitRepository(), Waits()
    uow = Flaky(journal, 100, limits=limits)

    with pytest.raises(TransactionConflictError, match="1213"):
        run(uow, waits, lambda db: db.limits.take("b", 0, **TAKE), attempts=4)

    assert limits.rows == {}
    assert journal.events.count("begin") == 4
    assert len(waits.bounds) == 3  # no wait after the last


def test_other_errors_are_never_run_again():
    journal, waits = Journal(), Waits()
    calls = []

    def work(db):
        calls.append(1)
        raise ConstraintViolationError("taken")

    with pytest.raises(ConstraintViolationError):
        run(Flaky(journal, 0), waits, work)
    assert len(calls) == 1
    assert waits.bounds == []


def test_the_limiter_counts_exactly_through_conflicts():
    journal, limits = Journal(), FakeLimitRepository()
    uow = Flaky(journal, 2, limits=limits)
    limiter = Limiter(kind="g", limit=2, window=60, uow=uow, clock=lambda: 100.0)

    limiter.acquire("slow down", "alice")
    uow.failures = 2
    limiter.acquire("slow down", "alice")
    uow.failures = 2
    with pytest.raises(TooManyRequestsError):
        limiter.acquire("slow down", "alice")

    assert [limits.total(bucket) for bucket in limits.rows] == [2]


def test_a_full_bucket_is_refused_without_writing_its_row():
    journal, limits = Journal(), FakeLimitRepository()
    writes = []
    take = limits.take
    limits.take = lambda *a, **k: writes.append(1) or take(*a, **k)  # type: ignore[method-assign]
    limiter = Limiter(
        kind="g",
        limit=1,
        window=60,
        uow=lambda: FakeUnitOfWork(journal, limits=limits),
        clock=lambda: 100.0,
    )
    limiter.acquire("slow down", "alice")
    for _ in range(5):
        with pytest.raises(TooManyRequestsError) as refused:
            limiter.acquire("slow down", "alice")
        assert refused.value.retry_after == 60

    assert len(writes) == 1


def test_a_generation_whose_insert_loses_is_stored_once_and_paid_for_once():
    journal = Journal()
    images = FakeImageRepository(journal)
    uow = Flaky(journal, 0, images=images)
    provider, store = FakeProvider(journal), FakeStore(journal)
    opened = {"units": 0}

    def units() -> FakeUnitOfWork:
        # The first unit is the empty check before the provider is called; the insert
        # after it loses twice to concurrent transactions, then commits.
        opened["units"] += 1
        if opened["units"] in (2, 3):
            uow.failures = 1
        return uow()

    service = PromptService(
        PromptDependencies(uow=units, make_provider=lambda: provider, store=store)
    )
    made = service.generate_images({"prompt": "a lighthouse"}, 2)

    assert len(provider.prompts) == 1
    assert opened["units"] == 4
    assert sorted(row.guid for row in images.rows.values()) == sorted(i.guid for i in made)
    assert len(store.files) == 2


def test_a_conflict_left_after_every_attempt_is_a_503_and_exit_5():
    from pixyproxy_cli.commands.errors import ExitCode, exit_code_for
    from pixyproxy_cli.web.errors import status_for

    conflict = TransactionConflictError("MySQL error 1213: Deadlock found", retry_after=1)
    assert status_for(conflict) == 503
    assert exit_code_for(conflict) == ExitCode.DATABASE_UNAVAILABLE


def test_retries_and_the_limiter_leave_the_global_random_generator_alone():
    # Job workers retry and charge limits in their own threads: drawing from the global
    # generator there changed it under whatever else used it (Hypothesis warned of it, in a
    # fuzz test whose data it was drawing meanwhile).
    journal, limits = Journal(), FakeLimitRepository()
    uow = Flaky(journal, 2, limits=limits)
    limiter = Limiter(kind="g", limit=32, window=60, uow=uow, clock=lambda: 100.0)
    random.seed(7)
    before = random.getstate()

    limiter.acquire("slow down", "alice", weight=20)  # spread over several slots
    for attempt in retried(Flaky(journal, 2), sleep=lambda _: None):
        with attempt:
            pass  # committed on the third attempt, after two jittered waits

    assert random.getstate() == before
