"""What the CLI tests over the fake OpenAI server share: its environment, and a runner that
checks the API key never reaches the output."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner, Result

from pixyproxy_cli.commands.main import app
from tests.openai_server import client_environment

OPENAI_TEST_KEY = "sk-test-cli-0123456789-do-not-print"
runner = CliRunner()


@pytest.fixture
def openai_env(fake_openai) -> dict[str, str]:
    """The settings that point the CLI at the fake server with OPENAI_TEST_KEY."""
    return client_environment(fake_openai, OPENAI_TEST_KEY)


def run_cli(env: dict[str, str], *args: str) -> Result:
    """``pixyproxy ARGS`` in process with ``env``, which never prints the key."""
    result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
    assert OPENAI_TEST_KEY not in result.stdout + result.stderr
    return result
