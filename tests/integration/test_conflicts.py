"""A real deadlock on MariaDB: the loser is told 1213, and its unit of work runs again.

Two threads count two buckets in opposite orders, each holding its first row's lock while it
asks for the other's: InnoDB picks one to roll back (error 1213, what a Galera node also says
when certification fails at commit). The loser's whole unit of work is run again and both
commit: every count is exact.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from functools import partial

import pytest

from pixyproxy_cli.core.exceptions import TransactionConflictError
from pixyproxy_cli.data.db.context import DatabaseContext
from pixyproxy_cli.data.init import create_database
from pixyproxy_cli.service.init import build_services
from pixyproxy_cli.service.transaction import retried, transaction
from tests.fakes import FakeProvider, Journal

pytestmark = pytest.mark.mysql
TAKE = {"weight": 1, "capacity": 10, "now": 100.0, "window": 60.0}


@pytest.fixture
def database(mysql_settings):
    database = create_database(replace(mysql_settings, db_pool_size=4))
    build_services(mysql_settings, provider=FakeProvider(Journal()), database=database)
    with DatabaseContext(database) as db:
        db.begin_transaction()
        db.execute("DELETE FROM rate_limits")
        db.commit_transaction()
    try:
        yield database
    finally:
        database.close()


def _count(uow, first: str, second: str, meet: threading.Barrier, tries: list[int]) -> None:
    for attempt in retried(uow):
        with attempt as db:
            tries.append(attempt.number)
            db.limits.take(first, 0, **TAKE)
            if attempt.number == 1:
                meet.wait(timeout=10)  # both hold their first row now
            db.limits.take(second, 0, **TAKE)


def test_a_deadlock_loser_runs_again_and_both_count_once(database):
    uow = partial(DatabaseContext, database)
    meet = threading.Barrier(2)
    tries: dict[str, list[int]] = {"ab": [], "ba": []}
    failures: list[BaseException] = []

    def run(name: str, first: str, second: str) -> None:
        try:
            _count(uow, first, second, meet, tries[name])
        except BaseException as error:  # noqa: BLE001 - reported by the test
            failures.append(error)

    threads = [
        threading.Thread(target=run, args=("ab", "a", "b")),
        threading.Thread(target=run, args=("ba", "b", "a")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    # One of them lost the deadlock and ran again; the other committed at its first try.
    assert sorted(len(attempts) for attempts in tries.values()) == [1, 2]
    with transaction(uow) as db:
        assert (
            [s.hits for s in db.limits.slots("a")] == [s.hits for s in db.limits.slots("b")] == [2]
        )


def test_the_driver_error_is_translated_to_a_conflict(database):
    uow = partial(DatabaseContext, database)
    meet = threading.Barrier(2)
    seen: list[BaseException] = []

    def once(first: str, second: str) -> None:
        try:
            with transaction(uow) as db:
                db.limits.take(first, 0, **TAKE)
                meet.wait(timeout=10)
                db.limits.take(second, 0, **TAKE)
        except BaseException as error:  # noqa: BLE001 - inspected below
            seen.append(error)

    threads = [threading.Thread(target=once, args=pair) for pair in (("a", "b"), ("b", "a"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(seen) == 1
    assert isinstance(seen[0], TransactionConflictError)
    assert "1213" in seen[0].message
    assert seen[0].retry_after == 1
