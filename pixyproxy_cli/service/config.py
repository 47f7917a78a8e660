"""``ConfigService`` (settings, their sources, the config file) and ``KeyService`` (secrets).

``ConfigService`` shows every setting, its value and where it came from, and edits the
user's config file; ``KeyService`` keeps secrets in the OS keyring.

Both stand apart from the database: they work where no database is configured yet.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pixyproxy_cli.core.config_file import SECRET_KEYS, write_setting
from pixyproxy_cli.core.exceptions import ConfigurationError, InputValidationError
from pixyproxy_cli.core.settings import (
    CONFIG_KEYS,
    ENVIRONMENT,
    check_setting,
    explain_settings,
    user_config,
    user_config_path,
)
from pixyproxy_cli.data.keyring_stores.secrets import SECRETS, SecretKind, SecretStore, secret_kind

MASK = "********"
PATH_KEYS = frozenset({"PIXYPROXY_DATA_DIR", "IMAGE_DIR", "SQLITE_PATH"})
"""Settings that name a place: a relative one is kept as the absolute path it means now."""
NOT_SET = "not set"
KEYRING = "the keyring (pixyproxy key set)"


def unknown(key: str) -> str:
    """The message for a key no setting has."""
    return f"unknown setting {key!r} (pixyproxy config list names them)"


@dataclass(frozen=True)
class SettingEntry:
    """One setting as ``config list`` shows it: a secret's value is masked."""

    key: str
    value: str | None
    source: str
    secret: bool = False


class ConfigService:
    """The settings as this invocation sees them, and the user's config file."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def path(self) -> Path:
        """Where the user's config file is (it may not exist yet)."""
        return user_config_path(self._environ)

    def entries(self) -> list[SettingEntry]:
        """Every setting with its value and source, in ``.env.example``'s order.

        Raises ConfigurationError when a setting anywhere is not valid.
        """
        settings, sources = explain_settings(environ=self._environ)
        store = SecretStore(settings.config_dir)
        entries = []
        for field, key in ENVIRONMENT.items():
            value = getattr(settings, field)
            source = sources.of(field)
            if key in SECRET_KEYS:
                if value is None and store.marked(SECRETS[SECRET_KEYS[key]]):
                    source = KEYRING
                stored = value is not None or source == KEYRING
                shown = source if stored else NOT_SET
                entries.append(SettingEntry(key, MASK if stored else None, shown, secret=True))
                continue
            text = None if value is None else str(value)
            entries.append(SettingEntry(key, text, source))
        return entries

    def get(self, key: str) -> SettingEntry:
        """The setting ``key`` (a variable name, any case). Raises InputValidationError."""
        wanted = key.strip().upper()
        if wanted not in CONFIG_KEYS:
            raise InputValidationError(
                f"unknown setting {key!r} (pixyproxy config list names them)"
            )
        return next(entry for entry in self.entries() if entry.key == wanted)

    def set(self, key: str, value: str) -> str:
        """Keep ``key = value`` in the user's config file; the key as written.

        Raises InputValidationError naming the key for an unknown key, a secret, or a value
        not valid; ConfigurationError when the file cannot be read or written.
        """
        key = check_setting(key, value)
        value = value.strip()
        if key in PATH_KEYS and not Path(value).expanduser().is_absolute():
            value = str(Path.cwd() / value)  # the file is read from every folder
        write_setting(user_config(self._environ), key, value)
        return key

    def unset(self, key: str) -> bool:
        """Remove ``key`` from the user's config file; whether it was there."""
        wanted = key.strip().upper()
        config = user_config(self._environ)
        if wanted not in config.values:
            if wanted not in CONFIG_KEYS and wanted not in SECRET_KEYS:
                raise InputValidationError(unknown(key))
            return False
        write_setting(config, wanted, None)
        return True

    def secret_sources(self) -> dict[str, str]:
        """Where each secret comes from (for ``doctor``): a variable, a file, the keyring."""
        try:
            entries = {entry.key: entry for entry in self.entries() if entry.secret}
        except ConfigurationError:
            return {}
        return {key: entry.source for key, entry in entries.items()}


@dataclass(frozen=True)
class StoredSecret:
    """A secret ``key list`` names: never its value."""

    name: str
    variable: str
    what: str
    stored: bool


class KeyService:
    """The secrets kept in the OS keyring (``pixyproxy key``)."""

    def __init__(self, config_dir: Path) -> None:
        self._store = SecretStore(config_dir)

    def save(self, name: str, value: str) -> tuple[SecretKind, str]:
        """Keep ``value`` as the secret ``name``; the secret and where it went.

        Raises InputValidationError for an unknown name or an empty value, KeyringError
        (naming the ways out) when no keyring backend can keep it.
        """
        kind = self.kind(name)
        value = value.strip()
        if not value:
            raise InputValidationError(f"{kind.what} is empty: nothing stored")
        return kind, self._store.save(kind, value)

    def remove(self, name: str) -> tuple[SecretKind, bool]:
        """Remove the secret ``name`` from the keyring; whether it was there."""
        kind = self.kind(name)
        return kind, self._store.remove(kind)

    def listing(self) -> list[StoredSecret]:
        """Each secret and whether the keyring holds it. Raises KeyringError."""
        stored = self._store.stored()
        return [
            StoredSecret(kind.name, kind.variable, kind.what, stored[kind.name])
            for kind in SECRETS.values()
        ]

    def backend(self) -> str:
        """The keyring backend in use."""
        return self._store.backend()

    def warning(self) -> str | None:
        """What to tell a user about the keyring backend in use, or None."""
        return self._store.warning()

    @staticmethod
    def kind(name: str) -> SecretKind:
        """The secret called ``name``. Raises InputValidationError naming the ones there are."""
        try:
            return secret_kind(name)
        except ConfigurationError as error:
            raise InputValidationError(error.message) from None
