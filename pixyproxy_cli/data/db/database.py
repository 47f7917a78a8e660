"""What every database backend provides to ``DatabaseContext`` and the repositories.

A ``Database`` owns the connections of one backend (a pool of MySQL connections, or of
SQLite connections to one file), knows its dialect, and translates its driver's exceptions
into the PixyProxyException family so that nothing above ``data/`` sees a driver error.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar

from pixyproxy_cli.core.constants import Provision
from pixyproxy_cli.core.exceptions import (
    DatabaseMissingError,
    DBConnectionError,
    PixyProxyException,
)
from pixyproxy_cli.data.db.pool import ConnectionPool

logger = logging.getLogger(__name__)


Row = dict[str, Any]
RawRow = tuple[Any, ...]
Params = Mapping[str, Any]


class Database(ABC):
    """One configured database: borrow and return connections, run statements, map errors."""

    dialect: ClassVar[str]
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = ()

    def __init__(
        self, pool: ConnectionPool[Any], location: str, provision: Provision = Provision.SCHEMA
    ) -> None:
        self.pool = pool
        self.location = location
        self.provision = provision
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    # -- connections -------------------------------------------------------------------

    def acquire(self) -> Any:
        """Borrow a connection, creating the schema on first use.

        Raises DBConnectionError when the database cannot be reached in time.
        """
        if not self._schema_ready:
            with self._schema_lock:
                if not self._schema_ready:
                    self.ensure_schema()
        return self.pool.acquire()

    def release(self, connection: Any, *, discard: bool = False) -> None:
        """Return a borrowed connection; ``discard`` closes it (it is broken or suspect)."""
        self.pool.release(connection, discard=discard)

    def close(self) -> None:
        """Close every idle connection; later ``acquire`` calls fail."""
        self.pool.close()

    def ensure_schema(self) -> None:
        """Create or migrate the schema once per process, as far as ``provision`` allows.

        Raises DatabaseMissingError when there is no schema and this caller may not create
        one, and the translated errors of the statements.
        """
        from pixyproxy_cli.data.db.schema import current_version, migrate

        connection = self.pool.acquire()
        discard = True
        try:
            if current_version(self, connection) == 0:
                cursor = self.cursor(connection)
                try:
                    self.check_unversioned(cursor)
                finally:
                    cursor.close()
                if not self.may_create_schema():
                    raise DatabaseMissingError(self.missing_schema_message())
            if self.provision > Provision.NOTHING:
                migrate(self, connection)
            else:
                self.rollback(connection)
            discard = False
        finally:
            self.pool.release(connection, discard=discard)
        self._schema_ready = True

    def check_unversioned(self, cursor: Any) -> None:  # noqa: B027 - a hook, empty by default
        """Check a database with no pixyproxy schema before one is created in it.

        Raises ForeignDatabaseError when it is plainly another program's. A MySQL database
        may hold other tables beside pixyproxy's, so by default nothing is refused.
        """

    def may_create_schema(self) -> bool:
        """Whether this caller may create the schema where there is none."""
        return self.provision >= Provision.SCHEMA

    def missing_schema_message(self) -> str:
        """What to tell a caller that finds no schema (and may not create one)."""
        return f"{self.location} has no pixyproxy schema yet; run pixyproxy db init"

    def schema_version(self) -> int:
        """The schema version recorded in the database, creating the schema if needed."""
        from pixyproxy_cli.data.db.schema import current_version

        connection = self.acquire()
        discard = True
        try:
            version = current_version(self, connection)
            self.rollback(connection)
            discard = False
            return version
        finally:
            self.release(connection, discard=discard)

    # -- statements --------------------------------------------------------------------

    @abstractmethod
    def open_connection(self) -> Any:
        """Open a new driver connection. Raises DBConnectionError."""

    @abstractmethod
    def close_connection(self, connection: Any) -> None:
        """Close a driver connection, ignoring errors (it may already be dead)."""

    @abstractmethod
    def cursor(self, connection: Any) -> Any:
        """Return a cursor whose rows come back as dicts."""

    @abstractmethod
    def begin(self, connection: Any, *, write: bool = False) -> None:
        """Start a transaction on ``connection``; ``write`` when it is going to write."""

    def commit(self, connection: Any) -> None:
        """Commit the transaction on ``connection``."""
        with self.errors_translated():
            connection.commit()

    def rollback(self, connection: Any) -> None:
        """Roll back the transaction on ``connection``."""
        with self.errors_translated():
            connection.rollback()

    def execute(self, cursor: Any, sql: str, params: Params | None = None) -> None:
        """Run one statement with named parameters. Raises a translated PixyProxyException."""
        with self.errors_translated():
            cursor.execute(sql, dict(params or {}))

    def fetchone(self, cursor: Any) -> Row | None:
        """Fetch the next row as a dict, or None."""
        with self.errors_translated():
            row = cursor.fetchone()
        return None if row is None else dict(row)

    def fetchall(self, cursor: Any) -> list[Row]:
        """Fetch the remaining rows as dicts (both drivers' cursors already make dicts)."""
        with self.errors_translated():
            rows: list[Row] = cursor.fetchall()
        return rows

    @abstractmethod
    def fetch_raw(self, connection: Any, sql: str, params: Params | None = None) -> list[RawRow]:
        """Run one query; return its rows as tuples with text as UTF-8 bytes, unconverted.

        For callers that write rows out without looking at them (large listings): the driver
        skips building a str or datetime per value. Raises a translated PixyProxyException.
        """

    # -- errors ------------------------------------------------------------------------

    @abstractmethod
    def translate_error(self, error: BaseException) -> PixyProxyException:
        """Map one driver exception to the PixyProxyException that describes it."""

    @contextmanager
    def errors_translated(self) -> Iterator[None]:
        """Re-raise driver exceptions raised inside the block as PixyProxyExceptions."""
        try:
            yield
        except self.driver_errors as error:
            translated = self.translate_error(error)
            if isinstance(translated, DBConnectionError):
                # The server went away or refused us: every idle connection is suspect too.
                self.pool.discard_idle()
            logger.debug("driver error on %s: %r", self.location, error)
            raise translated from error

    # -- dialect ---------------------------------------------------------------------------

    def sql(self, statement: str) -> str:
        """Adapt a statement written with ``%(name)s`` parameters to this driver's style."""
        return statement

    @abstractmethod
    def table_exists(self, cursor: Any, table: str) -> bool:
        """Whether ``table`` exists in the configured database."""

    @abstractmethod
    def schema_lock(self, connection: Any) -> AbstractContextManager[None]:
        """Hold a lock that serialises schema migrations between processes."""

    @abstractmethod
    def driver_name(self) -> str:
        """A short description of the driver in use, for ``doctor`` and benchmarks."""
