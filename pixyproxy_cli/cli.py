"""The ``pixyproxy`` console script and ``python -m pixyproxy_cli``."""

from __future__ import annotations


def main() -> None:
    """Preload the MySQL driver's C extension when MySQL is configured, then run the CLI.

    The preload must come before the commands' imports load OpenSSL (see
    ``data/db/mysql_preload.py``); nothing else happens before the command runs.
    """
    from pixyproxy_cli.data.db.mysql_preload import preload_mysql_c_extension

    preload_mysql_c_extension()
    from pixyproxy_cli.commands.main import run

    run()
