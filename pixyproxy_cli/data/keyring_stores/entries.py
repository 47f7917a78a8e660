"""One entry of the OS keyring: read, written or deleted, its failures as KeyringError.

The three stores (a user's login, a server's token, a secret) differ in what they keep and
what they tell a user who cannot keep it; how they reach the keyring, and how a backend's
error becomes one line, is written here once. ``failure`` is the store's message, with
``{reason}`` where the backend's reason goes (its text, or its class when it has none).
"""

from __future__ import annotations

import os
from typing import Any

from pixyproxy_cli.core.exceptions import KeyringError

BACKEND_VARIABLE = "PYTHON_KEYRING_BACKEND"
"""The keyring library's own variable: the backend class to use, by its dotted name."""


def keyring_modules() -> tuple[Any, Any]:
    """The keyring module and its errors module, imported on first use, its backend loaded.

    Raises KeyringError when the backend the configuration names (PYTHON_KEYRING_BACKEND, or
    keyringrc.cfg) cannot be loaded: a module not installed, or a class it does not have.
    """
    import keyring
    from keyring import errors

    try:
        keyring.get_keyring()
    except (ImportError, AttributeError) as error:
        named = os.environ.get(BACKEND_VARIABLE)
        which = f"{BACKEND_VARIABLE} names ({named})" if named else "keyringrc.cfg names"
        raise KeyringError(
            f"The keyring backend that {which} cannot be loaded: {error}; install it, or "
            f"name another backend in {BACKEND_VARIABLE}"
        ) from error
    return keyring, errors


def _failed(failure: str, error: BaseException) -> KeyringError:
    return KeyringError(failure.replace("{reason}", str(error) or type(error).__name__))


def read_entry(service: str, name: str, failure: str) -> str | None:
    """The keyring's value for ``name`` of ``service``, or None. Raises KeyringError."""
    keyring, errors = keyring_modules()
    try:
        value: str | None = keyring.get_password(service, name)
    except errors.KeyringError as error:
        raise _failed(failure, error) from error
    return value


def write_entry(service: str, name: str, value: str, failure: str) -> None:
    """Keep ``value`` as ``name`` of ``service``. Raises KeyringError."""
    keyring, errors = keyring_modules()
    try:
        keyring.set_password(service, name, value)
    except errors.KeyringError as error:
        raise _failed(failure, error) from error


def delete_entry(service: str, name: str, failure: str) -> bool:
    """Delete ``name`` of ``service``; False when it was not there. Raises KeyringError."""
    keyring, errors = keyring_modules()
    try:
        keyring.delete_password(service, name)
    except errors.PasswordDeleteError:
        return False
    except errors.KeyringError as error:
        raise _failed(failure, error) from error
    return True
