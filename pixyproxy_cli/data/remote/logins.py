"""The logins the CLI keeps per pixyproxy server, and which server it talks to.

``ServerLogins`` keeps, per server, the user name and token id in ``servers.json`` in the
config directory, and the token itself in the OS keyring (service ``pixyproxy:URL``), as
``gh auth login`` does per host. ``PIXYPROXY_TOKEN`` overrides the keyring (CI). Every
command asks which server it talks to, so this module stays light: the HTTP client is
``data/remote/client.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pixyproxy_cli.core.exceptions import InputValidationError, KeyringError
from pixyproxy_cli.core.files import write_text_atomically

SERVER_VARIABLE = "PIXYPROXY_SERVER"
TOKEN_VARIABLE = "PIXYPROXY_TOKEN"  # noqa: S105 - a variable name, not a token


def normalize_server(url: str) -> str:
    """``url`` as ``scheme://host[:port]``, the key a login is kept under.

    Raises InputValidationError for anything that is not an http(s) URL of a host.
    """
    text = url.strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputValidationError(f"not a server URL: {url!r} (expected https://HOST[:PORT])")
    if parts.path.rstrip("/") or parts.query or parts.fragment or parts.username:
        raise InputValidationError(f"a server URL is scheme://host[:port] only, not {url!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


@dataclass(frozen=True)
class ServerLogin:
    """Who is logged in to a server, and the token's id (the token is in the keyring)."""

    server: str
    username: str
    token_id: str


class ServerLogins:
    """Logins per server: ``servers.json`` (names, ids, the default) plus the keyring."""

    def __init__(self, config_dir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.path = Path(config_dir) / "servers.json"
        self._environ = os.environ if environ is None else environ

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"default": None, "servers": {}}
        if not isinstance(data, dict) or not isinstance(data.get("servers"), dict):
            return {"default": None, "servers": {}}
        return data

    def _write(self, data: dict[str, Any]) -> None:
        write_text_atomically(self.path, json.dumps(data, indent=2), prefix=".servers-")

    def default_server(self) -> str | None:
        """The server to use: PIXYPROXY_SERVER, else the last one logged in to, else None."""
        chosen = self._environ.get(SERVER_VARIABLE) or self._read().get("default")
        return normalize_server(chosen) if isinstance(chosen, str) and chosen else None

    def login(self, server: str) -> ServerLogin | None:
        """The login kept for ``server``, or None."""
        entry = self._read()["servers"].get(server)
        if not isinstance(entry, dict):
            return None
        return ServerLogin(server, str(entry.get("username")), str(entry.get("token_id")))

    def token(self, server: str) -> tuple[str | None, str]:
        """The token for ``server`` and where it came from: PIXYPROXY_TOKEN, else the keyring.

        Raises KeyringError when the keyring cannot be read.
        """
        from_env = self._environ.get(TOKEN_VARIABLE)
        if from_env:
            return from_env, f"the environment ({TOKEN_VARIABLE})"
        login = self.login(server)
        if login is None:
            return None, "nowhere"
        from pixyproxy_cli.data.keyring_stores.entries import read_entry

        token = read_entry(_service(server), login.username, "Cannot read the keyring: {reason}")
        return token, f"the keyring ({_backend()})"

    def save(self, server: str, username: str, token_id: str, token: str) -> str:
        """Keep the token in the keyring and make ``server`` the default; return where.

        Raises KeyringError when no usable keyring exists (nothing is kept).
        """
        from pixyproxy_cli.data.keyring_stores.credentials import describe_keyring

        status = describe_keyring()
        if status.problem:
            raise KeyringError(
                f"Cannot keep the token: {status.problem}; install a keyring backend, or set "
                f"{TOKEN_VARIABLE} (and {SERVER_VARIABLE}) instead"
            )
        from pixyproxy_cli.data.keyring_stores.entries import write_entry

        write_entry(_service(server), username, token, "The keyring refused the token: {reason}")
        data = self._read()
        data["servers"][server] = {"username": username, "token_id": token_id}
        data["default"] = server
        self._write(data)
        return f"the keyring ({status.backend})"

    def forget(self, server: str) -> ServerLogin | None:
        """Forget ``server``'s login (keyring and file); return what it was."""
        login = self.login(server)
        if login is None:
            return None
        from pixyproxy_cli.data.keyring_stores.entries import delete_entry

        delete_entry(_service(server), login.username, "Cannot update the keyring: {reason}")
        data = self._read()
        data["servers"].pop(server, None)
        if data.get("default") == server:
            data["default"] = None
        self._write(data)
        return login


def _service(server: str) -> str:
    return f"pixyproxy:{server}"


def _backend() -> str:
    from pixyproxy_cli.data.keyring_stores.credentials import describe_keyring

    return describe_keyring().backend
