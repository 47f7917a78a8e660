"""Test isolation shared by every test: a private data directory and a clean environment.

No test reads the developer's ``.env``, data directory, database or keyring: each runs in
its own temporary working directory with every pixyproxy setting removed from the
environment, and the process-wide database is closed after it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pixyproxy_cli.core.settings import ENV_FILE_VARIABLE, ENVIRONMENT
from pixyproxy_cli.data.init import close_database

SETTING_VARIABLES = [*ENVIRONMENT.values(), ENV_FILE_VARIABLE, "OPENAI_API_KEY", "OPENAI_BASE_URL"]


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run each test in an empty directory with pixyproxy's settings unset."""
    for variable in SETTING_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    for variable in list(os.environ):
        if variable.startswith("PIXYPROXY_"):
            monkeypatch.delenv(variable, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("PIXYPROXY_DATA_DIR", str(tmp_path / "data"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield tmp_path
    close_database()
