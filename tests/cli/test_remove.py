"""``pixyproxy rm`` and ``user remove --delete-images`` on SQLite and MariaDB: exit codes,
exact messages, the confirmation, and what is left on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from tests.conftest import settings_environment
from tests.helpers import EXECUTABLE

runner = CliRunner()
PASSWORD = "alice's long password"
MISSING = "0b4e28ba-2fa1-11d2-883f-0016d3cca427"


@pytest.fixture
def cli(backend_settings):
    base = settings_environment(backend_settings)

    def run(*args, alice=False, input=None):
        env = dict(base)
        if alice:
            env.update(PIXYPROXY_USERNAME="alice", PIXYPROXY_PASSWORD=PASSWORD)
        return runner.invoke(app, list(args), env=env, input=input, catch_exceptions=False)

    added = run("user", "add", "alice", "--class-key", "k", "--password-stdin", input=PASSWORD)
    assert added.exit_code == 0, added.stderr
    return run, backend_settings


def make(run, prompt, *flags, alice=False):
    result = run("generate", prompt, "--json", *flags, alice=alice)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def files(settings) -> list[str]:
    return sorted(path.name for path in settings.image_dir.iterdir())


def test_rm_with_yes_deletes_rows_and_files(cli):
    run, settings = cli
    first, second = make(run, "one"), make(run, "two")
    kept = make(run, "three")

    result = run("rm", "--yes", first["guid"], second["guid"])

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"Deleted {first['guid']}\nDeleted {second['guid']}\n"
    assert files(settings) == [Path(kept["file"]).name]
    shown = run("show", first["guid"])
    assert (shown.exit_code, shown.stderr) == (3, f"Error: No image with GUID {first['guid']}\n")
    listed = json.loads(run("list", "--json").stdout)
    assert [image["guid"] for image in listed] == [kept["guid"]]


def test_rm_json_prints_the_deleted_guids(cli):
    run, _ = cli
    image = make(run, "one")

    result = run("rm", "-y", "--json", image["guid"])

    assert json.loads(result.stdout) == [image["guid"]]


def test_rm_in_a_pipe_without_yes_refuses_and_keeps_everything(cli):
    run, settings = cli
    image = make(run, "one")

    result = run("rm", image["guid"])

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: rm deletes for good: pass --yes to delete without a terminal to ask on\n"
    )
    assert files(settings) == [Path(image["file"]).name]


@pytest.mark.parametrize(("answer", "deleted"), [("y\n", True), ("n\n", False), ("\n", False)])
def test_rm_on_a_terminal_lists_the_images_and_asks_once(cli, monkeypatch, answer, deleted):
    run, settings = cli
    image = make(run, "a lighthouse at dawn")
    monkeypatch.setattr("pixyproxy_cli.commands.output.can_ask", lambda: True)

    result = run("rm", image["guid"], input=answer)

    assert result.stdout.startswith(f"{image['guid']}\t")
    assert "a lighthouse at dawn" in result.stdout
    assert result.stderr.startswith("Delete this image? [y/N]:")
    if deleted:
        assert result.exit_code == 0
        assert result.stdout.endswith(f"Deleted {image['guid']}\n")
        assert files(settings) == []
    else:
        assert (result.exit_code, result.stderr.endswith("Nothing deleted\n")) == (1, True)
        assert files(settings) == [Path(image["file"]).name]


def test_rm_of_a_missing_guid_deletes_none_of_the_others(cli):
    run, settings = cli
    image = make(run, "one")

    result = run("rm", "--yes", image["guid"], MISSING)

    assert (result.exit_code, result.stderr) == (3, f"Error: No image with GUID {MISSING}\n")
    assert files(settings) == [Path(image["file"]).name]
    assert run("show", image["guid"]).exit_code == 0


def test_rm_of_a_malformed_guid_is_a_usage_error(cli):
    run, _ = cli

    result = run("rm", "--yes", "nope")

    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    assert "GUID" in result.stderr


def test_rm_needs_at_least_one_guid(cli):
    run, _ = cli

    result = run("rm", "--yes")

    assert result.exit_code == 2
    assert "Missing argument 'GUID...'" in result.stderr


def test_the_local_admin_deletes_ownerless_images_but_not_a_users(cli):
    run, _ = cli
    ownerless = make(run, "anyone's")
    alices = make(run, "alice's", alice=True)

    refused = run("rm", "--yes", alices["guid"])
    assert (refused.exit_code, refused.stderr) == (
        8,
        f"Error: Image {alices['guid']} belongs to alice: only its owner may delete it\n",
    )
    assert run("rm", "--yes", ownerless["guid"]).exit_code == 0
    assert run("rm", "--yes", alices["guid"], alice=True).exit_code == 0


@pytest.mark.parametrize(("answer", "deleted"), [("y\n", True), ("n\n", False)])
def test_the_local_admin_deletes_any_image_with_admin_after_the_same_question(
    cli, monkeypatch, answer, deleted
):
    run, settings = cli
    secret = make(run, "alice's secret", "--private", alice=True)
    public = make(run, "alice's public", alice=True)
    monkeypatch.setattr("pixyproxy_cli.commands.output.can_ask", lambda: True)

    hidden = run("rm", "--yes", secret["guid"])
    asked = run("rm", "--admin", secret["guid"], public["guid"], input=answer)

    assert (hidden.exit_code, hidden.stderr) == (3, f"Error: No image with GUID {secret['guid']}\n")
    assert asked.stdout.startswith(
        f"{secret['guid']}\tprivate\talice\n{public['guid']}\tpublic\talice\n"
    )
    assert asked.stderr.startswith("Delete these 2 images? [y/N]:")
    if deleted:
        assert asked.exit_code == 0
        assert asked.stdout.endswith(f"Deleted {secret['guid']}\nDeleted {public['guid']}\n")
        assert files(settings) == []
    else:
        assert asked.exit_code == 1
        assert len(files(settings)) == 2


def test_rm_admin_of_a_missing_guid_deletes_nothing_and_is_not_for_a_server(cli):
    run, settings = cli
    image = make(run, "alice's", alice=True)

    missing = run("rm", "--admin", "--yes", image["guid"], MISSING)
    remote = run("rm", "--admin", "--yes", "--server", "https://example.invalid", image["guid"])

    assert (missing.exit_code, missing.stderr) == (3, f"Error: No image with GUID {MISSING}\n")
    assert remote.exit_code == 2
    assert "--admin works on this machine's database" in remote.stderr
    assert files(settings) == [Path(image["file"]).name]


def test_user_remove_delete_images_removes_the_user_and_only_their_images(cli):
    run, settings = cli
    make(run, "public", alice=True)
    make(run, "private", "--private", alice=True)
    kept = make(run, "anyone's")

    refused = run("user", "remove", "alice")
    assert refused.exit_code == 7
    assert "pixyproxy user remove alice --delete-images" in refused.stderr

    result = run("user", "remove", "alice", "--delete-images", "--yes")

    assert (result.exit_code, result.stdout) == (0, "Removed user alice and 2 images\n")
    assert files(settings) == [Path(kept["file"]).name]
    assert run("user", "list").stdout == ""
    gone = run("user", "remove", "alice", "--delete-images", "--yes")
    assert (gone.exit_code, gone.stderr) == (3, "Error: No user named alice\n")


@pytest.mark.parametrize(("answer", "removed"), [("y\n", True), ("n\n", False), (None, False)])
def test_user_remove_delete_images_asks_as_rm_does(cli, monkeypatch, answer, removed):
    run, settings = cli
    image = make(run, "private", "--private", alice=True)
    monkeypatch.setattr("pixyproxy_cli.commands.output.can_ask", lambda: answer is not None)

    result = run("user", "remove", "alice", "--delete-images", input=answer)

    if answer is None:  # no terminal to ask on, and no --yes
        assert (result.exit_code, result.stderr) == (
            2,
            "Error: user remove --delete-images deletes for good: pass --yes to delete "
            "without a terminal to ask on\n",
        )
    else:
        assert result.stderr.startswith(
            "Remove user alice and delete all their images, public and private? [y/N]:"
        )
    if removed:
        assert result.exit_code == 0
        assert result.stdout.endswith("Removed user alice and 1 image\n")
        assert files(settings) == []
    else:
        assert result.exit_code in (1, 2)
        assert files(settings) == [Path(image["file"]).name]
        assert run("user", "list").stdout.startswith("alice")


CRASH_BETWEEN_ROW_AND_FILE = """
import os, sys
from pixyproxy_cli.data.files.storage import LocalImageStore

def die(self, filename):
    os._exit(137)  # the process dies after the delete committed, before the file goes

LocalImageStore.delete = die
from pixyproxy_cli.cli import main
sys.argv = ["pixyproxy", *sys.argv[1:]]
main()
"""


def test_a_rm_killed_between_row_and_file_leaves_an_orphan_that_doctor_fix_removes(cli):
    run, settings = cli
    image = make(run, "doomed")
    env = {**os.environ, **settings_environment(settings)}

    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_BETWEEN_ROW_AND_FILE, "rm", "--yes", image["guid"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert crashed.returncode == 137, crashed.stderr
    assert run("show", image["guid"]).exit_code == 3  # the row is gone ...
    assert files(settings) == [Path(image["file"]).name]  # ... the file is left
    doctor = subprocess.run(
        [str(EXECUTABLE), "doctor", "--json", "--fix", "--min-age", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    images = {check["name"]: check for check in json.loads(doctor.stdout)}["images"]
    assert Path(image["file"]).name in images["detail"]
    assert files(settings) == []
