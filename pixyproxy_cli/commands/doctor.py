"""``pixyproxy doctor``: what is configured, where it lives, and what is wrong."""

from __future__ import annotations

from typing import Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.errors import ExitCode
from pixyproxy_cli.commands.state import state

MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


def doctor(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check the set-up and say what is wrong.

    It checks the database, the image files, the provider and the keyring.

    Each line says what was found; a problem comes with its fix. Exits 1 when any check
    fails (warnings do not).

    Examples:

        pixyproxy doctor

        pixyproxy doctor --json | jq '.[] | select(.status != "ok")'
    """
    checks = state(ctx).services().admin.diagnose()
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
