"""``pixyproxy key``: secrets (the OpenAI API key, the database password) in the OS keyring."""

import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.help import ExamplesCommand
from pixyproxy_cli.commands.options import JsonOutput
from pixyproxy_cli.core.exceptions import InputValidationError

if TYPE_CHECKING:
    from pixyproxy_cli.service.config import KeyService

app = typer.Typer(
    help=(
        "Keep secrets in the OS keyring instead of a file: openai (OPENAI_API_KEY) and db "
        "(DB_PASSWORD). The variables, in the environment or .env, still win."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)

NameArgument = Annotated[
    str, typer.Argument(metavar="NAME", help="openai (the OpenAI API key) or db (DB_PASSWORD).")
]


def _service() -> "KeyService":
    from pixyproxy_cli.core.settings import load_settings
    from pixyproxy_cli.service.config import KeyService

    return KeyService(load_settings().config_dir)


@app.command("set", cls=ExamplesCommand)
def set_key(
    name: NameArgument,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the secret from stdin.")] = False,
) -> None:
    r"""Keep a secret in the keyring: asked for (hidden), or one line of stdin.

    Examples:

        pixyproxy key set openai

        printf '%s\n' "$OPENAI_API_KEY" | pixyproxy key set openai --stdin
    """
    from pixyproxy_cli.service.config import KeyService

    kind = KeyService.kind(name)
    if stdin:
        value = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        if not value.strip():
            raise InputValidationError(f"nothing on standard input: give {kind.what} as one line")
    elif not output.can_ask():  # getpass would read the pipe, warning that it echoes
        raise InputValidationError(
            f"standard input is not a terminal to ask for {kind.what} on: pass --stdin to "
            "read it from there"
        )
    else:
        value = typer.prompt(kind.what.capitalize(), hide_input=True)
    service = _service()
    kind, where = service.save(name, value)
    output.status(f"Stored {kind.what} ({kind.variable}) in {where}")
    warning = service.warning()
    if warning:
        output.warning(warning)


@app.command("list", cls=ExamplesCommand)
def list_keys(as_json: JsonOutput = False) -> None:
    """Name the secrets the keyring holds (never their values).

    Examples:

        pixyproxy key list
    """
    service = _service()
    secrets = service.listing()
    if as_json:
        output.print_json([asdict(item) for item in secrets])
        return
    output.print_lines(
        f"{s.name}\t{s.variable}\t{'stored' if s.stored else 'not stored'}" for s in secrets
    )
    output.status(f"Keyring backend: {service.backend()}")


@app.command("rm", cls=ExamplesCommand, hidden=True)  # as the top-level rm
@app.command("remove", cls=ExamplesCommand)
def remove(name: NameArgument) -> None:
    """Remove a secret from the keyring (also: pixyproxy key rm).

    Examples:

        pixyproxy key remove openai
    """
    kind, removed = _service().remove(name)
    if not removed:
        output.status(f"The keyring does not hold {kind.what}")
        raise typer.Exit(1)
    output.status(f"Removed {kind.what} ({kind.variable}) from the keyring")
