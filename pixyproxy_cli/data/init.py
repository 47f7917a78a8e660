"""Build the data layer from settings: the database (lazily), its repositories, the store.

Nothing here runs at import time. The process-wide database is built on the first call to
``get_database()``; its connections open on first use, and the schema is created or
migrated then (see ``data/schema.py``).
"""

from __future__ import annotations

import threading

from pixyproxy_cli.core.settings import Settings, load_settings
from pixyproxy_cli.data.database import Database
from pixyproxy_cli.data.interfaces import ImageRepositoryInterface, UserRepositoryInterface
from pixyproxy_cli.data.storage import LocalImageStore

_lock = threading.Lock()
_database: Database | None = None


def create_database(settings: Settings) -> Database:
    """A new Database for the configured backend; no connection is opened yet."""
    if settings.db_backend == "mysql":
        from pixyproxy_cli.data.mysql import MySQLDatabase

        return MySQLDatabase(settings)
    from pixyproxy_cli.data.sqlite import SQLiteDatabase

    return SQLiteDatabase(settings)


def get_database(settings: Settings | None = None) -> Database:
    """The process-wide Database, built from ``settings`` (or the loaded ones) on first call."""
    global _database
    with _lock:
        if _database is None:
            _database = create_database(settings or load_settings())
        return _database


def close_database() -> None:
    """Close the process-wide Database, if one was built; the next call builds a new one."""
    global _database
    with _lock:
        database, _database = _database, None
    if database is not None:
        database.close()


def create_repositories(
    database: Database,
) -> tuple[ImageRepositoryInterface, UserRepositoryInterface]:
    """The image and user repositories for ``database``'s dialect."""
    from pixyproxy_cli.data import repositories

    if database.dialect == "mysql":
        return repositories.MySQLImageRepository(), repositories.MySQLUserRepository()
    return repositories.SQLiteImageRepository(), repositories.SQLiteUserRepository()


def create_image_store(settings: Settings) -> LocalImageStore:
    """The image file store in the configured image directory."""
    return LocalImageStore(settings.image_dir)
