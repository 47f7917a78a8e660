"""Password hashing with argon2-cffi (argon2id), kept behind a small interface.

The hash of a throwaway password is computed once so that a login for an unknown user can
spend the same verification time as one with a wrong password.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

DEFAULT_PARAMETERS: dict[str, Any] = {}
"""argon2-cffi's own defaults (RFC 9106, low memory); tests swap in cheaper ones."""


class PasswordHasher:
    """Hash and verify passwords; argon2id with argon2-cffi's recommended parameters."""

    def __init__(self, **parameters: Any) -> None:
        """``parameters`` go to ``argon2.PasswordHasher`` (default: DEFAULT_PARAMETERS)."""
        self._parameters = parameters or dict(DEFAULT_PARAMETERS)

    @cached_property
    def _hasher(self) -> Any:
        import argon2  # imported on first use: ~40 ms the CLI need not pay otherwise

        return argon2.PasswordHasher(**self._parameters)

    @cached_property
    def _dummy_hash(self) -> str:
        import secrets

        return self.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        """A salted argon2id hash of ``password``."""
        hashed: str = self._hasher.hash(password)
        return hashed

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``, compared in constant time."""
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(self._hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    def verify_dummy(self, password: str) -> None:
        """Spend the time of one verification, for a user that does not exist."""
        self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether ``password_hash`` was made with other parameters than the current ones."""
        from argon2.exceptions import InvalidHashError

        try:
            return bool(self._hasher.check_needs_rehash(password_hash))
        except InvalidHashError:
            return True
