"""A file of prompts: one prompt a line, or JSON lines with options of their own.

    a lighthouse at dawn
    {"prompt": "a red fox in snow", "size": "1536x1024", "n": 2}
    {"prompt": "my garden", "private": true, "format": "webp", "compression": 80}

Blank lines are skipped; every other line is a job. A line that starts with ``{`` is a JSON
object: ``prompt`` (required), ``n``, ``private``, and any image option that ``generate``
takes, by its name in ``IMAGE_OPTIONS`` (``size``, ``quality``, ``format`` ...), which win
over the flags for that line. Anything else is refused before any line is queued, naming the
line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pixyproxy_cli.core.exceptions import InputValidationError
from pixyproxy_cli.core.image_options import OPTION_BY_NAME

MAX_LINES = 100_000
"""The most prompts one file may hold."""
GENERATE_OPTIONS = {
    name: option for name, option in OPTION_BY_NAME.items() if option.takes("generate")
}
"""The image options a line may set: those ``generate`` takes (not an edit's own)."""
FIELDS = ("prompt", "n", "private", *GENERATE_OPTIONS)


@dataclass(frozen=True)
class PromptLine:
    """One job's line: where it is, its prompt, and what it sets itself."""

    line: int
    prompt: str
    n: int | None = None
    private: bool | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def count_and_privacy(self, n: int | None, private: bool) -> tuple[int, bool]:
        """How many images this line asks for, and whether private.

        The line's own values, else the flags' (``n`` absent too: one image).
        """
        return (
            self.n if self.n is not None else (n or 1),
            self.private if self.private is not None else private,
        )


def read_prompt_lines(text: str, source: str) -> list[PromptLine]:
    """The jobs of a file's ``text``; ``source`` names it in errors.

    Raises InputValidationError naming the first line that is not a prompt or a JSON
    object of known fields with values of the right kind, or when there is no prompt.
    """
    lines: list[PromptLine] = []
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped:
            continue
        if len(lines) >= MAX_LINES:
            raise InputValidationError(f"{source} has more than {MAX_LINES:,} prompts")
        where = f"{source}, line {number}"
        if stripped.startswith("{"):
            lines.append(_json_line(stripped, number, where))
        else:
            lines.append(PromptLine(number, stripped))
    if not lines:
        raise InputValidationError(f"{source} holds no prompt")
    return lines


def _json_line(text: str, number: int, where: str) -> PromptLine:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputValidationError(f"{where}: not JSON ({error.msg})") from None
    if not isinstance(value, dict):
        raise InputValidationError(f"{where}: a JSON line must be an object")
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise InputValidationError(
            f"{where}: unknown field {unknown[0]!r} (known: {', '.join(FIELDS)})"
        )
    prompt = value.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InputValidationError(f"{where}: 'prompt' must be a text that is not empty")
    n = value.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int)):
        raise InputValidationError(f"{where}: 'n' must be a whole number")
    private = value.get("private")
    if private is not None and not isinstance(private, bool):
        raise InputValidationError(f"{where}: 'private' must be true or false")
    options: dict[str, Any] = {}
    for name, option in GENERATE_OPTIONS.items():
        if name not in value:
            continue
        given = value[name]
        if option.integer:
            if isinstance(given, bool) or not isinstance(given, int):
                raise InputValidationError(f"{where}: {name!r} must be a whole number")
        elif not isinstance(given, str):
            raise InputValidationError(f"{where}: {name!r} must be a text")
        options[name] = given
    return PromptLine(number, prompt.strip(), n, private, options)
