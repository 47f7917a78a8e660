"""Shell completion of GUIDs: the images the user may see, newest first.

Typer's ``--install-completion`` / ``--show-completion`` install the shell's side; when the
shell asks, ``complete_guid`` answers from the configured database (or server). It is
bounded (the newest ``SCAN_LIMIT`` images are looked at, ``OFFER_LIMIT`` offered) and silent:
any error offers nothing, since a completion must never print an error into a prompt.
"""

from typing import Annotated

import typer

SCAN_LIMIT = 500
OFFER_LIMIT = 50
HELP_LENGTH = 60


def complete_guid(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """GUIDs that start with ``incomplete``, each with the start of its prompt as help."""
    if any(mark in incomplete for mark in "/.~"):
        return []  # a file (edit -i SOURCE): the shell completes paths itself
    try:
        return _guids(ctx, incomplete.lower())
    except BaseException:  # noqa: BLE001 - silent by design (see the module docstring)
        return []


def _guids(ctx: typer.Context, prefix: str) -> list[tuple[str, str]]:
    from pixyproxy_cli.commands.state import CliState
    from pixyproxy_cli.core.filters import image_filters

    root = ctx.find_root().params
    state = CliState(server=root.get("server"), local=bool(root.get("local")))
    try:
        state.backend().open_quietly()  # completing must not create a database
        images = state.prompts().get_all_images(
            limit=SCAN_LIMIT, filters=image_filters(order="newest")
        )
        offered = []
        for image in images:
            if image.guid.startswith(prefix):
                offered.append((image.guid, " ".join(image.prompt.split())[:HELP_LENGTH]))
                if len(offered) == OFFER_LIMIT:
                    break
        return offered
    finally:
        state.close()


GuidArgument = Annotated[
    str,
    typer.Argument(metavar="GUID", help="The image's GUID.", autocompletion=complete_guid),
]
"""One image's GUID, completed by the shell from the images the user may see."""
