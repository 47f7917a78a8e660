"""The CLI's start-up path never imports the heavy libraries it does not need."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("openai", "fastapi", "uvicorn", "keyring", "argon2", "httpx")
MISSING = "0b4e28ba-2fa1-11d2-883f-0016d3cca427"
SCRIPT = """
import json, sys
sys.argv = ["pixyproxy", *sys.argv[1:]]
from pixyproxy_cli.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
"""


def probe(
    args: list[str], modules: tuple[str, ...], env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the CLI with ``args`` in a fresh interpreter: the result, and which of ``modules``
    it imported."""
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(heavy=modules), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ) if env is None else env,
        timeout=60,
    )
    return completed, json.loads(completed.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["list", "--json"],
        ["show", MISSING],
        ["fetch", MISSING, "-o", "out.png"],
        ["generate", "--help"],
        ["serve", "--help"],
    ],
    ids=" ".join,
)
def test_commands_that_do_not_generate_never_import_heavy_libraries(args):
    _, imported = probe(args, HEAVY)

    assert imported == []


def test_the_check_itself_sees_a_heavy_import():
    # Generating with a (fake) key builds the OpenAI client: the probe must notice it.
    env = {**os.environ, "OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    env["OPENAI_MAX_RETRIES"] = "0"
    _, imported = probe(["generate", "a fox"], HEAVY, env)

    assert "openai" in imported


def test_help_loads_neither_pydantic_models_nor_rich():
    lean = ("pixyproxy_cli.core.models", "rich", "sqlite3", "mysql.connector")
    _, imported = probe(["--help"], lean)

    assert imported == []


def test_list_json_builds_no_pydantic_models():
    # Rows become JSON straight from the driver (data/db/public_json.py); the models module,
    # about 11 ms of class building, stays unloaded, as do rich and the admin service.
    lean = (
        "pixyproxy_cli.core.models",
        "rich",
        "pixyproxy_cli.service.admin",
        "pixyproxy_cli.core.search",  # loaded by --search only
    )
    completed, imported = probe(["list", "--json"], lean)

    assert completed.stdout == "[]\n"
    assert imported == []


@pytest.mark.parametrize("args", [["list", "--json"], ["show", MISSING]], ids=" ".join)
def test_reading_commands_never_choose_or_build_a_provider(args):
    # The provider is chosen (its API key looked up) and built when first used
    # (data/init.py::ChosenProvider): reading never uses it.
    lean = (
        "pixyproxy_cli.data.providers",
        "pixyproxy_cli.data.providers.placeholder",
        "pixyproxy_cli.data.keyring_stores.secrets",
    )
    _, imported = probe(args, lean)

    assert imported == []


def test_command_modules_keep_real_annotations():
    # Typer evaluates string annotations with compile + eval at every start (see
    # pixyproxy_cli/commands/__init__.py): modules defining commands must not defer them.
    from pathlib import Path

    import pixyproxy_cli.commands as commands

    deferring = [
        path.name
        for path in Path(commands.__file__).parent.glob("*.py")
        if "typer.Option(" in (text := path.read_text(encoding="utf-8"))
        or "typer.Argument(" in text
        if "from __future__ import annotations" in text
    ]
    assert deferring == []


def test_help_does_not_load_pydantic():
    """Our modules do not; Typer 0.29 itself imports pydantic to parse a sub-command's options."""
    _, imported = probe(["--help"], ("pydantic",))

    assert imported == []
