"""Row <-> model conversion, and the one timestamp format both backends store.

Rows arrive as dicts (MySQL's dictionary cursor, SQLite's row factory); models leave as
pydantic objects. Timestamps are UTC: written as naive-UTC text, which MySQL's DATETIME(6)
and SQLite's TEXT both accept, and read back as aware datetimes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import Image, ImageDetail, ImageFile, UserRecord
    from pixyproxy_cli.core.provenance import ProvenanceReport, ProvenanceSignal


def utc_now() -> datetime:
    """The current time in UTC, to the microsecond (what both backends store)."""
    return datetime.now(UTC)


def db_timestamp(moment: datetime) -> str:
    """Format an aware datetime as the naive-UTC text both backends store and accept.

    Always ``YYYY-MM-DD HH:MM:SS.ffffff``: the year has four digits (``strftime("%Y")``
    writes ``999`` for the year 999 on glibc, text that no reader parses and that sorts
    wrongly), so stored text sorts as the moments do.
    """
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def from_db_timestamp(value: datetime | str) -> datetime:
    """Read a stored timestamp (MySQL gives datetime, SQLite text) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


TOKEN_KIND_COLUMNS = (
    "input_text_tokens",
    "input_image_tokens",
    "output_text_tokens",
    "output_image_tokens",
)
"""The columns (and ImageDetail's fields) of the tokens' kinds (schema version 7)."""


def image_to_row(image: ImageDetail, now: datetime) -> dict[str, Any]:
    """The named parameters that insert ``image`` with both timestamps set to ``now``."""
    stamp = db_timestamp(now)
    return {
        "guid": image.guid,
        "filename": image.filename,
        "prompt": image.prompt,
        "owner": image.owner,
        "is_private": 1 if image.private else 0,
        "provider": image.provider,
        "model": image.model,
        "media_type": image.media_type,
        "created_at": stamp,
        "updated_at": stamp,
        "input_tokens": image.input_tokens,
        "output_tokens": image.output_tokens,
        **{name: getattr(image, name) for name in TOKEN_KIND_COLUMNS},
        "width": image.width,
        "height": image.height,
        "parents": None if image.parents is None else parents_json(image.parents),
    }


def parents_json(parents: list[str | None]) -> str:
    """An edit's sources as the compact JSON array the ``parents`` column holds."""
    return json.dumps(parents, separators=(",", ":"))


def parents_from_json(value: str | bytes | None) -> list[str | None] | None:
    """The ``parents`` column read back (None: not an edit)."""
    return None if value is None else json.loads(value)


def row_to_image(row: Mapping[str, Any]) -> Image:
    """Build an ``Image`` from a full ``images`` row."""
    from pixyproxy_cli.core.models import Image

    return Image.model_construct(
        id=int(row["id"]),
        guid=row["guid"],
        filename=row["filename"],
        prompt=row["prompt"],
        owner=row["owner"],
        private=bool(row["is_private"]),
        provider=row["provider"],
        model=row["model"],
        media_type=row["media_type"],
        created_at=from_db_timestamp(row["created_at"]),
        updated_at=from_db_timestamp(row["updated_at"]),
        input_tokens=_optional_int(row["input_tokens"]),
        output_tokens=_optional_int(row["output_tokens"]),
        input_text_tokens=_optional_int(row["input_text_tokens"]),
        input_image_tokens=_optional_int(row["input_image_tokens"]),
        output_text_tokens=_optional_int(row["output_text_tokens"]),
        output_image_tokens=_optional_int(row["output_image_tokens"]),
        width=_optional_int(row["width"]),
        height=_optional_int(row["height"]),
        parents=parents_from_json(row["parents"]),
    )


def row_problem(row: Mapping[str, Any]) -> str | None:
    """What keeps a full ``images`` row from being read back as stored, or None."""
    for column in ("created_at", "updated_at"):
        value = row[column]
        try:
            moment = from_db_timestamp(value)
        except (TypeError, ValueError):
            return f"{column} {value!r} is not a timestamp"
        if isinstance(value, str) and db_timestamp(moment) != value:
            return f"{column} {value!r} is not stored as YYYY-MM-DD HH:MM:SS.ffffff"
    try:
        row_to_image(row)
    except (TypeError, ValueError, KeyError) as error:
        return f"the row cannot be read: {error}"
    return None


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def row_to_image_file(row: Mapping[str, Any]) -> ImageFile:
    """Build an ``ImageFile`` from the file columns of an ``images`` row."""
    from pixyproxy_cli.core.models import ImageFile

    return ImageFile.model_construct(
        guid=row["guid"],
        filename=row["filename"],
        media_type=row["media_type"],
        private=bool(row["is_private"]),
        owner=row["owner"],
        updated_at=from_db_timestamp(row["updated_at"]),
    )


def row_to_user(row: Mapping[str, Any]) -> UserRecord:
    """Build a ``UserRecord`` from a ``roster`` row."""
    from pixyproxy_cli.core.models import UserRecord

    return UserRecord.model_construct(
        id=int(row["id"]),
        username=row["username"],
        password_hash=row["password_hash"],
        class_key=row["class_key"],
        created_at=from_db_timestamp(row["created_at"]),
        updated_at=from_db_timestamp(row["updated_at"]),
    )


def signals_json(signals: Sequence[ProvenanceSignal]) -> str:
    """A provenance check's signals as the compact JSON array ``provenance_checks`` keeps.

    Each is as the API gave it, its unset fields left out.
    """
    return json.dumps(
        [{k: v for k, v in asdict(signal).items() if v is not None} for signal in signals],
        separators=(",", ":"),
    )


def provenance_report(checked_at: Any, signals: str | bytes) -> ProvenanceReport:
    """A kept provenance check read back."""
    from pixyproxy_cli.core.provenance import ProvenanceReport, ProvenanceSignal

    return ProvenanceReport(
        checked_at=from_db_timestamp(checked_at),
        signals=tuple(ProvenanceSignal(**signal) for signal in json.loads(signals)),
    )
