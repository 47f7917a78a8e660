"""A small, bounded connection pool that waits for a free connection instead of failing.

mysql-connector's own ``MySQLConnectionPool`` raises ``PoolError`` the moment every
connection is out, opens all of its connections when it is built (ten handshakes for a
one-shot CLI command), and pings the server under a global lock on every checkout. This
pool opens connections lazily up to ``size``, makes a burst wait up to ``timeout`` seconds
for a free one, and only pings a connection that sat idle long enough to have gone stale.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from pixyproxy_cli.core.exceptions import DBConnectionError

C = TypeVar("C")


class ConnectionPool(Generic[C]):
    """Hands out at most ``size`` connections at once; callers beyond that wait, bounded.

    ``connect`` opens a new connection (and raises a PixyProxyException when it cannot);
    ``close`` closes one quietly; ``is_alive`` checks one that has been idle for longer
    than ``idle_check_after`` seconds.
    """

    def __init__(
        self,
        connect: Callable[[], C],
        close: Callable[[C], None],
        *,
        size: int,
        timeout: float,
        is_alive: Callable[[C], bool] | None = None,
        idle_check_after: float = 5.0,
        location: str = "the database",
    ) -> None:
        if size < 1:
            raise ValueError("pool size must be at least 1")
        self._connect = connect
        self._close = close
        self._is_alive = is_alive
        self._idle_check_after = idle_check_after
        self._timeout = timeout
        self._location = location
        self.size = size
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[tuple[C, float]] = []
        self._closed = False
        self._borrowed = 0
        self._generation = 0
        """Bumped when the server went away: connections borrowed before are not kept."""
        self._borrowed_in: dict[int, int] = {}

    def acquire(self) -> C:
        """Borrow a connection, waiting up to the timeout for one to be free.

        Raises DBConnectionError when none becomes free in time, or whatever ``connect``
        raises when a new connection cannot be opened.
        """
        if not self._slots.acquire(timeout=self._timeout):
            raise DBConnectionError(
                f"No connection to {self._location} became free within {self._timeout:g} s "
                f"(pool size {self.size}); raise DB_POOL_SIZE or DB_POOL_TIMEOUT"
            )
        connection = self._checkout()
        with self._lock:
            self._borrowed += 1
            self._borrowed_in[id(connection)] = self._generation
        return connection

    def _checkout(self) -> C:
        """An idle connection that is still alive, or a new one (a slot is held)."""
        try:
            while True:
                with self._lock:
                    if self._closed:
                        raise DBConnectionError("The connection pool is closed")
                    entry = self._idle.pop() if self._idle else None
                if entry is None:
                    return self._connect()
                connection, released_at = entry
                stale = time.monotonic() - released_at >= self._idle_check_after
                if not stale or self._is_alive is None or self._is_alive(connection):
                    return connection
                self._close(connection)
        except BaseException:
            self._slots.release()
            raise

    def release(self, connection: C, *, discard: bool = False) -> None:
        """Give a borrowed connection back; ``discard`` closes it instead of keeping it."""
        try:
            with self._lock:
                generation = self._borrowed_in.pop(id(connection), self._generation)
                # One borrowed before the server went away is as suspect as the idle ones.
                keep = not discard and not self._closed and generation == self._generation
                if keep:
                    self._idle.append((connection, time.monotonic()))
            if not keep:
                self._close(connection)
        finally:
            with self._lock:
                self._borrowed -= 1
            self._slots.release()

    @property
    def borrowed_count(self) -> int:
        """How many connections are borrowed right now."""
        with self._lock:
            return self._borrowed

    def discard_idle(self) -> int:
        """Close every idle connection (after the server went away, they are all stale)."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1
        for connection, _ in idle:
            self._close(connection)
        return len(idle)

    @property
    def idle_count(self) -> int:
        """How many opened connections are waiting to be borrowed."""
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        """Close idle connections and refuse new checkouts; borrowed ones close on release."""
        with self._lock:
            self._closed = True
        self.discard_idle()
