"""An image's public JSON, written straight from the column values a database driver returns.

Listing many images used to spend most of its time turning rows into pydantic models and
the models into JSON. ``public_json_lines`` writes the same bytes as
``ImagePublic.model_dump_json()`` from raw rows (text as UTF-8 bytes, integers as ints or
their digits as bytes), without building a model or even a ``str`` per field: one
``bytes % tuple`` per image. The unit tests hold the two outputs byte-for-byte equal for
every character a prompt may contain; a row the fast path cannot vouch for (a character
JSON must escape, an unusual timestamp) is written the careful way instead.

This module imports nothing heavy, so that ``pixyproxy list --json`` need not load pydantic's
models at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import NamedTuple

PUBLIC_JSON_COLUMNS = (
    "id",
    "guid",
    "prompt",
    "is_private",
    "owner",
    "provider",
    "model",
    "media_type",
    "created_at",
    "updated_at",
)
"""The ``images`` columns ``public_json_lines`` reads, in this order."""

PLACEHOLDER_PROVIDER = "placeholder"
"""The provider name of the offline renderer (``ImagePublic.placeholder`` is derived from it)."""

RawValue = bytes | bytearray | int | str | None
RawRow = Sequence[RawValue]


class JsonPage(NamedTuple):
    """One page of a listing as JSON texts, and the internal id to continue after."""

    lines: list[bytes]
    last_id: int


# Field order and spelling are ImagePublic's, as pydantic dumps it (computed field last).
_FAST = (
    b'{"guid":"%s","prompt":"%s","private":%s,"owner":%s,"provider":"%s","model":"%s",'
    b'"media_type":"%s","created_at":"%sZ","updated_at":"%sZ","placeholder":%s}'
)
_QUOTED = (
    b'{"guid":%s,"prompt":%s,"private":%s,"owner":%s,"provider":%s,"model":%s,'
    b'"media_type":%s,"created_at":"%sZ","updated_at":"%sZ","placeholder":%s}'
)
_FAST_QUOTES = _FAST.count(b'"')
_STORED_TIMESTAMP_LENGTH = len(b"2026-11-26 08:00:00.000000")
# Bytes JSON must escape inside a string (control characters, backslash) become NUL, the
# rest 0x01, so that one memchr-speed search finds them in a whole page at once.
_ESCAPE_MAP = bytes(0 if byte < 0x20 or byte == ord("\\") else 1 for byte in range(256))
_TRUE = (1, b"1", "1", True)
_PLACEHOLDER = PLACEHOLDER_PROVIDER.encode()


def public_json_lines(rows: Sequence[RawRow]) -> list[bytes]:
    """The JSON text of each row's ``ImagePublic``, as UTF-8 bytes, in row order.

    Each row holds the values of ``PUBLIC_JSON_COLUMNS`` (the id is not written). Text
    values may be bytes (UTF-8) or str. Raises ValueError for a timestamp that is not a
    date and time.
    """
    lines: list[bytes | None] = []
    append = lines.append
    quotes = 0  # how many quote characters the fast lines would hold if no value had one
    for row in rows:
        _, guid, prompt, private, owner, provider, model, media_type, created, updated = row
        try:
            if len(created) != _STORED_TIMESTAMP_LENGTH or len(updated) != _STORED_TIMESTAMP_LENGTH:
                raise TypeError
            # bytes % str raises TypeError: str rows take the careful path.
            append(
                _FAST
                % (
                    guid,
                    prompt,
                    b"true" if private in _TRUE else b"false",
                    b"null" if owner is None else b'"' + owner + b'"',
                    provider,
                    model,
                    media_type,
                    # Stored as "2026-11-26 08:00:00.000000"; pydantic omits a zero fraction.
                    created.replace(b" ", b"T", 1).removesuffix(b".000000"),
                    updated.replace(b" ", b"T", 1).removesuffix(b".000000"),
                    b"true" if provider == _PLACEHOLDER else b"false",
                )
            )
            quotes += _FAST_QUOTES if owner is None else _FAST_QUOTES + 2
        except TypeError:
            append(None)
    fast = [line for line in lines if line is not None]
    page = b"".join(fast)
    if page.count(b'"') != quotes or b"\0" in page.translate(_ESCAPE_MAP):
        # Some value holds a character JSON escapes: find which lines, redo only those.
        for index, line in enumerate(lines):
            if line is not None and _needs_escaping(line, rows[index][4] is None):
                lines[index] = None
    return [
        _careful_line(row) if line is None else line for row, line in zip(rows, lines, strict=True)
    ]


def _needs_escaping(line: bytes, owner_is_null: bool) -> bool:
    expected = _FAST_QUOTES if owner_is_null else _FAST_QUOTES + 2
    return line.count(b'"') != expected or b"\0" in line.translate(_ESCAPE_MAP)


def _careful_line(row: RawRow) -> bytes:
    _, guid, prompt, private, owner, provider, model, media_type, created, updated = row
    provider_text = _text(provider)
    return _QUOTED % (
        _quoted(guid),
        _quoted(prompt),
        b"true" if private in _TRUE else b"false",
        b"null" if owner is None else _quoted(owner),
        _quoted(provider),
        _quoted(model),
        _quoted(media_type),
        _iso_utc(created),
        _iso_utc(updated),
        b"true" if provider_text == PLACEHOLDER_PROVIDER else b"false",
    )


def _text(value: RawValue) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8")
    return str(value)


def _quoted(value: RawValue) -> bytes:
    return encode_basestring(_text(value)).encode("utf-8")


def _iso_utc(value: RawValue | datetime) -> bytes:
    """A stored timestamp (naive means UTC) as pydantic writes it, without the ``Z``."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(_text(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat().encode("ascii")
