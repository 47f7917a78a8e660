"""Secrets in the OS keyring: the OpenAI API key, the database password, the S3 secret.

``pixyproxy key set openai`` keeps the key in the keyring (service ``pixyproxy:secrets``,
entry ``openai``) and notes in ``secrets.json`` in the config directory that it did, so that
a command asks the keyring (importing ``keyring`` costs ~90 ms) only when a secret is stored
there and the environment or ``.env`` does not set it already. No secret is written to a file
of ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pixyproxy_cli.core.exceptions import ConfigurationError, KeyringError
from pixyproxy_cli.core.files import write_text_atomically
from pixyproxy_cli.data.keyring_stores.credentials import describe_keyring
from pixyproxy_cli.data.keyring_stores.entries import delete_entry, read_entry, write_entry

if TYPE_CHECKING:
    from pixyproxy_cli.core.settings import Settings

SECRET_SERVICE = "pixyproxy:secrets"  # noqa: S105 - the keyring service's name


@dataclass(frozen=True)
class SecretKind:
    """A secret ``pixyproxy key`` keeps: its name there, its variable, and what it is."""

    name: str
    variable: str
    what: str


SECRETS = {
    "openai": SecretKind("openai", "OPENAI_API_KEY", "the OpenAI API key"),
    "db": SecretKind("db", "DB_PASSWORD", "the database password"),
    "s3": SecretKind("s3", "AWS_SECRET_ACCESS_KEY", "the object store's secret access key"),
    "webhook": SecretKind("webhook", "OPENAI_WEBHOOK_SECRET", "the OpenAI webhook's secret"),
}


def secret_kind(name: str) -> SecretKind:
    """The secret called ``name``. Raises ConfigurationError naming the ones there are."""
    kind = SECRETS.get(name.strip().lower())
    if kind is None:
        raise ConfigurationError(f"unknown secret {name!r}: use one of {', '.join(SECRETS)}")
    return kind


def ways_out(kind: SecretKind) -> str:
    """What to do when the keyring cannot keep ``kind``."""
    return (
        "install a keyring backend (pip install keyrings.alt, or run a Secret Service such as "
        f"gnome-keyring), or set {kind.variable} in the environment or a .env file"
    )


class SecretStore:
    """The secrets kept in the keyring, and the note of which ones are."""

    def __init__(self, config_dir: Path) -> None:
        self.marks_file = Path(config_dir) / "secrets.json"

    def marked(self, kind: SecretKind) -> bool:
        """Whether ``kind`` was stored with ``key set`` (a cheap check: no keyring)."""
        return kind.name in self._marks()

    def get(self, kind: SecretKind) -> str | None:
        """``kind``'s value from the keyring, or None when it is not stored.

        Raises KeyringError when the keyring cannot be read.
        """
        if not self.marked(kind):
            return None
        return read_entry(
            SECRET_SERVICE, kind.name, f"Cannot read {kind.what} from the keyring: {{reason}}"
        )

    def require(self, kind: SecretKind) -> str:
        """``kind``'s value from the keyring, for a secret ``marked`` as stored there.

        Raises ConfigurationError when the keyring no longer holds it, KeyringError when it
        cannot be read.
        """
        value = self.get(kind)
        if not value:
            raise ConfigurationError(
                f"{kind.what} ({kind.variable}) was kept in the keyring, which no longer "
                f"holds it: run pixyproxy key set {kind.name}, or set {kind.variable}"
            )
        return value

    def stored(self) -> dict[str, bool]:
        """For each secret, whether the keyring holds it (asked of the keyring itself).

        Raises KeyringError when the keyring cannot be read.
        """
        status = describe_keyring()
        if status.problem:
            return dict.fromkeys(SECRETS, False)
        return {
            name: read_entry(SECRET_SERVICE, name, "Cannot read the keyring: {reason}") is not None
            for name in SECRETS
        }

    def backend(self) -> str:
        """The keyring backend in use, by name."""
        return describe_keyring().backend

    def warning(self) -> str | None:
        """What a user should know about the backend (it stores secrets unencrypted)."""
        status = describe_keyring()
        return f"the keyring backend {status.backend} {status.warning}" if status.warning else None

    def save(self, kind: SecretKind, value: str) -> str:
        """Keep ``value`` as ``kind`` in the keyring; where it went, for the message.

        Raises KeyringError naming the ways out when no usable backend exists.
        """
        status = describe_keyring()
        if status.problem:
            raise KeyringError(f"Cannot keep {kind.what}: {status.problem}; {ways_out(kind)}")
        refused = f"The keyring refused {kind.what}: {{reason}}; {ways_out(kind)}"
        write_entry(SECRET_SERVICE, kind.name, value, refused)
        self._write_marks(self._marks() | {kind.name})
        return f"the keyring ({status.backend})"

    def remove(self, kind: SecretKind) -> bool:
        """Remove ``kind`` from the keyring; whether it was there.

        Raises KeyringError when the keyring cannot be changed.
        """
        removed = delete_entry(SECRET_SERVICE, kind.name, "Cannot change the keyring: {reason}")
        marks = self._marks()
        if kind.name in marks:
            self._write_marks(marks - {kind.name})
            removed = True
        return removed

    def _marks(self) -> set[str]:
        try:
            data = json.loads(self.marks_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()
        stored = data.get("stored") if isinstance(data, dict) else None
        return {name for name in stored if name in SECRETS} if isinstance(stored, list) else set()

    def _write_marks(self, marks: set[str]) -> None:
        content = json.dumps({"stored": sorted(marks)})
        write_text_atomically(self.marks_file, content, prefix=".secrets-")


def keyring_secret(config_dir: Path, name: str) -> Callable[[], str] | None:
    """A secret that ``pixyproxy key set`` kept in the keyring, read when first called.

    None when it was not kept there (known without importing keyring).
    """
    store, kind = SecretStore(config_dir), SECRETS[name]
    return (lambda: store.require(kind)) if store.marked(kind) else None


def database_password(settings: Settings) -> str:
    """The database password: DB_PASSWORD (environment or .env), else the keyring's, else "".

    Raises ConfigurationError or KeyringError as ``SecretStore.require``.
    """
    if settings.db_password is not None:
        return settings.db_password.get_secret_value()
    stored = keyring_secret(settings.config_dir, "db")
    return stored() if stored else ""


def object_store_secret(settings: Settings) -> str | None:
    """The S3 secret key: AWS_SECRET_ACCESS_KEY (environment or .env), else the keyring's.

    None when neither has one (the SDK's own chain then applies: an instance role, say).
    Raises ConfigurationError or KeyringError as ``SecretStore.require``.
    """
    if settings.aws_secret_access_key is not None:
        return settings.aws_secret_access_key.get_secret_value()
    stored = keyring_secret(settings.config_dir, "s3")
    return stored() if stored else None


def webhook_secret(settings: Settings) -> str | None:
    """The OpenAI webhook's signing secret: OPENAI_WEBHOOK_SECRET, else the keyring's.

    None when neither has one (``POST /webhooks/openai`` is then off). Raises
    ConfigurationError or KeyringError as ``SecretStore.require``.
    """
    if settings.openai_webhook_secret is not None:
        return settings.openai_webhook_secret.get_secret_value()
    stored = keyring_secret(settings.config_dir, "webhook")
    return stored() if stored else None
