"""pixyproxy: generate images from text prompts, keep their details, and serve them."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

__version__ = "0.1.0"

# A library stays quiet unless its application configures logging (the CLI's --debug does).
logging.getLogger(__name__).addHandler(logging.NullHandler())

mysql_preload_error: str | None = None
"""Why the MySQL C extension could not be preloaded, when that was tried and failed."""


def _mysql_is_configured() -> bool:
    """A cheap guess, from the environment and ``.env``, that MySQL will be used."""
    if os.environ.get("DB_BACKEND", "").strip().lower() == "sqlite":
        return False
    if os.environ.get("DB_BACKEND", "").strip().lower() == "mysql" or os.environ.get("DB_HOST"):
        return True
    env_file = Path(os.environ.get("PIXYPROXY_ENV_FILE") or ".env")
    try:
        text = env_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "DB_HOST" in text or "DB_BACKEND" in text


def preload_mysql_c_extension(*, force: bool = False) -> None:
    """Load mysql-connector's C extension before anything imports ``ssl`` or ``hashlib``.

    The extension bundles OpenSSL 3.5 and fails to load once the system's older libssl is in
    the process, after which the connector silently uses its pure-Python protocol, about 5x
    slower to fetch rows. Loading it first lets both coexist. Costs ~4 ms, so only when
    MySQL looks configured (or ``force`` is true).
    """
    global mysql_preload_error
    if "_mysql_connector" in sys.modules or not (force or _mysql_is_configured()):
        return
    if "_ssl" in sys.modules or "_hashlib" in sys.modules:
        mysql_preload_error = "OpenSSL was loaded before pixyproxy could preload it"
        return
    try:
        import _mysql_connector  # type: ignore[import-not-found]  # noqa: F401
    except ImportError as error:
        mysql_preload_error = str(error)


preload_mysql_c_extension()
