"""``pixyproxy fetch``: an image's file, to a file or to stdout."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.completion import GuidArgument
from pixyproxy_cli.commands.state import state
from pixyproxy_cli.core.exceptions import InputValidationError


def fetch(
    ctx: typer.Context,
    guid: GuidArgument,
    output_file: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help='Where to write the image; "-" for stdout. Default: GUID.png here.',
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", "-f", help="Overwrite an existing file (or write to a terminal)."),
    ] = False,
) -> None:
    """Write an image's file to a file or stdout.

    An existing file is never overwritten without --force.

    Examples:

        pixyproxy fetch 1b4e28ba-2fa1-11d2-883f-0016d3cca427 -o lighthouse.png

        pixyproxy fetch 1b4e28ba-2fa1-11d2-883f-0016d3cca427 -o - | display
    """
    stored = state(ctx).prompts().get_image_file(guid)
    if output_file == Path("-"):
        if sys.stdout.isatty() and not force:
            raise InputValidationError(
                "refusing to write image bytes to a terminal; redirect it, or use --force"
            )
        output.copy_to_stdout(stored.path)
        return
    if output_file is None:
        from pixyproxy_cli.core.constants import MEDIA_TYPE_EXTENSIONS

        output_file = Path(stored.guid + MEDIA_TYPE_EXTENSIONS.get(stored.media_type, ".bin"))
    output.copy_file(stored.path, output_file, force=force)
    output.status(f"Wrote {stored.size:,} bytes to {output_file}")
