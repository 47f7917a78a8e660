"""The pool's bookkeeping when the database dies mid-checkout: every slot returned once."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pixyproxy_cli.core.exceptions import DBConnectionError
from pixyproxy_cli.data.db.context import DatabaseContext
from pixyproxy_cli.data.init import create_database


def test_a_failed_reopen_after_a_stale_connection_returns_its_slot_once(sqlite_settings):
    settings = replace(sqlite_settings, db_pool_size=2, db_pool_timeout=0.2)
    database = create_database(settings)
    real_begin, real_connect = database.begin, database.pool._connect
    with DatabaseContext(database) as db:  # create the schema, and one idle connection
        db.begin_transaction()
        db.commit_transaction()

    def stale(connection, **options):
        raise DBConnectionError("the server went away")

    database.begin = stale  # the idle connection turns out dead at BEGIN...
    database.pool._connect = lambda: stale(None)  # ...and the server is gone

    with pytest.raises(DBConnectionError, match="went away"), DatabaseContext(database) as db:
        db.begin_transaction()

    database.begin, database.pool._connect = real_begin, real_connect
    held = [database.pool.acquire() for _ in range(settings.db_pool_size)]  # the cap: 2...
    with pytest.raises(DBConnectionError, match="became free within"):
        database.pool.acquire()  # ...and not 3
    for connection in held:
        database.pool.release(connection)
    with DatabaseContext(database) as db:  # and it recovers
        db.begin_transaction()
        db.commit_transaction()
    database.close()
