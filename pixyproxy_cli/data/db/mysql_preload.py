"""Load mysql-connector's C extension before anything loads the system's OpenSSL.

The extension bundles OpenSSL 3.5 and fails to load once the system's older libssl or
libcrypto is in the process (``import hashlib`` is enough, and pydantic imports it), after
which the connector silently uses its pure-Python protocol, about 5x slower to fetch rows.
So this cannot wait until ``data/db/mysql.py`` opens a connection: the entry points
(``pixyproxy_cli.cli``) call ``preload_mysql_c_extension`` first thing, before importing the
commands. It imports nothing but the standard library, and costs ~4 ms only when MySQL
looks configured.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

preload_error: str | None = None
"""Why the C extension could not be preloaded, when that was tried and failed."""


def mysql_looks_configured(environ: Mapping[str, str] | None = None) -> bool:
    """A cheap guess, from the environment and ``.env``, that MySQL will be used.

    The settings decide for real later; a wrong guess costs 4 ms or the fast driver.
    """
    environ = os.environ if environ is None else environ
    backend = environ.get("DB_BACKEND", "").strip().lower()
    if backend in ("sqlite", "mysql") or environ.get("DB_HOST"):
        return backend != "sqlite"
    env_file = Path(environ.get("PIXYPROXY_ENV_FILE") or ".env")
    try:
        text = env_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "DB_HOST" in text or "DB_BACKEND=mysql" in text.replace(" ", "")


def preload_mysql_c_extension(*, force: bool = False) -> None:
    """Import the C extension now when MySQL looks configured (or ``force``); never raises.

    Records in ``preload_error`` why it could not be loaded, for ``doctor``'s driver line.
    """
    global preload_error
    if "_mysql_connector" in sys.modules or not (force or mysql_looks_configured()):
        return
    if "_ssl" in sys.modules or "_hashlib" in sys.modules:
        preload_error = "OpenSSL was loaded before pixyproxy could preload it"
        return
    try:
        import _mysql_connector  # noqa: F401
    except ImportError as error:
        preload_error = str(error)
