"""Schema creation and migration, with the version recorded in ``schema_version``.

Migrations are the numbered SQL files in ``migrations/<dialect>/`` (``001_initial.sql``,
``002_...``). On first use in a process, the database is brought to the newest version this
release knows; a database written by a newer release is refused with SchemaVersionError
rather than misread. Two processes starting at once serialise on a lock (``GET_LOCK`` on
MySQL, ``BEGIN IMMEDIATE`` on SQLite), and every step is idempotent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from pixyproxy_cli.core.exceptions import SchemaVersionError
from pixyproxy_cli.data.db.rows import db_timestamp, utc_now

if TYPE_CHECKING:
    from pixyproxy_cli.data.db.database import Database

_MIGRATION_NAME = re.compile(r"(\d{3})_[a-z0-9_]+\.sql")


@dataclass(frozen=True)
class Migration:
    """One numbered step of the schema, as a list of SQL statements."""

    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(script: str) -> tuple[str, ...]:
    """Split a migration script into statements.

    ``--`` comment lines are dropped, and a ``;`` at the end of a line ends a statement,
    except inside a trigger's body (from a line ending in ``BEGIN`` to a line ``END;``).
    """
    statements: list[str] = []
    current: list[str] = []
    in_body = False
    for line in script.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        current.append(line)
        if not in_body and stripped.upper().endswith("BEGIN"):
            in_body = True
        elif (in_body and stripped.upper() == "END;") or (not in_body and stripped.endswith(";")):
            in_body = False
            statements.append("\n".join(current).strip().removesuffix(";").strip())
            current = []
    if current:
        statements.append("\n".join(current).strip())
    return tuple(statement for statement in statements if statement)


def _migration_files(dialect: str) -> list[tuple[int, Any]]:
    folder = resources.files("pixyproxy_cli.data.db") / "migrations" / dialect
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.fullmatch(entry.name)
        if match:
            found.append((int(match.group(1)), entry))
    return sorted(found, key=lambda item: item[0])


@cache
def load_migrations(dialect: str) -> tuple[Migration, ...]:
    """Return the migrations shipped for ``dialect``, oldest first."""
    return tuple(
        Migration(version, entry.name, split_statements(entry.read_text(encoding="utf-8")))
        for version, entry in _migration_files(dialect)
    )


@cache
def latest_version(dialect: str) -> int:
    """The schema version this release creates for ``dialect`` (file names only: no reads)."""
    return _migration_files(dialect)[-1][0]


def current_version(database: Database, connection: Any) -> int:
    """The version recorded in the database, or 0 when it has no schema yet."""
    cursor = database.cursor(connection)
    try:
        if not database.table_exists(cursor, "schema_version"):
            return 0
        database.execute(cursor, "SELECT MAX(version) AS version FROM schema_version")
        row = database.fetchone(cursor)
        return int(row["version"]) if row and row["version"] is not None else 0
    finally:
        cursor.close()


def migrate(database: Database, connection: Any) -> int:
    """Bring the database to the latest schema version and return that version.

    Raises SchemaVersionError when the database is newer than this release, and the
    translated database errors of the statements.
    """
    latest = latest_version(database.dialect)
    version = current_version(database, connection)
    if version == latest:
        database.rollback(connection)  # end the read's implicit transaction
        return version
    migrations = load_migrations(database.dialect)
    with database.schema_lock(connection):
        version = current_version(database, connection)
        if version > latest:
            raise SchemaVersionError(
                f"The database at {database.location} has schema version {version}, but this "
                f"pixyproxy knows versions up to {latest}: upgrade pixyproxy"
            )
        cursor = database.cursor(connection)
        try:
            for migration in migrations:
                if migration.version <= version:
                    continue
                for statement in migration.statements:
                    database.execute(cursor, statement)
                database.execute(
                    cursor,
                    database.sql(
                        "INSERT INTO schema_version (version, applied_at) "
                        "VALUES (%(version)s, %(applied_at)s)"
                    ),
                    {"version": migration.version, "applied_at": db_timestamp(utc_now())},
                )
                version = migration.version
        finally:
            cursor.close()
    return version
