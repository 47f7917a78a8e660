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

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from itertools import chain
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from pixyproxy_cli.core.constants import MEDIA_TYPE_FORMATS, PLACEHOLDER_PROVIDER

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
    "width",
    "height",
    "parents",
    "input_tokens",
    "output_tokens",
    "input_text_tokens",
    "input_image_tokens",
    "output_text_tokens",
    "output_image_tokens",
)
"""The ``images`` columns a listing page holds, in this order."""


RawValue = bytes | bytearray | int | str | None
RawRow = Sequence[RawValue]


class _ListedRow(NamedTuple):
    """A raw row by column name, for the careful paths (the fast one goes column by column).

    Its fields are ``PUBLIC_JSON_COLUMNS``, in order (a test holds them equal).
    """

    id: RawValue
    guid: RawValue
    prompt: RawValue
    is_private: RawValue
    owner: RawValue
    provider: RawValue
    model: RawValue
    media_type: RawValue
    created_at: RawValue
    updated_at: RawValue
    width: RawValue
    height: RawValue
    parents: RawValue
    input_tokens: RawValue
    output_tokens: RawValue
    input_text_tokens: RawValue
    input_image_tokens: RawValue
    output_text_tokens: RawValue
    output_image_tokens: RawValue


@dataclass(frozen=True)
class RowPage:
    """One page of a listing, and the id to go on after.

    The rows are the driver's raw rows of ``PUBLIC_JSON_COLUMNS``: only ``data/`` reads them.
    A caller above takes the page's images as models (``images``) or as the JSON lines of
    those models (``json_lines``, written without building a model per row), after the
    transaction that read the page has ended.
    """

    rows: Sequence[RawRow]
    last_id: int

    def __len__(self) -> int:
        """How many images the page holds."""
        return len(self.rows)

    def images(self) -> list[ImagePublic]:
        """The page's images, as their public models."""
        return public_images(self.rows)

    def json_lines(self) -> list[bytes]:
        """The page's images as JSON lines, byte for byte ``ImagePublic.model_dump_json()``."""
        return public_json_lines(self.rows)


# Field order and spelling are ImagePublic's, as pydantic dumps it (computed fields last);
# the fast path's per-page template (_Template) spells them alike.
_QUOTED = (
    b'{"guid":%s,"prompt":%s,"private":%s,"owner":%s,"provider":%s,"model":%s,'
    b'"media_type":%s,"width":%s,"height":%s,"parents":%s,"usage":%s,'
    b'"created_at":"%sZ","updated_at":"%sZ","format":%s,"placeholder":%s}'
)
_NULL = b"null"
_FORMATS = {
    media_type.encode(): f'"{name}"'.encode() for media_type, name in MEDIA_TYPE_FORMATS.items()
}
# What a stored parents array may hold (GUIDs, null, brackets, quotes, commas): a page whose
# arrays hold anything else is written the careful way, through json.
_PARENTS_CHARACTERS = b'0123456789abcdef-",[]nul'
_BYTES_OR_NULL = {bytes, bytearray, type(None)}
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

    The template is made for the page: a column that is NULL throughout (no usage, no
    parents, no owner: most pages) is written into it as ``null``, and one with no NULL is
    inserted as it is, so that only a column mixing both costs a step per row. Values are
    inserted as they are: the caller has made sure none needs escaping. Raises TypeError
    (a str value), KeyError (an unknown flag) or _NotFastError (a timestamp not stored the
    usual way, a number column of another kind).
    """
    if not columns:
        return []
    (
        _,
        guids,
        prompts,
        privates,
        owners,
        providers,
        models,
        media_types,
        created,
        updated,
        widths,
        heights,
        parents,
        inputs,
        outputs,
        *kinds,
    ) = cast(list[tuple[bytes, ...]], columns)
    template = _Template()
    template.add(b'{"guid":"%s","prompt":"%s","private":', guids, prompts)
    template.mapped(privates, _FLAGS.__getitem__)
    template.add(b',"owner":')
    template.nullable(owners, b'"%s"', lambda owner: b'"' + owner + b'"')
    template.add(b',"provider":"')
    template.mapped(providers)
    template.add(b'","model":"')
    template.mapped(models)
    template.add(b'","media_type":"')
    template.mapped(media_types)
    template.add(b'","width":')
    template.number(widths)
    template.add(b',"height":')
    template.number(heights)
    template.add(b',"parents":')
    _check_parents(parents)
    template.nullable(parents, b"%s", lambda value: value)
    template.add(b',"usage":')
    template.usage(inputs, outputs, kinds)
    template.add(
        b',"created_at":"%sZ","updated_at":"%sZ","format":',
        _json_timestamps(created),
        _json_timestamps(updated),
    )
    template.mapped(media_types, lambda media_type: _FORMATS.get(media_type, _NULL))
    template.add(b',"placeholder":')
    template.mapped(providers, lambda provider: _IS_PLACEHOLDER.get(provider, b"false"))
    template.add(b"}")
    return list(map(bytes(template.text).__mod__, zip(*template.values, strict=True)))


class _Template:
    """A page's ``bytes %`` template, and the columns that fill its ``%`` places, in order."""

    def __init__(self) -> None:
        self.text = bytearray()
        self.values: list[Iterable[RawValue]] = []

    def add(self, text: bytes, *values: Iterable[RawValue]) -> None:
        self.text += text
        self.values += values

    def mapped(self, column: Sequence[Any], write: Callable[[Any], bytes] | None = None) -> None:
        """A column as ``write`` gives each value (None: as it is).

        When every row holds the same value (most pages: one provider, model, format), it
        is written once, into the template.
        """
        first = column[0]
        if column.count(first) == len(column):
            self.text += (first if write is None else write(first)).replace(b"%", b"%%")
        else:
            self.add(b"%s", column if write is None else list(map(write, column)))

    def nullable(
        self, column: Sequence[RawValue], placeholder: bytes, one: Callable[[bytes], bytes]
    ) -> None:
        """A column of bytes or NULLs, written through ``placeholder`` (``one`` per row)."""
        nulls = column.count(None)
        if nulls == len(column):
            self.text += _NULL
        elif not nulls:
            self.add(placeholder, column)
        else:
            self.add(
                b"%s", [_NULL if value is None else one(cast(bytes, value)) for value in column]
            )

    def number(self, column: Sequence[RawValue]) -> None:
        """A column of whole numbers (digits as bytes, or ints) or NULLs."""
        nulls = column.count(None)
        if nulls == len(column):
            self.text += _NULL
            return
        kinds = set(map(type, column)) - {type(None)}
        if kinds <= {bytes, bytearray}:
            self.nullable(column, b"%s", lambda value: value)
        elif kinds == {int} and not nulls:
            self.add(b"%d", column)
        elif kinds == {int}:
            written = [_NULL if value is None else b"%d" % cast(int, value) for value in column]
            self.add(b"%s", written)
        else:
            raise _NotFastError

    def usage(
        self,
        inputs: Sequence[RawValue],
        outputs: Sequence[RawValue],
        kinds: Sequence[Sequence[RawValue]],
    ) -> None:
        """The usage object of each row: null unless both token counts are there.

        ``kinds`` are the four token-kind columns. A page none of whose images has them
        (the placeholder's, older images) is written column by column; otherwise each
        row's object is written on its own.
        """
        input_nulls, output_nulls = inputs.count(None), outputs.count(None)
        if input_nulls == len(inputs) or output_nulls == len(outputs):
            self.text += _NULL
        elif (
            not input_nulls
            and not output_nulls
            and all(column.count(None) == len(column) for column in kinds)
        ):
            self.add(b'{"input_tokens":')
            self.number(inputs)
            self.add(b',"output_tokens":')
            self.number(outputs)
            self.add(b',"input_tokens_details":null,"output_tokens_details":null}')
        else:
            self.add(
                b"%s",
                [_usage_json(*values) for values in zip(inputs, outputs, *kinds, strict=True)],
            )


def _check_parents(column: Sequence[RawValue]) -> None:
    """Stored parents arrays are JSON we wrote (GUIDs and nulls), to insert as they are.

    Raises _NotFastError when a value is not bytes or holds any other character.
    """
    if not set(map(type, column)) <= _BYTES_OR_NULL:
        raise _NotFastError
    stored = cast(list[bytes], [value for value in column if value is not None])
    if b"".join(stored).translate(None, _PARENTS_CHARACTERS):
        raise _NotFastError


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


def _careful_line(raw: RawRow) -> bytes:
    row = _ListedRow._make(raw)
    provider_text = _text(row.provider)
    parents = _parents(row.parents)
    image_format = MEDIA_TYPE_FORMATS.get(_text(row.media_type))
    return _QUOTED % (
        _quoted(row.guid),
        _quoted(row.prompt),
        _FLAGS.get(row.is_private, b"false"),
        b"null" if row.owner is None else _quoted(row.owner),
        _quoted(row.provider),
        _quoted(row.model),
        _quoted(row.media_type),
        _number(row.width),
        _number(row.height),
        _NULL if parents is None else _compact_json(parents),
        _usage_json(*_token_values(row)),
        _iso_utc(row.created_at),
        _iso_utc(row.updated_at),
        _NULL if image_format is None else _quoted(image_format),
        b"true" if provider_text == PLACEHOLDER_PROVIDER else b"false",
    )


def _optional_int(value: RawValue) -> int | None:
    return None if value is None else int(value)


def _number(value: RawValue) -> bytes:
    number = _optional_int(value)
    return _NULL if number is None else b"%d" % number


def _token_values(row: _ListedRow) -> tuple[RawValue, ...]:
    """A row's token columns: the totals, then the kinds, as ``_usage`` takes them."""
    return (
        row.input_tokens,
        row.output_tokens,
        row.input_text_tokens,
        row.input_image_tokens,
        row.output_text_tokens,
        row.output_image_tokens,
    )


def _usage(
    inputs: RawValue,
    outputs: RawValue,
    input_text: RawValue = None,
    input_image: RawValue = None,
    output_text: RawValue = None,
    output_image: RawValue = None,
) -> dict[str, Any] | None:
    """The usage object of an image whose provider reported both counts, else None."""
    if inputs is None or outputs is None:
        return None
    return {
        "input_tokens": int(inputs),
        "output_tokens": int(outputs),
        "input_tokens_details": _kinds(input_text, input_image),
        "output_tokens_details": _kinds(output_text, output_image),
    }


def _kinds(text: RawValue, image: RawValue) -> dict[str, int] | None:
    if text is None or image is None:
        return None
    return {"text_tokens": int(text), "image_tokens": int(image)}


def _usage_json(*values: RawValue) -> bytes:
    """``_usage`` of one row's token columns, as compact JSON (``null`` when absent)."""
    usage = _usage(*values)
    return _NULL if usage is None else _compact_json(usage)


def _parents(value: RawValue) -> list[str | None] | None:
    if value is None:
        return None
    parents: list[str | None] = json.loads(_text(value))
    return parents


def _compact_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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
            "guid": _text(row.guid),
            "prompt": _text(row.prompt),
            "private": _FLAGS.get(row.is_private, b"false") == b"true",
            "owner": None if row.owner is None else _text(row.owner),
            "provider": _text(row.provider),
            "model": _text(row.model),
            "media_type": _text(row.media_type),
            "width": _optional_int(row.width),
            "height": _optional_int(row.height),
            "parents": _parents(row.parents),
            "usage": _usage(*_token_values(row)),
            "created_at": _utc(row.created_at),
            "updated_at": _utc(row.updated_at),
        }
        for row in map(_ListedRow._make, rows)
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
