"""What every ``serve`` process must forget: revoked tokens and deleted images, by database.

A worker keeps checked tokens and read images in memory, so that a request costs no query.
A revoke or a delete in one process cannot reach another's memory, on this machine or on
another replica; instead it writes a row to ``invalidations`` in its own transaction, and
every worker reads the recent rows ``POLL_SECONDS`` apart (``Invalidations.run``, a thread
``serve`` starts) and forgets what they name. The database is the only thing the replicas
share, so this is the one way the news travels; one small query per worker and interval
costs nothing next to the requests it serves.

Rows are read for the last ``LOOKBACK_SECONDS`` on every poll, not after the last id seen: on
a multi-primary cluster ids do not commit in order, and a row committed late with a low id
must not be missed. What a worker has acted on it remembers for that long.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from pixyproxy_cli.core.exceptions import PixyProxyException
from pixyproxy_cli.service.transaction import UnitOfWorkFactory, retried, transaction

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05
"""How long a revoke or a delete may take to reach every other worker, at most, plus the
database's replication lag."""
LOOKBACK_SECONDS = 10.0
"""How far back each poll reads: longer than any commit takes, or the clocks of two
replicas differ."""
KEEP_SECONDS = 3600.0
"""Rows older than this are purged (by whichever worker's poll comes to it)."""
PURGE_EVERY = 2000
"""Polls between two purges, in one worker."""
REPEAT_LOG_SECONDS = 60.0
"""While polls keep failing (the database is down, no file can be opened), how often that is
said again after the first failure's traceback: at 20 polls a second, one traceback each
would flood the log."""

TOKEN = "token"  # noqa: S105 - a kind of row, not a secret
"""A revoked API token; the subject is its id."""
IMAGE = "image"
"""A deleted image; the subject is its GUID."""


class Invalidations:
    """Tells this process's caches what any process revoked or deleted (see the module)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Callable[[], float] = time.time) -> None:
        self._uow = uow
        self._clock = clock
        self._listeners: dict[str, list[Callable[[str], None]]] = {}
        self._seen: dict[int, float] = {}
        self._polls = 0

    def listen(self, kind: str, forget: Callable[[str], None]) -> None:
        """Call ``forget(subject)`` for every invalidation of ``kind`` a poll finds."""
        self._listeners.setdefault(kind, []).append(forget)

    def poll(self) -> int:
        """Read the recent invalidations and tell the listeners of new ones; how many.

        Raises the database's PixyProxyExceptions.
        """
        now = self._clock()
        since = now - LOOKBACK_SECONDS
        with transaction(self._uow) as uow:
            rows = uow.invalidations.since(since)
        told = 0
        for row_id, kind, subject in rows:
            if row_id in self._seen:
                continue
            self._seen[row_id] = now
            for forget in self._listeners.get(kind, ()):
                forget(subject)
            told += 1
        self._seen = {row_id: at for row_id, at in self._seen.items() if at >= since}
        self._polls += 1
        if self._polls % PURGE_EVERY == 0:
            self._purge(now - KEEP_SECONDS)
        return told

    def run(self, stop: threading.Event, every: float = POLL_SECONDS) -> None:
        """Poll every ``every`` seconds until ``stop`` is set; errors are logged, not raised.

        An outage is logged once with its traceback, then in one line every
        ``REPEAT_LOG_SECONDS``, and its end once.
        """
        failing_since: float | None = None
        failures = 0
        said = 0.0
        while not stop.is_set():
            try:
                self.poll()
            except PixyProxyException as error:
                now = time.monotonic()
                failures += 1
                if failing_since is None:
                    failing_since = said = now
                    logger.warning("could not read the invalidations", exc_info=True)
                elif now - said >= REPEAT_LOG_SECONDS:
                    said = now
                    logger.warning(
                        "still cannot read the invalidations (%d failures in %.0f s): %s",
                        failures,
                        now - failing_since,
                        error,
                    )
            else:
                if failing_since is not None:
                    logger.warning(
                        "the invalidations are read again, after %d failures in %.0f s",
                        failures,
                        time.monotonic() - failing_since,
                    )
                    failing_since, failures = None, 0
            stop.wait(every)

    def start(self, every: float = POLL_SECONDS) -> Callable[[], None]:
        """Poll in a daemon thread; the function returned stops it (and waits for it)."""
        stop = threading.Event()
        thread = threading.Thread(
            target=self.run, args=(stop, every), name="pixyproxy-invalidations", daemon=True
        )
        thread.start()

        def stopper() -> None:
            stop.set()
            thread.join(timeout=5)

        return stopper

    def _purge(self, before: float) -> None:
        try:
            for attempt in retried(self._uow):
                with attempt as uow:
                    uow.invalidations.purge(before=before)
        except PixyProxyException:
            logger.warning("could not purge old invalidations", exc_info=True)
