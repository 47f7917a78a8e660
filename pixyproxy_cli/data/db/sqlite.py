"""The embedded SQLite backend: one database file, nothing to install or start.

Connections run in autocommit mode (``isolation_level=None``) so that transactions are
exactly the ``BEGIN`` / ``COMMIT`` / ``ROLLBACK`` that ``DatabaseContext`` issues; the file
uses write-ahead logging so that readers never wait for a writer, and a busy timeout so that
parallel writers (several ``pixyproxy generate`` processes) queue instead of failing.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from pixyproxy_cli.core.constants import Provision
from pixyproxy_cli.core.exceptions import (
    ConstraintViolationError,
    DatabaseError,
    DatabaseMissingError,
    DBConnectionError,
    ForeignDatabaseError,
    PixyProxyException,
    StorageFullError,
    TransactionConflictError,
)
from pixyproxy_cli.core.settings import Settings
from pixyproxy_cli.data.db.database import Database, Params, RawRow
from pixyproxy_cli.data.db.pool import ConnectionPool

logger = logging.getLogger(__name__)

_NEARLY_FULL_BYTES = 64 * 1024
"""Free space below which SQLite's "disk I/O error" is taken for a full disk."""
_PYFORMAT_PARAMETER = re.compile(r"%\((\w+)\)s")


@lru_cache(maxsize=256)
def _to_named_parameters(statement: str) -> str:
    return _PYFORMAT_PARAMETER.sub(r":\1", statement)


def _connect_search_index(connection: sqlite3.Connection) -> None:
    """Open the full-text index's virtual table now, outside any transaction.

    FTS5 reads its configuration when a connection first uses the table. Inside a
    transaction that read would come before the insert's write lock, and SQLite does not
    wait (busy timeout) to turn a read transaction into a write one: a write that meets
    another process's lock would fail at once instead of waiting its turn.
    """
    with contextlib.suppress(sqlite3.OperationalError):  # no table yet: a migration makes it
        connection.execute("SELECT 1 FROM images_fts WHERE 0").fetchall()


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


class SQLiteDatabase(Database):
    """Connections to one SQLite file, pooled so that threads reuse them."""

    dialect: ClassVar[str] = "sqlite"
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = (sqlite3.Error,)

    def __init__(self, settings: Settings, provision: Provision = Provision.SCHEMA) -> None:
        self.path = Path(settings.sqlite_path)
        self._busy_timeout = max(settings.db_pool_timeout, 1.0)
        # One transaction at a time within this process. SQLite allows one writer anyway,
        # and a writer that finds the file locked sleeps in steps of milliseconds; waiting
        # on a lock of ours instead hands over the moment the other transaction ends.
        self._transaction_lock = threading.Lock()
        self._lock_holders: set[int] = set()
        pool = ConnectionPool(
            self.open_connection,
            self.close_connection,
            size=settings.db_pool_size,
            timeout=settings.db_pool_timeout,
            location=f"the SQLite database {self.path}",
        )
        super().__init__(pool, location=settings.database_location(), provision=provision)

    def may_create_schema(self) -> bool:
        """Readers may create the file and schema too: they live in pixyproxy's own directory."""
        return self.provision >= Provision.OWN_FILE

    def _looks_like_ours(self) -> bool:
        """Whether the file starts as pixyproxy's databases do.

        SQLite's header, and the schema's text (the CREATE TABLE of schema_version and
        images), which a truncated or damaged file of ours still holds (wherever ALTER TABLE
        moved it, within the first 16 MiB read here) and another program's does not.
        """
        try:
            with self.path.open("rb") as file:
                head = file.read(16 * 1024 * 1024)
        except OSError:
            return False
        return (
            head.startswith(b"SQLite format 3\0")
            and b"schema_version" in head
            and b"CREATE TABLE images" in head.replace(b'"', b"")
        )

    def check_unversioned(self, cursor: Any) -> None:
        """Refuse a file that holds another program's tables: pixyproxy adds none to it."""
        self.execute(cursor, "SELECT name FROM sqlite_master WHERE type = 'table'")
        names = [str(row["name"]) for row in self.fetchall(cursor)]
        # schema_version: another process has just created pixyproxy's schema here.
        if names and "schema_version" not in names:
            names = names[:3]
            raise ForeignDatabaseError(
                f"{self.path} is not a pixyproxy database (it holds other tables: "
                f"{', '.join(names)}); move it away, or point SQLITE_PATH at another file"
            )

    def open_connection(self) -> sqlite3.Connection:
        """Open the database file (creating its directory unless Provision.NOTHING).

        Raises DatabaseMissingError when the file is missing and may not be created, and
        DBConnectionError when it cannot be opened.
        """
        if self.provision == Provision.NOTHING and not self.path.is_file():
            raise DatabaseMissingError(
                f"there is no pixyproxy database at {self.path} yet; the first generate "
                "creates it (or run pixyproxy db init)"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DBConnectionError(
                f"Cannot create the directory for the SQLite database {self.path}: {error.strerror}"
            ) from error
        with self.errors_translated():
            connection = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            try:
                connection.row_factory = _dict_row
                connection.execute("PRAGMA foreign_keys = ON")
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA synchronous = NORMAL")
                # 256 KB of page cache a connection, not SQLite's 2 MB: a pool of 20 would
                # otherwise hold 40 MB once the file outgrows them, and the OS caches the
                # file anyway (jobs_child.py, 10,000 jobs: peak RSS 102 -> 69 MB, 49 -> 38 s;
                # the SQLite search benchmark unchanged, 0.51 ms).
                connection.execute("PRAGMA cache_size = -256")
                # A search's literal words (core/search.py) are found in the prompt in lower
                # case, as Python lowers it: SQLite's lower() and LIKE fold ASCII only.
                connection.create_function("pixy_lower", 1, str.lower, deterministic=True)
                _connect_search_index(connection)
            except BaseException:
                connection.close()
                raise
            return connection

    def close_connection(self, connection: sqlite3.Connection) -> None:
        """Close a connection, ignoring errors."""
        try:
            connection.close()
        except sqlite3.Error:
            logger.debug("closing a SQLite connection failed", exc_info=True)

    def cursor(self, connection: sqlite3.Connection) -> sqlite3.Cursor:
        """A cursor whose rows are dicts."""
        with self.errors_translated():
            return connection.cursor()

    def fetch_raw(
        self, connection: sqlite3.Connection, sql: str, params: Params | None = None
    ) -> list[RawRow]:
        """Rows as tuples, TEXT values as their UTF-8 bytes, numbers as ints, NULL as None."""
        with self.errors_translated():
            # The text factory belongs to the connection, which this caller holds alone.
            connection.text_factory = bytes
            try:
                cursor = connection.cursor()
                cursor.row_factory = None
                return cursor.execute(sql, dict(params or {})).fetchall()
            finally:
                connection.text_factory = str

    def begin(self, connection: sqlite3.Connection, *, write: bool = False) -> None:
        """Start a transaction, after this process's previous one has ended.

        A ``write`` transaction is IMMEDIATE: it takes the database's write lock at BEGIN,
        waiting its turn behind another process's writer. A deferred one that writes asks
        for the lock at its first write, and SQLite may then refuse at once (busy, without
        waiting) when another connection writes: a job's images were lost so between two
        processes' workers. Reads stay deferred, so they never wait for a writer (WAL).
        Raises DBConnectionError when no transaction slot frees up in time.
        """
        if not self._transaction_lock.acquire(timeout=self._busy_timeout):
            raise DBConnectionError(
                f"The SQLite database {self.path} stayed busy for {self._busy_timeout:g} s"
            )
        self._lock_holders.add(id(connection))
        try:
            with self.errors_translated():
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except BaseException:
            self._release(connection)
            raise

    def commit(self, connection: sqlite3.Connection) -> None:
        """Commit the open transaction, if any."""
        try:
            with self.errors_translated():
                if connection.in_transaction:
                    connection.execute("COMMIT")
        finally:
            self._release(connection)

    def rollback(self, connection: sqlite3.Connection) -> None:
        """Roll back the open transaction, if any."""
        try:
            with self.errors_translated():
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
        finally:
            self._release(connection)

    def _release(self, connection: sqlite3.Connection) -> None:
        if id(connection) in self._lock_holders:
            self._lock_holders.discard(id(connection))
            self._transaction_lock.release()

    # -- dialect -----------------------------------------------------------------------

    def sql(self, statement: str) -> str:
        """Rewrite ``%(name)s`` parameters as SQLite's ``:name``."""
        return _to_named_parameters(statement)

    def table_exists(self, cursor: Any, table: str) -> bool:
        """Whether ``table`` exists in the database file."""
        self.execute(
            cursor,
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = :table",
            {"table": table},
        )
        row = self.fetchone(cursor)
        return bool(row and row["n"])

    @contextmanager
    def schema_lock(self, connection: sqlite3.Connection) -> Iterator[None]:
        """Migrate inside one write transaction: SQLite's DDL is transactional."""
        with self.errors_translated():
            connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.rollback(connection)
            raise
        self.commit(connection)

    def _disk_is_full(self) -> bool:
        """Whether the file system holding the database has less than a page or two left."""
        try:
            return shutil.disk_usage(self.path.parent).free < _NEARLY_FULL_BYTES
        except OSError:
            return False

    def driver_name(self) -> str:
        """The SQLite library version in use."""
        return f"sqlite3 (SQLite {sqlite3.sqlite_version})"

    # -- errors ------------------------------------------------------------------------

    def translate_error(self, error: BaseException) -> PixyProxyException:
        """Map a sqlite3 error to a PixyProxyException."""
        message = str(error)
        if isinstance(error, sqlite3.IntegrityError):
            if "UNIQUE" in message:
                return ConstraintViolationError(
                    "A record with the same unique value already exists"
                )
            if "FOREIGN KEY" in message:
                return ConstraintViolationError(
                    "The change would break a reference between records"
                )
            return ConstraintViolationError()
        lowered = message.lower()
        if "disk is full" in lowered or ("disk i/o" in lowered and self._disk_is_full()):
            # SQLITE_FULL, or an I/O error creating the WAL's files on a full file system.
            return StorageFullError(
                f"Cannot write the SQLite database {self.path}: the disk is full"
            )
        if getattr(error, "sqlite_errorname", None) == "SQLITE_BUSY_SNAPSHOT":
            # A transaction that read, then tried to write after another process committed:
            # its snapshot is stale, and waiting cannot help. The whole unit of work may
            # run again (service/transaction.py::retried), as after a deadlock on MySQL.
            return TransactionConflictError(
                f"The SQLite database {self.path} changed since this transaction read it",
                retry_after=1,
            )
        if "locked" in lowered or "busy" in lowered:
            return DBConnectionError(
                f"The SQLite database {self.path} stayed locked by another process; try again"
            )
        if "unable to open" in lowered or "readonly" in lowered or "disk i/o" in lowered:
            return DBConnectionError(f"Cannot use the SQLite database {self.path}: {message}")
        if "not a database" in lowered or "malformed" in lowered or "vtable constructor" in lowered:
            if self._looks_like_ours():
                return ForeignDatabaseError(
                    f"{self.path} is a damaged pixyproxy database (SQLite cannot read it: "
                    f"{message}); restore it from a backup, or move it away and pixyproxy "
                    "starts a new one there"
                )
            return ForeignDatabaseError(
                f"{self.path} is not a pixyproxy database (SQLite cannot read it: {message}); "
                "move it away, or point SQLITE_PATH at another file"
            )
        return DatabaseError(f"SQLite error: {message}")
