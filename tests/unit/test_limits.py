"""The limiter and the login throttle over fakes, on a fake clock."""

from __future__ import annotations

from functools import partial

import pytest

from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    InputValidationError,
    TooManyRequestsError,
)
from pixyproxy_cli.core.models import UserCreate
from pixyproxy_cli.service.limits import Limiter, LoginThrottle
from pixyproxy_cli.service.users import UserService
from tests.fakes import FakeLimitRepository, FakeUnitOfWork, FakeUserRepository, Journal


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(
    limit: int, window: float, clock: Clock | None = None, counters=None, unit: str = "events"
) -> Limiter:
    journal = Journal()
    return Limiter(
        kind="test",
        limit=limit,
        window=window,
        uow=partial(FakeUnitOfWork, journal, limits=counters or FakeLimitRepository()),
        unit=unit,
        clock=clock or Clock(),
    )


def test_limit_per_key_within_the_window():
    clock = Clock()
    limits = limiter(2, 10, clock)

    limits.acquire("slow down", "a")
    clock.now += 1
    limits.acquire("slow down", "a")
    with pytest.raises(TooManyRequestsError, match="slow down") as caught:
        limits.acquire("slow down", "a")
    limits.acquire("slow down", "b")  # another key is not affected

    assert caught.value.retry_after == pytest.approx(9)
    clock.now += 9  # the window that started at the first event has passed
    limits.acquire("slow down", "a")


def test_more_at_once_than_the_limit_is_a_request_to_change_not_to_retry():
    counters = FakeLimitRepository()
    limits = limiter(10, 60, counters=counters, unit="images")

    with pytest.raises(InputValidationError) as caught:
        limits.acquire("slow down", "a", weight=12)
    limits.acquire("slow down", "a", weight=10)  # nothing was counted: the whole limit is left

    assert caught.value.message == (
        "12 images at once are more than this server allows: at most 10 every 60 s, so ask "
        "for 10 or fewer"
    )
    with pytest.raises(TooManyRequestsError):
        limits.acquire("slow down", "a")


def test_zero_means_no_limit_and_counts_nothing():
    counters = FakeLimitRepository()
    limits = limiter(0, 10, counters=counters)
    for _ in range(1000):
        limits.acquire("never", "a")
    assert counters.rows == {}


def test_buckets_hold_a_digest_of_the_key_never_its_text():
    counters = FakeLimitRepository()
    limits = limiter(5, 10, counters=counters)

    limits.acquire("m", "alice\r\nforged", "10.0.0.1")

    [bucket] = counters.rows
    assert bucket.startswith("test:")
    assert len(bucket) == len("test:") + 64
    assert "alice" not in bucket


def test_expired_buckets_are_purged_now_and_then(monkeypatch):
    monkeypatch.setattr("pixyproxy_cli.service.limits.PURGE_EVERY", 3)
    clock = Clock()
    counters = FakeLimitRepository()
    limits = limiter(5, 10, clock, counters)
    limits.acquire("m", "old")
    clock.now += 11
    limits.acquire("m", "new")
    limits.acquire("m", "new")  # the third event purges

    assert list(counters.rows) == [limits.bucket("new")]


class CountingUsers(UserService):
    """The real UserService, counting password verifications."""

    verifications = 0

    def authenticate(self, username: str, password: str):
        CountingUsers.verifications += 1
        return super().authenticate(username, password)


def test_login_throttle_counts_attempts_per_user_and_client_and_resets_on_success():
    journal = Journal()
    users = CountingUsers(uow=partial(FakeUnitOfWork, journal, users=FakeUserRepository(journal)))
    users.add_user(UserCreate(username="alice", password="right password", class_key="k"))
    clock = Clock()
    throttle = LoginThrottle(users, limiter(3, 60, clock))
    CountingUsers.verifications = 0

    for _ in range(2):
        with pytest.raises(AuthenticationError):
            throttle.authenticate("alice", "wrong", "1.2.3.4")
    throttle.authenticate("alice", "right password", "1.2.3.4")  # resets the count
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            throttle.authenticate("alice", "wrong", "1.2.3.4")
    with pytest.raises(TooManyRequestsError):
        throttle.authenticate("alice", "right password", "1.2.3.4")  # not even checked
    assert CountingUsers.verifications == 6
    assert throttle.authenticate("alice", "right password", "5.6.7.8").username == "alice"
    clock.now += 61
    assert throttle.authenticate("alice", "right password", "1.2.3.4").username == "alice"


def test_a_repeated_error_is_logged_once_an_interval_and_the_next_counts_the_rest():
    import logging

    from pixyproxy_cli.web.logging_config import RepeatFilter

    now = [100.0]
    repeats = RepeatFilter(interval=10, clock=lambda: now[0])

    def record(message, error=OSError):
        made = logging.LogRecord("asyncio", logging.ERROR, __file__, 1, message, None, None)
        made.exc_info = (error, error("Too many open files"), None) if error else None
        return made

    first = repeats.filter(record("socket.accept() out of system resource\nsocket: fd=6"))
    burst = [repeats.filter(record("socket.accept() out of system resource\nsocket: fd=7"))]
    burst += [repeats.filter(record("socket.accept() out of system resource")) for _ in range(5)]
    other = repeats.filter(record("Exception in callback x", ValueError))

    assert first is True
    assert burst == [False] * 6  # the first line and the exception type make the kind
    assert other is True
    now[0] += 10
    later = record("socket.accept() out of system resource")

    assert repeats.filter(later) is True
    assert later.getMessage() == (
        "socket.accept() out of system resource (6 more like this in the last 10 s)"
    )
