"""Which pixyproxy server the CLI talks to, kept light: no HTTP client, no models.

Every command asks this (``CliState.remote_server``) before it does anything, so it must
cost almost nothing when no server is configured.
"""

from __future__ import annotations

from pathlib import Path

from pixyproxy_cli.data.remote.logins import ServerLogins as ServerLogins
from pixyproxy_cli.data.remote.logins import normalize_server as normalize_server


def server_logins(config_dir: Path) -> ServerLogins:
    """The logins kept per server in ``config_dir`` (and the keyring)."""
    return ServerLogins(config_dir)
