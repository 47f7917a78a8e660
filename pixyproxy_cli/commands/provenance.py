"""``pixyproxy provenance``: whether an image carries OpenAI's provenance signals."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.completion import complete_guid
from pixyproxy_cli.commands.options import JsonOutput, read_local_image
from pixyproxy_cli.commands.state import state
from pixyproxy_cli.core.constants import MAX_IMAGE_FILE_BYTES
from pixyproxy_cli.core.edits import LocalImage
from pixyproxy_cli.core.exceptions import InputValidationError, RecordNotFoundError
from pixyproxy_cli.core.image_options import looks_like_guid

if TYPE_CHECKING:
    from pixyproxy_cli.core.provenance import ProvenanceReport, ProvenanceSignal

NOT_DETECTED_NOTE = (
    "not detected means no supported signal was found: the image may still have been made "
    "by OpenAI (its metadata stripped or tampered with, its watermark degraded, a legacy "
    "model, or made before the signals), or by another company's model"
)
"""The SDK's own caveat for ``not_detected``, shortened."""
SIGNAL_NAMES = {"c2pa": "C2PA", "synthid": "SynthID"}


def provenance(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            metavar="GUID|FILE",
            help="A stored image's GUID, or a PNG, JPEG, WebP or GIF file.",
            autocompletion=complete_guid,
        ),
    ],
    last: Annotated[
        bool,
        typer.Option(
            "--last", help="Show the check kept with a stored image; the API is not asked."
        ),
    ] = False,
    as_json: JsonOutput = False,
) -> None:
    """Check whether an image carries OpenAI's provenance signals (C2PA and SynthID).

    The OpenAI API's content provenance check is asked (OPENAI_API_KEY is needed): its
    verdict is "detected" when any signal was found. A stored image's check is kept with
    it: `show` prints the last one, and --last shows it again without asking. A file is
    checked when one exists at that path (PNG, JPEG, WebP or GIF, animated too); its check
    is not kept. SVG drawings cannot be checked.

    Examples:

        pixyproxy provenance 1b4e28ba-2fa1-11d2-883f-0016d3cca427

        pixyproxy provenance downloaded.png --json | jq -r .verdict

        pixyproxy provenance 1b4e28ba-2fa1-11d2-883f-0016d3cca427 --last
    """
    cli = state(ctx)
    path = Path(source)
    is_file = path.exists() or not looks_like_guid(source)
    if is_file and last:
        raise InputValidationError("--last takes a stored image's GUID: a file's check is not kept")
    prompts = cli.prompts()
    if is_file:  # a file is checked here, whichever server is in use
        checks = cli.services().provenance_for(prompts)
    else:
        checks = cli.backend().stored_provenance(prompts)
    if last:
        report = checks.last(source)
        if report is None:
            raise RecordNotFoundError(
                f"No provenance check is kept for image {source}: run pixyproxy provenance {source}"
            )
    else:
        report = checks.check(_read(path) if is_file else source)
    _print(report, guid=None if is_file else source.lower(), as_json=as_json)


def _read(path: Path) -> LocalImage:
    """A local file to check, refused (exit 2) when missing, not a file, or too large."""
    return read_local_image(
        path,
        missing="no such file, and not a GUID",
        size_problem=lambda size: (
            f"{path} is {size:,} bytes; pixyproxy reads images of at most {MAX_IMAGE_FILE_BYTES:,}"
            if size > MAX_IMAGE_FILE_BYTES
            else None
        ),
    )


def report_json(report: "ProvenanceReport", guid: str | None) -> dict[str, Any]:
    """A check as ``--json`` prints it: the verdict, when, and each signal as the API gave it."""
    return {
        "guid": guid,
        "verdict": report.verdict,
        "checked_at": output.iso_timestamp(report.checked_at),
        "signals": [
            {name: value for name, value in vars(signal).items() if value is not None}
            for signal in report.signals
        ],
    }


def describe(signal: "ProvenanceSignal") -> str:
    """``detected (valid), gpt-image-2, generated 2026-12-06T09:00:00Z``."""
    said = signal.outcome.replace("_", " ")
    if signal.validation_state:
        said += f" (manifest {signal.validation_state.replace('_', ' ')})"
    said += "".join(
        f", {label}{value}"
        for label, value in (
            ("issuer ", signal.issuer),
            ("", signal.model),
            ("generated ", signal.generated_at),
        )
        if value
    )
    return said


def describe_verdict(report: "ProvenanceReport") -> str:
    """``detected by C2PA, SynthID (checked 2026-12-06T09:00:00+00:00)``, for ``show``."""
    found = [
        SIGNAL_NAMES.get(signal.type, signal.type)
        for signal in report.signals
        if signal.outcome == "detected"
    ]
    verdict = f"detected by {', '.join(found)}" if found else "not detected"
    return f"{verdict} (checked {output.iso_timestamp(report.checked_at)})"


def _print(report: "ProvenanceReport", *, guid: str | None, as_json: bool) -> None:
    if as_json:
        output.print_json(report_json(report, guid))
        return
    rows = {"Verdict": report.verdict.replace("_", " ")}
    for signal in report.signals:
        rows[SIGNAL_NAMES.get(signal.type, signal.type)] = describe(signal)
    rows["Checked"] = output.iso_timestamp(report.checked_at)
    if guid is not None:
        rows["Kept with"] = guid
    if report.verdict == "not_detected":
        rows["Note"] = NOT_DETECTED_NOTE
    output.print_fields(rows)
