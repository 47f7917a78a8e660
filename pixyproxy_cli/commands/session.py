"""``pixyproxy login``, ``logout`` and ``whoami``: credentials kept in the OS keyring."""

from typing import Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.options import JsonOutput
from pixyproxy_cli.commands.passwords import read_password
from pixyproxy_cli.commands.state import state
from pixyproxy_cli.core.exceptions import AuthenticationError


def login(
    ctx: typer.Context,
    username: Annotated[
        str | None,
        typer.Option("--username", "-u", help="Your user name (asked for when omitted)."),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
) -> None:
    r"""Log in: check your credentials and keep them in the OS keyring.

    PIXYPROXY_USERNAME and PIXYPROXY_PASSWORD, when set, take precedence over the keyring
    (for CI and headless machines, where no keyring may exist).

    Examples:

        pixyproxy login

        printf '%s\n' "$PASSWORD" | pixyproxy login -u alice --password-stdin
    """
    if username is None:
        username = typer.prompt("Username")
    password = read_password(from_stdin=password_stdin, confirm=False)
    sessions = state(ctx).services().sessions
    session = sessions.login(username, password)
    output.out().print(
        f"Logged in as {session.user.username}; the password is kept in {session.source}",
        markup=False,
    )
    if session.warning:
        output.warning(session.warning)
    if sessions.environment_overrides_keyring:
        output.notice("PIXYPROXY_USERNAME and PIXYPROXY_PASSWORD are set and take precedence")


def logout(ctx: typer.Context) -> None:
    """Log out: remove your credentials from the OS keyring.

    Examples:

        pixyproxy logout
    """
    who = state(ctx).services().sessions.logout()
    output.out().print(f"Logged out {who}" if who else "Not logged in", markup=False)


def whoami(
    ctx: typer.Context,
    as_json: JsonOutput = False,
) -> None:
    """Say who is logged in, and where the credentials live (exit 4 when nobody is).

    Examples:

        pixyproxy whoami

        pixyproxy whoami --json | jq -r .username
    """
    session = state(ctx).services().sessions.current()
    if session is None:
        raise AuthenticationError("Not logged in: run pixyproxy login")
    if session.warning:
        output.warning(session.warning)
    if as_json:
        output.print_json({**session.user.model_dump(mode="json"), "source": session.source})
        return
    output.out().print(
        f"{session.user.username} (class {session.user.class_key}); credentials from "
        f"{session.source}",
        markup=False,
    )
