"""Schema creation, versioning, and schema.sql against what the code creates."""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from pixyproxy_cli.core.constants import Provision
from pixyproxy_cli.core.exceptions import ConstraintViolationError, SchemaVersionError
from pixyproxy_cli.core.filters import image_filters
from pixyproxy_cli.data.db.context import DatabaseContext
from pixyproxy_cli.data.db.interfaces import ImageQuery
from pixyproxy_cli.data.db.rows import utc_now
from pixyproxy_cli.data.db.schema import latest_version, load_migrations, split_statements
from pixyproxy_cli.data.init import create_database
from tests.conftest import scratch_name

REPOSITORY = Path(__file__).resolve().parents[2]
TABLES = ("schema_version", "roster", "images", "rate_limits", "api_tokens")


def touch(database) -> None:
    """Make the database create its schema (first use)."""
    with DatabaseContext(database) as db:
        db.begin_transaction()
        db.commit_transaction()


def recorded_versions(database) -> list[int]:
    with DatabaseContext(database) as db:
        db.begin_transaction()
        db.execute("SELECT version FROM schema_version ORDER BY version")
        rows = db.fetchall()
        db.commit_transaction()
    return [int(row["version"]) for row in rows]


def every_version(dialect: str) -> list[int]:
    return list(range(1, latest_version(dialect) + 1))


def test_first_use_creates_the_schema_and_records_its_version(database):
    touch(database)

    assert recorded_versions(database) == every_version(database.dialect)


def database_at_version(backend_settings, request, made_at: int, *rows: str):
    """Settings for a database of its own built by migrations 1..``made_at``, with ``rows``."""
    if backend_settings.db_backend == "mysql":  # a database of its own, at that version
        name = scratch_name(f"v{made_at}")
        server = request.getfixturevalue("mysql_server")
        server.run(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        request.addfinalizer(lambda: server.run(f"DROP DATABASE IF EXISTS `{name}`"))
        backend_settings = replace(backend_settings, db_name=name)
    database = create_database(backend_settings)
    connection = database.pool.acquire()
    try:
        cursor = database.cursor(connection)
        for migration in load_migrations(database.dialect)[:made_at]:
            for statement in migration.statements:
                database.execute(cursor, statement)
            database.execute(
                cursor,
                database.sql(
                    "INSERT INTO schema_version (version, applied_at) "
                    f"VALUES ({migration.version}, '2026-01-01 00:00:00.000000')"
                ),
            )
        for row in rows:
            database.execute(cursor, row)
        cursor.close()
        database.commit(connection)
    finally:
        database.pool.release(connection)
    database.close()
    return backend_settings


@pytest.mark.parametrize("made_at", [1, 5], ids=["version-1", "previous-release"])
def test_an_older_database_is_upgraded_in_place_and_keeps_its_rows(
    backend_settings, request, made_at
):
    backend_settings = database_at_version(
        backend_settings,
        request,
        made_at,
        "INSERT INTO images (guid, filename, prompt, owner, is_private, provider, model, "
        "media_type, created_at, updated_at) VALUES ('1b4e28ba-2fa1-11d2-883f-0016d3cca427', "
        "'1b4e28ba-2fa1-11d2-883f-0016d3cca427.png', 'kept', NULL, 0, 'placeholder', "
        "'placeholder-v1', 'image/png', '2026-01-01 00:00:00.000000', "
        "'2026-01-01 00:00:00.000000')",
    )

    upgraded = create_database(backend_settings)
    try:
        touch(upgraded)
        assert recorded_versions(upgraded) == every_version(upgraded.dialect)
        with DatabaseContext(upgraded) as db:
            db.begin_transaction()
            db.execute("SELECT prompt, width, height, parents FROM images")
            assert db.fetchall() == [
                {"prompt": "kept", "width": None, "height": None, "parents": None}
            ]
            db.execute("SELECT COUNT(*) AS n FROM rate_limits")
            assert db.fetchone() == {"n": 0}
            db.commit_transaction()
        # The full-text index was built for the rows that were there before it.
        with DatabaseContext(upgraded) as db:
            db.begin_transaction()
            found = db.images.get_all_images(ImageQuery(10, filters=image_filters(search="kep")))
            db.commit_transaction()
        assert [row[1] for row in found.rows] in (
            [b"1b4e28ba-2fa1-11d2-883f-0016d3cca427"],
            ["1b4e28ba-2fa1-11d2-883f-0016d3cca427"],
        )
    finally:
        upgraded.close()


def roster_row(name: str) -> str:
    return (
        "INSERT INTO roster (username, password_hash, class_key, created_at, updated_at) "
        f"VALUES ('{name}', '$argon2id$fake', 'staff', '2026-01-01 00:00:00.000000', "
        "'2026-01-01 00:00:00.000000')"
    )


def test_names_that_clash_in_case_survive_the_upgrade_and_no_new_clash_can_be_made(
    backend_settings, request
):
    names = ("bob", "carol", "BOB", "Dave", "Bob", "dave")
    backend_settings = database_at_version(
        backend_settings, request, 8, *(roster_row(name) for name in names)
    )

    upgraded = create_database(backend_settings)
    try:
        with DatabaseContext(upgraded) as db:
            db.begin_transaction()
            clashes = db.users.find_case_clashes()
            everyone = [user.username for user in db.users.get_all_users(limit=10)]
            db.commit_transaction()
        assert everyone == list(names)  # nobody was dropped or renamed
        assert clashes == [["bob", "BOB", "Bob"], ["Dave", "dave"]]
        for name in ("BoB", "CAROL", "DAVE", "bob"):
            with DatabaseContext(upgraded) as db, pytest.raises(ConstraintViolationError):
                db.begin_transaction()
                db.users.create_user(name, "$argon2id$fake", "staff", now=utc_now())
        with DatabaseContext(upgraded) as db:
            db.begin_transaction()
            db.users.create_user("erin", "$argon2id$fake", "staff", now=utc_now())
            db.commit_transaction()
        # Each one still signs in by the name it has.
        with DatabaseContext(upgraded) as db:
            db.begin_transaction()
            found = [db.users.authenticate_user(name) for name in names]
            db.commit_transaction()
        assert [record.username for record in found if record] == list(names)
    finally:
        upgraded.close()


def test_a_second_process_finds_the_schema_and_changes_nothing(backend_settings):
    for _ in range(2):
        database = create_database(backend_settings)
        try:
            touch(database)
            assert recorded_versions(database) == every_version(database.dialect)
        finally:
            database.close()


def test_concurrent_first_use_migrates_once(backend_settings):
    databases = [create_database(backend_settings) for _ in range(4)]
    errors: list[BaseException] = []

    def first_use(database) -> None:
        try:
            touch(database)
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=first_use, args=(db,)) for db in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert errors == []
        assert recorded_versions(databases[0]) == every_version(databases[0].dialect)
    finally:
        for database in databases:
            database.close()


def test_a_database_from_a_newer_release_is_refused(backend_settings):
    database = create_database(backend_settings)
    touch(database)
    with DatabaseContext(database) as db:
        db.begin_transaction()
        db.execute(
            "INSERT INTO schema_version (version, applied_at) "
            "VALUES (99, '2030-01-01 00:00:00.000000')"
        )
        db.commit_transaction()
    database.close()

    newer = create_database(backend_settings)
    try:
        with pytest.raises(SchemaVersionError, match="schema version 99.*upgrade pixyproxy"):
            touch(newer)
    finally:
        newer.close()


def test_split_statements_keeps_a_triggers_body_whole():
    script = (
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n"
        "    INSERT INTO b VALUES (1);\n"
        "    INSERT INTO b VALUES (2);\n"
        "END;\n"
        "CREATE TABLE c (z INT);\n"
    )

    assert split_statements(script) == (
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n"
        "    INSERT INTO b VALUES (1);\n"
        "    INSERT INTO b VALUES (2);\n"
        "END",
        "CREATE TABLE c (z INT)",
    )


def test_split_statements_drops_comment_lines():
    script = (
        "-- heading; with a semicolon\nCREATE TABLE a (x INT);\n\n"
        "-- tail\nCREATE TABLE b (y INT);\n"
    )

    assert split_statements(script) == ("CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)")


def test_both_dialects_ship_the_same_migrations():
    mysql = [(m.version, m.name) for m in load_migrations("mysql")]
    sqlite = [(m.version, m.name) for m in load_migrations("sqlite")]

    assert mysql == sqlite
    assert [version for version, _ in mysql] == list(range(1, len(mysql) + 1))


def sqlite_columns(path: Path) -> dict[str, list[str]]:
    connection = sqlite3.connect(path)
    try:
        return {
            table: [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
            for table in TABLES
        }
    finally:
        connection.close()


@pytest.mark.mysql
def test_sqlite_tables_have_the_same_columns_as_mysql(mysql_server, sqlite_settings, tmp_path):
    sqlite_db = create_database(sqlite_settings)
    touch(sqlite_db)
    sqlite_db.close()
    name = scratch_name("cols")
    mysql_db = create_database(mysql_server.settings(tmp_path, name), Provision.DATABASE)
    try:
        touch(mysql_db)
        mysql = {
            table: [
                row[0]
                for row in mysql_server.run(
                    "SELECT column_name FROM information_schema.columns WHERE "
                    f"table_schema = '{name}' AND table_name = '{table}' "
                    "ORDER BY ordinal_position"
                )
            ]
            for table in TABLES
        }
    finally:
        mysql_db.close()
        mysql_server.run(f"DROP DATABASE IF EXISTS `{name}`")

    assert sqlite_columns(sqlite_settings.sqlite_path) == mysql


def describe_schema(server, name: str) -> dict[str, list[tuple]]:
    """Everything about the tables that matters, from information_schema."""
    where = f"table_schema = '{name}'"
    return {
        "tables": server.run(
            f"SELECT table_name, engine, table_collation FROM information_schema.tables "
            f"WHERE {where} ORDER BY table_name"
        ),
        "columns": server.run(
            "SELECT table_name, column_name, ordinal_position, column_default, is_nullable, "
            "column_type, character_set_name, collation_name, extra "
            f"FROM information_schema.columns WHERE {where} ORDER BY table_name, ordinal_position"
        ),
        "indexes": server.run(
            "SELECT table_name, index_name, non_unique, seq_in_index, column_name "
            f"FROM information_schema.statistics WHERE {where} "
            "ORDER BY table_name, index_name, seq_in_index"
        ),
        "constraints": server.run(
            "SELECT table_name, constraint_name, constraint_type "
            f"FROM information_schema.table_constraints WHERE {where} "
            "ORDER BY table_name, constraint_name"
        ),
        "checks": server.run(
            "SELECT table_name, constraint_name, check_clause FROM "
            f"information_schema.check_constraints WHERE constraint_schema = '{name}' "
            "ORDER BY table_name, constraint_name"
        ),
        "references": server.run(
            "SELECT table_name, constraint_name, referenced_table_name, update_rule, delete_rule "
            f"FROM information_schema.referential_constraints WHERE constraint_schema = '{name}' "
            "ORDER BY constraint_name"
        ),
        "versions": server.run(f"SELECT version FROM `{name}`.schema_version ORDER BY version"),
    }


@pytest.mark.mysql
def test_schema_sql_matches_what_the_code_creates(mysql_server, tmp_path):
    by_code = scratch_name("code")
    by_file = scratch_name("file")
    script = (REPOSITORY / "schema.sql").read_text(encoding="utf-8")
    statements = [
        part.strip() for part in re.sub(r"--[^\n]*", "", script).split(";") if part.strip()
    ]
    database = create_database(mysql_server.settings(tmp_path, by_code), Provision.DATABASE)
    try:
        touch(database)
        mysql_server.run(f"CREATE DATABASE `{by_file}` CHARACTER SET utf8mb4")
        mysql_server.run(*statements, database=by_file)

        from_code = describe_schema(mysql_server, by_code)
        from_file = describe_schema(mysql_server, by_file)
    finally:
        database.close()
        mysql_server.run(
            f"DROP DATABASE IF EXISTS `{by_code}`", f"DROP DATABASE IF EXISTS `{by_file}`"
        )

    assert from_code["tables"]  # the comparison is not of two empty schemas
    assert len(from_code["columns"]) == 86
    for aspect in from_code:
        assert from_file[aspect] == from_code[aspect], aspect
