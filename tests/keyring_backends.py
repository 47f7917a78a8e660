"""Keyring backends for tests: nothing here touches a real user keyring.

``MemoryKeyring`` lives in one process; ``FileKeyring`` keeps its entries in the JSON file
named by TEST_KEYRING_FILE, so that subprocesses of one test share them (a test double:
pixyproxy itself never writes passwords to files).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def path(self) -> Path:
        return Path(os.environ["TEST_KEYRING_FILE"])

    def _load(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\x00{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._load()
        entries[f"{service}\x00{username}"] = password
        self.path.write_text(json.dumps(entries))

    def delete_password(self, service: str, username: str) -> None:
        entries = self._load()
        if entries.pop(f"{service}\x00{username}", None) is None:
            raise PasswordDeleteError("not found")
        self.path.write_text(json.dumps(entries))


class PlaintextKeyring(FileKeyring):
    """A backend that, like keyrings.alt's of this name, keeps passwords unencrypted in a
    file (``file_path``): pixyproxy must warn when it is the one in use. Defined here so
    that the test extra installs no such backend into anyone's environment."""

    def __init__(self, file_path: Path) -> None:
        super().__init__()
        self.file_path = str(file_path)

    @property
    def path(self) -> Path:
        return Path(self.file_path)
