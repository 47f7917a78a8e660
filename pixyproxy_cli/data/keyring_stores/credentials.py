"""Login credentials: the OS keyring (through ``keyring``), or the environment.

``PIXYPROXY_USERNAME`` and ``PIXYPROXY_PASSWORD`` take precedence, for CI and headless use.
Otherwise the password is kept in the OS keyring under the service ``pixyproxy``, and only
the user name is noted in ``session.json`` in the config directory, so that commands run
by someone who never logged in do not pay for importing ``keyring`` (~90 ms). No password
is ever written to a file of ours.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pixyproxy_cli.core.exceptions import AuthenticationError, KeyringError
from pixyproxy_cli.core.files import write_text_atomically
from pixyproxy_cli.data.keyring_stores.entries import (
    delete_entry,
    read_entry,
    write_entry,
)

KEYRING_SERVICE = "pixyproxy"
USERNAME_VARIABLE = "PIXYPROXY_USERNAME"
PASSWORD_VARIABLE = "PIXYPROXY_PASSWORD"  # noqa: S105 - a variable name, not a password
ENVIRONMENT_SOURCE = f"the environment ({USERNAME_VARIABLE}, {PASSWORD_VARIABLE})"
WAYS_OUT = (
    "install a keyring backend (pip install keyrings.alt, or run a Secret Service such as "
    f"gnome-keyring), or set {USERNAME_VARIABLE} and {PASSWORD_VARIABLE}"
)


@dataclass(frozen=True)
class KeyringStatus:
    """The active keyring backend, and what is wrong with it (None when it is usable)."""

    backend: str
    problem: str | None = None
    fix: str | None = None
    warning: str | None = None
    """What a user should know about a usable backend (it stores passwords unencrypted)."""


@dataclass(frozen=True)
class Credentials:
    """A user name and password, and where they came from. The password is not in reprs."""

    username: str
    password: str = field(repr=False)
    source: str

    @property
    def from_environment(self) -> bool:
        """Whether these came from PIXYPROXY_USERNAME / PIXYPROXY_PASSWORD."""
        return self.source == ENVIRONMENT_SOURCE


def describe_keyring() -> KeyringStatus:
    """Name the active keyring backend and say whether it can keep a password.

    Raises KeyringError when the backend configured cannot be loaded.
    """
    from keyring.backends import fail, null

    from pixyproxy_cli.data.keyring_stores.entries import keyring_modules

    keyring, _ = keyring_modules()
    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if isinstance(backend, fail.Keyring):
        return KeyringStatus(name, "no keyring backend is available", WAYS_OUT)
    if isinstance(backend, null.Keyring):
        return KeyringStatus(
            name,
            "the null keyring backend silently discards what is stored",
            "choose a real backend (PYTHON_KEYRING_BACKEND or keyringrc.cfg), or set "
            f"{USERNAME_VARIABLE} and {PASSWORD_VARIABLE}",
        )
    if "plaintext" in type(backend).__name__.lower():  # keyrings.alt.file.PlaintextKeyring
        where = getattr(backend, "file_path", None)
        return KeyringStatus(
            name,
            warning=f"stores passwords unencrypted{f' in {where}' if where else ''}",
            fix="use an encrypted backend (a Secret Service such as gnome-keyring), or set "
            f"{USERNAME_VARIABLE} and {PASSWORD_VARIABLE} instead",
        )
    return KeyringStatus(name)


class CredentialStore:
    """Where the CLI keeps who is logged in; see the module docstring."""

    def __init__(self, config_dir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.session_file = Path(config_dir) / "session.json"
        self._environ = os.environ if environ is None else environ

    def from_environment(self) -> Credentials | None:
        """Credentials from PIXYPROXY_USERNAME / PIXYPROXY_PASSWORD, if both are set.

        Raises AuthenticationError when only one of them is set.
        """
        username = self._environ.get(USERNAME_VARIABLE, "")
        password = self._environ.get(PASSWORD_VARIABLE, "")
        if not username and not password:
            return None
        if not (username and password):
            raise AuthenticationError(
                f"Set both {USERNAME_VARIABLE} and {PASSWORD_VARIABLE}, or neither"
            )
        return Credentials(username, password, ENVIRONMENT_SOURCE)

    def keyring_warning(self) -> str | None:
        """What to tell a user about the keyring backend in use, or None."""
        status = describe_keyring()
        return f"the keyring backend {status.backend} {status.warning}" if status.warning else None

    def logged_in_username(self) -> str | None:
        """The user name noted at the last login, or None (a cheap check: no keyring)."""
        try:
            session = json.loads(self.session_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        username = session.get("username") if isinstance(session, dict) else None
        return username if isinstance(username, str) and username else None

    def load(self) -> Credentials | None:
        """The credentials to use: the environment's, else the keyring's, else None.

        Raises AuthenticationError (half-set environment, password gone from the keyring)
        and KeyringError (the keyring cannot be read).
        """
        from_env = self.from_environment()
        if from_env is not None:
            return from_env
        username = self.logged_in_username()
        if username is None:
            return None
        password = read_entry(
            KEYRING_SERVICE, username, "Cannot read the keyring: {reason}; " + WAYS_OUT
        )
        if password is None:
            raise AuthenticationError(
                f"The keyring no longer holds the password of {username}: run pixyproxy login"
            )
        return Credentials(username, password, f"the keyring ({describe_keyring().backend})")

    def save(self, username: str, password: str) -> str:
        """Keep ``password`` in the keyring and note ``username``; return where it went.

        Raises KeyringError when no usable keyring backend exists (nothing is written).
        """
        status = describe_keyring()
        if status.problem:
            raise KeyringError(f"Cannot keep the password: {status.problem}; {status.fix}")
        previous = self.logged_in_username()
        refused = "The keyring refused the password: {reason}; " + WAYS_OUT
        write_entry(KEYRING_SERVICE, username, password, refused)
        if previous and previous != username:
            delete_entry(KEYRING_SERVICE, previous, refused)
        self._write_session({"username": username, "keyring_backend": status.backend})
        return f"the keyring ({status.backend})"

    def clear(self) -> str | None:
        """Forget the logged-in user: the keyring entry and the note. Return who it was."""
        username = self.logged_in_username()
        if username is None:
            return None
        # Already gone (False) or deleted: either way, logged out.
        delete_entry(KEYRING_SERVICE, username, "Cannot update the keyring: {reason}; " + WAYS_OUT)
        self.session_file.unlink(missing_ok=True)
        return username

    def _write_session(self, session: dict[str, str]) -> None:
        write_text_atomically(self.session_file, json.dumps(session), prefix=".session-")
