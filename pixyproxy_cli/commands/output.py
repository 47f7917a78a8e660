"""Rendering for the CLI: JSON for scripts, rich tables on a terminal, plain lines in pipes.

Colour and spinners appear only on a terminal; ``NO_COLOR`` turns off every style. Data goes to
stdout; notices, progress and errors go to stderr.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixyproxy_cli.core.exceptions import InputValidationError, StorageError
from pixyproxy_cli.core.files import atomic_file

if TYPE_CHECKING:
    from rich.console import Console

    from pixyproxy_cli.core.models import ImagePublic, ImageUsage

TABLE_PAGE = 1000


def out() -> Console:
    """The console for data (stdout)."""
    return _console(stderr=False)


def err() -> Console:
    """The console for notices, progress and errors (stderr)."""
    return _console(stderr=True)


def _console(*, stderr: bool) -> Console:
    # rich's own NO_COLOR support drops colours but keeps bold and underline; NO_COLOR users
    # ask for plain text, so no styles at all (no-color.org: set and not empty).
    plain = bool(os.environ.get("NO_COLOR"))
    return _printable_console()(
        stderr=stderr,
        highlight=False,
        soft_wrap=True,
        color_system=None if plain else "auto",
    )


@functools.cache
def _printable_console() -> type[Console]:
    from rich.console import Console

    class PrintableConsole(Console):
        """A console that prints every string it is given through ``printable``."""

        def print(self, *objects: Any, **options: Any) -> None:
            """Print ``objects`` as rich does, each string's control characters escaped."""
            texts = (printable(item) if isinstance(item, str) else item for item in objects)
            super().print(*texts, **options)

    return PrintableConsole


_CONTROLS = (*range(0x20), *range(0x7F, 0xA0))
"""The C0 controls, DEL and the C1 controls: a terminal acts on them (ESC begins sequences
that move the cursor, hide text, set the title or, in some terminals, the clipboard)."""


def printable(text: str, keep: str = "\t\n") -> str:
    r"""``text`` safe to write to a terminal: each control character not in ``keep`` escaped.

    ESC is written as the four characters ``\x1b``, and so on.

    A prompt, a job's error or a server's message is anyone's text: written raw, an escape
    sequence in it would act on the terminal of whoever lists it. JSON output needs none of
    this (it escapes control characters itself).
    """
    return text.translate(_escapes(keep))


@functools.cache
def _escapes(keep: str) -> dict[int, str]:
    return {code: f"\\x{code:02x}" for code in _CONTROLS if chr(code) not in keep}


QUIET, NORMAL, VERBOSE = -1, 0, 1
_verbosity = NORMAL


def set_verbosity(level: int) -> None:
    """``QUIET`` (-q: results and errors only), ``NORMAL``, or ``VERBOSE`` (-v)."""
    global _verbosity
    _verbosity = level


def quiet() -> bool:
    """Whether -q asked for results and errors only."""
    return _verbosity <= QUIET


def verbose() -> bool:
    """Whether -v asked to hear what is going on."""
    return _verbosity >= VERBOSE


def can_ask() -> bool:
    """Whether a person can answer a question: standard input is a terminal."""
    return sys.stdin.isatty()


def notice(message: str) -> None:
    """One line on stderr that does not stop the command (not under -q)."""
    if not quiet():
        err().print(f"Notice: {message}", markup=False)


def warning(message: str) -> None:
    """One line on stderr about something the user should change (not under -q)."""
    if not quiet():
        err().print(f"Warning: {message}", markup=False)


def status(message: str) -> None:
    """One line on stderr about what was done, beside the result (not under -q)."""
    if not quiet():
        err().print(message, markup=False)


def info(message: str) -> None:
    """One line on stderr about what is happening, under -v only."""
    if verbose():
        err().print(f"Info: {message}", markup=False)


class _Progress:
    """A status line that says how long a request has taken and how far its stream got."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()
        self.received = 0
        self.expected = 0

    def __call__(self, received: int, expected: int, image: bytes | None = None) -> None:
        self.received, self.expected = received, expected

    def __str__(self) -> str:
        elapsed = f"{time.monotonic() - self.started:.0f} s"
        if not self.received:
            return f"{self.label} {elapsed}"
        return f"{self.label} partial image {self.received} of {self.expected} received, {elapsed}"

    def __rich__(self) -> str:
        return str(self)  # rich renders the status anew at every refresh


@contextlib.contextmanager
def progress(label: str) -> Iterator[_Progress | None]:
    """On a terminal, a spinner with the elapsed time, and a callback for partial images.

    Yields None when stderr is not a terminal: then nothing is printed, and callers should
    not ask for a streamed answer.
    """
    console = err()
    if not console.is_terminal or quiet():
        yield None
        return
    line = _Progress(label)
    with console.status(line):  # rich renders __rich__ objects anew at every refresh
        yield line


@contextlib.contextmanager
def progress_bar(
    label: str, total: int | None, tally: Callable[[], str] | None = None
) -> Iterator[Callable[[int], None] | None]:
    """On a terminal, a bar of ``total`` steps (or a count, when None); yields its ``advance``.

    With ``tally`` (a batch of jobs: failed, running), its text and the time left are
    shown too. Yields None when stderr is not a terminal, or under -q: nothing is printed.
    """
    console = err()
    if not console.is_terminal or quiet():
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[str | ProgressColumn] = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    if tally is not None:
        said = tally

        class Tally(ProgressColumn):
            def render(self, task: Any) -> Any:
                from rich.text import Text

                return Text(said())

        columns[3:3] = [Tally()]
        columns += [TextColumn("left"), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda steps: bar.advance(task, steps)


def image_json(image: ImagePublic) -> dict[str, Any]:
    """The JSON object of one image, as ``--json`` prints it."""
    return image.model_dump(mode="json")


def print_json(value: Any) -> None:
    """Write ``value`` to stdout as indented JSON (UTF-8, not escaped)."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def print_json_line(value: Any) -> None:
    """Write ``value`` to stdout as one line of JSON, at once (a stream of results)."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def stream_json_array(items: Iterable[bytes]) -> int:
    """Write a JSON array of already-encoded UTF-8 elements, one per line, as they arrive.

    Returns how many elements there were.
    """
    return stream_json_pages([item] for item in items)


def stream_json_pages(pages: Iterable[list[bytes]]) -> int:
    """Write a JSON array of pages of already-encoded UTF-8 elements, a page at a time.

    The array is ``core.json_array``'s, as the API sends it. One write per page (stdout may
    be unbuffered, as under PYTHONUNBUFFERED), to stdout's binary buffer: JSON is UTF-8
    whatever the locale. Returns how many elements there were.
    """
    from pixyproxy_cli.core.json_array import json_array

    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text-only stream (some test harnesses): decode instead
        text_write = sys.stdout.write

        def write(data: bytes) -> object:
            return text_write(data.decode("utf-8"))
    else:
        write = buffer.write
    count = 0

    def counted(pages: Iterable[list[bytes]]) -> Iterator[list[bytes]]:
        nonlocal count
        for page in pages:
            count += len(page)
            yield page

    with garbage_collector_paused():
        for chunk in json_array(counted(pages)):
            write(chunk)
    if buffer is not None:
        buffer.flush()
    return count


@contextlib.contextmanager
def garbage_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block, then restore its state.

    A long listing allocates a tuple per row; every 700 of them start a collection, and the
    larger ones walk again the hundreds of thousands of objects the imports made: ~7% of a
    100,000-row listing. Rows hold no reference cycles, so reference counting frees them
    as before; anything cyclic made meanwhile is collected once the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def describe_provider(image: ImagePublic) -> str:
    """``openai``, or a clear placeholder label."""
    if image.placeholder:
        return "placeholder (offline renderer; not a generated image)"
    return image.provider


def iso_timestamp(moment: datetime) -> str:
    """A moment as ``--json`` writes it: UTC with ``Z`` (a zero fraction left out)."""
    return moment.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"


def print_details(image: ImagePublic, extra: dict[str, str] | None = None) -> None:
    """One image's details as aligned ``label  value`` lines."""
    rows = {
        "GUID": image.guid,
        "Prompt": image.prompt,
        "Visibility": "private" if image.private else "public",
        "Owner": image.owner or "-",
        "Provider": describe_provider(image),
        "Model": image.model,
        "Media type": image.media_type,
        "Size": f"{image.width}x{image.height}" if image.width and image.height else "-",
        "Created": iso_timestamp(image.created_at),
        "Updated": iso_timestamp(image.updated_at),
    }
    if image.parents is not None:
        rows["Edited from"] = ", ".join(parent or "(a local file)" for parent in image.parents)
    if image.usage is not None:
        rows["Tokens"] = _tokens(image.usage)
    rows.update(extra or {})
    print_fields(rows)


def print_fields(rows: dict[str, str]) -> None:
    """``label  value`` lines, the values aligned."""
    width = max(len(label) for label in rows)
    console = out()
    for label, value in rows.items():
        console.print(f"{label.ljust(width)}  {value}", markup=False)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def plain_line(image: ImagePublic) -> str:
    """A tab-separated line: GUID, created, visibility, provider, prompt on one line."""
    visibility = "private" if image.private else "public"
    return "\t".join(
        (
            image.guid,
            image.created_at.isoformat(),
            visibility,
            image.provider,
            _one_line(image.prompt),
        )
    )


def print_lines(lines: Iterable[str]) -> int:
    """Write plain lines to stdout, as they come (no wrapping, tabs kept); return the count.

    Control characters other than tabs are escaped (``printable``).
    """
    count = 0
    for line in lines:
        sys.stdout.write(printable(line) + "\n")
        count += 1
    return count


def print_image_lines(images: Iterable[ImagePublic]) -> int:
    """Plain lines, one per image, for pipes; return the count."""
    return print_lines(plain_line(image) for image in images)


def print_image_table(images: Iterable[ImagePublic], narrowed_by: Sequence[str] = ()) -> int:
    """A rich table on the terminal, printed a page at a time; return the count.

    ``narrowed_by`` names the flags that narrowed the listing, said when nothing matched.
    """
    from rich.table import Table
    from rich.text import Text

    # Every column but the prompt keeps its whole width, one space apart (77 columns: an
    # 80-column terminal shows the start of the prompt); the prompt is given exactly the
    # rest and cut with an ellipsis (left to itself, rich drops whole columns that do not
    # fit). Minutes are precise enough here: --json has the exact time.
    widths = {"GUID": 36, "Created (UTC)": 16, "Visibility": 10, "Provider": 11}
    console = out()
    prompt_width = max(1, console.width - sum(widths.values()) - len(widths))

    def new_table(first: bool) -> Table:
        table = Table(show_header=first, box=None, pad_edge=False, padding=(0, 1, 0, 0))
        for name, width in widths.items():
            table.add_column(
                name, no_wrap=True, width=width, style="cyan" if name == "GUID" else ""
            )
        table.add_column("Prompt", overflow="ellipsis", no_wrap=True, max_width=prompt_width)
        return table

    count = 0
    table = new_table(True)
    for image in images:
        table.add_row(
            image.guid,
            image.created_at.strftime("%Y-%m-%d %H:%M"),
            Text("private", style="yellow") if image.private else "public",
            Text(image.provider, style="magenta" if image.placeholder else ""),
            printable(_one_line(image.prompt)),
        )
        count += 1
        if count % TABLE_PAGE == 0:
            console.print(table)
            table = new_table(False)
    if table.row_count or count == 0:
        console.print(table)
    if count == 0 and narrowed_by:
        status(f"No image matches {', '.join(narrowed_by)}")
    elif count == 0:
        status('No images yet: make one with pixyproxy generate "PROMPT"')
    return count


def file_in(directory: Path, guid: str, media_type: str) -> Path:
    """Where ``-o DIR`` writes image ``guid``: ``DIR/GUID.EXT``, as cp does.

    The extension is its media type's (.png, .jpg, .webp, .gif, .svg).
    """
    from pixyproxy_cli.core.constants import MEDIA_TYPE_EXTENSIONS

    return directory / (guid + MEDIA_TYPE_EXTENSIONS.get(media_type, ".bin"))


def check_writable(destination: Path, *, force: bool) -> None:
    """Refuse, before any work, a destination that ``copy_file`` could not write.

    Raises InputValidationError when it is a directory, exists (without ``force``), or its
    folder is missing or not writable.
    """
    if destination.is_dir():
        raise InputValidationError(f"{destination} is a directory; name a file")
    if destination.exists() and not force:
        raise InputValidationError(f"{destination} already exists; use --force to overwrite it")
    directory = destination.parent if str(destination.parent) else Path(".")
    if not directory.is_dir():
        raise InputValidationError(
            f"Cannot write {destination}: the folder {directory} does not exist"
        )
    check_writable_directory(directory, destination)


def check_writable_directory(directory: Path, destination: Path | None = None) -> None:
    """Raise InputValidationError when no file can be made in the directory ``directory``.

    ``destination`` names the file meant to go there, for the message (default: any file).
    """
    if not os.access(directory, os.W_OK | os.X_OK):
        what = destination if destination is not None else f"into {directory}"
        raise InputValidationError(f"Cannot write {what}: the folder {directory} is not writable")


def copy_file(source: Iterable[bytes], destination: Path, *, force: bool) -> None:
    """Write ``source``'s chunks to ``destination`` atomically (over a file only with force).

    Raises InputValidationError when the destination exists, StorageError when reading or
    writing fails (the destination is left as it was).
    """
    check_writable(destination, force=force)
    try:
        # A copy for the user: normal permissions (mkstemp makes 0600), no fsync.
        with (
            atomic_file(
                destination,
                prefix=f".{destination.name}.",
                durable=False,
                permissions=0o666 & ~_umask(),
            ) as target,
        ):
            for chunk in source:
                target.write(chunk)
    except OSError as error:
        raise StorageError(f"Cannot write {destination}: {error.strerror or error}") from error


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def copy_to_stdout(source: Iterable[bytes]) -> None:
    """Write ``source``'s chunks to stdout. Raises StorageError when reading fails."""
    sys.stdout.flush()
    for chunk in source:
        sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()


def _tokens(usage: ImageUsage) -> str:
    """``1,290 input (50 text, 1,240 image), 1,056 output (1,000 image, 56 text)``."""
    said = []
    for total, kinds, direction, order in (
        (usage.input_tokens, usage.input_tokens_details, "input", ("text", "image")),
        (usage.output_tokens, usage.output_tokens_details, "output", ("image", "text")),
    ):
        text = f"{total:,} {direction}"
        if kinds is not None:
            counts = {"text": kinds.text_tokens, "image": kinds.image_tokens}
            text += f" ({', '.join(f'{counts[kind]:,} {kind}' for kind in order)})"
        said.append(text)
    return ", ".join(said)
