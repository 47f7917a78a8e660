"""``pixyproxy rm``: delete images, their rows and then their files."""

from typing import Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.completion import complete_guid
from pixyproxy_cli.commands.errors import ExitCode
from pixyproxy_cli.commands.options import JsonOutput
from pixyproxy_cli.commands.state import state
from pixyproxy_cli.core.exceptions import InputValidationError


def confirm_or_stop(question: str, *, refusal: str) -> None:
    """Ask ``question`` (default no) on the terminal, and stop unless the answer is yes.

    Exit 1 on no; InputValidationError (exit 2) with ``refusal`` when there is no terminal
    to ask on.
    """
    if not output.can_ask():
        raise InputValidationError(refusal)
    if not typer.confirm(question, default=False, err=True):
        typer.echo("Nothing deleted", err=True)
        raise typer.Exit(ExitCode.ERROR)


def remove(
    ctx: typer.Context,
    guids: Annotated[
        list[str],
        typer.Argument(
            metavar="GUID...", help="The images to delete.", autocompletion=complete_guid
        ),
    ],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking (needed in a pipe).")
    ] = False,
    admin: Annotated[
        bool,
        typer.Option(
            "--admin",
            help="As the local admin (this machine's database): delete any image, whoever "
            "owns it, private ones too.",
        ),
    ] = False,
    as_json: JsonOutput = False,
) -> None:
    """Delete images: all of them, or none when one cannot be deleted.

    On a terminal it lists the images and asks once; in a script pass --yes (without it,
    and without a terminal to ask on, nothing is deleted: exit 2). You may delete your own
    images (log in first), and images that have no owner. Another user's private image is
    "not found" (exit 3); another user's public image is refused (exit 8). The local admin
    may delete any image with --admin (not with a server: exit 2), after the same question.

    Examples:

        pixyproxy rm 1b4e28ba-2fa1-11d2-883f-0016d3cca427

        pixyproxy rm --admin 1b4e28ba-2fa1-11d2-883f-0016d3cca427

        pixyproxy list --mine --json | jq -r '.[].guid' | xargs pixyproxy rm --yes
    """
    cli = state(ctx)
    everyone = None
    if admin:
        everyone = cli.backend().admin_prompts(
            "--admin works on this machine's database: use --local (a server's images are "
            "deleted by their owners)"
        )
    prompts = everyone or cli.prompts()
    refusal = "rm deletes for good: pass --yes to delete without a terminal to ask on"
    if not yes:
        if not output.can_ask():
            raise InputValidationError(refusal)
        if everyone is not None:
            count = output.print_lines(
                f"{image.guid}\t{'private' if image.private else 'public'}\t"
                f"{image.owner or '(no owner)'}"
                for image in everyone.images_for_admin(guids)
            )
        else:
            images = [prompts.get_image_by_guid(guid) for guid in dict.fromkeys(guids)]
            count = output.print_lines(output.plain_line(image) for image in images)
        question = f"Delete {'this image' if count == 1 else f'these {count} images'}?"
        confirm_or_stop(question, refusal=refusal)
    deleted = (
        prompts.delete_images(guids) if everyone is None else everyone.delete_any_images(guids)
    )
    if as_json:
        output.print_json(deleted)
    else:
        output.print_lines(f"Deleted {guid}" for guid in deleted)
