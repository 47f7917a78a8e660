"""The OS keyring, through ``keyring``: which backend is in use and whether it can keep secrets.

``keyring`` is imported only by the functions here (it costs ~90 ms at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass

KEYRING_SERVICE = "pixyproxy"


@dataclass(frozen=True)
class KeyringStatus:
    """The active keyring backend, and what is wrong with it (None when it is usable)."""

    backend: str
    problem: str | None = None
    fix: str | None = None


def describe_keyring() -> KeyringStatus:
    """Name the active keyring backend and say whether it can keep a password."""
    import keyring
    from keyring.backends import fail, null

    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if isinstance(backend, fail.Keyring):
        return KeyringStatus(
            name,
            "no keyring backend is available",
            "install one (pip install keyrings.alt, or run a Secret Service such as "
            "gnome-keyring), or set PIXYPROXY_USERNAME and PIXYPROXY_PASSWORD",
        )
    if isinstance(backend, null.Keyring):
        return KeyringStatus(
            name,
            "the null keyring backend silently discards what is stored",
            "choose a real backend (PYTHON_KEYRING_BACKEND or keyringrc.cfg), or set "
            "PIXYPROXY_USERNAME and PIXYPROXY_PASSWORD",
        )
    return KeyringStatus(name)
