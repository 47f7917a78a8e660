"""The ``pixyproxy`` command: global options, and the commands of each module.

Start-up stays light: command modules import typer, pydantic models and our own code;
the services, the database driver and the OpenAI SDK load only when a command needs them.
"""

import logging
import sys
from collections.abc import Callable
from typing import Annotated

import typer

from pixyproxy_cli import __version__
from pixyproxy_cli.commands import (
    config,
    db,
    doctor,
    edit,
    fetch,
    generate,
    key,
    listing,
    models,
    output,
    provenance,
    remove,
    serve,
    session,
    show,
    transfer,
    usage,
    user,
)
from pixyproxy_cli.commands.errors import PixyProxyGroup
from pixyproxy_cli.commands.help import ExamplesCommand
from pixyproxy_cli.commands.state import CliState
from pixyproxy_cli.core.exceptions import PixyProxyException

app = typer.Typer(
    name="pixyproxy",
    cls=PixyProxyGroup,
    help=(
        "Generate images from text prompts with the OpenAI Images API, and keep them.\n\n"
        "Every image has a GUID, its prompt, its file and timestamps. Without an "
        "OPENAI_API_KEY, images come from an offline placeholder renderer (and say so).\n\n"
        'Start with: pixyproxy generate "a lighthouse at dawn"'
    ),
    epilog="Settings: see .env.example. Exit codes: see README.md. Docs: pixyproxy COMMAND --help",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"pixyproxy {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show tracebacks and debug logging on stderr."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            metavar="URL",
            help=(
                "Talk to this pixyproxy server (default: PIXYPROXY_SERVER, or the server "
                "last logged in to). May also follow the command."
            ),
        ),
    ] = None,
    local: Annotated[
        bool,
        typer.Option("--local", help="Use this machine's database, even with a server set."),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "-q", "--quiet", help="Print only results and errors: no notices, warnings, progress."
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "-v",
            "--verbose",
            help="Also say on stderr what is happening: settings, database, provider, timings.",
        ),
    ] = False,
) -> None:
    """Generate images from text prompts, and keep them."""
    if quiet and verbose:
        raise typer.BadParameter("choose one of -q/--quiet and -v/--verbose", param_hint="-q")
    output.set_verbosity(output.QUIET if quiet else output.VERBOSE if verbose else output.NORMAL)
    ctx.obj = CliState(debug=debug, server=server, local=local)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand in ADMIN_COMMANDS and (server or not local):
        remote = _quietly(ctx.obj.remote_server)
        if remote is not None:
            output.notice(
                f"{ctx.invoked_subcommand} works on this machine's database, not on {remote}"
            )
    if debug:
        logging.basicConfig(
            level=logging.DEBUG,
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    else:
        _say_settings_warnings()


app.command("generate", cls=ExamplesCommand)(generate.generate)
app.command("edit", cls=ExamplesCommand)(edit.edit)
app.command("show", cls=ExamplesCommand)(show.show)
app.command("list", cls=ExamplesCommand)(listing.list_images)
app.command("fetch", cls=ExamplesCommand)(fetch.fetch)
app.command("rm", cls=ExamplesCommand)(remove.remove)
app.command("login", cls=ExamplesCommand)(session.login)
app.command("logout", cls=ExamplesCommand)(session.logout)
app.command("whoami", cls=ExamplesCommand)(session.whoami)
app.command("serve", cls=ExamplesCommand)(serve.serve)
app.command("doctor", cls=ExamplesCommand)(doctor.doctor)
app.command("models", cls=ExamplesCommand)(models.models)
app.command("usage", cls=ExamplesCommand)(usage.usage)
app.command("provenance", cls=ExamplesCommand)(provenance.provenance)
app.command("export", cls=ExamplesCommand)(transfer.export)
app.command("import", cls=ExamplesCommand)(transfer.import_images)
app.add_typer(user.app, name="user")
app.add_typer(db.app, name="db")
app.add_typer(config.app, name="config")
app.add_typer(key.app, name="key")


ADMIN_COMMANDS = {"user", "db", "doctor", "serve", "import", "export"}
"""Commands that always work on this machine's database (they administer it)."""


class _AsWarnings(logging.Handler):
    """A logger's warnings as the CLI's own ``Warning:`` lines (not under -q)."""

    def emit(self, record: logging.LogRecord) -> None:
        output.warning(record.getMessage())


def _say_settings_warnings() -> None:
    """Show the settings' warnings (a ``.env`` line left out) as the CLI's own, once set up."""
    settings_logger = logging.getLogger("pixyproxy_cli.core.settings")
    if not any(isinstance(handler, _AsWarnings) for handler in settings_logger.handlers):
        settings_logger.addHandler(_AsWarnings(logging.WARNING))


def _quietly(find: Callable[[], str | None]) -> str | None:
    try:
        return find()
    except PixyProxyException:
        return None


def run() -> None:
    """The console-script entry point."""
    app(prog_name="pixyproxy")
