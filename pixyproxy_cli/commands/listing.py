"""``pixyproxy list``: every image's details, streamed."""

from typing import Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.options import JsonOutput
from pixyproxy_cli.commands.state import state


def list_images(
    ctx: typer.Context,
    as_json: JsonOutput = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many images.")] = None,
    after: Annotated[
        str | None,
        typer.Option(metavar="GUID", help="Start after this image (for paging)."),
    ] = None,
    mine: Annotated[
        bool, typer.Option("--mine", help="Only images you made (needs a login).")
    ] = False,
    private: Annotated[
        bool, typer.Option("--private", help="Only your private images (needs a login).")
    ] = False,
) -> None:
    """List images, oldest first.

    You see the public images, and your own private ones when you are logged in.

    On a terminal: a table. In a pipe: one tab-separated line per image (GUID, created,
    visibility, provider, prompt). With --json: a JSON array written as rows arrive, so
    any number of images takes constant memory.

    Examples:

        pixyproxy list

        pixyproxy list --json | jq -r '.[].guid'

        pixyproxy list --limit 20 --after 1b4e28ba-2fa1-11d2-883f-0016d3cca427

        pixyproxy list --private
    """
    prompts = state(ctx).prompts()
    only_private = True if private else None
    if as_json:
        pages = prompts.get_all_images_json_pages(
            limit=limit, after=after, mine=mine, private=only_private
        )
        output.stream_json_pages(pages)
        return
    images = prompts.get_all_images(limit=limit, after=after, mine=mine, private=only_private)
    if output.out().is_terminal:
        output.print_image_table(images)
    else:
        output.print_image_lines(images)
