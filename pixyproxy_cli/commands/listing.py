"""``pixyproxy list``: every image's details, streamed; searched and filtered."""

from typing import Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.options import (
    JsonOutput,
    ModelFilter,
    Order,
    OrderOption,
    SearchText,
    Since,
    Until,
)
from pixyproxy_cli.commands.state import state
from pixyproxy_cli.core.filters import image_filters


def list_images(
    ctx: typer.Context,
    as_json: JsonOutput = False,
    search: SearchText = None,
    since: Since = None,
    until: Until = None,
    model: ModelFilter = None,
    order: OrderOption = Order.OLDEST,
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
    """List images, oldest first (or --order newest).

    You see the public images, and your own private ones when you are logged in.

    On a terminal: a table. In a pipe: one tab-separated line per image (GUID, created,
    visibility, provider, prompt). With --json: a JSON array written as rows arrive, so
    any number of images takes constant memory.

    --search uses the database's full-text index. Page through a long listing with --limit
    and --after (the last GUID of the page before), in either order.

    Examples:

        pixyproxy list

        pixyproxy list --json | jq -r '.[].guid'

        pixyproxy list --search "lighthouse dawn" --order newest --limit 20

        pixyproxy list --since 2026-11-01 --until 2026-11-30 --model gpt-image-2.5-sunburst

        pixyproxy list --limit 20 --after 1b4e28ba-2fa1-11d2-883f-0016d3cca427

        pixyproxy list --private
    """
    filters = image_filters(search=search, since=since, until=until, model=model, order=order.value)
    prompts = state(ctx).prompts()
    only_private = True if private else None
    if as_json:
        pages = prompts.get_all_images_json_pages(
            limit=limit, after=after, mine=mine, private=only_private, filters=filters
        )
        output.stream_json_pages(pages)
        return
    images = prompts.get_all_images(
        limit=limit, after=after, mine=mine, private=only_private, filters=filters
    )
    if output.out().is_terminal:
        narrowed = [
            flag
            for flag, given in (
                ("--search", search),
                ("--since", since),
                ("--until", until),
                ("--model", model),
                ("--after", after),
                ("--mine", mine),
                ("--private", private),
            )
            if given
        ]
        output.print_image_table(images, narrowed_by=narrowed)
    else:
        output.print_image_lines(images)
