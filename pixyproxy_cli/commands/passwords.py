"""Reading a password: from a hidden prompt (asked twice when it is new), or from stdin."""

from __future__ import annotations

import sys

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.core.exceptions import InputValidationError


def read_password(*, from_stdin: bool, confirm: bool, prompt: str = "Password") -> str:
    """The password the user gives; ``from_stdin`` reads one line (for scripts).

    Raises InputValidationError when standard input holds no password.
    """
    if from_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        if not password:
            raise InputValidationError("no password on standard input")
        return password
    if not output.can_ask():  # getpass would read the pipe, warning that it echoes
        raise InputValidationError(
            "standard input is not a terminal to ask for the password on: pass "
            "--password-stdin to read it from there"
        )
    answer: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    return answer
