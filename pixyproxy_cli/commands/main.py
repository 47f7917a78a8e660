"""The ``pixyproxy`` command: global options, and the commands of each module.

A command imports only itself: ``COMMANDS`` names each command's module, and the group
loads a module when its command runs (Click's lazy-subcommand pattern), so ``pixyproxy
list`` never imports ``generate``'s options or ``serve``'s. ``--help`` and completion load
them all, to list them. The services, the database driver and the OpenAI SDK load only when
a command needs them.
"""

import importlib
import logging
import sys
from difflib import get_close_matches
from typing import Annotated, Any

import typer

# Typer (0.29 and later) carries its own copy of Click: the group's API is Click's, its
# types are these.
from typer import _click as click

from pixyproxy_cli import __version__
from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.errors import PixyProxyGroup
from pixyproxy_cli.commands.state import CliState

COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("generate", "generate"),
    "edit": ("edit", "edit"),
    "show": ("show", "show"),
    "list": ("listing", "list_images"),
    "fetch": ("fetch", "fetch"),
    "rm": ("remove", "remove"),
    "login": ("session", "login"),
    "logout": ("session", "logout"),
    "whoami": ("session", "whoami"),
    "serve": ("serve", "serve"),
    "doctor": ("doctor", "doctor"),
    "models": ("models", "models"),
    "usage": ("usage", "usage"),
    "provenance": ("provenance", "provenance"),
    "export": ("transfer", "export"),
    "import": ("transfer", "import_images"),
    "user": ("user", "app"),
    "db": ("db", "app"),
    "config": ("config", "app"),
    "key": ("key", "app"),
    "jobs": ("jobs", "app"),
    "worker": ("jobs", "worker"),
}
"""Each command, in the order ``--help`` lists them: its module in ``pixyproxy_cli.commands``
and the function (a command) or Typer app (a group of commands) there."""


SYNONYMS = {
    "delete": "rm",
    "remove": "rm",
    "ls": "list",
    "get": "fetch",
    "download": "fetch",
    "info": "show",
    "new": "generate",
    "create": "generate",
}
"""Words other tools use for a command, suggested when no name is close ("Did you mean")."""


class LazyGroup(PixyProxyGroup):
    """The top-level group, which builds a command only when it is asked for by name."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, without loading any."""
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, its module imported now; None for an unknown name."""
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = _load(cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Resolve as Typer does, suggesting a command for a typo ("Did you mean 'list'?").

        Typer's own suggestions come from the commands already loaded, which here are none,
        so the app turns them off and they come from every command's name instead.
        """
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.UsageError as error:
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if not matches and args and args[0] in SYNONYMS:
                matches = [SYNONYMS[args[0]]]
            if matches:
                suggestions = ", ".join(repr(match) for match in matches)
                error.message = f"{error.message.rstrip('.')}. Did you mean {suggestions}?"
            raise


def _load(name: str) -> click.Command:
    from pixyproxy_cli.commands.help import ExamplesCommand

    module, attribute = COMMANDS[name]
    target: Any = getattr(importlib.import_module(f"pixyproxy_cli.commands.{module}"), attribute)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name = name
        return group
    # Completion is installed for the whole program, from its own --install-completion.
    single = typer.Typer(
        add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False
    )
    single.command(name, cls=ExamplesCommand)(target)
    return typer.main.get_command(single)


app = typer.Typer(
    name="pixyproxy",
    cls=LazyGroup,
    help=(
        "Generate images from text prompts with the OpenAI Images API, and keep them.\n\n"
        "Every image has a GUID, its prompt, its file and timestamps. Without an "
        "OPENAI_API_KEY, images come from an offline placeholder renderer (and say so).\n\n"
        'Start with: pixyproxy generate "a lighthouse at dawn"'
    ),
    epilog="Settings: see .env.example. Exit codes: see README.md. Docs: pixyproxy COMMAND --help",
    no_args_is_help=True,
    add_completion=True,
    suggest_commands=False,  # LazyGroup suggests from every command, loaded or not
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
    if ctx.invoked_subcommand in ADMIN_COMMANDS:
        ctx.obj.say_admin_command(ctx.invoked_subcommand)
    if debug:
        logging.basicConfig(
            level=logging.DEBUG,
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    else:
        _say_settings_warnings()


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


def run() -> None:
    """The console-script entry point."""
    app(prog_name="pixyproxy")
