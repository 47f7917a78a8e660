"""Reading commands create nothing: only `db init` makes a MySQL database, only writes a schema.

`doctor` never writes, on either backend.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from tests.conftest import MYSQL_PREFIX, MYSQL_SERVER, MySQLTestServer, scratch_name

runner = CliRunner()


def run(env: dict[str, str], *args: str):
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def missing_database(mysql_server: MySQLTestServer) -> Iterator[tuple[str, dict[str, str]]]:
    """The name of a database that does not exist yet, and the environment that names it."""
    name = scratch_name("missing")
    env = {
        "DB_BACKEND": "mysql",
        "DB_HOST": MYSQL_SERVER["host"],
        "DB_PORT": str(MYSQL_SERVER["port"]),
        "DB_USER": MYSQL_SERVER["user"],
        "DB_PASSWORD": MYSQL_SERVER["password"],
        "DB_NAME": name,
    }
    try:
        yield name, env
    finally:
        mysql_server.run(f"DROP DATABASE IF EXISTS `{name}`")


def database_exists(mysql_server: MySQLTestServer, name: str) -> bool:
    return bool(
        mysql_server.run(f"SELECT 1 FROM information_schema.schemata WHERE schema_name = '{name}'")
    )


def tables(mysql_server: MySQLTestServer, name: str) -> list[str]:
    rows = mysql_server.run(
        f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{name}'"
    )
    return sorted(row[0] for row in rows)


@pytest.mark.mysql
@pytest.mark.parametrize(
    "command",
    [["list"], ["list", "--json"], ["show", str(uuid.UUID(int=1))], ["generate", "a fox"]],
    ids=" ".join,
)
def test_a_missing_mysql_database_is_exit_5_and_is_not_created(
    mysql_server, missing_database, command
):
    name, env = missing_database
    host = f"{MYSQL_SERVER['host']}:{MYSQL_SERVER['port']}"

    result = run(env, *command)

    assert result.exit_code == 5
    assert result.stderr.endswith(
        f"Error: database {name} does not exist on {host}; run pixyproxy db init\n"
    )
    assert not database_exists(mysql_server, name)


@pytest.mark.mysql
def test_doctor_reports_a_missing_database_and_creates_nothing(mysql_server, missing_database):
    name, env = missing_database

    result = run(env, "doctor", "--json")

    checks = {check["name"]: check for check in json.loads(result.stdout)}
    assert checks["database (mysql)"]["status"] == "warn"
    assert "does not exist" in checks["database (mysql)"]["detail"]
    assert checks["database (mysql)"]["fix"] == "pixyproxy db init creates it"
    assert not database_exists(mysql_server, name)


@pytest.mark.mysql
def test_only_db_init_creates_the_database_and_only_writes_the_schema(
    mysql_server, missing_database
):
    name, env = missing_database
    mysql_server.run(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")  # empty, as a DBA makes

    listed = run(env, "list")
    doctor = run(env, "doctor")
    assert tables(mysql_server, name) == []
    generated = run(env, "generate", "a fox", "--json")

    assert listed.exit_code == 5
    assert listed.stderr.endswith(
        f"{MYSQL_SERVER['host']}:{MYSQL_SERVER['port']}/{name} has no pixyproxy schema yet; "
        "run pixyproxy db init\n"
    )
    assert "has no pixyproxy schema yet" in doctor.stdout
    assert generated.exit_code == 0, generated.stderr
    assert "images" in tables(mysql_server, name)

    mysql_server.run(f"DROP DATABASE `{name}`")
    initialised = run(env, "db", "init")
    assert initialised.exit_code == 0, initialised.stderr
    assert database_exists(mysql_server, name)
    assert run(env, "list", "--json").stdout == "[]\n"


def test_doctor_on_sqlite_writes_nothing(isolated_environment):
    data = isolated_environment / "data"

    result = runner.invoke(app, ["doctor", "--json"])

    checks = {check["name"]: check for check in json.loads(result.stdout)}
    assert checks["database (sqlite)"]["status"] == "warn"
    assert checks["database (sqlite)"]["detail"] == (
        f"there is no pixyproxy database at {data / 'pixyproxy.db'} yet; the first generate "
        "creates it (or run pixyproxy db init)"
    )
    assert not data.exists()


REFUSED = (
    "Error: Cannot use the MySQL database at {address}: the server refused the user name or "
    "password, or the user's access to the database (check DB_USER, DB_PASSWORD and "
    "DB_NAME)\n"
)


@pytest.fixture
def stranger(mysql_server: MySQLTestServer) -> Iterator[str]:
    """A user of the server's own, made for the test, with a password and no grants."""
    name = scratch_name("t")
    mysql_server.run(f"CREATE USER '{name}'@'%' IDENTIFIED BY 'a password'")
    try:
        yield name
    finally:
        mysql_server.run(f"DROP USER IF EXISTS '{name}'@'%'")


@pytest.mark.mysql
@pytest.mark.parametrize(
    ("user", "password"),
    [
        (f"{MYSQL_PREFIX}nobody", ""),  # 1698: a user the server does not know, no password
        (f"{MYSQL_PREFIX}nobody", "a guess"),  # 1045
        ("stranger", "a wrong password"),  # 1045
        ("stranger", "a password"),  # 1044: no access to the database
    ],
    ids=["unknown-no-password", "unknown-password", "wrong-password", "no-access"],
)
def test_every_refused_login_is_exit_5_with_one_message(
    missing_database, stranger, mysql_server, user, password
):
    name, env = missing_database
    mysql_server.run(f"CREATE DATABASE `{name}`")
    env = {**env, "DB_USER": stranger if user == "stranger" else user, "DB_PASSWORD": password}

    for command in (["list"], ["db", "init"]):
        result = run(env, *command)

        address = f"{MYSQL_SERVER['host']}:{MYSQL_SERVER['port']}"
        assert (result.exit_code, result.stderr) == (5, REFUSED.format(address=address))
