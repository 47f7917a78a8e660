"""Options shared by several commands, declared once (as sqlite-utils shares its own)."""

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from pixyproxy_cli.core.edits import LocalImage

JsonOutput = Annotated[
    bool,
    typer.Option("--json", help="Print JSON instead of text, for scripts (UTF-8, on stdout)."),
]
"""``--json``: what a command prints, as JSON."""

MAX_WORKERS = 64
"""The most requests a list of prompts runs at once (``-j``)."""


def workers_option(said: str) -> Any:
    """``-j/--jobs``: how many requests run at once; ``said`` is its help, before the range."""
    return typer.Option("--jobs", "-j", min=1, max=MAX_WORKERS, help=f"{said} (1-{MAX_WORKERS}).")


SearchText = Annotated[
    str | None,
    typer.Option(
        "--search",
        "-s",
        metavar="TEXT",
        help=(
            "Only images whose prompt has every word: 'light' finds 'Lighthouse'; a word with "
            "punctuation or emoji, a short or common word, must appear as written."
        ),
    ),
]
Since = Annotated[
    str | None,
    typer.Option(
        metavar="WHEN", help="Only images made at or after WHEN (2026-11-01, or a time; UTC)."
    ),
]
Until = Annotated[
    str | None,
    typer.Option(
        metavar="WHEN", help="Only images made up to WHEN (a date includes that whole day; UTC)."
    ),
]
ModelFilter = Annotated[
    str | None, typer.Option("--model", metavar="MODEL", help="Only images made with MODEL.")
]


class Order(StrEnum):
    """``--order``: which images come first."""

    OLDEST = "oldest"
    NEWEST = "newest"


OrderOption = Annotated[Order, typer.Option("--order", help="Oldest or newest first.")]


GLOBAL_VALUE_OPTIONS = ("--server",)
GLOBAL_FLAGS = ("--local", "-q", "--quiet", "-v", "--verbose")


def hoist_global_options(args: list[str]) -> list[str]:
    """``args`` with the global options (``--server URL``, ``--local``, ``-q``, ``-v``) first.

    They are options of ``pixyproxy`` itself, and may be written after the command too
    (``pixyproxy list --server URL -q``). Nothing after ``--`` moves.
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


def read_local_image(
    path: "Path",
    *,
    prefix: str = "",
    missing: str = "no such file",
    size_problem: "Callable[[int], str | None]",
) -> "LocalImage":
    """A local image file read whole, for an edit's source or mask or a provenance check.

    Refused (InputValidationError, exit 2) when it is missing, not a file, too large for
    ``size_problem``, or unreadable; every message starts with ``prefix`` (the flag).
    """
    from pixyproxy_cli.core.edits import LocalImage
    from pixyproxy_cli.core.exceptions import InputValidationError

    try:
        size = path.stat().st_size
        if not path.is_file():
            raise InputValidationError(f"{prefix}{path} is not a file")
    except OSError as error:
        reason = missing
        if not isinstance(error, FileNotFoundError):
            reason = error.strerror or str(error)
        raise InputValidationError(f"{prefix}{path}: {reason}") from error
    problem = size_problem(size)
    if problem:
        raise InputValidationError(f"{prefix}{problem}")
    try:
        return LocalImage(path.name, path.read_bytes())
    except OSError as error:
        raise InputValidationError(
            f"{prefix}cannot read {path}: {error.strerror or error}"
        ) from error
