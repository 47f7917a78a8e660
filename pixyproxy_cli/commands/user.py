"""``pixyproxy user``: the roster of users who may log in and own private images."""

from typing import Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.help import ExamplesCommand
from pixyproxy_cli.commands.options import JsonOutput
from pixyproxy_cli.commands.passwords import read_password
from pixyproxy_cli.commands.state import state
from pixyproxy_cli.core.constants import Provision

app = typer.Typer(
    help="Manage the users who may log in and own private images.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (one line)."),
]


DEFAULT_CLASS_KEY = "user"
"""The class a user gets when ``--class-key`` is not given."""


@app.command("add", cls=ExamplesCommand)
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The new user's name.")],
    class_key: Annotated[
        str,
        typer.Option(
            "--class-key",
            help="A label of your own for the user's kind (staff, bot, ...): kept with the "
            "user and shown by whoami and POST /token; it grants nothing.",
        ),
    ] = DEFAULT_CLASS_KEY,
    password_stdin: PasswordStdin = False,
) -> None:
    r"""Add a user; the password is asked twice (or read from stdin).

    Examples:

        pixyproxy user add alice

        pixyproxy user add alice --class-key staff

        printf '%s\n' "$PASSWORD" | pixyproxy user add ci-bot --class-key bot --password-stdin
    """
    password = read_password(from_stdin=password_stdin, confirm=True)
    request = {"username": name, "password": password, "class_key": class_key}
    user = state(ctx).services(Provision.SCHEMA).users.add_user(request)
    output.out().print(f"Added user {user.username} (class {user.class_key})", markup=False)


@app.command("list", cls=ExamplesCommand)
def list_users(
    ctx: typer.Context,
    as_json: JsonOutput = False,
) -> None:
    """List the users, in the order they were added.

    Examples:

        pixyproxy user list

        pixyproxy user list --json | jq -r '.[].username'
    """
    users = state(ctx).services().users.get_all_users()
    if as_json:
        output.stream_json_array(user.model_dump_json().encode() for user in users)
        return
    output.print_lines(f"{user.username}\t{user.class_key}" for user in users)


@app.command("rm", cls=ExamplesCommand, hidden=True)  # as the top-level rm
@app.command("remove", cls=ExamplesCommand)
def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user to remove.")],
    delete_images: Annotated[
        bool,
        typer.Option("--delete-images", help="Delete the user's images (public and private) too."),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help="With --delete-images: without asking (needed in a pipe)."
        ),
    ] = False,
) -> None:
    """Remove a user; refused while they own images, unless --delete-images.

    With --delete-images their images go first (rows, then files), then the user. As rm
    does, it asks first on a terminal; in a script pass --yes (without it, and without a
    terminal to ask on, nothing is removed: exit 2). Also: pixyproxy user rm.

    Examples:

        pixyproxy user remove alice

        pixyproxy user remove alice --delete-images

        pixyproxy user remove ci-bot --delete-images --yes
    """
    if delete_images and not yes:
        from pixyproxy_cli.commands.remove import confirm_or_stop

        confirm_or_stop(
            f"Remove user {name} and delete all their images, public and private?",
            refusal="user remove --delete-images deletes for good: pass --yes to delete "
            "without a terminal to ask on",
        )
    services = state(ctx).services()
    deleted = services.prompts.delete_images_of(name) if delete_images else 0
    # The user's row takes its tokens' with it; a refused removal keeps them all.
    with services.tokens.revoking_all(name):  # at once, in every worker of a running server
        services.users.remove_user(name)
    suffix = f" and {deleted} image{'s' if deleted != 1 else ''}" if delete_images else ""
    output.out().print(f"Removed user {name}{suffix}", markup=False)


@app.command("passwd", cls=ExamplesCommand)
def passwd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Whose password to change.")],
    password_stdin: PasswordStdin = False,
    keep_tokens: Annotated[
        bool,
        typer.Option(
            "--keep-tokens",
            help="Keep the user's API tokens and gallery sign-ins valid (by default a new "
            "password revokes them all).",
        ),
    ] = False,
) -> None:
    r"""Set a new password for a user, and revoke their API tokens and sign-ins.

    A changed password is often a leaked one: every token and gallery sign-in of the user
    is refused from then on, by every worker of a running server, unless --keep-tokens.

    Examples:

        pixyproxy user passwd alice

        printf '%s\n' "$NEW_PASSWORD" | pixyproxy user passwd alice --password-stdin

        pixyproxy user passwd alice --keep-tokens
    """
    password = read_password(from_stdin=password_stdin, confirm=True, prompt="New password")
    services = state(ctx).services()
    services.users.change_password(name, password)
    if keep_tokens:
        output.out().print(f"Changed the password of {name}", markup=False)
        return
    revoked = services.tokens.revoke_all(name)
    tokens = f"{revoked} API token{'s' if revoked != 1 else ''}"
    output.out().print(f"Changed the password of {name} and revoked {tokens}", markup=False)
