"""Rate limits for the REST API: failed logins, and images generated.

Both are sliding windows kept in this process's memory: with several workers each keeps
its own count, so the effective limit is per worker (documented; a shared store such as
Redis can stand behind the same interface later).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

from pixyproxy_cli.core.exceptions import AuthenticationError, TooManyRequestsError
from pixyproxy_cli.service.interfaces import UserServiceInterface

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import User

MAX_TRACKED_KEYS = 100_000


class SlidingWindowLimiter:
    """At most ``limit`` events per key in any ``window`` seconds (``limit`` 0: no limit)."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: OrderedDict[Hashable, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: Hashable, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
            if len(self._events) > MAX_TRACKED_KEYS:
                self._events.popitem(last=False)  # forget the stalest caller
        while events and events[0] <= now - self.window:
            events.popleft()
        self._events.move_to_end(key)
        return events

    def retry_after(self, key: Hashable) -> float | None:
        """Seconds until ``key`` may act again, or None when it may act now."""
        if self.limit <= 0:
            return None
        with self._lock:
            now = self._clock()
            events = self._recent(key, now)
            if len(events) < self.limit:
                return None
            return max(events[0] + self.window - now, 0.001)

    def hit(self, key: Hashable) -> None:
        """Record one event for ``key``."""
        if self.limit <= 0:
            return
        with self._lock:
            now = self._clock()
            self._recent(key, now).append(now)

    def acquire(self, key: Hashable, message: str) -> None:
        """Record an event, or raise TooManyRequestsError when ``key`` is over the limit."""
        wait = self.retry_after(key)
        if wait is not None:
            raise TooManyRequestsError(message, retry_after=wait)
        self.hit(key)

    def reset(self, key: Hashable) -> None:
        """Forget ``key``'s events."""
        with self._lock:
            self._events.pop(key, None)


class LoginThrottle:
    """Authentication that refuses (429) a user name and client after too many failures."""

    def __init__(self, users: UserServiceInterface, limiter: SlidingWindowLimiter) -> None:
        self._users = users
        self._limiter = limiter

    def authenticate(self, username: str, password: str, client: str) -> User:
        """Authenticate, counting failures per (user name, client).

        Raises TooManyRequestsError while over the limit (the password is not even
        checked), and AuthenticationError for wrong credentials.
        """
        key = (username, client)
        wait = self._limiter.retry_after(key)
        if wait is not None:
            raise TooManyRequestsError(
                "Too many failed logins for this user from this address; try again later",
                retry_after=wait,
            )
        try:
            user = self._users.authenticate(username, password)
        except AuthenticationError:
            self._limiter.hit(key)
            raise
        self._limiter.reset(key)
        return user
