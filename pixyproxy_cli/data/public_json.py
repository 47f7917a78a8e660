"""A listing page's images from the values a driver returns: as JSON texts, or as models.

``public_json_lines`` is the fast way (no model per row); ``public_images`` builds
``ImagePublic`` models for callers that render them.

Listing many images used to spend most of its time turning rows into pydantic models and
the models into JSON. ``public_json_lines`` writes the same bytes as
``ImagePublic.model_dump_json()`` from raw rows (text as UTF-8 bytes, integers as ints or
their digits as bytes), without building a model or even a ``str`` per field: one
``bytes % tuple`` per image, applied column-wise. A row the fast path cannot vouch for (a
value with a character JSON escapes, a str, an unusual timestamp) is written the careful way,
through json's own string encoder. The tests hold both paths byte-for-byte equal to pydantic
for every ASCII and Latin-1 character, awkward Unicode, and real rows of both backends.

This module lives in the data layer because it knows each driver's raw value formats
(mysql-connector's raw cursor: bytes for everything; sqlite3 with a bytes text factory:
bytes and ints). It imports nothing heavy, so that ``pixyproxy list --json`` need not load
pydantic's models at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from itertools import chain, repeat
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from pixyproxy_cli.core.constants import PLACEHOLDER_PROVIDER

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from pixyproxy_cli.core.models import ImagePublic

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
"""The ``images`` columns a listing page holds, in this order."""


RawValue = bytes | bytearray | int | str | None
RawRow = Sequence[RawValue]


class RowPage(NamedTuple):
    """One page of a listing: raw rows of ``PUBLIC_JSON_COLUMNS``, and the id to go on after."""

    rows: Sequence[RawRow]
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
_STORED_TIMESTAMP_LENGTH = len(b"2026-11-26 08:00:00.000000")
# What JSON escapes inside a string: a quote, a backslash, control characters.
_NEEDS_ESCAPING = re.compile(rb'["\\\x00-\x1f]')
# The same bytes mapped to NUL and the rest to 0x01: bytes.translate and a memchr-speed
# search check a whole page many times faster than the regular expression.
_ESCAPE_MAP = bytes(0 if byte < 0x20 or byte in b'"\\' else 1 for byte in range(256))
# is_private as the drivers give it (True and False hash as 1 and 0).
_FLAGS = {0: b"false", 1: b"true", b"0": b"false", b"1": b"true", "0": b"false", "1": b"true"}
_PLACEHOLDER = PLACEHOLDER_PROVIDER.encode()
_IS_PLACEHOLDER = {_PLACEHOLDER: b"true"}
# dict.get itself, so that map() calls C code per row (its overloads confuse type checkers).
_placeholder_flag: Any = _IS_PLACEHOLDER.get
# Positions in PUBLIC_JSON_COLUMNS of the values written inside JSON strings.
_TEXT_COLUMNS = (1, 2, 4, 5, 6, 7, 8, 9)
_OWNER_TEXT = _TEXT_COLUMNS.index(PUBLIC_JSON_COLUMNS.index("owner"))


class _NotFastError(Exception):
    """A page the column-wise writer cannot vouch for."""


def public_json_lines(rows: Sequence[RawRow]) -> list[bytes]:
    """The JSON text of each row's ``ImagePublic``, as UTF-8 bytes, in row order.

    Each row holds the values of ``PUBLIC_JSON_COLUMNS`` (the id is not written). Text
    values may be bytes (UTF-8) or str. Raises ValueError for a timestamp that is not a
    date and time.
    """
    if not rows:
        return []
    try:
        columns = list(zip(*rows, strict=True))
        texts = [columns[i] for i in _TEXT_COLUMNS]
        texts[_OWNER_TEXT] = tuple(filter(None, texts[_OWNER_TEXT]))  # no NULLs
        if b"\0" not in b"".join(chain.from_iterable(texts)).translate(_ESCAPE_MAP):
            return _fast_page(columns)
        # Some value holds a character JSON escapes: only its row is written carefully.
        dirty = {
            index
            for index, row in enumerate(rows)
            if any(
                _NEEDS_ESCAPING.search(cast(bytes, row[i]))
                for i in _TEXT_COLUMNS
                if row[i] is not None
            )
        }
        clean_rows = [row for index, row in enumerate(rows) if index not in dirty]
        clean = iter(_fast_page(list(zip(*clean_rows, strict=True))))
        return [
            _careful_line(row) if index in dirty else next(clean) for index, row in enumerate(rows)
        ]
    except (_NotFastError, TypeError, KeyError):  # str values, odd timestamps or flags
        return [_careful_line(row) for row in rows]


def _fast_page(columns: list[tuple[RawValue, ...]]) -> list[bytes]:
    """Every row through one ``bytes % tuple``, column by column: no Python code per row.

    Values are inserted as they are: the caller has made sure none needs escaping. Raises
    TypeError (a str value), KeyError (an unknown flag) or _NotFastError (a timestamp not
    stored the usual way).
    """
    if not columns:
        return []
    # Every value here is bytes or an int flag: a str makes `%` raise TypeError, which the
    # caller answers by writing the page the careful way.
    _, guids, prompts, privates, owners, providers, models, media_types, created, updated = cast(
        list[tuple[bytes, ...]], columns
    )
    return list(
        map(
            _FAST.__mod__,
            zip(
                guids,
                prompts,
                map(_FLAGS.__getitem__, privates),
                [b"null" if owner is None else b'"' + owner + b'"' for owner in owners],
                providers,
                models,
                media_types,
                _json_timestamps(created),
                _json_timestamps(updated),
                map(_placeholder_flag, providers, repeat(b"false")),
                strict=True,
            ),
        )
    )


def _json_timestamps(stored: Sequence[bytes]) -> list[bytes]:
    """``2026-11-26 08:00:00.000000`` (what both backends store) as pydantic writes it.

    Pydantic leaves out a zero fraction. The whole column is rewritten in one pass.
    """
    if set(map(len, stored)) != {_STORED_TIMESTAMP_LENGTH}:
        raise _NotFastError
    joined = b"\n".join(stored) + b"\n"
    rewritten = joined.replace(b" ", b"T").replace(b".000000\n", b"\n").split(b"\n")
    if len(rewritten) != len(stored) + 1:
        raise _NotFastError
    rewritten.pop()
    return rewritten


def _careful_line(row: RawRow) -> bytes:
    _, guid, prompt, private, owner, provider, model, media_type, created, updated = row
    provider_text = _text(provider)
    return _QUOTED % (
        _quoted(guid),
        _quoted(prompt),
        _FLAGS.get(private, b"false"),
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
    quoted: str = encode_basestring(_text(value))
    return quoted.encode("utf-8")


def _iso_utc(value: RawValue | datetime) -> bytes:
    """A stored timestamp (naive means UTC) as pydantic writes it, without the ``Z``."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(_text(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat().encode("ascii")


def public_images(rows: Sequence[RawRow]) -> list[ImagePublic]:
    """The ``ImagePublic`` model of each row, validated in one batch.

    No model is built row by row in Python. Raises ValueError for a timestamp that is not a
    date and time.
    """
    items = [
        {
            "guid": _text(guid),
            "prompt": _text(prompt),
            "private": _FLAGS.get(private, b"false") == b"true",
            "owner": None if owner is None else _text(owner),
            "provider": _text(provider),
            "model": _text(model),
            "media_type": _text(media_type),
            "created_at": _utc(created),
            "updated_at": _utc(updated),
        }
        for _, guid, prompt, private, owner, provider, model, media_type, created, updated in rows
    ]
    return _public_list().validate_python(items)


@cache
def _public_list() -> TypeAdapter[list[ImagePublic]]:
    from pydantic import TypeAdapter

    from pixyproxy_cli.core.models import ImagePublic

    return TypeAdapter(list[ImagePublic])


def _utc(value: RawValue | datetime) -> datetime:
    """A stored timestamp (naive means UTC) as an aware UTC datetime."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(_text(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
