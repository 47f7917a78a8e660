"""``pixyproxy db``: database administration."""

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.help import ExamplesCommand
from pixyproxy_cli.commands.options import JsonOutput
from pixyproxy_cli.commands.state import state
from pixyproxy_cli.core.constants import Provision

app = typer.Typer(
    help="Database administration.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("init", cls=ExamplesCommand)
def init(
    ctx: typer.Context,
    as_json: JsonOutput = False,
) -> None:
    """Create or migrate the database schema now.

    pixyproxy also does it on first use; this does it up front.

    With MySQL the database itself is created too, when the user may create it.

    Examples:

        pixyproxy db init

        DB_HOST=127.0.0.1 DB_USER=root DB_NAME=pixyproxy pixyproxy db init --json
    """
    status = state(ctx).services(Provision.DATABASE).admin.init_database()
    if as_json:
        output.print_json(status.__dict__)
        return
    output.out().print(
        f"Database ready: {status.backend} at {status.location} "
        f"(schema version {status.schema_version})",
        markup=False,
    )
