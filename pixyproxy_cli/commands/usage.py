"""``pixyproxy usage``: the images made and the tokens they used, summed, priced if set."""

from datetime import datetime
from typing import Annotated

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.options import JsonOutput
from pixyproxy_cli.commands.state import state
from pixyproxy_cli.core.constants import UsageGrouping


def usage(
    ctx: typer.Context,
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Only images made on or after this day (UTC)."),
    ] = None,
    by: Annotated[UsageGrouping, typer.Option(help="Sum by day, model or user.")] = "day",
    as_json: JsonOutput = False,
) -> None:
    """Sum the images made and the tokens they used, by day, model or user.

    Tokens are what the provider reported for each image (the placeholder reports none);
    IMAGE-IN counts an edit's source images among the input, and --json has every kind
    the API details (text and image, in and out). With IMAGE_PRICES set (US dollars per
    million tokens: MODEL=INPUT:OUTPUT, or by kind MODEL=TEXT_IN:IMAGE_IN:OUTPUT or
    MODEL=TEXT_IN:IMAGE_IN:IMAGE_OUT:TEXT_OUT), each line also has its estimated cost.
    This is the local view of every image in the database; the REST API's GET /usage
    shows a user their own (and so does this command with a server). On a terminal: a
    table; in a pipe: one tab-separated line a group (key, images, input, image input,
    output, cost in USD or -).

    Examples:

        pixyproxy usage

        pixyproxy usage --since 2026-11-01 --by model

        pixyproxy usage --by user --json | jq '.[] | select(.cost != null)'
    """
    lines = state(ctx).backend().usage(by, since)
    if as_json:
        output.print_json([line.__dict__ for line in lines])
        return
    console = output.out()
    if not console.is_terminal:  # as list: one tab-separated line a group, for pipes
        output.print_lines(
            "\t".join(
                (
                    line.key or "(anonymous)",
                    str(line.images),
                    str(line.input_tokens),
                    str(line.input_image_tokens),
                    str(line.output_tokens),
                    "-" if line.cost is None else f"{line.cost:.6f}",
                )
            )
            for line in lines
        )
        return
    header = (
        f"{by.upper():<24} {'IMAGES':>7} {'INPUT':>10} {'IMAGE-IN':>9} {'OUTPUT':>12} {'COST':>10}"
    )
    console.print(header, markup=False)
    for line in lines:
        cost = "-" if line.cost is None else f"${line.cost:,.4f}"
        key = line.key or "(anonymous)"
        console.print(
            f"{key:<24} {line.images:>7,} {line.input_tokens:>10,} "
            f"{line.input_image_tokens:>9,} {line.output_tokens:>12,} {cost:>10}",
            markup=False,
        )
