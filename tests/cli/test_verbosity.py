"""-q/--quiet and -v/--verbose: results and errors only, or what is happening as well."""

from __future__ import annotations

import json
import re

import pytest

from tests.cli.test_commands import generate_json, run

NOTICE = "Notice: OPENAI_API_KEY is not set"


def test_quiet_keeps_the_result_and_drops_the_notices():
    normal = run("generate", "a fox", "--json")
    quiet = run("generate", "a fox", "--json", "-q")

    assert NOTICE in normal.stderr
    assert quiet.exit_code == 0
    assert quiet.stderr == ""
    assert json.loads(quiet.stdout)["prompt"] == "a fox"


def test_quiet_drops_the_status_lines_beside_a_result(tmp_path):
    image = generate_json()
    target = tmp_path / "out.png"
    normal = run("fetch", image["guid"], "-o", str(tmp_path / "first.png"))
    quiet = run("-q", "fetch", image["guid"], "-o", str(target))

    assert normal.stderr.startswith("Wrote ")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    assert target.read_bytes() == (tmp_path / "first.png").read_bytes()


def test_quiet_keeps_errors():
    result = run("show", "0b4e28ba-2fa1-11d2-883f-0016d3cca427", "--quiet")

    assert result.exit_code == 3
    assert result.stderr == "Error: No image with GUID 0b4e28ba-2fa1-11d2-883f-0016d3cca427\n"


def test_verbose_says_which_database_and_provider_and_how_long(isolated_environment):
    generate_json()
    result = run("list", "-v")
    lines = result.stderr.splitlines()
    database = isolated_environment / "data" / "pixyproxy.db"

    config = isolated_environment / "home" / ".config" / "pixyproxy" / "config.toml"
    assert result.exit_code == 0
    assert lines[0] == f"Info: settings: .env none; config file {config} (none)"
    assert lines[1].startswith(f"Info: database: sqlite {database} (opened in ")
    assert lines[2].startswith("Info: provider: placeholder (OPENAI_API_KEY is not set")
    assert re.fullmatch(r"Info: finished \d+\.\d{3} s after start-up", lines[-1])
    assert "Info:" not in result.stdout  # stdout stays the data


def test_verbose_names_the_files_the_settings_came_from(isolated_environment):
    (isolated_environment / "work" / ".env").write_text("IMAGE_SIZE=64x64\n")
    run("config", "set", "IMAGE_QUALITY", "low")
    config = isolated_environment / "home" / ".config" / "pixyproxy" / "config.toml"

    result = run("list", "-v")

    assert result.stderr.splitlines()[0] == (
        f"Info: settings: .env {isolated_environment / 'work' / '.env'}; "
        f"config file {config} (1 setting(s))"
    )


def test_normal_output_has_no_info_lines():
    generate_json()
    result = run("list")

    assert "Info:" not in result.stderr


@pytest.mark.parametrize("args", [("-q", "-v", "list"), ("list", "--quiet", "--verbose")])
def test_quiet_and_verbose_together_are_refused(args):
    result = run(*args)

    assert result.exit_code == 2
    assert "choose one of -q/--quiet and -v/--verbose" in result.stderr


def test_the_placeholder_notice_is_said_once_and_only_of_images_made(isolated_environment):
    refused = run("generate", "")
    made = run("generate", "a fox")
    verbose = run("-v", "generate", "a fox")

    assert (refused.exit_code, refused.stderr) == (2, "Error: prompt must not be empty\n")
    assert made.stderr.count("offline placeholder renderer") == 1
    assert made.stderr.startswith("Notice: OPENAI_API_KEY is not set")
    assert verbose.stderr.count("offline placeholder renderer") == 1


def test_a_bad_env_line_is_said_once_with_its_file_and_line(isolated_environment):
    env_file = isolated_environment / "work" / ".env"
    env_file.write_text("IMAGE_SIZE=64x64\nthis is not valid\nIMAGE_QUALITY=low\n")

    result = run("list")

    assert result.exit_code == 0
    assert result.stderr == (
        f"Warning: {env_file}, line 2: not NAME=VALUE, left out: this is not valid\n"
    )
    assert "python-dotenv" not in result.stderr
    shown = run("config", "get", "IMAGE_QUALITY")
    assert shown.stdout.strip() == "low"  # the lines around it still count
