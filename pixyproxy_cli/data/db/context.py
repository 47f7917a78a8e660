"""``DatabaseContext``: the unit of work, which owns the repositories of its connection.

    with DatabaseContext(database) as uow:
        uow.begin_transaction()
        uow.images.create_image(...)      # images, users, tokens, limits
        uow.commit_transaction()

Entering borrows a connection from the database and builds the repositories on it; they
exist only inside the ``with`` (using one outside is a RuntimeError, never a query on some
other connection). Leaving rolls back whatever was not committed and always returns the
connection (discarding it when it broke). ``get_current_db_context()``, the
specification's lookup, is a view of the same thing: the innermost context entered in this
thread or task (a ``ContextVar``, right for threads and asyncio alike).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

from pixyproxy_cli.core.exceptions import DBConnectionError, PixyProxyException
from pixyproxy_cli.data.db.database import Database, Params, RawRow, Row

if TYPE_CHECKING:
    from pixyproxy_cli.data.db.interfaces import (
        ImageRepositoryInterface,
        InvalidationRepositoryInterface,
        LimitRepositoryInterface,
        TokenRepositoryInterface,
        UserRepositoryInterface,
    )
    from pixyproxy_cli.data.db.jobs import JobRepositoryInterface

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

_current_context: ContextVar[DatabaseContext | None] = ContextVar(
    "pixyproxy_db_context", default=None
)


@dataclass(frozen=True)
class Repositories:
    """The repositories of one unit of work, all on its connection."""

    images: ImageRepositoryInterface
    users: UserRepositoryInterface
    tokens: TokenRepositoryInterface
    limits: LimitRepositoryInterface
    invalidations: InvalidationRepositoryInterface
    jobs: JobRepositoryInterface


class UnitOfWork(Protocol):
    """What a service needs of a transaction scope (``DatabaseContext`` or a fake).

    Its transaction, and the repositories that work inside it.
    """

    @property
    def images(self) -> ImageRepositoryInterface:
        """The images, inside this unit of work."""

    @property
    def users(self) -> UserRepositoryInterface:
        """The roster, inside this unit of work."""

    @property
    def tokens(self) -> TokenRepositoryInterface:
        """The API tokens, inside this unit of work."""

    @property
    def limits(self) -> LimitRepositoryInterface:
        """The rate-limit counters, inside this unit of work."""

    @property
    def invalidations(self) -> InvalidationRepositoryInterface:
        """What every process must forget, inside this unit of work."""

    @property
    def jobs(self) -> JobRepositoryInterface:
        """The job queue, inside this unit of work."""

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def begin_transaction(self, *, write: bool = False) -> None:
        """Start the transaction; ``write`` when it is going to write."""

    def commit_transaction(self) -> None:
        """Commit it; raises a PixyProxyException when the commit fails."""

    def rollback_transaction(self) -> None:
        """Roll it back."""


class DatabaseContext:
    """A borrowed connection and its transaction; see the module docstring."""

    def __init__(self, database: Database | None = None) -> None:
        if database is None:
            # Only the specification's bare DatabaseContext(): services always name theirs.
            from pixyproxy_cli.data.init import default_database  # settings load on demand

            database = default_database()
        self.database = database
        self.conn: Any = None
        self._cursor: Any = None
        self._token: Token[DatabaseContext | None] | None = None
        self._in_transaction = False
        self._broken = False
        self._repositories: Repositories | None = None

    def __enter__(self) -> DatabaseContext:
        from pixyproxy_cli.data.db.repositories import bind_repositories

        try:
            self._open()
        except DBConnectionError:
            # A pooled connection that went stale while idle: nothing has run on it yet,
            # so one more try on a fresh connection is safe.
            self._open()
        self._repositories = bind_repositories(self)
        self._token = _current_context.set(self)
        return self

    def _bound(self) -> Repositories:
        if self._repositories is None:
            raise RuntimeError("repository used outside its unit of work (with DatabaseContext)")
        return self._repositories

    @property
    def images(self) -> ImageRepositoryInterface:
        """The images, on this context's connection. Raises RuntimeError outside ``with``."""
        return self._bound().images

    @property
    def users(self) -> UserRepositoryInterface:
        """The roster, on this context's connection. Raises RuntimeError outside ``with``."""
        return self._bound().users

    @property
    def tokens(self) -> TokenRepositoryInterface:
        """The API tokens, on this context's connection. Raises RuntimeError outside ``with``."""
        return self._bound().tokens

    @property
    def limits(self) -> LimitRepositoryInterface:
        """The rate-limit counters, on this connection. Raises RuntimeError outside ``with``."""
        return self._bound().limits

    @property
    def invalidations(self) -> InvalidationRepositoryInterface:
        """What every process must forget. Raises RuntimeError outside ``with``."""
        return self._bound().invalidations

    @property
    def jobs(self) -> JobRepositoryInterface:
        """The job queue. Raises RuntimeError outside ``with``."""
        return self._bound().jobs

    def _open(self) -> None:
        self.conn = self.database.acquire()
        try:
            self._cursor = self.database.cursor(self.conn)
        except BaseException:
            self.database.release(self.conn, discard=True)
            self.conn = None
            raise
        self._broken = False

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._in_transaction:
                self.rollback_transaction()
        except PixyProxyException:
            self._broken = True
            logger.debug("rollback on leaving the context failed", exc_info=True)
        finally:
            if self.conn is not None:  # None when replacing a stale connection failed
                self._close_cursor()
                self.database.release(self.conn, discard=self._broken)
            if self._token is not None:
                _current_context.reset(self._token)
            self.conn = self._cursor = self._token = None
            self._repositories = None

    def _close_cursor(self) -> None:
        try:
            self._cursor.close()
        except Exception:  # noqa: BLE001 - the cursor of a dead connection may not close
            self._broken = True

    @property
    def cursor(self) -> Any:
        """The dictionary cursor of this context's connection."""
        return self._cursor

    # -- transactions ------------------------------------------------------------------

    def begin_transaction(self, *, write: bool = False) -> None:
        """Start a transaction; ``write``: one that will write (SQLite's lock at BEGIN).

        A connection that went stale while idle is replaced once.
        """
        begin = partial(self.database.begin, write=write)
        try:
            self._guarded(begin, self.conn)
        except DBConnectionError:
            # Nothing has run on this connection yet, so trying a fresh one is safe.
            self._close_cursor()
            connection, self.conn, self._cursor = self.conn, None, None
            # Returned exactly once: if opening the replacement fails, __exit__ has none
            # to return (returning it twice would break the pool's cap).
            self.database.release(connection, discard=True)
            self._open()
            self._guarded(begin, self.conn)
        self._in_transaction = True

    def commit_transaction(self) -> None:
        """Commit the transaction. Raises the translated error if the commit fails."""
        self._guarded(self.database.commit, self.conn)
        self._in_transaction = False

    def rollback_transaction(self) -> None:
        """Roll back the transaction."""
        self._in_transaction = False
        self._guarded(self.database.rollback, self.conn)

    # -- statements (for repositories) -------------------------------------------------

    def execute(self, sql: str, params: Params | None = None) -> None:
        """Run one statement written with ``%(name)s`` parameters, in this backend's dialect."""
        self._guarded(self.database.execute, self._cursor, self.database.sql(sql), params)

    def fetchone(self) -> Row | None:
        """The next row of the last statement as a dict, or None."""
        return self._guarded(self.database.fetchone, self._cursor)

    def fetchall(self) -> list[Row]:
        """The remaining rows of the last statement as dicts."""
        return self._guarded(self.database.fetchall, self._cursor)

    def fetch_raw(self, sql: str, params: Params | None = None) -> list[RawRow]:
        """Run one query; its rows as tuples with text as UTF-8 bytes (see Database.fetch_raw)."""
        return self._guarded(self.database.fetch_raw, self.conn, self.database.sql(sql), params)

    @property
    def lastrowid(self) -> int:
        """The id the last INSERT generated."""
        return int(self._cursor.lastrowid)

    @property
    def rowcount(self) -> int:
        """How many rows the last statement changed."""
        return int(self._cursor.rowcount)

    def _guarded(self, operation: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return operation(*args, **kwargs)
        except DBConnectionError:
            self._broken = True
            raise


def get_current_db_context() -> DatabaseContext:
    """The innermost active ``DatabaseContext``.

    Raises RuntimeError when called outside one: a repository used without a unit of work
    is a programming error, not a user-facing failure.
    """
    context = _current_context.get()
    if context is None:
        raise RuntimeError("repository used outside a DatabaseContext")
    return context
