"""What a listing keeps and in which order, beyond who may see what: search, dates, model.

``image_filters`` turns what a user typed (the CLI's flags, ``GET /image``'s query) into an
``ImageFilters``, with the same checks and messages for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from pixyproxy_cli.core.exceptions import InputValidationError

if TYPE_CHECKING:
    from pixyproxy_cli.core.search import SearchTerms

ORDERS = ("oldest", "newest")
MAX_MODEL_LENGTH = 64
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
"""Moments are clamped to these: no image is older, and both databases store these."""
MOMENT_SCHEMA = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
}
"""A moment as the API's schema describes it (``parse_moment`` reads both, and more)."""


@dataclass(frozen=True)
class ImageFilters:
    """What a listing keeps, validated, and its order.

    Images whose prompt matches ``search``, made from ``since`` to ``until`` (both included,
    UTC) with ``model``; oldest first unless ``newest_first``.
    """

    search: SearchTerms | None = None
    since: datetime | None = None
    until: datetime | None = None
    model: str | None = None
    newest_first: bool = False


def parse_moment(text: str, what: str, *, end_of_day: bool = False) -> datetime:
    """A date (``2026-11-30``) or a time (``2026-11-30T14:00``, ``...Z``, ``...+01:00``), UTC.

    A time without an offset is UTC. A date alone is the start of that day, or with
    ``end_of_day`` its last microsecond (so ``--until 2026-11-30`` includes the 30th).
    Raises InputValidationError naming ``what``.
    """
    text = text.strip() if isinstance(text, str) else ""
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
            if end_of_day:
                moment = min(moment, LATEST - timedelta(days=1)) + timedelta(
                    days=1, microseconds=-1
                )
        else:
            moment = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            moment = _in_utc(moment)
    except (ValueError, OverflowError):
        raise InputValidationError(
            f"{what} must be a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]), "
            f"not {text!r}"
        ) from None
    return min(max(moment, EARLIEST), LATEST)


def _in_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; one that UTC cannot reach (year 1 or 9999) at the nearer end."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return EARLIEST if moment.year == datetime.min.year else LATEST


def image_filters(
    *,
    search: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    model: str | None = None,
    order: str = "oldest",
) -> ImageFilters:
    """The filters these user-given values describe. Raises InputValidationError."""
    if order not in ORDERS:
        raise InputValidationError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    start = since if isinstance(since, datetime) or since is None else parse_moment(since, "since")
    end = (
        until
        if isinstance(until, datetime) or until is None
        else parse_moment(until, "until", end_of_day=True)
    )
    if model is not None and not 1 <= len(model) <= MAX_MODEL_LENGTH:
        raise InputValidationError(f"model must be 1 to {MAX_MODEL_LENGTH} characters")
    terms = None
    if search is not None:  # the search rules load only for a search
        from pixyproxy_cli.core.search import parse_search

        terms = parse_search(search)
    return ImageFilters(
        search=terms,
        since=start,
        until=end,
        model=model,
        newest_first=order == "newest",
    )
