"""``pixyproxy doctor``: what is configured, where it lives, and what is wrong."""

from typing import Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.errors import ExitCode
from pixyproxy_cli.commands.options import JsonOutput
from pixyproxy_cli.commands.state import state
from pixyproxy_cli.core.constants import Provision

MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


def doctor(
    ctx: typer.Context,
    fix: Annotated[
        bool,
        typer.Option("--fix", help="Remove orphan image files (files without a row)."),
    ] = False,
    min_age: Annotated[
        float,
        typer.Option(
            min=0,
            metavar="SECONDS",
            help="Only files older than this count as orphans (a younger one may belong "
            "to a generate still inserting its row).",
        ),
    ] = 60.0,
    as_json: JsonOutput = False,
) -> None:
    """Check the set-up and say what is wrong.

    It checks the database, the image files, the provider and the keyring.

    Each line says what was found; a problem comes with its fix. Rows and image files are
    compared both ways: rows whose file is gone are reported, and files no row names (left
    by an interrupted generate) are removed with --fix. Exits 1 when any check fails
    (warnings do not).

    Examples:

        pixyproxy doctor

        pixyproxy doctor --json | jq '.[] | select(.status != "ok")'

        pixyproxy doctor --fix
    """
    checks = state(ctx).services(Provision.NOTHING).admin.diagnose(fix=fix, min_age=min_age)
    if as_json:
        output.print_json([check.__dict__ for check in checks])
    else:
        console = output.out()
        for check in checks:
            console.print(f"{MARKS[check.status]}  {check.name}: {check.detail}", markup=False)
            if check.fix:
                console.print(f"      fix: {check.fix}", markup=False)
    if any(check.status == "fail" for check in checks):
        raise typer.Exit(ExitCode.ERROR)
