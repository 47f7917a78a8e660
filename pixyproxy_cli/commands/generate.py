"""``pixyproxy generate``: make an image from a prompt, store it, print its details."""

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.options import JsonOutput
from pixyproxy_cli.commands.state import state
from pixyproxy_cli.core.constants import MAX_IMAGES_PER_REQUEST, Provision
from pixyproxy_cli.core.exceptions import InputValidationError, PixyProxyException, StorageError
from pixyproxy_cli.core.image_options import (
    BACKGROUNDS,
    IMAGE_FORMATS,
    IMAGE_QUALITIES,
    MODERATIONS,
    background_problem,
    compression_problem,
    image_format_problem,
    image_quality_problem,
    image_size_problem,
    moderation_problem,
)


def _checked(problem: Callable[[str], str | None]) -> Callable[[str | None], str | None]:
    """A Typer callback that refuses (exit 2, naming the flag) what ``problem`` finds wrong."""

    def check(value: str | None) -> str | None:
        message = problem(value) if value is not None else None
        if message:
            raise typer.BadParameter(message)
        return value

    return check


class ProviderName(StrEnum):
    """The image providers ``--provider`` accepts."""

    AUTO = "auto"
    OPENAI = "openai"
    PLACEHOLDER = "placeholder"


def generate(
    ctx: typer.Context,
    prompt: Annotated[
        str,
        typer.Argument(
            metavar="PROMPT", help='What to draw. "-" reads the prompt from standard input.'
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="OpenAI image model [env: OPENAI_IMAGE_MODEL]."),
    ] = None,
    size: Annotated[
        str | None,
        typer.Option(
            callback=_checked(image_size_problem),
            help="Image size WIDTHxHEIGHT such as 1536x1024, or auto [env: IMAGE_SIZE].",
        ),
    ] = None,
    quality: Annotated[
        str | None,
        typer.Option(
            callback=_checked(image_quality_problem),
            help=f"{', '.join(IMAGE_QUALITIES)} [env: IMAGE_QUALITY].",
        ),
    ] = None,
    count: Annotated[
        int | None,
        typer.Option(
            "-n",
            "--count",
            min=1,
            max=MAX_IMAGES_PER_REQUEST,
            help=f"Make this many images (1-{MAX_IMAGES_PER_REQUEST}) in one request; --json "
            "then prints an array.",
        ),
    ] = None,
    image_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            callback=_checked(image_format_problem),
            help=f"File format: {', '.join(IMAGE_FORMATS)} [env: IMAGE_FORMAT].",
        ),
    ] = None,
    compression: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=100,
            help="Compression 0-100, for webp and jpeg [env: IMAGE_COMPRESSION].",
        ),
    ] = None,
    background: Annotated[
        str | None,
        typer.Option(
            callback=_checked(background_problem),
            help=f"{', '.join(BACKGROUNDS)} (transparent: png or webp) [env: IMAGE_BACKGROUND].",
        ),
    ] = None,
    moderation: Annotated[
        str | None,
        typer.Option(
            callback=_checked(moderation_problem),
            help=f"The provider's moderation: {', '.join(MODERATIONS)} [env: IMAGE_MODERATION].",
        ),
    ] = None,
    provider: Annotated[
        ProviderName | None,
        typer.Option(
            help="auto uses OpenAI when OPENAI_API_KEY is set, else the offline placeholder "
            "[env: IMAGE_PROVIDER]."
        ),
    ] = None,
    output_file: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Also write the image to this file."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Overwrite the --output file if it exists.")
    ] = False,
    private: Annotated[
        bool,
        typer.Option("--private", help="Only you will see it (needs pixyproxy login)."),
    ] = False,
    as_json: JsonOutput = False,
) -> None:
    """Generate an image from PROMPT and store it.

    The file and details are stored, then printed: GUID, prompt, provider, file path.

    Examples:

        pixyproxy generate "a lighthouse at dawn"

        pixyproxy generate "a red fox in snow" --size 1536x1024 -o fox.png

        pixyproxy generate "a logo" --format webp --compression 80 --background transparent

        pixyproxy generate "four foxes" -n 4 --json | jq -r '.[].guid'

        echo "a quiet harbour" | pixyproxy generate - --json

        pixyproxy generate "my secret garden" --private
    """
    if prompt == "-":
        prompt = sys.stdin.read().strip()
    if output_file is not None:
        if (count or 1) > 1:
            raise InputValidationError(
                "--output takes one image; use -n 1, or fetch each GUID after generating"
            )
        # Refuse before spending a provider call on an image we could not write.
        output.check_writable(output_file, force=force)
    cli = state(ctx)
    services = cli.services(
        Provision.SCHEMA,
        image_provider=provider.value if provider else None,
        openai_model=model,
        image_size=size,
        image_quality=quality,
        image_format=image_format,
        image_compression=compression,
        image_background=background,
        image_moderation=moderation,
    )
    if compression is not None:
        problem = compression_problem(compression, services.settings.image_format)
        if problem:
            raise InputValidationError(f"--compression: {problem}")
    prompts = cli.prompts()
    if services.provider_notice:
        output.notice(services.provider_notice)
    with output.spinner(
        "Generating image…" if (count or 1) == 1 else f"Generating {count} images…"
    ):
        # The service validates what was typed, and reports problems as ours.
        images = prompts.generate_images({"prompt": prompt, "private": private}, count or 1)
    files = [prompts.get_image_file(image.guid).path for image in images]
    if output_file is not None:
        try:
            output.copy_file(files[0], output_file, force=force)
        except PixyProxyException as error:
            guid = images[0].guid
            raise StorageError(
                f"The image is stored as {guid}, but {_lower_first(error.message)} "
                f"(pixyproxy fetch {guid} -o FILE writes it again)"
            ) from error
    printed = [
        {**output.image_json(image), "file": str(path)}
        for image, path in zip(images, files, strict=True)
    ]
    if as_json:
        # -n asks for a batch, so it prints an array, even of one.
        output.print_json(printed if count is not None else printed[0])
        return
    for index, (image, path) in enumerate(zip(images, files, strict=True)):
        if index:
            output.out().print()
        extra = {"File": str(path)}
        if output_file is not None:
            extra["Written to"] = str(output_file)
        output.print_details(image, extra)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
