"""The ``pixyproxy`` console script and ``python -m pixyproxy_cli``."""

from __future__ import annotations


def main() -> None:
    """Preload the MySQL driver's C extension when MySQL is configured, then run the CLI.

    The preload must come before the commands' imports load OpenSSL (see
    ``data/mysql_preload.py``); nothing else happens before the command runs.
    """
    from pixyproxy_cli.data.mysql_preload import preload_mysql_c_extension

    preload_mysql_c_extension()
    import sys

    sys.argv[1:] = hoist_global_options(sys.argv[1:])
    from pixyproxy_cli.commands.main import run

    run()


GLOBAL_VALUE_OPTIONS = ("--server",)
GLOBAL_FLAGS = ("--local",)


def hoist_global_options(args: list[str]) -> list[str]:
    """``args`` with ``--server URL`` and ``--local`` moved before the command.

    They are options of ``pixyproxy`` itself, and may be written after the command too
    (``pixyproxy list --server URL``). Nothing after ``--`` moves.
    """
    hoisted: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        if arg in GLOBAL_FLAGS:
            hoisted.append(arg)
        elif arg in GLOBAL_VALUE_OPTIONS and index + 1 < len(args):
            hoisted.extend(args[index : index + 2])
            index += 1
        elif arg.split("=", 1)[0] in GLOBAL_VALUE_OPTIONS and "=" in arg:
            hoisted.append(arg)
        else:
            rest.append(arg)
        index += 1
    return hoisted + rest
