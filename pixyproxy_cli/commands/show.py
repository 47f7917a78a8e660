"""``pixyproxy show``: one image's details."""

from typing import Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.options import JsonOutput
from pixyproxy_cli.commands.state import state


def show(
    ctx: typer.Context,
    guid: Annotated[str, typer.Argument(metavar="GUID", help="The image's GUID.")],
    as_json: JsonOutput = False,
) -> None:
    """Show the details of the image with this GUID.

    Examples:

        pixyproxy show 1b4e28ba-2fa1-11d2-883f-0016d3cca427

        pixyproxy show 1b4e28ba-2fa1-11d2-883f-0016d3cca427 --json | jq -r .prompt
    """
    image = state(ctx).prompts().get_image_by_guid(guid)
    if as_json:
        output.print_json(output.image_json(image))
    else:
        output.print_details(image)
