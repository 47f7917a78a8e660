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


class ExamplesCommand(TyperCommand):
    """A Typer command whose indented help paragraphs (examples) are never rewrapped."""

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
