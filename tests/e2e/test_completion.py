"""Shell completion with the installed command, on SQLite and MariaDB: Typer's
--show-completion, and GUIDs completed from the configured database for bash and zsh,
newest first, bounded, filtered by what was typed, and silent when anything fails."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import settings_environment
from tests.helpers import EXECUTABLE, free_port


@pytest.fixture
def shell(backend_settings, tmp_path):
    env = {**os.environ, **settings_environment(backend_settings)}
    env.pop("OPENAI_API_KEY", None)

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(EXECUTABLE), *args],
            capture_output=True,
            text=True,
            env={**env, **extra},
            cwd=tmp_path,
            timeout=120,
        )

    def bash(line: str, **extra: str) -> subprocess.CompletedProcess[str]:
        words = line.split(" ")
        return run(
            _PIXYPROXY_COMPLETE="complete_bash",
            COMP_WORDS=line,
            COMP_CWORD=str(len(words) - 1),
            **extra,
        )

    def zsh(line: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return run(_PIXYPROXY_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS=line, **extra)

    run.bash, run.zsh = bash, zsh
    return run


def make(shell, prompt: str) -> str:
    made = shell("generate", prompt, "--json", "-q")
    assert made.returncode == 0, made.stderr
    return json.loads(made.stdout)["guid"]


def test_show_fetch_rm_and_edit_complete_guids_newest_first_for_bash(shell):
    guids = [make(shell, f"a fox number {n}") for n in range(3)]
    newest = "".join(f"{guid}\n" for guid in reversed(guids))

    for line in ("pixyproxy show ", "pixyproxy fetch ", "pixyproxy rm ", "pixyproxy edit x -i "):
        answer = shell.bash(line)
        assert (answer.returncode, answer.stdout, answer.stderr) == (0, newest, ""), line
    typed = shell.bash(f"pixyproxy show {guids[1][:6]}")
    assert typed.stdout == "".join(f"{g}\n" for g in reversed(guids) if g.startswith(guids[1][:6]))
    assert guids[1] in typed.stdout


def test_zsh_gets_each_guid_with_the_start_of_its_prompt(shell):
    older = make(shell, "an old: lighthouse")
    newer = make(shell, "a new fox")

    answer = shell.zsh("pixyproxy show ")

    assert answer.returncode == 0
    assert answer.stdout == (
        f'_arguments \'*: :(("{newer}":"a new fox"\n"{older}":"an old\\\\: lighthouse"))\'\n'
    )


def test_the_offer_is_bounded_to_50(shell):
    made = shell("generate", "many foxes", "-n", "10", "--json", "-q")
    for _ in range(5):
        shell("generate", "many foxes", "-n", "10", "--json", "-q")
    assert made.returncode == 0, made.stderr

    answer = shell.bash("pixyproxy show ")

    assert len(answer.stdout.splitlines()) == 50


def test_a_path_is_left_to_the_shell(shell):
    make(shell, "a fox")

    assert shell.bash("pixyproxy edit x -i ./fo").stdout.strip() == ""


def test_completion_is_silent_when_the_database_cannot_be_reached(shell):
    answer = shell.bash(
        "pixyproxy show ", DB_BACKEND="mysql", DB_HOST="127.0.0.1", DB_PORT=str(free_port())
    )

    assert (answer.returncode, answer.stdout.strip(), answer.stderr) == (0, "", "")


def test_completion_creates_no_database(shell, tmp_path):
    data = tmp_path / "fresh-data"
    answer = shell.bash("pixyproxy show ", PIXYPROXY_DATA_DIR=str(data), DB_BACKEND="sqlite")

    assert (answer.returncode, answer.stdout.strip()) == (0, "")
    assert not (data / "pixyproxy.db").exists()


@pytest.mark.parametrize("name", ["bash", "zsh"])
def test_show_completion_prints_the_script_for_the_shell(shell, name):
    # Typer detects the user's shell; its own switch lets a test name one instead.
    answer = shell("--show-completion", name, _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")

    assert answer.returncode == 0
    assert f"_PIXYPROXY_COMPLETE=complete_{name}" in answer.stdout
