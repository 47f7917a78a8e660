"""The sliding-window limiter and the login throttle, on a fake clock."""

from __future__ import annotations

from functools import partial

import pytest

from pixyproxy_cli.core.exceptions import AuthenticationError, TooManyRequestsError
from pixyproxy_cli.core.models import UserCreate
from pixyproxy_cli.service.limits import LoginThrottle, SlidingWindowLimiter
from pixyproxy_cli.service.users import UserService
from tests.fakes import FakeContext, FakeUserRepository, Journal


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_per_key_within_the_window():
    clock = Clock()
    limiter = SlidingWindowLimiter(limit=2, window=10, clock=clock)

    limiter.acquire("a", "slow down")
    clock.now += 1
    limiter.acquire("a", "slow down")
    with pytest.raises(TooManyRequestsError, match="slow down") as caught:
        limiter.acquire("a", "slow down")
    limiter.acquire("b", "slow down")  # another key is not affected

    assert caught.value.retry_after == pytest.approx(9)
    clock.now += 9.01  # the first event left the window
    limiter.acquire("a", "slow down")


def test_zero_means_no_limit():
    limiter = SlidingWindowLimiter(limit=0, window=10)
    for _ in range(1000):
        limiter.acquire("a", "never")


def test_login_throttle_counts_failures_per_user_and_client_and_resets_on_success():
    journal = Journal()
    users = UserService(
        users=FakeUserRepository(journal), context_factory=partial(FakeContext, journal)
    )
    users.add_user(UserCreate(username="alice", password="right password", class_key="k"))
    clock = Clock()
    throttle = LoginThrottle(users, SlidingWindowLimiter(limit=3, window=60, clock=clock))

    for _ in range(2):
        with pytest.raises(AuthenticationError):
            throttle.authenticate("alice", "wrong", "1.2.3.4")
    throttle.authenticate("alice", "right password", "1.2.3.4")  # resets the count
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            throttle.authenticate("alice", "wrong", "1.2.3.4")
    with pytest.raises(TooManyRequestsError):
        throttle.authenticate("alice", "right password", "1.2.3.4")  # not even checked
    assert throttle.authenticate("alice", "right password", "5.6.7.8").username == "alice"
    clock.now += 61
    assert throttle.authenticate("alice", "right password", "1.2.3.4").username == "alice"
