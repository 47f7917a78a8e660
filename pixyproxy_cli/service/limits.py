"""Rate limits for the REST API: failed logins, and images generated.

The counters live in the database (``rate_limits``), so a limit holds across every worker of
``serve --workers N`` and across servers that share the database. Each event is counted with
one atomic upsert *before* the work it guards, and refused when it goes over the limit:
checking first and counting after would let concurrent requests all pass the check.

Windows are fixed, starting at a bucket's first event: at most ``limit`` events are let
through per bucket in any window. Keys (user name, client address) are stored only as a
SHA-256, never as the text a client sent.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pixyproxy_cli.core.exceptions import PixyProxyException, TooManyRequestsError
from pixyproxy_cli.service.interfaces import UserServiceInterface
from pixyproxy_cli.service.transaction import UnitOfWorkFactory, retried

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import User

logger = logging.getLogger(__name__)

PURGE_EVERY = 1000
"""Every this many counted events, a limiter removes its buckets whose window has passed."""


class Limiter:
    """At most ``limit`` events per key in a window of ``window`` seconds (``limit`` 0: none).

    ``kind`` names the limit in its buckets (``login``, ``generate``); ``clock`` is wall-clock
    time, since servers sharing a database share only that.
    """

    def __init__(
        self,
        *,
        kind: str,
        limit: int,
        window: float,
        uow: UnitOfWorkFactory,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kind = kind
        self.limit = limit
        self.window = window
        self._uow = uow
        self._clock = clock
        self._events = itertools.count(1)

    def bucket(self, *key: str) -> str:
        """The bucket name for ``key``: the kind and a SHA-256 of the key's parts."""
        digest = hashlib.sha256("\0".join(key).encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self.kind}:{digest}"

    def acquire(self, message: str, *key: str, weight: int = 1) -> None:
        """Count ``weight`` events (images, say) for ``key``.

        Raises TooManyRequestsError (with ``retry_after``) when that puts its window over the
        limit, and the database's PixyProxyExceptions.
        """
        if self.limit <= 0:
            return
        now = self._clock()
        bucket = self.bucket(*key)
        for attempt in retried(self._uow):
            with attempt as uow:
                # A bucket already full is refused on a plain read, without writing its row:
                # on a multi-primary cluster, writes to one row from several nodes conflict
                # (and are run again), so the requests past the limit must not write at all.
                seen = uow.limits.peek(bucket)
                if seen is not None and seen[1] > now - self.window and seen[0] >= self.limit:
                    hits, started = seen[0] + weight, seen[1]
                else:
                    hits, started = uow.limits.hit(
                        bucket, now=now, window=self.window, weight=weight
                    )
                    if hits > self.limit:
                        # Refused events use nothing up: later, smaller requests may fit.
                        uow.limits.give_back(bucket, weight)
        if next(self._events) % PURGE_EVERY == 0:
            self._purge(now)
        if hits > self.limit:
            raise TooManyRequestsError(message, retry_after=max(started + self.window - now, 1))

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
