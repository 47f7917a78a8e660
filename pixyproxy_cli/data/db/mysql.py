"""The MySQL / MariaDB backend, through mysql-connector-python.

Only this module (and the migrations' SQL) knows about ``mysql.connector``; it is imported
when a MySQL database is first built, never on the CLI's start-up path.

Two quirks of the connector on this platform are handled here:

* Its default collation, ``utf8mb4_0900_ai_ci``, does not exist on MariaDB (error 1273):
  connections ask for ``utf8mb4_unicode_ci``, which both servers know.
* Its C extension falls back to pure Python (about 5x slower at fetching) when the
  system's OpenSSL was loaded first; the entry point preloads it when MySQL is configured
  (``data/db/mysql_preload.py``), and ``driver_name()`` says which one is in use.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import mysql.connector
from mysql.connector import errorcode, errors

from pixyproxy_cli.core.constants import Provision
from pixyproxy_cli.core.exceptions import (
    ConstraintViolationError,
    DatabaseError,
    DatabaseMissingError,
    DBConnectionError,
    PixyProxyException,
    TransactionConflictError,
)
from pixyproxy_cli.core.settings import Settings
from pixyproxy_cli.data.db import mysql_preload
from pixyproxy_cli.data.db.database import Database, Params, RawRow, Row
from pixyproxy_cli.data.db.pool import ConnectionPool
from pixyproxy_cli.data.keyring_stores.secrets import database_password

logger = logging.getLogger(__name__)

CHARSET = "utf8mb4"
COLLATION = "utf8mb4_unicode_ci"
SESSION_SETUP = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'"
SCHEMA_LOCK_NAME = "pixyproxy_schema_migration"
SCHEMA_LOCK_TIMEOUT_SECONDS = 60
SCHEMA_LOCK_STALE_SECONDS = 900
"""A cluster lock this old was left by a process that died while migrating."""
CLUSTER_LOCK_TABLE = "schema_migration_lock"
"""The table whose existence is the cluster-wide migration lock."""

# Every way the server refuses a login: a wrong password (1045), a user it does not know
# asked without one (1698), a user who may not use the database (1044).
_LOGIN_REFUSED_ERRNOS = frozenset(
    {
        errorcode.ER_ACCESS_DENIED_ERROR,
        errorcode.ER_DBACCESS_DENIED_ERROR,
        errorcode.ER_ACCESS_DENIED_NO_PASSWORD_ERROR,
        errorcode.ER_ACCESS_DENIED_CHANGE_USER_ERROR,
    }
)
_SERVER_DOWN = frozenset(
    {
        errorcode.CR_CONNECTION_ERROR,
        errorcode.CR_CONN_HOST_ERROR,
        errorcode.CR_UNKNOWN_HOST,
        errorcode.CR_SERVER_GONE_ERROR,
        errorcode.CR_SERVER_LOST,
        errorcode.ER_SERVER_SHUTDOWN,
        errorcode.ER_CON_COUNT_ERROR,
        1047,  # ER_UNKNOWN_COM_ERROR: a Galera node not ready ("WSREP has not yet prepared")
    }
)
"""Errors that mean "this server cannot be used right now": unreachable, refused, gone away."""
_UNREACHABLE = _SERVER_DOWN | {-1}
"""Errors of one host that the next host of DB_HOST may not have (-1: the connector's own
failure to connect, which carries no server errno)."""
_CONFLICT_ERRNOS = frozenset({errorcode.ER_LOCK_DEADLOCK, errorcode.ER_LOCK_WAIT_TIMEOUT})
"""1213 and 1205: the transaction lost a race for rows another one changed."""
_CONNECTION_ERRNOS = (
    _LOGIN_REFUSED_ERRNOS
    | _SERVER_DOWN
    | {
        errorcode.ER_BAD_DB_ERROR,
        errorcode.CR_SERVER_LOST_EXTENDED,
        1927,  # MariaDB ER_CONNECTION_KILLED
        4031,  # ER_CLIENT_INTERACTION_TIMEOUT
    }
)
"""Errors that end the use of a connection (DBConnectionError), whatever the host."""
_CONSTRAINT_ERRNOS = frozenset(
    {
        errorcode.ER_DUP_ENTRY,
        errorcode.ER_NO_REFERENCED_ROW_2,
        errorcode.ER_ROW_IS_REFERENCED_2,
        4025,  # MariaDB ER_CONSTRAINT_FAILED (CHECK)
        errorcode.ER_CHECK_CONSTRAINT_VIOLATED,
    }
)


def driver_name() -> str:
    """Which mysql-connector implementation this process uses, and why if it is the slow one."""
    version = mysql.connector.__version__
    if mysql.connector.HAVE_CEXT:
        return f"mysql-connector-python {version} (C extension)"
    error = mysql_preload.preload_error
    reason = f": {error}" if error else ""
    return f"mysql-connector-python {version} (pure Python; C extension unavailable{reason})"


def _c_extension_errors() -> tuple[type[BaseException], ...]:
    """The C extension's own error, when it is loaded (else none).

    Its commit, rollback and start_transaction raise it unwrapped, as when the connection
    is lost mid-call: it is a connection error like the connector's InterfaceError.
    """
    try:
        from _mysql_connector import MySQLInterfaceError
    except ImportError:
        return ()
    return (MySQLInterfaceError,)


_INTERFACE_ERRORS = _c_extension_errors()


class MySQLDatabase(Database):
    """A pool of connections to one MySQL or MariaDB database."""

    dialect: ClassVar[str] = "mysql"
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = (
        errors.Error,
        *_INTERFACE_ERRORS,
    )

    def __init__(self, settings: Settings, provision: Provision = Provision.SCHEMA) -> None:
        self._hosts = settings.database_hosts()
        self._preferred = 0
        """The host connections are opened to first: the last one that answered."""
        self._address = ",".join(f"{host}:{port}" for host, port in self._hosts)
        self._database_name = settings.db_name
        self._config: dict[str, Any] = {
            "user": settings.db_user or "root",
            "password": database_password(settings),
            "database": settings.db_name,
            "charset": CHARSET,
            "collation": COLLATION,
            "autocommit": False,
            "connection_timeout": max(1, round(settings.db_connect_timeout)),
            "init_command": SESSION_SETUP
            + (
                f", SESSION wsrep_sync_wait = {int(settings.db_sync_wait)}"
                if settings.db_sync_wait is not None
                else ""
            ),
        }
        pool = ConnectionPool(
            self.open_connection,
            self.close_connection,
            size=settings.db_pool_size,
            timeout=settings.db_pool_timeout,
            is_alive=self._is_alive,
            location=f"the MySQL database at {self._address}",
        )
        super().__init__(pool, location=settings.database_location(), provision=provision)

    # -- connections -------------------------------------------------------------------

    def open_connection(self) -> Any:
        """Open a connection; ``db init`` (Provision.DATABASE) creates a missing database.

        Raises DatabaseMissingError when the database does not exist and this caller may not
        create it, and DBConnectionError naming host:port (never the password).
        """
        with self.errors_translated():
            try:
                return self._connect(self._config)
            except errors.ProgrammingError as error:
                if error.errno != errorcode.ER_BAD_DB_ERROR:
                    raise
            if self.provision < Provision.DATABASE:
                raise DatabaseMissingError(
                    f"database {self._database_name} does not exist on {self._address}; "
                    "run pixyproxy db init"
                )
            self._create_database()
            return self._connect(self._config)

    def _connect(self, config: dict[str, Any]) -> Any:
        """A connection to the first host that answers, the last one that did first.

        With several hosts (DB_HOST=a,b,c: the nodes of a cluster, or replicas behind no
        balancer) a host that refuses, does not answer, or is a Galera node not ready for
        clients is passed over for the next, and the one that answers is tried first from
        then on. Raises the last host's error when none answers.
        """
        count = len(self._hosts)
        for offset in range(count):
            index = (self._preferred + offset) % count
            host, port = self._hosts[index]
            try:
                connection = mysql.connector.connect(host=host, port=port, **config)
                if count > 1 and not self._ready(connection):
                    connection.close()
                    raise errors.OperationalError(
                        msg=f"{host}:{port} is a Galera node not ready for clients", errno=1047
                    )
            except errors.Error as error:
                if offset == count - 1 or getattr(error, "errno", None) not in _UNREACHABLE:
                    raise
                logger.warning(
                    "MySQL at %s:%s cannot be used (%s); trying the next", host, port, error
                )
                continue
            if index != self._preferred:
                logger.warning("MySQL: failed over to %s:%s", host, port)
                self._preferred = index
            return connection
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    @staticmethod
    def _ready(connection: Any) -> bool:
        """Whether a Galera node takes clients (always, for a server that is not one)."""
        cursor = connection.cursor()
        try:
            cursor.execute("SHOW VARIABLES LIKE 'wsrep_on'")
            row = cursor.fetchone()
            if row is None or str(row[1]).upper() != "ON":
                return True  # not a Galera node (MariaDB builds have the variable, OFF)
            cursor.execute("SHOW STATUS LIKE 'wsrep_ready'")
            row = cursor.fetchone()
        finally:
            cursor.close()
        return row is not None and str(row[1]).upper() == "ON"

    def _create_database(self) -> None:
        config = {key: value for key, value in self._config.items() if key != "database"}
        connection = self._connect(config)
        try:
            cursor = connection.cursor()
            cursor.execute(
                f"CREATE DATABASE IF NOT EXISTS `{self._database_name.replace('`', '``')}` "
                f"CHARACTER SET {CHARSET} COLLATE {COLLATION}"
            )
            cursor.close()
        finally:
            connection.close()
        logger.info("created database %s on %s", self._database_name, self._address)

    def close_connection(self, connection: Any) -> None:
        """Close a connection, ignoring errors from one that is already dead."""
        try:
            connection.close()
        except Exception:
            logger.debug("closing a MySQL connection failed", exc_info=True)

    @staticmethod
    def _is_alive(connection: Any) -> bool:
        try:
            return bool(connection.is_connected())
        except Exception:  # noqa: BLE001 - a dead connection can fail in many ways
            return False

    def cursor(self, connection: Any) -> Any:
        """A buffered tuple cursor (read whole; our results are bounded).

        Rows become dicts in ``fetchone``/``fetchall``: the connector's own dictionary
        cursor rebuilds the column names for every row, a third of a listing's time.
        """
        with self.errors_translated():
            return _cursor_classes(connection)[0](connection)

    def fetchone(self, cursor: Any) -> Row | None:
        """Fetch the next row as a dict, or None."""
        with self.errors_translated():
            row = cursor.fetchone()
        return None if row is None else dict(zip(cursor.column_names, row, strict=True))

    def fetchall(self, cursor: Any) -> list[Row]:
        """Fetch the remaining rows as dicts."""
        with self.errors_translated():
            rows = cursor.fetchall()
        names = cursor.column_names
        return [dict(zip(names, row, strict=True)) for row in rows]

    def fetch_raw(self, connection: Any, sql: str, params: Params | None = None) -> list[RawRow]:
        """Rows as the server sent them: every value as bytes (numbers as digits), NULL as None."""
        with self.errors_translated():
            cursor = _cursor_classes(connection)[1](connection)
            try:
                cursor.execute(sql, dict(params or {}))
                rows: list[RawRow] = cursor.fetchall()
                return rows
            finally:
                cursor.close()

    def begin(self, connection: Any, *, write: bool = False) -> None:
        """Start a transaction (ending a read-only implicit one a bare SELECT may have left).

        ``write`` changes nothing here: InnoDB locks rows, not the database.
        """
        with self.errors_translated():
            if connection.in_transaction:
                connection.rollback()
            connection.start_transaction()

    # -- dialect -----------------------------------------------------------------------

    def table_exists(self, cursor: Any, table: str) -> bool:
        """Whether ``table`` exists in the configured database."""
        self.execute(
            cursor,
            "SELECT COUNT(*) AS n FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name = %(table)s",
            {"table": table},
        )
        row = self.fetchone(cursor)
        return bool(row and row["n"])

    @contextmanager
    def schema_lock(self, connection: Any) -> Iterator[None]:
        """Hold the migration lock of the whole cluster while migrating.

        GET_LOCK serialises the processes of one server, but on a Galera cluster each node
        has its own. The cluster-wide lock is a table, ``schema_migration_lock``: DDL runs
        in the same order on every node (total order isolation), so of several processes
        creating it at once exactly one succeeds, and the others wait until it is dropped.
        A lock older than ``SCHEMA_LOCK_STALE_SECONDS`` was left by a process that died,
        and is taken over. (A row would not do: the DDL of one process's migration aborts
        another's open transaction on the same table.) Raises DatabaseError after
        ``SCHEMA_LOCK_TIMEOUT_SECONDS`` of waiting.
        """
        cursor = self.cursor(connection)
        try:
            self.execute(
                cursor,
                "SELECT GET_LOCK(%(name)s, %(timeout)s) AS locked",
                {"name": SCHEMA_LOCK_NAME, "timeout": SCHEMA_LOCK_TIMEOUT_SECONDS},
            )
            row = self.fetchone(cursor)
            if not row or row["locked"] != 1:
                raise DatabaseError(
                    f"Timed out waiting for another pixyproxy to finish migrating {self.location}"
                )
            try:
                self._take_cluster_lock(cursor)
                try:
                    yield
                    self.commit(connection)  # the DDL commits itself; the version row does not
                finally:
                    self.rollback(connection)
                    self.execute(cursor, f"DROP TABLE IF EXISTS {CLUSTER_LOCK_TABLE}")
            finally:
                self.execute(cursor, "SELECT RELEASE_LOCK(%(name)s)", {"name": SCHEMA_LOCK_NAME})
                self.fetchall(cursor)
        finally:
            cursor.close()

    def _take_cluster_lock(self, cursor: Any) -> None:
        """Create the lock table, waiting while another process holds it (see above)."""
        deadline = time.monotonic() + SCHEMA_LOCK_TIMEOUT_SECONDS
        while True:
            try:
                self.execute(
                    cursor,
                    f"CREATE TABLE {CLUSTER_LOCK_TABLE} (held_by VARCHAR(64)) ENGINE=InnoDB",
                )
                return
            except PixyProxyException as error:
                if getattr(error.__cause__, "errno", None) != errorcode.ER_TABLE_EXISTS_ERROR:
                    raise
            self.execute(
                cursor,
                "SELECT TIMESTAMPDIFF(SECOND, CREATE_TIME, NOW()) AS age "
                "FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_name = %(table)s",
                {"table": CLUSTER_LOCK_TABLE},
            )
            row = self.fetchone(cursor)
            if row and row["age"] is not None and int(row["age"]) > SCHEMA_LOCK_STALE_SECONDS:
                logger.warning("taking over a migration lock left %s s ago", row["age"])
                self.execute(cursor, f"DROP TABLE IF EXISTS {CLUSTER_LOCK_TABLE}")
                continue
            if time.monotonic() > deadline:
                raise DatabaseError(
                    f"Timed out waiting for another pixyproxy to finish migrating {self.location}"
                    " (on another node of the cluster)"
                )
            time.sleep(0.2)

    def driver_name(self) -> str:
        """Which mysql-connector implementation is in use."""
        return driver_name()

    # -- errors ------------------------------------------------------------------------

    def translate_error(self, error: BaseException) -> PixyProxyException:
        """Map a mysql.connector error to a PixyProxyException (no password in any message)."""
        errno = getattr(error, "errno", None)
        if errno in _CONFLICT_ERRNOS:
            # A deadlock, a lock wait given up, or (on Galera) a certification conflict at
            # commit or a brute-force abort by a replicated write: the transaction is lost,
            # and the whole unit of work may run again (service/transaction.py retries it).
            return TransactionConflictError(
                f"MySQL error {errno}: {getattr(error, 'msg', error)}", retry_after=1
            )
        if errno in _CONSTRAINT_ERRNOS or isinstance(error, errors.IntegrityError):
            return ConstraintViolationError(_constraint_message(error))
        if (
            errno in _CONNECTION_ERRNOS
            or isinstance(error, (errors.InterfaceError, *_INTERFACE_ERRORS))
            # "MySQL Connection not available": the connector already knows it is closed.
            or (isinstance(error, errors.OperationalError) and errno in (None, -1))
        ):
            return DBConnectionError(
                f"Cannot use the MySQL database at {self._address}: {_connection_reason(error)}"
            )
        if isinstance(error, errors.PoolError):
            return DBConnectionError(f"No connection to {self._address} is available")
        return DatabaseError(f"MySQL error {errno}: {getattr(error, 'msg', error)}")


def _cursor_classes(connection: Any) -> tuple[type[Any], type[Any]]:
    """The buffered (tuple, raw) cursor classes for this connection's implementation.

    Cursors are built directly because ``connection.cursor()`` pings the server first: a
    round trip per transaction that the pool's own check of idle connections makes needless
    (a connection that died anyway fails at BEGIN, and DatabaseContext replaces it).
    """
    if isinstance(connection, mysql.connector.connection.MySQLConnection):  # pure Python
        from mysql.connector.cursor import MySQLCursorBuffered, MySQLCursorBufferedRaw

        return MySQLCursorBuffered, MySQLCursorBufferedRaw
    from mysql.connector.cursor_cext import CMySQLCursorBuffered, CMySQLCursorBufferedRaw

    return CMySQLCursorBuffered, CMySQLCursorBufferedRaw


def _connection_reason(error: BaseException) -> str:
    errno = getattr(error, "errno", None)
    if errno in _LOGIN_REFUSED_ERRNOS:
        return (
            "the server refused the user name or password, or the user's access to the "
            "database (check DB_USER, DB_PASSWORD and DB_NAME)"
        )
    if errno == errorcode.ER_BAD_DB_ERROR:
        return "the database does not exist and could not be created (check DB_NAME)"
    if errno in (errorcode.CR_CONN_HOST_ERROR, errorcode.CR_CONNECTION_ERROR, 2003):
        return "the server is not reachable (is it running? check DB_HOST and DB_PORT)"
    if errno == errorcode.CR_UNKNOWN_HOST:
        return "unknown host (check DB_HOST)"
    if errno in (errorcode.CR_SERVER_GONE_ERROR, errorcode.CR_SERVER_LOST, 1927, 4031, -1):
        return "the connection to the server was lost"
    return f"error {errno}" if errno else type(error).__name__


def _constraint_message(error: BaseException) -> str:
    errno = getattr(error, "errno", None)
    if errno == errorcode.ER_DUP_ENTRY:
        return "A record with the same unique value already exists"
    if errno in (errorcode.ER_NO_REFERENCED_ROW_2, errorcode.ER_ROW_IS_REFERENCED_2):
        return "The change would break a reference between records"
    return ConstraintViolationError.default_message
