"""What ``login`` and ``whoami`` report, in either mode (``commands/backends.py`` makes them).

Apart from the backends, so that commands which never sign in do not build these records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SignedIn:
    """What ``login`` says: who, where the secret is kept, and anything to warn about."""

    message: str
    warning: str | None = None
    notice: str | None = None


@dataclass(frozen=True)
class Who:
    """Who is logged in, as ``whoami`` prints it and as its ``--json``."""

    text: str
    fields: dict[str, Any]
    warning: str | None = None
