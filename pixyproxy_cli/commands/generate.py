"""``pixyproxy generate``: make images from a prompt, store them, print their details.

The image options (size, format, ``-n``, ``-o`` ...) are declared here once and shared with
``pixyproxy edit``, and so is what both do after the service call: progress on a terminal,
the ``-o`` copy, and the output.
"""

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.options import JsonOutput, workers_option
from pixyproxy_cli.commands.state import state
from pixyproxy_cli.core.constants import MAX_IMAGES_PER_REQUEST, ProviderChoice
from pixyproxy_cli.core.exceptions import InputValidationError, PixyProxyException, StorageError
from pixyproxy_cli.core.image_options import IMAGE_OPTIONS, OPTION_BY_NAME


def _checked(problem: Callable[[str], str | None]) -> Callable[[str | None], str | None]:
    """A Typer callback that refuses (exit 2, naming the flag) what ``problem`` finds wrong."""

    def check(value: str | None) -> str | None:
        message = problem(value) if value is not None else None
        if message:
            raise typer.BadParameter(message)
        return value

    return check


def image_option(name: str, extra: str = "") -> Any:
    """The CLI option of image option ``name``, as ``IMAGE_OPTIONS`` declares it.

    ``extra`` is said after the summary (what the flag does beside it, here).
    """
    option = OPTION_BY_NAME[name]
    text = option.summary
    if option.choices:
        text += f": {', '.join(option.choices)}"
    help_text = f"{text}{extra} [env: {option.variable}]."
    if option.integer:
        assert option.limits is not None
        low, high = option.limits
        return typer.Option(option.cli_flag, min=low, max=high, help=help_text)
    return typer.Option(option.cli_flag, callback=_checked(option.text_problem), help=help_text)


if TYPE_CHECKING:  # kept off the start-up path: pydantic's models load only to make images
    from pixyproxy_cli.core.models import ImagePublic
    from pixyproxy_cli.core.progress import ImageProgress
    from pixyproxy_cli.service.init import Services
    from pixyproxy_cli.service.interfaces import PromptServiceInterface

    Make = Callable[[PromptServiceInterface, ImageProgress | None], Sequence[ImagePublic]]
    """Makes the images through the prompt service, telling the progress callback (if any)."""


Model = Annotated[
    str | None,
    typer.Option("--model", "-m", help="OpenAI image model [env: OPENAI_IMAGE_MODEL]."),
]
Size = Annotated[str | None, image_option("size")]
Quality = Annotated[str | None, image_option("quality")]
Count = Annotated[
    int | None,
    typer.Option(
        "-n",
        "--count",
        min=1,
        max=MAX_IMAGES_PER_REQUEST,
        help=f"Make this many images (1-{MAX_IMAGES_PER_REQUEST}) in one request; --json "
        "then prints an array.",
    ),
]
Format = Annotated[
    str | None,
    image_option("format", "; with -o and no --format, the file's extension chooses"),
]
Compression = Annotated[int | None, image_option("compression")]
Background = Annotated[str | None, image_option("background")]
Moderation = Annotated[str | None, image_option("moderation")]
Complexity = Annotated[str | None, image_option("complexity")]
InputFidelity = Annotated[str | None, image_option("input_fidelity")]
Frames = Annotated[int | None, image_option("frames")]
FrameMs = Annotated[int | None, image_option("frame_ms")]
Provider = Annotated[
    ProviderChoice | None,
    typer.Option(
        help="auto uses OpenAI when OPENAI_API_KEY is set, else the offline placeholder "
        "[env: IMAGE_PROVIDER]."
    ),
]
OutputFile = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Also write the image to this file; or each image into this directory, as "
        "DIR/GUID.EXT (as fetch does).",
    ),
]
Force = Annotated[
    bool, typer.Option("--force", "-f", help="Overwrite the --output file if it exists.")
]
Private = Annotated[
    bool,
    typer.Option("--private", help="Only you will see it (needs pixyproxy login)."),
]


def generate(
    ctx: typer.Context,
    prompt: Annotated[
        str | None,
        typer.Argument(
            metavar="PROMPT", help='What to draw. "-" reads the prompt from standard input.'
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
    moderation: Moderation = None,
    provider: Provider = None,
    output_file: OutputFile = None,
    force: Force = False,
    private: Private = False,
    as_json: JsonOutput = False,
    from_file: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="FILE",
            help="A list of prompts, one a line, or JSON lines with options of their own "
            '("-": standard input), queued as jobs and run -j at a time; --json prints a '
            "line per job as it ends. With a server: up to 100 prompts, run by the server's "
            "own workers.",
        ),
    ] = None,
    workers: Annotated[int, workers_option("With --from: requests to run at once")] = 4,
    batch_api: Annotated[
        bool,
        typer.Option(
            "--batch",
            help="With --from: send the list as one OpenAI batch (the Batch API: half the "
            "price, done within 24 hours); pixyproxy jobs collect stores the images.",
        ),
    ] = False,
) -> None:
    """Generate an image from PROMPT and store it; or one for each line of a file.

    The file and details are stored, then printed: GUID, prompt, provider, file path. On a
    terminal a single image is streamed, showing each partial image as it arrives.

    Examples:

        pixyproxy generate "a lighthouse at dawn"

        pixyproxy generate "a red fox in snow" --size 1536x1024 -o fox.png

        pixyproxy generate "a logo" --format webp --compression 80 --background transparent

        pixyproxy generate "a cat waving" --format gif --frames 12 --frame-ms 100

        pixyproxy generate "a flat icon of a kite" --format svg

        pixyproxy generate "four foxes" -n 4 --json | jq -r '.[].guid'

        echo "a quiet harbour" | pixyproxy generate - --json

        pixyproxy generate "my secret garden" --private

        pixyproxy generate --from prompts.txt -j 8 --json > results.jsonl

        pixyproxy generate --from prompts.txt --batch   # then: pixyproxy jobs collect --wait

    With --from, the list is queued whole as a batch of jobs (a line that is not valid
    stops it before any is queued, naming the line), then run; Ctrl-C leaves the rest
    queued, and pixyproxy jobs resume BATCH goes on. Exits 1 when any line failed.
    """
    if from_file is not None:
        _generate_from(
            ctx, prompt, from_file, workers, count, output_file, private, as_json, batch_api
        )
        return
    if batch_api:
        raise InputValidationError("--batch sends a list of prompts: give --from FILE")
    if prompt is None:
        raise InputValidationError(
            'give a PROMPT ("-" reads it from standard input), or --from FILE'
        )
    if prompt == "-":
        prompt = sys.stdin.read().strip()
    make_images(
        ctx,
        "Generating",
        lambda prompts, progress: prompts.generate_images(
            {"prompt": prompt, "private": private}, count or 1, progress=progress
        ),
        ImageFlags(count, output_file, force, as_json),
        **image_settings(ctx),
    )


def _generate_from(
    ctx: typer.Context,
    prompt: str | None,
    source: str,
    workers: int,
    count: int | None,
    output_file: Path | None,
    private: bool,
    as_json: bool,
    batch_api: bool,
) -> None:
    """``generate --from FILE``: queue the file's prompts as one batch, then run it.

    With ``batch_api``, send the batch to the provider's Batch API instead.
    """
    from pixyproxy_cli.commands.jobs import read_prompt_file

    if prompt is not None:
        raise InputValidationError("give a PROMPT or --from FILE, not both")
    if output_file is not None:
        raise InputValidationError("--output takes one image; with --from, fetch each GUID")
    overrides = image_settings(ctx)
    backend = state(ctx).backend()
    notice = backend.ready_to_generate(
        overrides, lambda services: _check_flags(services, overrides, edit=False)
    )
    lines, name = read_prompt_file(source)
    backend.run_prompt_file(
        lines,
        name,
        n=count,
        private=private,
        overrides=overrides,
        batch_api=batch_api,
        workers=workers,
        as_json=as_json,
        notice=notice,
    )


SETTING_OF_FLAG = {
    "provider": "image_provider",
    "model": "openai_model",
    **{("image_format" if o.name == "format" else o.name): o.setting for o in IMAGE_OPTIONS},
}
"""The setting each image flag of ``generate`` and ``edit`` overrides, by parameter name."""


def image_settings(ctx: typer.Context) -> dict[str, str | int | None]:
    """The image flags the command was given, as the settings they override."""
    settings: dict[str, str | int | None] = {}
    for name, setting in SETTING_OF_FLAG.items():
        value = ctx.params.get(name)
        settings[setting] = value
    return settings


FLAGS = {option.variable: (option.setting, option.cli_flag) for option in IMAGE_OPTIONS}
"""The flag of each image setting, and the override it sets."""


def _check_flags(
    services: "Services", overrides: dict[str, str | int | None], *, edit: bool
) -> None:
    """Refuse (exit 2, naming the flag) a flag the options' rules refuse.

    The rules see the other options and the model in use. A setting's own problem is left
    to the provider's check, which names its variable. Raises InputValidationError.
    """
    from pixyproxy_cli.core.image_options import ImageOptions

    # The GIF flags are the request's own: held to the format even where the settings'
    # (which apply to GIFs only) would be left out.
    options = ImageOptions.from_settings(services.settings).overridden(
        {
            name: overrides[field]
            for name, field in (("frames", "image_frames"), ("frame_ms", "image_frame_ms"))
            if overrides.get(field) is not None
        }
    )
    problem = options.first_problem(services.prompts.dependencies.provider.model, edit=edit)
    if problem is None:
        return
    field, flag = FLAGS[problem[0]]
    if overrides.get(field) is not None:
        raise InputValidationError(f"{flag}: {problem[1]}")
    # Otherwise a setting is wrong: the provider's check names its variable (exit 1).


@dataclass(frozen=True)
class ImageFlags:
    """What ``generate`` and ``edit`` do with the images they make: how many, -o, --json."""

    count: int | None
    output_file: Path | None
    force: bool
    as_json: bool
    edit: bool = False
    """Whether the images are edits (whose options include an input fidelity)."""


def make_images(
    ctx: typer.Context, verb: str, make: "Make", flags: ImageFlags, **overrides: str | int | None
) -> None:
    """Make images as ``generate`` and ``edit`` do, and print them.

    ``verb`` names the work on the progress line ("Generating", "Editing").
    Checks the flags, builds the services with ``overrides``, calls ``make`` (with progress
    on a terminal), copies the first image to ``-o``.

    Raises InputValidationError (exit 2) before any work for flags that cannot be honoured.
    """
    count, output_file = flags.count, flags.output_file
    # Decided once: a directory takes every image as DIR/GUID.EXT, a file the one image.
    directory = output_file if output_file is not None and output_file.is_dir() else None
    # Refuse before spending a provider call on an image we could not write.
    if directory is not None:
        output.check_writable_directory(directory)
    elif output_file is not None:
        overrides["image_format"] = _format_for(output_file, overrides.get("image_format"))
        if (count or 1) > 1:
            raise InputValidationError(
                "--output FILE takes one image; name a directory, use -n 1, or fetch each "
                "GUID after generating"
            )
        output.check_writable(output_file, force=flags.force)
    cli = state(ctx)
    backend = cli.backend()
    notice = backend.ready_to_generate(
        overrides, lambda services: _check_flags(services, overrides, edit=flags.edit)
    )
    prompts = cli.prompts(**overrides)
    label = f"{verb} image…" if (count or 1) == 1 else f"{verb} {count} images…"
    with output.progress(label) as progress:
        # The service validates what was typed, and reports problems as ours.
        images = make(prompts, progress)
    # Said of images that were made, never before an error about the request; under -v the
    # provider's line has said it already.
    if notice and not output.verbose():
        output.notice(notice)
    # A server's files stay on the server: -o downloads one, `fetch` any.
    files = [backend.stored_file(prompts, image.guid) for image in images]
    written: list[Path] = []
    if output_file is not None:
        for image in images:
            written.append(
                output_file
                if directory is None
                else output.file_in(directory, image.guid, image.media_type)
            )
            try:
                source = prompts.get_image_file(image.guid).source
                output.copy_file(source.chunks(), written[-1], force=flags.force)
            except PixyProxyException as error:
                raise StorageError(
                    f"The image is stored as {image.guid}, but {_lower_first(error.message)} "
                    f"(pixyproxy fetch {image.guid} -o FILE writes it again)"
                ) from error
    printed = [
        {**output.image_json(image), "file": None if path is None else str(path)}
        for image, path in zip(images, files, strict=True)
    ]
    if flags.as_json:
        # -n asks for a batch, so it prints an array, even of one.
        output.print_json(printed if count is not None else printed[0])
        return
    for index, (image, path) in enumerate(zip(images, files, strict=True)):
        if index:
            output.out().print()
        extra = {"File": str(path)} if path is not None else {}
        if written:
            extra["Written to"] = str(written[index])
        output.print_details(image, extra)


FORMAT_OF_EXTENSION = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".webp": "webp",
    ".gif": "gif",
    ".svg": "svg",
}
"""The format a file name's extension asks for (-o without --format)."""


def _format_for(output_file: Path, chosen: str | int | None) -> str | int | None:
    """The format to make for ``-o output_file``: --format, else the extension's, else None.

    Raises InputValidationError when --format and the extension disagree.
    """
    implied = FORMAT_OF_EXTENSION.get(output_file.suffix.lower())
    if implied is None or chosen is None:
        return chosen if chosen is not None else implied
    if chosen != implied:
        wanted = next((e for e, f in FORMAT_OF_EXTENSION.items() if f == chosen), None)
        rename = f", or name a file ending in {wanted}" if wanted else ""
        raise InputValidationError(
            f"--format {chosen} does not match --output {output_file} ({implied}): "
            f"drop --format{rename}"
        )
    return chosen


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
