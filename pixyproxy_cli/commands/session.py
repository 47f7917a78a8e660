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

    With --server URL (or PIXYPROXY_SERVER), log in to that pixyproxy server: the password
    is exchanged for an API token, kept in the keyring under that server, and the server
    becomes the default for every command (--local goes back to this machine's database).
    Without a server, the password itself is kept, for this machine's database;
    PIXYPROXY_USERNAME and PIXYPROXY_PASSWORD, when set, take precedence over the keyring
    (for CI and headless machines, where no keyring may exist).

    Examples:

        pixyproxy login --server https://pixyproxy.example.org

        pixyproxy login

        printf '%s\n' "$PASSWORD" | pixyproxy login -u alice --password-stdin
    """
    cli = state(ctx)
    server = cli.remote_server()
    if username is None:
        username = typer.prompt("Username")
    password = read_password(from_stdin=password_stdin, confirm=False)
    if server is not None:
        import socket

        name, where = cli.remote_session(server).login(
            username, password, f"pixyproxy CLI on {socket.gethostname()}"[:100]
        )
        output.out().print(
            f"Logged in to {server} as {name}; the token is kept in {where}", markup=False
        )
        return
    sessions = cli.services().sessions
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

    With a server, its token is revoked there first (for every machine that has it).

    Examples:

        pixyproxy logout

        pixyproxy logout --server https://pixyproxy.example.org
    """
    cli = state(ctx)
    server = cli.remote_server()
    if server is not None:
        who, problem = cli.remote_session(server).logout()
        message = f"Logged out {who} from {server}" if who else f"Not logged in to {server}"
        output.out().print(message, markup=False)
        if problem:
            output.warning(problem)
        return
    who = cli.services().sessions.logout()
    output.out().print(f"Logged out {who}" if who else "Not logged in", markup=False)


def whoami(
    ctx: typer.Context,
    as_json: JsonOutput = False,
) -> None:
    """Say who is logged in, and where the credentials live (exit 4 when nobody is).

    With a server: the server, the user it names, the token's id and the keyring backend.

    Examples:

        pixyproxy whoami

        pixyproxy whoami --json | jq -r .username
    """
    cli = state(ctx)
    server = cli.remote_server()
    if server is not None:
        who = cli.remote_session(server).who()
        if as_json:
            output.print_json(who.__dict__)
            return
        output.out().print(
            f"{who.username} (class {who.class_key}) on {who.server}; token {who.token_id} "
            f"from {who.source}",
            markup=False,
        )
        return
    session = cli.services().sessions.current()
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
