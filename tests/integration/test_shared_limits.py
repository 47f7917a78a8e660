"""Limits kept in the database: exact under concurrency, on SQLite and MariaDB.

Every check of a limit is one atomic upsert before the work it guards, so however many
threads (or workers, or servers) race, no more than the limit get through.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from pixyproxy_cli.core.exceptions import AuthenticationError, TooManyRequestsError
from pixyproxy_cli.core.models import UserCreate
from pixyproxy_cli.data.init import create_database
from pixyproxy_cli.service.init import build_services
from pixyproxy_cli.service.passwords import PasswordHasher
from tests.fakes import FakeProvider, Journal


class CountingHasher(PasswordHasher):
    """argon2 (cheap parameters), counting every verification, the dummy one included."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verifications = 0
        self._lock = threading.Lock()

    def verify(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.verifications += 1
        return super().verify(password_hash, password)


@pytest.fixture
def services(backend_settings):
    settings = replace(
        backend_settings, login_max_failures=5, generate_rate_limit=7, db_pool_size=8
    )
    database = create_database(settings)
    hasher = CountingHasher()
    built = build_services(
        settings, provider=FakeProvider(Journal()), database=database, hasher=hasher
    )
    built.users.add_user(UserCreate(username="alice", password="right password", class_key="k"))
    hasher.verifications = 0
    # Earlier tests on the shared MySQL database may have left buckets behind.
    from pixyproxy_cli.data.db.context import DatabaseContext

    with DatabaseContext(database) as db:
        db.begin_transaction()
        db.execute("DELETE FROM rate_limits")
        db.commit_transaction()
    try:
        yield built
    finally:
        database.close()


def outcomes(call: Callable[[], object], times: int) -> list[str]:
    def one(_: int) -> str:
        try:
            call()
        except TooManyRequestsError:
            return "429"
        except AuthenticationError:
            return "401"
        return "ok"

    with ThreadPoolExecutor(max_workers=12) as pool:
        return list(pool.map(one, range(times)))


def test_sixty_concurrent_wrong_passwords_run_at_most_five_verifications(services):
    def wrong() -> object:
        return services.login_throttle.authenticate("alice", "wrong", "10.0.0.9")

    seen = outcomes(wrong, 60)

    assert services.users._hasher.verifications == 5
    assert sorted(seen) == ["401"] * 5 + ["429"] * 55
    with pytest.raises(TooManyRequestsError):
        services.login_throttle.authenticate("alice", "right password", "10.0.0.9")
    assert services.users._hasher.verifications == 5  # the right one was not even checked


def test_an_unknown_user_costs_exactly_one_verification_like_a_wrong_password(services):
    """The login-timing property, proven without a clock (figures: benchmarks/)."""
    hasher = services.users._hasher
    for username, password in (("nobody", "x"), ("alice", "wrong"), ("not a name!", "x")):
        before = hasher.verifications
        with pytest.raises(AuthenticationError, match="^Invalid username or password$"):
            services.users.authenticate(username, password)
        assert hasher.verifications - before == 1, username


def test_concurrent_generations_get_exactly_the_limit(services):
    def generate() -> object:
        services.generation_limiter.acquire("too many", "user", "alice")
        return None

    seen = outcomes(generate, 40)

    assert seen.count("ok") == 7
    assert seen.count("429") == 33


def test_two_service_stacks_on_one_database_share_the_limit(services, backend_settings):
    settings = services.settings
    database = create_database(settings)
    other = build_services(settings, provider=FakeProvider(Journal()), database=database)
    try:
        for _ in range(4):
            services.generation_limiter.acquire("too many", "address", "10.1.1.1")
        for _ in range(3):
            other.generation_limiter.acquire("too many", "address", "10.1.1.1")
        with pytest.raises(TooManyRequestsError):
            other.generation_limiter.acquire("too many", "address", "10.1.1.1")
        with pytest.raises(TooManyRequestsError):
            services.generation_limiter.acquire("too many", "address", "10.1.1.1")
    finally:
        database.close()


def test_a_refused_request_uses_nothing_up(services):
    limiter = services.generation_limiter  # limit 7

    limiter.acquire("too many", "user", "carol", weight=5)
    with pytest.raises(TooManyRequestsError):
        limiter.acquire("too many", "user", "carol", weight=3)
    limiter.acquire("too many", "user", "carol", weight=2)  # 7: exactly the limit
    with pytest.raises(TooManyRequestsError):
        limiter.acquire("too many", "user", "carol")


def test_a_sqlite_transaction_whose_read_went_stale_is_a_conflict_to_run_again(sqlite_settings):
    """Two processes (two Databases on one file): one reads, the other writes and commits,
    then the first writes. SQLite refuses at once (SQLITE_BUSY_SNAPSHOT: waiting cannot
    help), which is a lost race like a deadlock: run again, never a 503."""
    from pixyproxy_cli.core.exceptions import TransactionConflictError
    from pixyproxy_cli.data.db.context import DatabaseContext

    take = {"weight": 1, "capacity": 5, "now": 100.0, "window": 60.0}
    first, second = create_database(sqlite_settings), create_database(sqlite_settings)
    try:
        with DatabaseContext(first) as reader:
            reader.begin_transaction()
            assert reader.limits.slots("b") == []  # its snapshot starts here
            with DatabaseContext(second) as writer:
                writer.begin_transaction()
                assert writer.limits.take("b", 0, **take)
                writer.commit_transaction()
            with pytest.raises(TransactionConflictError, match="changed since"):
                reader.limits.take("b", 1, **take)
            reader.rollback_transaction()
    finally:
        first.close()
        second.close()
