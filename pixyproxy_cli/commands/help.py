"""Help text that keeps examples as written.

click rewraps every paragraph of a docstring, and at 80 columns it broke ``--password-stdin``
across two lines of an example (textwrap breaks words at hyphens).
"""

from __future__ import annotations

import re
from typing import Any

from typer.core import TyperCommand

_INDENTED_PARAGRAPH = re.compile(r"(^|\n\n)(?=    )")
NO_REWRAP = "\b"
"""click's marker: a paragraph whose first line is this is printed without rewrapping."""


def keep_examples(text: str) -> str:
    """Mark every indented paragraph of ``text`` (the examples) so that click keeps it whole."""
    return _INDENTED_PARAGRAPH.sub(lambda match: f"{match.group(1)}{NO_REWRAP}\n", text)


_BRACED = re.compile(r"\{(.+?)\}(\.\.\.)?")


def _unbraced(piece: str) -> str:
    """``{PROMPT}`` -> ``PROMPT``; ``{GUID...}...`` -> ``GUID...``; anything else as it is."""
    found = _BRACED.fullmatch(piece)
    if found is None:
        return piece
    name, repeated = found[1], found[2] or ""
    return name if name.endswith("...") else name + repeated


class ExamplesCommand(TyperCommand):
    """A Typer command whose indented help paragraphs (examples) are never rewrapped.

    Its usage line writes a required argument as POSIX usage does (``PROMPT``), not in
    Typer's braces (``{PROMPT}``); optional ones keep their brackets.
    """

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """The usage line's pieces, required arguments without braces."""
        pieces: list[str] = super().collect_usage_pieces(ctx)
        return [_unbraced(piece) for piece in pieces]

    def format_help_text(self, ctx: Any, formatter: Any) -> None:
        """Write the help text with its examples kept as written."""
        original = self.help
        if original:
            import inspect

            self.help = keep_examples(inspect.cleandoc(original))
        try:
            super().format_help_text(ctx, formatter)
        finally:
            self.help = original
