"""``pixyproxy config``: settings that follow the user, kept in their config file."""

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.help import ExamplesCommand
from pixyproxy_cli.commands.options import JsonOutput

if TYPE_CHECKING:
    from pixyproxy_cli.service.config import ConfigService

app = typer.Typer(
    help=(
        "Show every setting and where it comes from, and keep settings in your config file. "
        "Precedence: a flag, then the environment, then ./.env (or PIXYPROXY_ENV_FILE), then "
        "the config file, then the default."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)

KeyArgument = Annotated[
    str,
    typer.Argument(metavar="KEY", help="A setting's variable name, as in .env.example."),
]


def _service() -> "ConfigService":
    from pixyproxy_cli.service.config import ConfigService

    return ConfigService()


@app.command("list", cls=ExamplesCommand)
def list_settings(as_json: JsonOutput = False) -> None:
    """Every setting, its value, and where the value came from; secrets masked.

    Examples:

        pixyproxy config list

        pixyproxy config list --json | jq -r '.[] | select(.source != "the default") | .key'
    """
    entries = _service().entries()
    if as_json:
        output.print_json([asdict(item) for item in entries])
        return
    output.print_lines(
        f"{e.key}\t{'-' if e.value is None else e.value}\t{e.source}" for e in entries
    )


@app.command("get", cls=ExamplesCommand)
def get(key: KeyArgument) -> None:
    """Print the value a setting has now (exit 1 when it has none); a secret's is masked.

    Examples:

        pixyproxy config get OPENAI_IMAGE_MODEL
    """
    entry = _service().get(key)
    if entry.value is None:
        raise typer.Exit(1)
    output.print_lines([entry.value])


@app.command("set", cls=ExamplesCommand)
def set_setting(
    key: KeyArgument,
    value: Annotated[str, typer.Argument(metavar="VALUE", help="The value, as in .env.")],
) -> None:
    """Keep a setting in your config file, checked as a command would check it.

    Secrets are refused: keep them in the keyring with pixyproxy key set.

    Examples:

        pixyproxy config set IMAGE_SIZE 1536x1024

        pixyproxy config set DB_BACKEND mysql
    """
    service = _service()
    written = service.set(key, value)
    output.status(f"Set {written} in {service.path()}")
    shadowing = service.get(written).source
    if "config file" not in shadowing:
        output.notice(f"{written} also comes from {shadowing}, which wins over the config file")


@app.command("unset", cls=ExamplesCommand)
def unset(key: KeyArgument) -> None:
    """Remove a setting from your config file (its default, or another source, applies).

    Examples:

        pixyproxy config unset IMAGE_SIZE
    """
    service, name = _service(), key.strip().upper()
    if service.unset(key):
        output.status(f"Removed {name} from {service.path()}")
    else:
        output.status(f"{name} is not in {service.path()}")


@app.command("path", cls=ExamplesCommand)
def path() -> None:
    """Print where your config file is (it may not exist yet).

    Examples:

        "$EDITOR" "$(pixyproxy config path)"
    """
    output.print_lines([str(_service().path())])
