"""``pixyproxy provenance``: the API's content provenance check through the real SDK, its
verdict shown and kept with the image; and the kept checks on both databases."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from pixyproxy_cli.core.constants import DEFAULT_IMAGE_MODEL
from tests.cli.conftest import run_cli
from tests.openai_server import error_answer, picture

runner = CliRunner()


run = run_cli


def made(env: dict[str, str], *args: str) -> dict:
    result = run(env, "generate", "a lighthouse", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def checks(fake_openai) -> list[dict]:
    return [r for r in fake_openai.requests if r["path"].endswith("/content_provenance_checks")]


def test_a_stored_image_is_checked_through_the_sdk_and_its_verdict_kept(fake_openai, openai_env):
    image = made(openai_env)

    checked = run(openai_env, "provenance", image["guid"], "--json")
    shown = run(openai_env, "show", image["guid"])
    again = run(openai_env, "provenance", image["guid"], "--last", "--json")

    assert checked.exit_code == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["guid"] == image["guid"]
    assert report["verdict"] == "detected"
    assert report["signals"] == [
        {
            "type": "c2pa",
            "outcome": "detected",
            "validation_state": "valid",
            "model": DEFAULT_IMAGE_MODEL,
            "generated_at": "2026-12-06T09:00:00Z",
        },
        {"type": "synthid", "outcome": "detected", "model": DEFAULT_IMAGE_MODEL},
    ]
    [request] = checks(fake_openai)
    [upload] = request["body"]["files"]
    assert (upload["field"], upload["type"]) == ("file", "image/png")
    assert upload["data"] == Path(image["file"]).stat().st_size
    assert shown.exit_code == 0
    assert "Provenance  detected by C2PA, SynthID (checked " in shown.stdout
    assert re.search(r"\(checked \d{4}-\d\d-\d\dT[\d:.]+Z\)", shown.stdout)
    assert (again.exit_code, json.loads(again.stdout)) == (0, report)
    assert len(checks(fake_openai)) == 1  # --last asks nothing


def test_the_text_says_each_signal_and_the_sdks_caveat_when_nothing_is_found(
    fake_openai, openai_env, tmp_path
):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(picture("jpeg", (32, 32)))

    result = run(openai_env, "provenance", str(photo))

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Verdict", "not", "detected"]
    assert lines[1].split() == ["C2PA", "not", "detected", "(manifest", "not", "present)"]
    assert lines[2].split() == ["SynthID", "not", "detected"]
    assert lines[3].startswith("Checked ")
    assert lines[3].endswith("Z")  # UTC as --json and show write it, not +00:00
    assert lines[4].startswith("Note     not detected means no supported signal was found")
    [request] = checks(fake_openai)
    assert request["body"]["files"][0]["type"] == "image/jpeg"


def test_a_fetched_file_is_found_by_its_bytes_and_its_check_not_kept(
    fake_openai, openai_env, tmp_path
):
    image = made(openai_env, "--format", "gif")
    fetched = run(openai_env, "fetch", image["guid"], "-o", str(tmp_path / "copy.gif"))
    assert fetched.exit_code == 0

    result = run(openai_env, "provenance", str(tmp_path / "copy.gif"), "--json")
    last = run(openai_env, "provenance", image["guid"], "--last")

    assert json.loads(result.stdout)["verdict"] == "detected"
    assert json.loads(result.stdout)["guid"] is None
    assert (last.exit_code, last.stderr) == (
        3,
        f"Error: No provenance check is kept for image {image['guid']}: run pixyproxy "
        f"provenance {image['guid']}\n",
    )


def test_an_svg_cannot_be_checked(fake_openai, openai_env, tmp_path):
    image = made(openai_env, "--format", "svg")
    drawing = tmp_path / "kite.svg"
    drawing.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg' width='9' height='9'/>")

    stored = run(openai_env, "provenance", image["guid"])
    local = run(openai_env, "provenance", str(drawing))

    assert (stored.exit_code, stored.stderr) == (
        2,
        f"Error: Image {image['guid']} is an SVG image: the provenance check takes PNG, "
        "JPEG, WebP or GIF images\n",
    )
    assert (local.exit_code, local.stderr) == (
        2,
        "Error: kite.svg is not a PNG, JPEG, WebP or GIF image\n",
    )
    assert checks(fake_openai) == []


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--last", "photo.png"], 2, "--last takes a stored image's GUID"),
        (["missing.png"], 2, "missing.png: no such file, and not a GUID"),
        (["0b4e28ba-2fa1-11d2-883f-0016d3cca427"], 3, "No image with GUID"),
        (["0b4e28ba-2fa1-11d2-883f-0016d3cca427", "--last"], 3, "No image with GUID"),
    ],
)
def test_what_cannot_be_checked_is_said_before_asking(fake_openai, openai_env, args, code, said):
    Path("photo.png").write_bytes(picture("png"))

    result = run(openai_env, "provenance", *args)

    assert result.exit_code == code
    assert said in result.stderr
    assert checks(fake_openai) == []


def test_the_offline_placeholder_has_no_check():
    image = json.loads(runner.invoke(app, ["generate", "offline", "--json"]).stdout)

    result = runner.invoke(app, ["provenance", image["guid"]])

    assert (result.exit_code, result.stderr) == (
        1,
        "Error: The placeholder provider has no provenance check: it needs the OpenAI API "
        "(set OPENAI_API_KEY, and IMAGE_PROVIDER to auto or openai)\n",
    )


def test_a_failed_check_is_the_providers_error_and_keeps_nothing(fake_openai, openai_env):
    image = made(openai_env)
    fake_openai.script(error_answer(503, "The server is overloaded."))

    result = run(openai_env, "provenance", image["guid"])

    assert (result.exit_code, result.stderr) == (
        6,
        "Error: OpenAI failed with HTTP 503; try again later\n",
    )
    assert run(openai_env, "provenance", image["guid"], "--last").exit_code == 3


def test_another_users_private_image_is_not_found(fake_openai, openai_env):
    password = "alice's long password\n"
    for args in (
        ["user", "add", "alice", "--class-key", "staff", "--password-stdin"],
        ["login", "-u", "alice", "--password-stdin"],
    ):
        done = runner.invoke(app, args, input=password, env=openai_env)
        assert done.exit_code == 0, done.stderr
    secret = made(openai_env, "--private")
    assert runner.invoke(app, ["logout"], env=openai_env).exit_code == 0

    result = run(openai_env, "provenance", secret["guid"])

    assert (result.exit_code, result.stderr) == (3, f"Error: No image with GUID {secret['guid']}\n")
    assert checks(fake_openai) == []
