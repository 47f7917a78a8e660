"""Marks of live API tokens: one empty file per token, which every process can see.

Each ``serve`` worker keeps the tokens it has checked in memory, so that a request with a
token costs no query. A revoke in one worker cannot reach the others' memory; instead it
removes the token's mark (after its row), and every worker checks the mark on each use (one
stat). A token without a mark is refused, so a crash between row and mark fails safe.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from pixyproxy_cli.core.exceptions import StorageError

TOKEN_ID = re.compile(r"[0-9a-f]{16}")


class TokenMarks:
    """The marks in ``root`` (a directory of pixyproxy's own)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, token_id: str) -> Path:
        if TOKEN_ID.fullmatch(token_id) is None:
            raise ValueError(f"not a token id: {token_id!r}")
        return self.root / token_id

    def add(self, token_id: str) -> None:
        """Mark ``token_id`` live. Raises StorageError when the mark cannot be written."""
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(self._path(token_id), os.O_WRONLY | os.O_CREAT, 0o600))
        except OSError as error:
            raise StorageError(f"Cannot write the token mark in {self.root}: {error}") from error

    def remove(self, token_id: str) -> None:
        """Unmark ``token_id`` (a missing mark is fine)."""
        with contextlib.suppress(FileNotFoundError):
            self._path(token_id).unlink()

    def has(self, token_id: str) -> bool:
        """Whether ``token_id`` is marked live: one stat."""
        try:
            os.stat(self._path(token_id))
        except (OSError, ValueError):
            return False
        return True
