"""Who sees what: {owner, other user, anonymous} x {public, private} x {show, list, fetch,
edit, rm}, on SQLite and on MariaDB. Exactly owner-or-public may read, exactly the owner may
delete; a refusal of a private image is indistinguishable from a GUID that does not exist."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from tests.conftest import settings_environment

runner = CliRunner()
PASSWORDS = {"alice": "alice's long password", "bob": "bob's long password"}
MISSING = "0b4e28ba-2fa1-11d2-883f-0016d3cca427"


@pytest.fixture
def world(backend_settings, tmp_path):
    base = settings_environment(backend_settings)

    def run(*args, viewer=None, input=None):
        env = dict(base)
        if viewer:
            env.update(PIXYPROXY_USERNAME=viewer, PIXYPROXY_PASSWORD=PASSWORDS[viewer])
        return runner.invoke(app, list(args), env=env, input=input, catch_exceptions=False)

    for name, password in PASSWORDS.items():
        added = run("user", "add", name, "--class-key", "k", "--password-stdin", input=password)
        assert added.exit_code == 0, added.stderr
    images = {
        visibility: json.loads(
            run("generate", f"alice {visibility}", "--json", *flags, viewer="alice").stdout
        )
        for visibility, flags in (("public", []), ("private", ["--private"]))
    }
    return run, images, tmp_path


VIEWERS = ["alice", "bob", None]
CASES = list(itertools.product(VIEWERS, ["public", "private"], ["show", "list", "fetch", "edit"]))


@pytest.mark.parametrize(
    ("viewer", "visibility", "action"), CASES, ids=lambda v: str(v or "anonymous")
)
def test_exactly_owner_or_public_is_allowed(world, viewer, visibility, action):
    run, images, tmp_path = world
    image = images[visibility]
    allowed = visibility == "public" or viewer == "alice"

    if action == "list":
        listed = run("list", "--json", viewer=viewer)
        assert listed.exit_code == 0
        assert (image["guid"] in [item["guid"] for item in json.loads(listed.stdout)]) is allowed
        return

    target = tmp_path / f"{viewer}-{visibility}.png"
    args = {
        "show": ["show", image["guid"], "--json"],
        "fetch": ["fetch", image["guid"], "-o", str(target)],
        "edit": ["edit", "the same at night", "-i", image["guid"], "--json"],
    }[action]
    result = run(*args, viewer=viewer)
    if allowed:
        assert result.exit_code == 0, result.stderr
        if action == "show":
            assert json.loads(result.stdout)["guid"] == image["guid"]
        elif action == "edit":  # an edit of a private image is private, and the caller's
            edited = json.loads(result.stdout)
            assert edited["parents"] == [image["guid"]]
            assert edited["private"] is (visibility == "private")
            assert edited["owner"] == viewer
        else:
            assert target.read_bytes() == Path(image["file"]).read_bytes()
        return
    absent = run(*[MISSING if arg == image["guid"] else arg for arg in args], viewer=viewer)
    assert result.exit_code == absent.exit_code == 3
    assert result.stderr == absent.stderr.replace(MISSING, image["guid"])
    assert result.stdout == absent.stdout == ""
    assert not target.exists()


@pytest.mark.parametrize(
    ("viewer", "visibility"),
    list(itertools.product(VIEWERS, ["public", "private"])),
    ids=lambda v: str(v or "anonymous"),
)
def test_exactly_the_owner_may_delete(world, viewer, visibility):
    run, images, _ = world
    image = images[visibility]

    result = run("rm", "--yes", image["guid"], viewer=viewer)

    if viewer == "alice":
        assert (result.exit_code, result.stdout) == (0, f"Deleted {image['guid']}\n")
        assert run("show", image["guid"], viewer="alice").exit_code == 3
        return
    if visibility == "private":  # as for reads: indistinguishable from a GUID never stored
        absent = run("rm", "--yes", MISSING, viewer=viewer)
        assert result.exit_code == absent.exit_code == 3
        assert result.stderr == absent.stderr.replace(MISSING, image["guid"])
    else:
        assert (result.exit_code, result.stderr) == (
            8,
            f"Error: Image {image['guid']} belongs to alice: only its owner may delete it\n",
        )
    assert run("show", image["guid"], viewer="alice").exit_code == 0
