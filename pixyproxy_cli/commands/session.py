"""``pixyproxy login``, ``logout`` and ``whoami``: credentials kept in the OS keyring."""

from typing import Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.options import JsonOutput
from pixyproxy_cli.commands.passwords import read_password
from pixyproxy_cli.commands.state import state


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
    backend = state(ctx).backend()
    if username is None:
        username = typer.prompt("Username")
    password = read_password(from_stdin=password_stdin, confirm=False)
    signed_in = backend.login(username, password)
    output.out().print(signed_in.message, markup=False)
    if signed_in.warning:
        output.warning(signed_in.warning)
    if signed_in.notice:
        output.notice(signed_in.notice)


def logout(ctx: typer.Context) -> None:
    """Log out: remove your credentials from the OS keyring.

    With a server, its token is revoked there first (for every machine that has it).

    Examples:

        pixyproxy logout

        pixyproxy logout --server https://pixyproxy.example.org
    """
    message, problem = state(ctx).backend().logout()
    output.out().print(message, markup=False)
    if problem:
        output.warning(problem)


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
    who = state(ctx).backend().who()
    if who.warning:
        output.warning(who.warning)
    if as_json:
        output.print_json(who.fields)
        return
    output.out().print(who.text, markup=False)
