"""Rate limits for the REST API: failed logins, and images generated.

The counters live in the database (``rate_limits``), so a limit holds across every worker of
``serve --workers N`` and across servers that share the database. Each event is counted
*before* the work it guards, and refused when there is no room: checking first and counting
after would let concurrent requests all pass the check.

A bucket's count is spread over up to ``MAX_SLOTS`` slots, each holding its share of the
limit; an event takes room in one slot with a guarded update. No slot ever holds more than
its share, so the limit is exact; writers that pick different slots never touch the same
row, so on a multi-primary cluster they do not collide (one hot row per bucket made half the
writes fail there). A bucket without room is refused on a plain read, writing nothing.

Each slot's window is fixed, starting at its first event: at most a slot's share is let
through per slot in any of its windows. Keys (user name, client address) are stored only as
a SHA-256, never as the text a client sent.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pixyproxy_cli.core.exceptions import (
    InputValidationError,
    PixyProxyException,
    TooManyRequestsError,
    TransactionConflictError,
)
from pixyproxy_cli.service.interfaces import UserServiceInterface
from pixyproxy_cli.service.transaction import UnitOfWorkFactory, retried

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import User
    from pixyproxy_cli.data.db.context import UnitOfWork

logger = logging.getLogger(__name__)
_RANDOM = random.Random()  # noqa: S311 - it spreads load; it guards no secret
"""The limiter's own generator: it never draws from (or disturbs) the program's global one."""

PURGE_EVERY = 1000
"""Every this many counted events, a limiter removes its buckets whose window has passed."""
MAX_SLOTS = 16
"""A limit's count is spread over at most this many slots (one per event, for a small
limit): writers that pick different slots never collide."""


class Limiter:
    """At most ``limit`` events per key in a window of ``window`` seconds (``limit`` 0: none).

    ``kind`` names the limit in its buckets (``login``, ``generate``) and ``unit`` what it
    counts, for its messages; ``clock`` is wall-clock time, since servers sharing a database
    share only that.
    """

    def __init__(
        self,
        *,
        kind: str,
        limit: int,
        window: float,
        uow: UnitOfWorkFactory,
        unit: str = "events",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kind = kind
        self.unit = unit
        self.limit = limit
        self.window = window
        self._uow = uow
        self._clock = clock
        self._events = itertools.count(1)
        slots = min(limit, MAX_SLOTS)
        self._shares = tuple(
            limit // slots + (1 if slot < limit % slots else 0) for slot in range(slots)
        )
        """Each slot's share of the limit (they add up to it; none when there is no limit)."""

    def bucket(self, *key: str) -> str:
        """The bucket name for ``key``: the kind and a SHA-256 of the key's parts."""
        digest = hashlib.sha256("\0".join(key).encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self.kind}:{digest}"

    def acquire(self, message: str, *key: str, weight: int = 1) -> None:
        """Count ``weight`` events (images, say) for ``key``.

        Raises TooManyRequestsError (with ``retry_after``) when that puts its window over the
        limit (nothing is counted then); InputValidationError when ``weight`` alone is over
        the limit, which no wait would change; and the database's PixyProxyExceptions.
        """
        if self.limit <= 0:
            return
        self.check_fits(weight)
        now = self._clock()
        bucket = self.bucket(*key)
        refused_for: float | None = None
        for attempt in retried(self._uow):
            with attempt as uow:
                refused_for = self._take(uow, bucket, now, weight)
        if next(self._events) % PURGE_EVERY == 0:
            self._purge(now)
        if refused_for is not None:
            raise TooManyRequestsError(message, retry_after=refused_for)

    def check_fits(self, weight: int) -> None:
        """Raise InputValidationError when ``weight`` events are more than the limit itself.

        Such a request never fits in a window, so it is refused as a request to change, not
        answered "try again later". Nothing is counted.
        """
        if 0 < self.limit < weight:
            raise InputValidationError(
                f"{weight} {self.unit} at once are more than this server allows: at most "
                f"{self.limit} every {self.window:g} s, so ask for {self.limit} or fewer"
            )

    def _take(self, uow: UnitOfWork, bucket: str, now: float, weight: int) -> float | None:
        """Count ``weight`` events in slots with room: None, or seconds until there is room.

        A bucket without room is refused on a plain read, writing nothing (on a cluster,
        the requests past a limit cannot collide). Slots are tried in random order, so that
        writers spread over them. Raises TransactionConflictError when others took the room
        between the read and the write (the unit of work then runs again, read and all).
        """
        expired = now - self.window
        found = {row.slot: row for row in uow.limits.slots(bucket)}
        rooms = []
        for slot, share in enumerate(self._shares):
            row = found.get(slot)
            used = 0 if row is None or row.window_start <= expired else row.hits
            if share > used:
                rooms.append((slot, share - used))
        if sum(room for _, room in rooms) < weight:
            live = [row.window_start for row in found.values() if row.window_start > expired]
            return max(min(live) + self.window - now, 1) if live else self.window
        remaining = weight
        for slot, room in _RANDOM.sample(rooms, len(rooms)):
            part = min(room, remaining)
            if uow.limits.take(
                bucket, slot, weight=part, capacity=self._shares[slot], now=now, window=self.window
            ):
                remaining -= part
            if remaining == 0:
                return None
        raise TransactionConflictError("The limit's slots filled while they were counted")

    def give_back(self, *key: str, weight: int = 1) -> None:
        """Uncount ``weight`` events of ``key``: work ``acquire`` let through was refused.

        Raises the database's PixyProxyExceptions.
        """
        if self.limit <= 0:
            return
        for attempt in retried(self._uow):
            with attempt as uow:
                uow.limits.give_back(self.bucket(*key), weight)

    def reset(self, *key: str) -> None:
        """Forget ``key``'s events. Raises the database's PixyProxyExceptions."""
        if self.limit <= 0:
            return
        for attempt in retried(self._uow):
            with attempt as uow:
                uow.limits.clear(self.bucket(*key))

    def _purge(self, now: float) -> None:
        try:
            for attempt in retried(self._uow):
                with attempt as uow:
                    uow.limits.purge(prefix=f"{self.kind}:", before=now - self.window)
        except PixyProxyException:
            logger.warning("could not purge expired %s limits", self.kind, exc_info=True)


class LoginThrottle:
    """Authentication that refuses (429) a user name and client after too many failures."""

    MESSAGE = "Too many failed logins for this user from this address; try again later"

    def __init__(self, users: UserServiceInterface, limiter: Limiter) -> None:
        self._users = users
        self._limiter = limiter

    def authenticate(self, username: str, password: str, client: str) -> User:
        """Authenticate, reserving one attempt per (user name, client) before verifying.

        No more than the limit's verifications run per window however many requests arrive
        at once (so at most that many of one user's requests from one address are verified
        at the same moment); a success forgets the failures. Raises TooManyRequestsError
        while over the limit (the password is not checked), and AuthenticationError for
        wrong credentials.
        """
        self._limiter.acquire(self.MESSAGE, username, client)
        user = self._users.authenticate(username, password)  # a failure stays counted
        self._limiter.reset(username, client)
        return user
