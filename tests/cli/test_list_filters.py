"""``pixyproxy list --search/--since/--until/--model/--order`` through the CLI: output, paging,
exit codes and exact messages, on SQLite and MariaDB."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from tests.conftest import settings_environment

runner = CliRunner()


@pytest.fixture
def run(backend_settings):
    env = settings_environment(backend_settings)

    def invoke(*args):
        return runner.invoke(app, list(args), env=env, catch_exceptions=False)

    for prompt in ("A lighthouse at dawn", "a fox at dusk", "Lighthouse keeper 🦄", "50% off"):
        assert invoke("generate", prompt).exit_code == 0
    return invoke


def prompts(result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return [image["prompt"] for image in json.loads(result.stdout)]


def test_search_finds_words_by_their_beginning_case_aside(run):
    assert prompts(run("list", "--json", "--search", "LIGHT")) == [
        "A lighthouse at dawn",
        "Lighthouse keeper 🦄",
    ]
    assert prompts(run("list", "--json", "-s", "light dawn")) == ["A lighthouse at dawn"]
    assert prompts(run("list", "--json", "-s", "🦄")) == ["Lighthouse keeper 🦄"]
    assert prompts(run("list", "--json", "-s", "50%")) == ["50% off"]
    assert prompts(run("list", "--json", "-s", '"')) == []


def test_order_newest_and_paging_with_after(run):
    newest = prompts(run("list", "--json", "--order", "newest"))
    assert newest == ["50% off", "Lighthouse keeper 🦄", "a fox at dusk", "A lighthouse at dawn"]

    first = json.loads(run("list", "--json", "--order", "newest", "--limit", "2").stdout)
    rest = run("list", "--json", "--order", "newest", "--after", first[-1]["guid"])

    assert [image["prompt"] for image in first] + prompts(rest) == newest


def test_plain_lines_in_a_pipe_carry_the_search(run):
    result = run("list", "--search", "fox")

    assert result.exit_code == 0
    assert [line.split("\t")[-1] for line in result.stdout.splitlines()] == ["a fox at dusk"]


def test_model_and_dates_filter(run):
    assert prompts(run("list", "--json", "--model", "placeholder-v1")) != []
    assert prompts(run("list", "--json", "--model", "gpt-image-1")) == []
    assert prompts(run("list", "--json", "--since", "2999-01-01")) == []
    assert len(prompts(run("list", "--json", "--until", "2999-01-01"))) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--since", "yesterday"],
            "Error: since must be a date (YYYY-MM-DD) or a time "
            "(YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]), not 'yesterday'\n",
        ),
        (["--search", "  "], "Error: search text must not be blank\n"),
    ],
)
def test_bad_filters_are_usage_errors_with_exact_messages(run, args, message):
    result = run("list", "--json", *args)

    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


def test_a_bad_order_is_refused_by_the_option(run):
    result = run("list", "--order", "random")

    assert result.exit_code == 2
    assert "Invalid value for '--order'" in result.stderr


def test_an_empty_listing_on_a_terminal_says_what_narrowed_it(isolated_environment):
    from typer.testing import CliRunner

    from pixyproxy_cli.commands.main import app

    runner = CliRunner()
    terminal = {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "120"}
    empty = runner.invoke(app, ["list"], env=terminal)
    assert runner.invoke(app, ["generate", "a lighthouse"]).exit_code == 0

    searched = runner.invoke(app, ["list", "--search", "fox", "--model", "x"], env=terminal)

    assert (empty.exit_code, searched.exit_code) == (0, 0)
    assert empty.stderr == 'No images yet: make one with pixyproxy generate "PROMPT"\n'
    assert searched.stderr == "No image matches --search, --model\n"
    assert "GUID" in searched.stdout  # the table's header, over no rows


@pytest.mark.parametrize("columns", [80, 120, 200])
def test_the_table_fits_the_terminal_and_only_the_prompt_gives_way(isolated_environment, columns):
    from typer.testing import CliRunner

    from pixyproxy_cli.commands.main import app

    runner = CliRunner()
    prompt = "a lighthouse at dawn " * 12
    made = [
        json.loads(runner.invoke(app, ["generate", text, "--json"]).stdout)
        for text in (prompt, "a fox")
    ]
    terminal = {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": str(columns)}

    table = [
        line.rstrip() for line in runner.invoke(app, ["list"], env=terminal).stdout.splitlines()
    ]

    assert len(table) == 3  # the header and one line a row: nothing wraps
    assert max(map(len, table)) <= columns
    header = table[0].split()
    assert header[:5] == ["GUID", "Created", "(UTC)", "Visibility", "Provider"]
    assert header[5] == "Prompt" if columns > 80 else header[5] in ("Pr…", "Prompt")
    for line, image in zip(table[1:], made, strict=True):
        guid, day, minute, visibility, provider, *words = line.split()
        assert (guid, visibility, provider) == (image["guid"], "public", "placeholder")
        assert f"{day}T{minute}" == image["created_at"][:16]
        assert words  # the prompt's start, at the least
    long_prompt = table[1].split(None, 5)[5]
    assert long_prompt.endswith("…")
    assert prompt.startswith(long_prompt[:-1])
    assert table[2].endswith("a fox" if columns > 80 else "a …")
