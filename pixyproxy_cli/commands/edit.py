"""``pixyproxy edit``: new images from stored images or local files, as a prompt describes."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from pixyproxy_cli.commands.completion import complete_guid
from pixyproxy_cli.commands.generate import (
    Background,
    Complexity,
    Compression,
    Count,
    Force,
    Format,
    FrameMs,
    Frames,
    ImageFlags,
    InputFidelity,
    Model,
    OutputFile,
    Private,
    Provider,
    Quality,
    Size,
    image_settings,
    make_images,
)
from pixyproxy_cli.commands.options import JsonOutput, read_local_image
from pixyproxy_cli.core.constants import MAX_EDIT_SOURCES
from pixyproxy_cli.core.edits import LocalImage, source_count_problem, source_size_problem
from pixyproxy_cli.core.exceptions import InputValidationError
from pixyproxy_cli.core.image_options import looks_like_guid


def edit(
    ctx: typer.Context,
    prompt: Annotated[
        str,
        typer.Argument(
            metavar="PROMPT",
            help='What to change, or make of the sources. "-" reads it from standard input.',
        ),
    ],
    sources: Annotated[
        list[str],
        typer.Option(
            "--image",
            "-i",
            metavar="SOURCE",
            help=f"A stored image's GUID, or a PNG, JPEG or WebP file (under 50 MB). Repeat "
            f"for up to {MAX_EDIT_SOURCES}; the first is the one edited.",
            autocompletion=complete_guid,
        ),
    ],
    mask: Annotated[
        Path | None,
        typer.Option(
            help="A PNG (under 4 MB) the size of the first source: its transparent pixels "
            "mark what to change (not with --format gif)."
        ),
    ] = None,
    model: Model = None,
    size: Size = None,
    quality: Quality = None,
    count: Count = None,
    image_format: Format = None,
    compression: Compression = None,
    background: Background = None,
    complexity: Complexity = None,
    frames: Frames = None,
    frame_ms: FrameMs = None,
    input_fidelity: InputFidelity = None,
    provider: Provider = None,
    output_file: OutputFile = None,
    force: Force = False,
    private: Private = False,
    as_json: JsonOutput = False,
) -> None:
    """Make new images from SOURCE images as PROMPT describes, and store them.

    Each new image records the sources it came from (show prints "Edited from"; --json has
    "parents": the GUIDs, null for a local file). An edit of a private image is private.
    Sources are checked before anything is sent. The offline placeholder writes the prompt
    over a scaled copy of the first source.

    Examples:

        pixyproxy edit "make it night" -i 1b4e28ba-2fa1-11d2-883f-0016d3cca427

        pixyproxy edit "put the fox in the garden" -i fox.png -i garden.jpg -o both.png

        pixyproxy edit "replace the sky" -i photo.png --mask sky-mask.png --json

        pixyproxy edit "three variations" -i GUID -n 3 --json | jq -r '.[].guid'
    """
    if prompt == "-":
        prompt = sys.stdin.read().strip()
    problem = source_count_problem(len(sources))
    if problem:
        raise InputValidationError(f"--image: {problem}")
    resolved = [_source(source) for source in sources]
    local_mask = None if mask is None else _local_file(mask, "--mask", is_mask=True)
    make_images(
        ctx,
        "Editing",
        lambda prompts, progress: prompts.edit_images(
            {"prompt": prompt, "private": private},
            resolved,
            count or 1,
            mask=local_mask,
            progress=progress,
        ),
        ImageFlags(count, output_file, force, as_json, edit=True),
        **image_settings(ctx),  # no --moderation: the edit endpoint takes none
    )


def _source(source: str) -> str | LocalImage:
    """A file that exists is read (checked first); otherwise the argument must be a GUID.

    Raises InputValidationError (exit 2) naming the source.
    """
    path = Path(source)
    if path.exists() or not looks_like_guid(source):
        return _local_file(path, "--image")
    return source


def _local_file(path: Path, flag: str, *, is_mask: bool = False) -> LocalImage:
    """Read a local source (or mask), refusing a missing, unreadable or too large file."""
    return read_local_image(
        path,
        prefix=f"{flag}: ",
        missing="no such file, and not a GUID" if flag == "--image" else "no such file",
        size_problem=lambda size: source_size_problem(str(path), size, mask=is_mask),
    )
