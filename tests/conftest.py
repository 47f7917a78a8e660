"""Test isolation shared by every test: a private data directory and a clean environment.

No test reads the developer's ``.env``, data directory, database or keyring: each runs in
its own temporary working directory with every pixyproxy setting removed from the
environment, and the process-wide database is closed after it.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pixyproxy_cli.core.settings import ENV_FILE_VARIABLE, ENVIRONMENT, Settings, load_settings
from pixyproxy_cli.data.db.database import Database
from pixyproxy_cli.data.db.schema import latest_version
from pixyproxy_cli.data.init import close_default_database, create_database
from tests.throwaway_mariadb import throwaway_mariadb  # noqa: F401 - a fixture for every test

CAPTURE_DIRECTORY = "pixyproxy_secret_capture"
"""The key under which xdist hands each worker the session's capture directory."""


def pytest_configure(config: pytest.Config) -> None:
    """Record every log line and error of the session, to search them for secrets."""
    from tests import secret_capture

    secret_capture.install()
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        import tempfile

        config.stash[_capture_key] = Path(tempfile.mkdtemp(prefix="pixyproxy-capture-"))


_capture_key = pytest.StashKey[Path]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell each xdist worker where to leave what it captured."""
    node.workerinput[CAPTURE_DIRECTORY] = str(node.config.stash[_capture_key])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Search everything the session captured for secrets: a worker saves its share, the
    controller (or a run without xdist) searches the whole and fails the run on a leak."""
    import shutil

    from tests import secret_capture

    config = session.config
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        secret_capture.save(Path(worker[CAPTURE_DIRECTORY]), worker["workerid"])
        return
    directory = config.stash[_capture_key]
    try:
        texts = [*secret_capture.captured, *secret_capture.load(directory)]
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    # The whole suite: no paths, -k or -m chose a part of it (a part may lack the failures
    # the capture must have seen; a leak counts in any run).
    whole_suite = (
        config.args_source != pytest.Config.ArgsSource.ARGS
        and not config.option.keyword
        and not config.option.markexpr
        and exitstatus != pytest.ExitCode.INTERRUPTED
    )
    found = secret_capture.problems(texts, secret_capture.known_secrets(), whole_suite=whole_suite)
    if found:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.line("")
            reporter.section("secrets in log lines or errors", sep="=", red=True)
            for line in found:
                reporter.line(line, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


SLOW_GROUPS = (
    "tests/browser/",
    "tests/cluster/",
    "tests/e2e/",
    "tests/faults/",
    "tests/web/test_fuzz.py",
    "tests/web/test_server.py",
    "tests/web/test_delete.py::test_with_two_workers",
    "tests/web/test_tokens.py::test_a_revoke_is_obeyed_at_once_by_every_worker",
    "tests/web/test_hardening.py::test_with_no_file_left",
    "tests/web/test_hardening.py::test_x_forwarded_for",
    "tests/web/test_hardening.py::test_limits_hold_across_two_workers",
    "tests/web/test_hardening.py::test_a_body_that_drips",
    "tests/web/test_hardening.py::test_oversized_and_slow_headers",
    "tests/web/test_hardening.py::test_named_proxies",
    "tests/web/test_hardening.py::test_serve_on_a_port_in_use",
)
"""The groups and tests that start real servers, browsers or installs: ``-m "not slow"``
leaves them out for a quick run (CI runs everything)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow groups."""
    for item in items:
        if item.nodeid.startswith(SLOW_GROUPS):
            item.add_marker(pytest.mark.slow)


SETTING_VARIABLES = [*ENVIRONMENT.values(), ENV_FILE_VARIABLE, "OPENAI_API_KEY", "OPENAI_BASE_URL"]


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run each test in an empty directory with pixyproxy's settings unset."""
    for variable in SETTING_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    for variable in list(os.environ):
        if variable.startswith("PIXYPROXY_"):
            monkeypatch.delenv(variable, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("PIXYPROXY_DATA_DIR", str(tmp_path / "data"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield tmp_path
    close_default_database()


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[Any]:
    """A fresh in-memory keyring for every test: no test touches a real user keyring."""
    import keyring

    from tests.keyring_backends import MemoryKeyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process tests hash with cheap argon2 parameters (installed commands use the real)."""
    monkeypatch.setattr(
        "pixyproxy_cli.service.passwords.DEFAULT_PARAMETERS",
        {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
    )


# -- backends ------------------------------------------------------------------------------

MYSQL_SERVER = {
    "host": os.environ.get("TEST_MYSQL_HOST", "127.0.0.1"),
    "port": int(os.environ.get("TEST_MYSQL_PORT", "3306")),
    "user": os.environ.get("TEST_MYSQL_USER", "root"),
    "password": os.environ.get("TEST_MYSQL_PASSWORD", ""),
}
"""The server the MySQL tests use: TEST_MYSQL_* variables, default root@127.0.0.1:3306."""
MYSQL_PREFIX = os.environ.get("TEST_MYSQL_PREFIX", "pixyproxy_")
"""What the name of every database (and user) the tests make on that server begins with."""
if not re.fullmatch(r"[A-Za-z0-9_]{1,32}", MYSQL_PREFIX):
    raise pytest.UsageError("TEST_MYSQL_PREFIX takes 1 to 32 letters, digits or underscores")


def scratch_name(kind: str) -> str:
    """A fresh name for a database or user a test makes on the shared server."""
    return f"{MYSQL_PREFIX}{kind}_{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class MySQLTestServer:
    """A reachable server and the database created on it for this test run."""

    database: str

    def connect(self, database: str | None = None) -> Any:
        import mysql.connector

        return mysql.connector.connect(
            **MYSQL_SERVER,
            database=database,
            charset="utf8mb4",
            collation="utf8mb4_unicode_ci",
            connection_timeout=5,
        )

    def run(self, *statements: str, database: str | None = None) -> list[Any]:
        """Run statements (autocommit) and return the rows of the last one."""
        connection = self.connect(database)
        try:
            connection.autocommit = True
            cursor = connection.cursor()
            rows: list[Any] = []
            for statement in statements:
                cursor.execute(statement)
                rows = cursor.fetchall() if cursor.with_rows else []
            cursor.close()
            return rows
        finally:
            connection.close()

    def settings(self, tmp_path: Path, database: str | None = None, **overrides: Any) -> Settings:
        """Settings that point pixyproxy at ``database`` (default: the run's database)."""
        return load_settings(
            {
                "db_backend": "mysql",
                "db_host": MYSQL_SERVER["host"],
                "db_port": MYSQL_SERVER["port"],
                "db_user": MYSQL_SERVER["user"],
                "db_password": MYSQL_SERVER["password"] or None,
                "db_name": database or self.database,
                "data_dir": tmp_path / "data",
                **overrides,
            },
            environ={},
        )


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[MySQLTestServer]:
    """A database on the test server for this run, dropped after it.

    Skips with the reason when no server answers, except under CI=true, where the MySQL
    tests are mandatory and an unreachable server fails them.
    """
    import mysql.connector

    name = scratch_name("test")
    server = MySQLTestServer(name)
    try:
        server.run(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    except mysql.connector.Error as error:
        reason = (
            f"no MySQL-protocol server usable at {MYSQL_SERVER['host']}:{MYSQL_SERVER['port']} "
            f"as {MYSQL_SERVER['user']} ({error}); set TEST_MYSQL_HOST/PORT/USER/PASSWORD"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}. Under CI=true the MySQL tests must run.", pytrace=False)
        pytest.skip(reason)
    try:
        yield server
    finally:
        server.run(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def mysql_settings(mysql_server: MySQLTestServer, tmp_path: Path) -> Settings:
    """Settings for the run's MySQL database, emptied of rows from earlier tests."""
    tables = mysql_server.run(
        "SELECT table_name FROM information_schema.tables "
        f"WHERE table_schema = '{mysql_server.database}'"
    )
    names = {row[0] for row in tables}
    statements = [
        f"DELETE FROM `{table}`"
        for table in ("images", "roster", "rate_limits", "jobs", "remote_batches")
        if table in names
    ]
    if "schema_version" in names:  # a test may have faked a newer release
        statements.append(f"DELETE FROM schema_version WHERE version > {latest_version('mysql')}")
    if statements:
        mysql_server.run(*statements, database=mysql_server.database)
    return mysql_server.settings(tmp_path)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings for a fresh SQLite file in the test's directory."""
    return load_settings({"db_backend": "sqlite", "data_dir": tmp_path / "data"}, environ={})


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def backend_settings(request: pytest.FixtureRequest) -> Settings:
    """Settings for each backend in turn: SQLite, then MySQL (MariaDB)."""
    return request.getfixturevalue(f"{request.param}_settings")


@pytest.fixture
def database(backend_settings: Settings) -> Iterator[Database]:
    """A Database for each backend, closed after the test."""
    db = create_database(backend_settings)
    try:
        yield db
    finally:
        db.close()


# -- the OpenAI-compatible server and the CLI ---------------------------------------------


@pytest.fixture
def fake_openai() -> Iterator[Any]:
    """An OpenAI-compatible server on 127.0.0.1, stopped after the test."""
    from tests.openai_server import FakeOpenAI

    server = FakeOpenAI().start()
    try:
        yield server
    finally:
        server.stop()


def settings_environment(settings: Settings) -> dict[str, str]:
    """Environment variables that select ``settings``' backend and data directory."""
    env = {
        "DB_BACKEND": settings.db_backend,
        "PIXYPROXY_DATA_DIR": str(settings.data_dir),
    }
    if settings.db_backend == "mysql":
        env.update(
            DB_HOST=str(settings.db_host),
            DB_PORT=str(settings.db_port),
            DB_USER=str(settings.db_user),
            DB_NAME=settings.db_name,
        )
        if settings.db_password:
            env["DB_PASSWORD"] = settings.db_password.get_secret_value()
    return env
