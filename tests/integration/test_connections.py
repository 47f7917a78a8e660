"""Connections, the pool, and driver errors on both backends (MySQL against real MariaDB)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest

from pixyproxy_cli.core.constants import Provision
from pixyproxy_cli.core.exceptions import DBConnectionError
from pixyproxy_cli.data.db.context import DatabaseContext
from pixyproxy_cli.data.init import create_database
from tests.conftest import MYSQL_SERVER, scratch_name
from tests.helpers import free_port

WRONG_PASSWORD = "definitely-not-the-password-4711"


def run_transaction(database, hold: float = 0.0) -> None:
    with DatabaseContext(database) as db:
        db.begin_transaction()
        db.execute("SELECT 1 AS one")
        assert db.fetchall() == [{"one": 1}]
        time.sleep(hold)
        db.commit_transaction()


def test_a_burst_of_three_times_the_pool_waits_and_all_succeed(backend_settings):
    settings = replace(backend_settings, db_pool_size=4, db_pool_timeout=30)
    database = create_database(settings)
    run_transaction(database)  # create the schema first
    errors: list[BaseException] = []
    in_use = 0
    peak = 0
    lock = threading.Lock()
    real_acquire, real_release = database.pool.acquire, database.pool.release

    def counting_acquire():
        nonlocal in_use, peak
        connection = real_acquire()
        with lock:
            in_use += 1
            peak = max(peak, in_use)
        return connection

    def counting_release(connection, *, discard=False):
        nonlocal in_use
        with lock:
            in_use -= 1
        real_release(connection, discard=discard)

    database.pool.acquire, database.pool.release = counting_acquire, counting_release

    def worker() -> None:
        try:
            run_transaction(database, hold=0.05)
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(3 * 4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert peak == 4
    finally:
        database.close()


def test_pool_wait_is_bounded_then_a_clear_error(backend_settings):
    # The holder keeps the only connection until the waiter has had its error, so the error
    # can only come from the bounded wait (not from a clock, nor from the holder letting go).
    settings = replace(backend_settings, db_pool_size=1, db_pool_timeout=0.2)
    database = create_database(settings)
    run_transaction(database)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with DatabaseContext(database) as db:
            db.begin_transaction()
            holding.set()
            release.wait(30)
            db.commit_transaction()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(30)
        with pytest.raises(DBConnectionError, match=r"became free within 0\.2 s \(pool size 1\)"):
            run_transaction(database)
        assert holder.is_alive()  # still holding it: the error is the wait's
    finally:
        release.set()
        holder.join()
        database.close()


def test_sqlite_in_an_unwritable_place_is_a_connection_error(sqlite_settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings = replace(sqlite_settings, sqlite_path=blocker / "db.sqlite")
    database = create_database(settings)

    with pytest.raises(DBConnectionError, match="not-a-directory"):
        run_transaction(database)


def test_sqlite_file_that_is_not_a_database_is_reported(sqlite_settings):
    sqlite_settings.sqlite_path.parent.mkdir(parents=True)
    sqlite_settings.sqlite_path.write_bytes(b"this is not sqlite " * 100)
    database = create_database(sqlite_settings)

    with pytest.raises(Exception, match="is not a pixyproxy database") as caught:
        run_transaction(database)
    assert caught.type.__module__ == "pixyproxy_cli.core.exceptions"


# -- MySQL only ---------------------------------------------------------------------------


@pytest.mark.mysql
def test_unreachable_server_names_host_and_port(mysql_server, tmp_path):
    port = free_port()
    database = create_database(mysql_server.settings(tmp_path, db_port=port))

    with pytest.raises(DBConnectionError) as caught:
        run_transaction(database)

    assert str(caught.value) == (
        f"Cannot use the MySQL database at 127.0.0.1:{port}: the server is not reachable "
        "(is it running? check DB_HOST and DB_PORT)"
    )


@pytest.mark.mysql
def test_bad_credentials_never_show_the_password(mysql_server, tmp_path):
    database = create_database(mysql_server.settings(tmp_path, db_password=WRONG_PASSWORD))

    with pytest.raises(DBConnectionError) as caught:
        run_transaction(database)

    message = str(caught.value)
    assert "refused the user name or password" in message
    assert f":{MYSQL_SERVER['port']}" in message
    assert WRONG_PASSWORD not in message
    assert WRONG_PASSWORD not in repr(caught.value)


@pytest.mark.mysql
def test_a_missing_database_is_created_with_utf8mb4(mysql_server, tmp_path):
    name = scratch_name("new")
    database = create_database(mysql_server.settings(tmp_path, name), Provision.DATABASE)
    try:
        run_transaction(database)
        rows = mysql_server.run(
            "SELECT default_character_set_name, default_collation_name "
            f"FROM information_schema.schemata WHERE schema_name = '{name}'"
        )
        assert rows == [("utf8mb4", "utf8mb4_unicode_ci")]
    finally:
        database.close()
        mysql_server.run(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.mark.mysql
def test_connections_use_a_collation_mariadb_knows(mysql_settings):
    database = create_database(mysql_settings)
    try:
        with DatabaseContext(database) as db:
            db.begin_transaction()
            db.execute("SELECT @@character_set_connection AS cs, @@collation_connection AS co")
            assert db.fetchone() == {"cs": "utf8mb4", "co": "utf8mb4_unicode_ci"}
            db.commit_transaction()
    finally:
        database.close()


def connection_id(database) -> int:
    with DatabaseContext(database) as db:
        db.begin_transaction()
        db.execute("SELECT CONNECTION_ID() AS id")
        row = db.fetchone()
        db.commit_transaction()
    return int(row["id"])


@pytest.mark.mysql
def test_a_connection_killed_while_idle_is_replaced_without_an_error(mysql_server, mysql_settings):
    database = create_database(mysql_settings)
    try:
        first = connection_id(database)
        mysql_server.run(f"KILL {first}")

        second = connection_id(database)  # no exception: the stale one was replaced

        assert second != first
    finally:
        database.close()


@pytest.mark.mysql
def test_a_connection_killed_mid_transaction_fails_once_then_recovers(mysql_server, mysql_settings):
    database = create_database(mysql_settings)
    try:
        run_transaction(database)
        with pytest.raises(DBConnectionError, match="connection to the server was lost"):
            with DatabaseContext(database) as db:
                db.begin_transaction()
                db.execute("SELECT CONNECTION_ID() AS id")
                mysql_server.run(f"KILL {db.fetchone()['id']}")
                db.execute("SELECT 1")
        assert database.pool.idle_count == 0  # the broken connection was not kept

        run_transaction(database)
    finally:
        database.close()


@pytest.mark.mysql
def test_the_c_extension_is_loaded_when_mysql_is_configured(mysql_server):
    # As the console script starts: its first step, then everything else (which loads
    # OpenSSL: pydantic imports hashlib).
    script = (
        "from pixyproxy_cli.data.db.mysql_preload import preload_mysql_c_extension\n"
        "preload_mysql_c_extension()\n"
        "import ssl, hashlib, pixyproxy_cli.commands.main\n"
        "from pixyproxy_cli.data.db.mysql import driver_name\n"
        "print(driver_name())\n"
    )
    env = {**os.environ, "DB_HOST": "127.0.0.1"}
    env.pop("PIXYPROXY_ENV_FILE", None)

    output = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout

    assert output.startswith("mysql-connector-python ")
    assert output.strip().endswith("(C extension)")


@pytest.mark.mysql
def test_importing_the_package_does_no_work():
    script = (
        "import sys, pixyproxy_cli\n"
        "ours = ('pixyproxy_cli', '_mysql', 'dotenv')\n"
        "print(sorted(m for m in sys.modules if m.startswith(ours)))\n"
    )
    env = {**os.environ, "DB_BACKEND": "mysql"}

    output = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout

    assert output.strip() == "['pixyproxy_cli']"


@pytest.mark.mysql
def test_the_driver_says_why_when_it_falls_back_to_pure_python(mysql_server):
    script = (
        "import ssl\n"
        "from pixyproxy_cli.data.db.mysql_preload import preload_mysql_c_extension\n"
        "preload_mysql_c_extension()\n"
        "from pixyproxy_cli.data.db.mysql import driver_name\n"
        "print(driver_name())\n"
    )
    env = {**os.environ, "DB_HOST": "127.0.0.1"}

    output = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout

    assert "pure Python" in output
    assert "OpenSSL was loaded before pixyproxy could preload it" in output


def test_the_specifications_bare_database_context_uses_the_configured_database(
    isolated_environment,
):
    with DatabaseContext() as db:
        db.begin_transaction()
        found = db.users.authenticate_user("nobody")
        db.commit_transaction()

    assert found is None
    assert (isolated_environment / "data" / "pixyproxy.db").is_file()


@pytest.mark.mysql
def test_the_c_extensions_own_error_is_a_connection_error(mysql_settings):
    """Its commit and rollback raise MySQLInterfaceError unwrapped when the server goes away
    mid-call: a 503 (DBConnectionError), never an unexpected 500. The extension loads only
    before ssl (as the console script arranges), so this runs in a process of its own."""
    import subprocess
    import sys

    script = """
from pixyproxy_cli.data.db.mysql_preload import preload_mysql_c_extension
preload_mysql_c_extension(force=True)
from _mysql_connector import MySQLInterfaceError
from pixyproxy_cli.core.exceptions import DBConnectionError
from pixyproxy_cli.data.db.mysql import MySQLDatabase
error = MySQLInterfaceError("Lost connection to MySQL server during query")
assert isinstance(error, MySQLDatabase.driver_errors)
database = MySQLDatabase.__new__(MySQLDatabase)
database._address = "127.0.0.1:3306"
print(type(database.translate_error(error)).__name__)
"""
    import os

    env = {**os.environ, "DB_BACKEND": "mysql"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.stdout == "DBConnectionError\n", done.stderr


@pytest.mark.mysql
def test_a_host_that_does_not_answer_is_passed_over_for_the_next(mysql_settings, caplog):
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there: connections are refused
    alive = f"{mysql_settings.db_host}:{mysql_settings.db_port}"
    settings = replace(mysql_settings, db_host=f"{dead},{alive}")
    database = create_database(settings)
    try:
        for _ in range(3):
            with DatabaseContext(database) as db:
                db.begin_transaction()
                db.execute("SELECT 1 AS one")
                assert db.fetchone() == {"one": 1}
                db.commit_transaction()
    finally:
        database.close()
    # Failed over once; the host that answered is asked first from then on.
    assert [r.getMessage() for r in caplog.records if "failed over" in r.getMessage()] == [
        f"MySQL: failed over to {alive}"
    ]
