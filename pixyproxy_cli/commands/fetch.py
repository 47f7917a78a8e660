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
            help="Where to write the image: a file, a directory (DIR/GUID.EXT, as cp does), "
            'or "-" for stdout. Default: GUID.EXT here (.png, .jpg, .webp, .gif, .svg).',
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

        pixyproxy fetch 1b4e28ba-2fa1-11d2-883f-0016d3cca427 -o ~/Pictures

        pixyproxy fetch 1b4e28ba-2fa1-11d2-883f-0016d3cca427 -o - | display
    """
    stored = state(ctx).prompts().get_image_file(guid)
    if output_file == Path("-"):
        if sys.stdout.isatty() and not force:
            raise InputValidationError(
                "refusing to write image bytes to a terminal; redirect it, or use --force"
            )
        output.copy_to_stdout(stored.source.chunks())
        return
    if output_file is None or output_file.is_dir():
        output_file = output.file_in(output_file or Path("."), stored.guid, stored.media_type)
    output.copy_file(stored.source.chunks(), output_file, force=force)
    output.status(f"Wrote {stored.size:,} bytes to {output_file}")
