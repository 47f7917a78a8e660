"""Import as an attacker would feed it: dates no database can hold, files that are not
images, lines that lie about their files, and links out of the export (issue 23)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from pixyproxy_cli.core.settings import load_settings
from pixyproxy_cli.data.rows import db_timestamp
from tests.conftest import settings_environment

runner = CliRunner()


def cli(settings):
    base = settings_environment(settings)

    def run(*args, env=None, input=None):
        return runner.invoke(app, list(args), env={**base, **(env or {})}, input=input)

    return run


@pytest.fixture
def export(tmp_path):
    """An export of one public placeholder image, and an empty SQLite installation."""
    source = cli(load_settings({"db_backend": "sqlite", "data_dir": tmp_path / "a"}, environ={}))
    assert source("generate", "a lighthouse").exit_code == 0
    move = tmp_path / "move"
    assert source("export", str(move)).exit_code == 0
    target = load_settings({"db_backend": "sqlite", "data_dir": tmp_path / "b"}, environ={})
    return move, target, cli(target)


def edit_line(move, **changes):
    path = move / "images.jsonl"
    record = json.loads(path.read_text())
    record.update(changes)
    path.write_text(json.dumps(record) + "\n")
    return record


def test_a_timestamp_is_four_digits_of_year_whatever_the_year():
    assert db_timestamp(datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == "0999-01-02 03:04:05.000006"
    assert db_timestamp(datetime(2026, 12, 4, tzinfo=UTC)) == "2026-12-04 00:00:00.000000"


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("created_at", "0999-01-01T00:00:00Z", "created_at: must not be before 1970-01-01"),
        ("updated_at", "0001-01-01T00:00:00Z", "updated_at: must not be before 1970-01-01"),
        ("created_at", "2026-11-01T00:00:00", "created_at: must name its time zone"),
        ("created_at", "9999-01-01T00:00:00Z", "created_at: must not be in the future"),
        ("updated_at", "1999-01-01T00:00:00Z", "updated_at: must not be before created_at"),
    ],
)
def test_a_date_no_image_can_have_is_refused_naming_line_and_field(export, field, value, said):
    move, _target, run = export
    edit_line(move, **{field: value})

    refused = run("import", str(move))

    assert refused.exit_code == 2
    assert refused.stderr.startswith(f"Error: {move / 'images.jsonl'}, line 1: {said}")
    assert run("list", "--json").stdout == "[]\n"


def test_doctor_finds_a_row_that_breaks_every_listing(export):
    move, target, run = export
    assert run("import", str(move)).exit_code == 0
    [image] = json.loads(run("list", "--json").stdout)
    with sqlite3.connect(target.sqlite_path) as connection:  # as an older pixyproxy stored it
        connection.execute("UPDATE images SET created_at = '999-01-01 00:00:00.000000'")

    doctor = run("doctor", "--json")

    checks = {check["name"]: check for check in json.loads(doctor.stdout)}
    assert doctor.exit_code != 0
    assert checks["image rows"]["status"] == "fail"
    assert checks["image rows"]["detail"] == (
        "1 image row(s) cannot be read, and listings fail: "
        f"{image['guid']}: created_at '999-01-01 00:00:00.000000' is not a timestamp"
    )
