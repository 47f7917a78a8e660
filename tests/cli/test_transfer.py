"""``pixyproxy export`` and ``import``: SQLite -> MariaDB row for row and byte for byte,
re-runs, interruptions, owners, and damaged exports."""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from pixyproxy_cli.core.exceptions import StorageFullError
from pixyproxy_cli.core.settings import load_settings
from pixyproxy_cli.data.db.rows import from_db_timestamp
from tests.conftest import settings_environment

runner = CliRunner()
ALICE = {"PIXYPROXY_USERNAME": "alice", "PIXYPROXY_PASSWORD": "alice's long password"}
COLUMNS = (
    "guid, filename, prompt, owner, is_private, provider, model, media_type, created_at, "
    "updated_at, input_tokens, output_tokens, width, height, parents"
)


def cli(settings):
    base = settings_environment(settings)

    def run(*args, env=None, input=None):
        return runner.invoke(
            app, list(args), env={**base, **(env or {})}, input=input, catch_exceptions=False
        )

    return run


@pytest.fixture
def laptop(tmp_path):
    """A SQLite installation with alice, her public and private images, an edit, tokens."""
    settings = load_settings({"db_backend": "sqlite", "data_dir": tmp_path / "laptop"}, environ={})
    run = cli(settings)
    added = run(
        "user",
        "add",
        "alice",
        "--class-key",
        "k",
        "--password-stdin",
        input=ALICE["PIXYPROXY_PASSWORD"],
    )
    assert added.exit_code == 0
    public = json.loads(run("generate", "a lighthouse at dawn 🌅", "--json").stdout)
    run("generate", "alice's garden", "--json", env=ALICE)
    run("generate", "alice's secret", "--private", "--format", "webp", env=ALICE)
    edited = run("edit", "the same at night", "-i", public["guid"], "--json", env=ALICE)
    assert edited.exit_code == 0, edited.stderr
    with sqlite3.connect(settings.sqlite_path) as connection:  # the placeholder counts none
        connection.execute("UPDATE images SET input_tokens = 50, output_tokens = 1056")
    return settings, run


@pytest.fixture
def team(request, tmp_path):
    """A MariaDB installation (the run's database, emptied) with its own image directory."""
    request.getfixturevalue("mysql_settings")  # empties the tables
    server = request.getfixturevalue("mysql_server")
    settings = server.settings(tmp_path / "team")
    return settings, cli(settings), server


def sqlite_rows(settings) -> list[tuple]:
    with sqlite3.connect(settings.sqlite_path) as connection:
        rows = connection.execute(f"SELECT {COLUMNS} FROM images ORDER BY id").fetchall()
    return [normalized(row) for row in rows]


def mysql_rows(server) -> list[tuple]:
    rows = server.run(f"SELECT {COLUMNS} FROM images ORDER BY id", database=server.database)
    return [normalized(row) for row in rows]


def normalized(row) -> tuple:
    values = list(row)
    values[4] = bool(values[4])
    values[8], values[9] = from_db_timestamp(values[8]), from_db_timestamp(values[9])
    return tuple(values)


def files(settings) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in settings.image_dir.iterdir()}


@pytest.mark.mysql
def test_sqlite_to_mariadb_row_for_row_and_byte_for_byte(laptop, team, tmp_path):
    laptop_settings, on_laptop = laptop
    team_settings, on_team, server = team
    export_dir = tmp_path / "move"

    exported = on_laptop("export", str(export_dir), env=ALICE)
    refused = on_team("import", str(export_dir))
    imported = on_team("import", str(export_dir), "--create-users")
    again = on_team("import", str(export_dir), "--json")

    assert (exported.exit_code, exported.stdout) == (0, f"Exported 4 images to {export_dir}\n")
    assert (refused.exit_code, refused.stderr) == (
        3,
        "Error: The export has images of users who are not in this roster: alice; add them "
        "(pixyproxy user add NAME), or import with --create-users\n",
    )
    assert (imported.exit_code, imported.stdout) == (0, f"Imported 4 images from {export_dir}\n")
    assert imported.stderr == (
        "Notice: Added users without a password: alice (pixyproxy user passwd NAME gives one)\n"
    )
    assert json.loads(again.stdout) == {"imported": 0, "skipped": 4, "created_users": []}
    assert mysql_rows(server) == sqlite_rows(laptop_settings)
    assert files(team_settings) == files(laptop_settings)
    # The imported owner cannot log in until someone gives her a password.
    refused_login = on_team("list", "--mine", env=ALICE)
    assert refused_login.exit_code == 4
    on_team("user", "passwd", "alice", "--password-stdin", input=ALICE["PIXYPROXY_PASSWORD"])
    mine = on_team("list", "--mine", "--json", env=ALICE)
    assert len(json.loads(mine.stdout)) == 3


def test_an_interrupted_import_completes_when_run_again(laptop, tmp_path, monkeypatch):
    laptop_settings, on_laptop = laptop
    target = load_settings({"db_backend": "sqlite", "data_dir": tmp_path / "other"}, environ={})
    on_target = cli(target)
    on_laptop("export", str(tmp_path / "move"), env=ALICE)
    monkeypatch.setattr("pixyproxy_cli.service.transfer.IMPORT_CHUNK", 1)
    from pixyproxy_cli.data.files.storage import LocalImageStore

    real_save = LocalImageStore.save
    saves = []

    def failing_save(self, filename, data):
        saves.append(filename)
        if len(saves) == 3:
            raise StorageFullError("There is no space left to store the image")
        real_save(self, filename, data)

    monkeypatch.setattr(LocalImageStore, "save", failing_save)
    first = on_target("import", str(tmp_path / "move"), "--create-users")

    assert first.exit_code == 1
    assert len(sqlite_rows(target)) == 2  # the chunks before the failure stayed
    assert len(files(target)) == 2  # and the failed chunk's file is not left behind

    monkeypatch.setattr(LocalImageStore, "save", real_save)
    second = on_target("import", str(tmp_path / "move"), "--json")

    assert json.loads(second.stdout) == {"imported": 2, "skipped": 2, "created_users": []}
    assert sqlite_rows(target) == sqlite_rows(laptop_settings)
    assert files(target) == files(laptop_settings)


def test_an_owner_who_is_a_user_here_in_another_case_stops_the_import(laptop, tmp_path):
    _, on_laptop = laptop
    target = load_settings({"db_backend": "sqlite", "data_dir": tmp_path / "other"}, environ={})
    on_target = cli(target)
    on_laptop("export", str(tmp_path / "move"), env=ALICE)
    added = on_target(
        "user", "add", "Alice", "--class-key", "k", "--password-stdin", input="x" * 12
    )
    assert added.exit_code == 0

    for extra in ([], ["--create-users"]):
        refused = on_target("import", str(tmp_path / "move"), *extra)

        assert (refused.exit_code, refused.stderr) == (
            7,
            "Error: The export has images of users whose names are users' here in another "
            "case: alice (here: Alice); user names are unique regardless of case, so nothing "
            "was imported\n",
        )
    assert sqlite_rows(target) == []
    assert on_target("user", "list", "--json").stdout.count('"username"') == 1


def test_export_keeps_to_what_the_caller_may_see_and_to_the_filters(laptop, tmp_path):
    _, on_laptop = laptop

    anonymous = on_laptop("export", str(tmp_path / "anonymous"), "--json")
    searched = on_laptop("export", str(tmp_path / "garden"), "--search", "garden", env=ALICE)

    assert json.loads(anonymous.stdout) == {
        "exported": 3,
        "skipped": 0,
        "missing_files": [],
        "private_left_out": 1,
    }
    lines = (tmp_path / "anonymous" / "images.jsonl").read_text().splitlines()
    assert "alice's secret" not in [json.loads(line)["prompt"] for line in lines]
    assert searched.stdout == f"Exported 1 image to {tmp_path / 'garden'}\n"
    [line] = (tmp_path / "garden" / "images.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["prompt"] == "alice's garden"
    assert set(record) >= {"guid", "owner", "private", "created_at", "parents", "usage", "sha256"}


def test_export_refuses_a_directory_that_is_not_empty(laptop, tmp_path):
    _, on_laptop = laptop
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")

    refused = on_laptop("export", str(tmp_path / "busy"))

    assert (refused.exit_code, refused.stderr) == (
        2,
        f"Error: {tmp_path / 'busy'} is not empty; export into a new directory (or --force to "
        "replace an export there)\n",
    )
    assert on_laptop("export", str(tmp_path / "busy"), "--force").exit_code == 0


def test_a_damaged_export_is_refused_naming_what_is_wrong(laptop, tmp_path):
    _, on_laptop = laptop
    target = cli(load_settings({"db_backend": "sqlite", "data_dir": tmp_path / "t"}, environ={}))
    move = tmp_path / "move"
    on_laptop("export", str(move))
    first = json.loads((move / "images.jsonl").read_text().splitlines()[0])
    (move / first["file"]).write_bytes(b"not the image")

    damaged = target("import", str(move), "--create-users")
    (move / "manifest.json").unlink()
    unfinished = target("import", str(move))

    assert damaged.exit_code == 2
    assert damaged.stderr == (
        f"Error: {move / 'images.jsonl'}, line 1: file: {first['file']} is not the one that "
        "was exported (its size or SHA-256 differs)\n"
    )
    assert (unfinished.exit_code, unfinished.stderr) == (
        2,
        f"Error: {move} is not a finished pixyproxy export (no manifest.json); run pixyproxy "
        "export again\n",
    )


def test_a_bad_line_is_named_and_nothing_is_imported(laptop, tmp_path):
    _, on_laptop = laptop
    target_settings = load_settings(
        {"db_backend": "sqlite", "data_dir": tmp_path / "t"}, environ={}
    )
    move = tmp_path / "move"
    on_laptop("export", str(move))
    lines = (move / "images.jsonl").read_text().splitlines()
    broken = json.loads(lines[1])
    broken["file"] = "../../etc/passwd"
    lines[1] = json.dumps(broken)
    (move / "images.jsonl").write_text("\n".join(lines) + "\n")

    refused = cli(target_settings)("import", str(move))

    assert refused.exit_code == 2
    assert refused.stderr == (
        f"Error: {move / 'images.jsonl'}, line 2: file must be images/{broken['guid']}.EXT\n"
    )
    assert not target_settings.image_dir.exists() or files(target_settings) == {}


def test_the_progress_bar_counts_on_a_terminal_and_is_silent_in_a_pipe(monkeypatch):
    import io

    from rich.console import Console

    from pixyproxy_cli.commands import output

    with output.progress_bar("Importing", 4) as tick:
        assert tick is None  # stderr is not a terminal here
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    monkeypatch.setattr(output, "err", lambda: terminal)
    with output.progress_bar("Importing", 4) as tick:
        assert tick is not None
        tick(3)

    drawn = screen.getvalue()
    assert "Importing" in drawn
    assert "\x1b[32m3/4\x1b[0m" in drawn  # the last frame drawn before the bar went away


LEFT_OUT = (
    "Notice: 1 private image(s) of other users left out: you may not see them (the local "
    "admin exports them too with --all)\n"
)


@pytest.mark.mysql
def test_an_export_says_what_it_left_out_and_the_local_admin_exports_all(laptop, team, tmp_path):
    laptop_settings, on_laptop = laptop
    _, on_team, server = team

    anonymous = on_laptop("export", str(tmp_path / "anonymous"), "--json")
    everything = on_laptop("export", str(tmp_path / "all"), "--all")
    own = on_laptop("export", str(tmp_path / "own"), "--mine", env=ALICE)
    remote = on_laptop(
        "export", str(tmp_path / "x"), "--all", "--server", "https://example.invalid"
    )

    assert (anonymous.exit_code, anonymous.stderr) == (0, LEFT_OUT)
    assert json.loads(anonymous.stdout) == {
        "exported": 3,
        "skipped": 0,
        "missing_files": [],
        "private_left_out": 1,
    }
    assert (everything.exit_code, everything.stdout, everything.stderr) == (
        0,
        f"Exported 4 images to {tmp_path / 'all'}\n",
        "",
    )
    assert (own.exit_code, own.stderr) == (0, "")  # one's own: nothing to say
    assert remote.exit_code == 2
    assert "--all works on this machine's database" in remote.stderr
    # The whole export moves every row, private ones too; MariaDB counts as SQLite does.
    assert on_team("import", str(tmp_path / "all"), "--create-users").exit_code == 0
    assert mysql_rows(server) == sqlite_rows(laptop_settings)
    again = on_team("export", str(tmp_path / "from-team"))
    assert (again.exit_code, again.stderr) == (0, LEFT_OUT)
