"""Options shared by several commands, declared once (as sqlite-utils shares its own)."""

from typing import Annotated

import typer

JsonOutput = Annotated[
    bool,
    typer.Option("--json", help="Print JSON instead of text, for scripts (UTF-8, on stdout)."),
]
"""``--json``: what a command prints, as JSON."""
