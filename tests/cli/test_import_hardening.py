"""Import as an attacker would feed it: dates no database can hold, files that are not
images, lines that lie about their files, and links out of the export (issue 23)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from pixyproxy_cli.core.constants import MAX_IMAGE_FILE_BYTES
from pixyproxy_cli.core.settings import load_settings
from pixyproxy_cli.data.db.rows import db_timestamp
from tests.conftest import settings_environment
from tests.helpers import png_claiming
from tests.openai_server import picture

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


DIFFERS = "its size or SHA-256 differs"


def replace_file(move, data, **changes):
    """Put ``data`` in the place of the export's one file; its line says its size and hash."""
    record = json.loads((move / "images.jsonl").read_text())
    (move / record["file"]).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    return edit_line(move, size=len(data), sha256=digest, **changes)


def stored_files(target):
    return sorted(path.name for path in target.image_dir.glob("*") if path.is_file())


def refusal(move, line, said):
    return (2, f"Error: {move / 'images.jsonl'}, line {line}: {said}\n")


def test_an_html_file_is_not_imported_whatever_its_line_says(export):
    move, target, run = export
    html = b"<html><script>fetch('/image').then(r => r.text()).then(alert)</script></html>"
    record = replace_file(move, html, media_type="text/html")

    refused = run("import", str(move))

    said = f"file: {record['file']} is not a PNG, JPEG, WebP, GIF or SVG image"
    assert (refused.exit_code, refused.stderr) == refusal(move, 1, said)
    assert run("list", "--json").stdout == "[]\n"
    assert stored_files(target) == []


def test_what_an_image_is_comes_from_its_bytes_not_its_line(export):
    move, target, run = export
    jpeg = picture("jpeg", (40, 30))
    record = replace_file(move, jpeg, media_type="image/png", width=1, height=1)
    assert record["file"].endswith(".png")

    imported = run("import", str(move))

    assert imported.exit_code == 0, imported.output
    shown = json.loads(run("show", record["guid"], "--json").stdout)
    assert (shown["media_type"], shown["width"], shown["height"]) == ("image/jpeg", 40, 30)
    assert stored_files(target) == [f"{record['guid']}.jpg"]
    assert (target.image_dir / f"{record['guid']}.jpg").read_bytes() == jpeg


def test_a_decompression_bomb_is_refused_from_its_header(export):
    move, target, run = export
    record = replace_file(move, png_claiming(13000, 13000))

    refused = run("import", str(move))

    said = (
        f"file: {record['file']} has too many pixels; an image may have at most "
        "16,777,216 (4096x4096)"
    )
    assert (refused.exit_code, refused.stderr) == refusal(move, 1, said)
    assert stored_files(target) == []


def test_a_link_out_of_the_export_is_refused(export, tmp_path):
    move, target, run = export
    record = json.loads((move / "images.jsonl").read_text())
    outside = tmp_path / "outside.png"
    (move / record["file"]).rename(outside)
    (move / record["file"]).symlink_to(outside)

    refused = run("import", str(move))

    said = f"file: {record['file']} is a symbolic link; an export holds files only"
    assert (refused.exit_code, refused.stderr) == refusal(move, 1, said)
    assert stored_files(target) == []


def test_an_images_directory_that_is_a_link_is_refused(export, tmp_path):
    move, target, run = export
    (move / "images").rename(tmp_path / "elsewhere")
    (move / "images").symlink_to(tmp_path / "elsewhere")

    refused = run("import", str(move))

    assert (refused.exit_code, refused.stderr) == (
        2,
        f"Error: {move / 'images'} is a symbolic link; an export holds its files itself\n",
    )
    assert stored_files(target) == []


@pytest.mark.parametrize("declared", ["the real size", "a small size"])
def test_a_huge_file_is_refused_before_it_is_read(export, declared):
    move, target, run = export
    record = json.loads((move / "images.jsonl").read_text())
    # Sparse files: no disk taken, and as much memory as their size if they were read.
    huge = 8 * 1024**3 if declared == "the real size" else MAX_IMAGE_FILE_BYTES
    with (move / record["file"]).open("r+b") as file:
        file.truncate(huge)
    edit_line(move, size=huge if declared == "the real size" else 761)

    refused = run("import", str(move))

    if declared == "the real size":
        said = (
            f"file: {record['file']} is 8,589,934,592 bytes; an image file may have at most "
            f"{MAX_IMAGE_FILE_BYTES:,}"
        )
    else:
        said = f"file: {record['file']} is not the one that was exported ({DIFFERS})"
    assert (refused.exit_code, refused.stderr) == refusal(move, 1, said)
    assert stored_files(target) == []


def test_a_file_that_is_not_a_regular_file_is_refused_without_waiting(export):
    move, _target, run = export
    record = json.loads((move / "images.jsonl").read_text())
    (move / record["file"]).unlink()
    os.mkfifo(move / record["file"])  # opening it to read would wait for a writer forever

    refused = run("import", str(move))

    said = f"file: {record['file']} is not a regular file"
    assert (refused.exit_code, refused.stderr) == refusal(move, 1, said)


@pytest.mark.parametrize(
    ("line", "said"),
    [
        (b"\xff\xfe{}", "is not UTF-8 text (byte 1)"),
        (b"{not json", "line: Invalid JSON: key must be a string at line 1 column 2"),
        (b"[1, 2]", "line: Input should be an object"),
        (b'{"guid": "' + b"x" * 2_000_000 + b'"}', "is longer than 1,048,576 bytes"),
    ],
)
def test_each_bad_line_is_one_error_naming_it_and_nothing_is_imported(export, line, said):
    move, target, run = export
    details = move / "images.jsonl"
    details.write_bytes(details.read_bytes() + line + b"\n")

    refused = run("import", str(move))

    assert (refused.exit_code, refused.stderr) == refusal(move, 2, said)
    assert run("list", "--json").stdout == "[]\n"
    assert stored_files(target) == []


def test_a_prompt_longer_than_any_image_can_have_names_its_line(export):
    move, _target, run = export
    edit_line(move, prompt="p" * 32_001)

    refused = run("import", str(move))

    assert refused.exit_code == 2
    assert refused.stderr.startswith(f"Error: {move / 'images.jsonl'}, line 1: prompt: ")


def test_a_manifest_that_miscounts_is_refused(export):
    move, _target, run = export
    manifest = json.loads((move / "manifest.json").read_text())
    (move / "manifest.json").write_text(json.dumps({**manifest, "images": "many"}))

    refused = run("import", str(move))

    assert (refused.exit_code, refused.stderr) == (
        2,
        f"Error: {move / 'manifest.json'}: images: must be a whole number, not 'many'\n",
    )
