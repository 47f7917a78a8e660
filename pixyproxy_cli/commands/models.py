"""``pixyproxy models``: the image models this API key may use, the default marked."""

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.options import JsonOutput
from pixyproxy_cli.commands.state import state


def models(ctx: typer.Context, as_json: JsonOutput = False) -> None:
    """List the image models the OpenAI API offers your key; the default is marked.

    The list comes from the API (one request), less the models the SDK documents as shut
    down. The default is OPENAI_IMAGE_MODEL, shown as not available when the API does not
    offer it, or as shut down (when, and what to use instead) when the SDK says so.
    Without OPENAI_API_KEY nothing is listed, and a notice says why.

    Examples:

        pixyproxy models

        pixyproxy models --json | jq -r '.[] | select(.available) | .id'
    """
    listing = state(ctx).backend().models()
    if listing.notice:
        output.notice(listing.notice)
    if as_json:
        output.print_json([entry.__dict__ for entry in listing.models])
        return
    console = output.out()
    for entry in listing.models:
        shut_down = entry.advice is not None
        marks = [
            mark
            for mark, shown in (
                ("default", entry.default),
                (f"shut down {entry.shutdown_date}: {entry.advice}", shut_down),
                ("not available to this key", not entry.available and not shut_down),
                (f"shuts down {entry.shutdown_date}", bool(entry.shutdown_date) and not shut_down),
            )
            if shown
        ]
        console.print(entry.id + (f"  ({', '.join(marks)})" if marks else ""), markup=False)
