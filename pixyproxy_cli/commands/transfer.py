"""``pixyproxy export`` and ``pixyproxy import``: move images between installations."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.errors import ExitCode
from pixyproxy_cli.commands.options import JsonOutput, ModelFilter, SearchText, Since, Until
from pixyproxy_cli.commands.state import state
from pixyproxy_cli.core.constants import Provision
from pixyproxy_cli.core.filters import image_filters

if TYPE_CHECKING:
    from pixyproxy_cli.service.interfaces import PromptServiceInterface

Directory = Annotated[
    Path,
    typer.Argument(metavar="DIR", help="The export's directory.", file_okay=False),
]


def export(
    ctx: typer.Context,
    directory: Directory,
    search: SearchText = None,
    since: Since = None,
    until: Until = None,
    model: ModelFilter = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only images you made.")] = False,
    private: Annotated[bool, typer.Option("--private", help="Only your private images.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a directory that is not empty.")
    ] = False,
    everything: Annotated[
        bool,
        typer.Option(
            "--all",
            help="As the local admin (this machine's database): every image, other users' "
            "private ones too.",
        ),
    ] = False,
    as_json: JsonOutput = False,
) -> None:
    """Export the images you may see: their files and one JSON Lines file of details.

    DIR gets images/ (the files, byte for byte), images.jsonl (one image's details per
    line: GUID, prompt, owner, private, timestamps, parents, usage, and the file's size and
    SHA-256) and manifest.json, written last: a DIR without it is an export that did not
    finish. Take the listing's filters to export part of them. An image whose file is
    missing is left out with a warning, and the exit code is 1. Other users' private
    images are left out, and said so with their count; the local admin exports them too
    with --all.

    Examples:

        pixyproxy export ~/pixyproxy-export

        pixyproxy export --all ~/pixyproxy-backup

        pixyproxy export ./lighthouses --search lighthouse --since 2026-11-01
    """
    filters = image_filters(search=search, since=since, until=until, model=model)
    cli = state(ctx)
    backend = cli.backend()
    prompts: PromptServiceInterface
    if everything:
        refusal = "--all works on this machine's database: use --local"
        prompts = backend.admin_prompts(refusal).everything_view()
    else:
        prompts = cli.prompts()
    # What a plain export leaves out (--mine and --private ask for one's own anyway).
    hidden = None if mine or private else 0 if everything else backend.hidden_images(filters)
    transfer = cli.services().transfer
    with output.progress_bar("Exporting", None) as tick:
        summary = transfer.export_images(
            prompts,
            directory,
            filters=filters,
            mine=mine,
            private=True if private else None,
            force=force,
            tick=tick,
        )
    if as_json:
        output.print_json(
            {
                "exported": summary.done,
                "skipped": summary.skipped,
                "missing_files": summary.missing_files,
                "private_left_out": hidden,
            }
        )
    else:
        noun = "image" if summary.done == 1 else "images"
        output.out().print(f"Exported {summary.done} {noun} to {directory}", markup=False)
    if hidden:
        output.notice(
            f"{hidden} private image(s) of other users left out: you may not see them "
            "(the local admin exports them too with --all)"
        )
    if summary.skipped:
        output.warning(
            f"{summary.skipped} image(s) left out: their files are missing "
            f"({', '.join(summary.missing_files)}); pixyproxy doctor tells more"
        )
        raise typer.Exit(ExitCode.ERROR)


def import_images(
    ctx: typer.Context,
    directory: Directory,
    create_users: Annotated[
        bool,
        typer.Option(
            "--create-users",
            help="Add owners missing from this roster, without a password (user passwd).",
        ),
    ] = False,
    as_json: JsonOutput = False,
) -> None:
    """Import an export into the configured database and image directory.

    GUIDs and timestamps are kept; images already here are skipped, so an interrupted
    import can simply be run again. Owners must be users here: the missing ones are
    listed and nothing is imported, unless --create-users adds them (they cannot log in
    until pixyproxy user passwd NAME gives them a password). This is how a laptop's
    SQLite moves to a team's MariaDB.

    Examples:

        pixyproxy export ~/pixyproxy-export

        DB_BACKEND=mysql DB_HOST=db.example.org pixyproxy import ~/pixyproxy-export --create-users
    """
    services = state(ctx).services(Provision.SCHEMA)
    total = services.transfer.count_export(directory)
    with output.progress_bar("Importing", total) as tick:
        summary = services.transfer.import_images(directory, create_users=create_users, tick=tick)
    if as_json:
        output.print_json(
            {
                "imported": summary.done,
                "skipped": summary.skipped,
                "created_users": summary.created_users,
            }
        )
        return
    noun = "image" if summary.done == 1 else "images"
    line = f"Imported {summary.done} {noun} from {directory}"
    if summary.skipped:
        line += f"; skipped {summary.skipped} already here"
    output.out().print(line, markup=False)
    if summary.created_users:
        output.notice(
            f"Added users without a password: {', '.join(summary.created_users)} "
            "(pixyproxy user passwd NAME gives one)"
        )
