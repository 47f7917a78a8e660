"""``pixyproxy show``: one image's details."""

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.completion import GuidArgument
from pixyproxy_cli.commands.options import JsonOutput
from pixyproxy_cli.commands.state import state


def show(
    ctx: typer.Context,
    guid: GuidArgument,
    as_json: JsonOutput = False,
) -> None:
    """Show the details of the image with this GUID.

    Examples:

        pixyproxy show 1b4e28ba-2fa1-11d2-883f-0016d3cca427

        pixyproxy show 1b4e28ba-2fa1-11d2-883f-0016d3cca427 --json | jq -r .prompt
    """
    cli = state(ctx)
    prompts = cli.prompts()
    image = prompts.get_image_by_guid(guid)
    if as_json:
        output.print_json(output.image_json(image))
        return
    output.print_details(image, cli.backend().image_extras(prompts, image))
