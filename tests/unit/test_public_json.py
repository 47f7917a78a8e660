"""The listing's JSON writer gives exactly what ``ImagePublic.model_dump_json()`` gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pixyproxy_cli.core.models import ImagePublic
from pixyproxy_cli.data.db.public_json import PUBLIC_JSON_COLUMNS, public_images, public_json_lines

GUID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
AWKWARD_TEXT = [
    "plain",
    'a sign saying "hello"',
    "back\\slash",
    "line\nbreak\ttab\rreturn\x08\x0c",
    "\x01\x1f\x7f\x80\x9f",
    "é 中文 🦊 \u2028\u2029 \ufeff",
    "</script>",
    "",
    "\x00".replace("\x00", "nul gone") + "'; DROP TABLE images; --",
]


def _expected(prompt: str, **fields) -> bytes:
    values = {
        "guid": GUID,
        "prompt": prompt,
        "private": False,
        "owner": None,
        "provider": "openai",
        "model": "gpt-image-1",
        "media_type": "image/png",
        "created_at": datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 26, 8, 0, 1, 250000, tzinfo=UTC),
        **fields,
    }
    return ImagePublic(**values).model_dump_json().encode()


KINDS = ("input_text_tokens", "input_image_tokens", "output_text_tokens", "output_image_tokens")
NUMBERS = ("id", "is_private", "width", "height", "input_tokens", "output_tokens", *KINDS)


def _row(prompt: str, *, as_bytes: bool = True, ints: bool = False, **fields) -> tuple:
    """A raw row: all bytes as mysql-connector's raw cursor gives it, or (``ints``) text as
    bytes and numbers as ints, as sqlite3 with a bytes text factory gives it."""
    values = {
        "id": 7,
        "guid": GUID,
        "prompt": prompt,
        "is_private": 0,
        "owner": None,
        "provider": "openai",
        "model": "gpt-image-1",
        "media_type": "image/png",
        "created_at": "2026-11-26 08:00:00.000000",
        "updated_at": "2026-11-26 08:00:01.250000",
        "width": None,
        "height": None,
        "parents": None,
        "input_tokens": None,
        "output_tokens": None,
        **dict.fromkeys(KINDS),
        **fields,
    }
    if as_bytes:
        values = {k: v.encode() if isinstance(v, str) else v for k, v in values.items()}
        if not ints:
            for column in NUMBERS:
                if values[column] is not None:
                    values[column] = str(int(values[column])).encode()
    return tuple(values[column] for column in PUBLIC_JSON_COLUMNS)


@pytest.mark.parametrize("kind", ["mysql", "sqlite", "str"])
def test_size_lineage_usage_and_format_match_pydantic(kind: str) -> None:
    other = "2c4e28ba-2fa1-11d2-883f-0016d3cca427"
    cases = [
        ({}, {}),
        (
            {"width": 1536, "height": 1024, "input_tokens": 50, "output_tokens": 0},
            {"width": 1536, "height": 1024, "usage": {"input_tokens": 50, "output_tokens": 0}},
        ),
        (
            {"parents": f'["{GUID}",null,"{other}"]', "media_type": "image/webp"},
            {"parents": [GUID, None, other], "media_type": "image/webp"},
        ),
        ({"media_type": "image/bmp", "input_tokens": 9}, {"media_type": "image/bmp"}),
        (
            {
                "input_tokens": 1290,
                "output_tokens": 1056,
                **dict(zip(KINDS, (50, 1240, 56, 1000), strict=True)),
            },
            {
                "usage": {
                    "input_tokens": 1290,
                    "output_tokens": 1056,
                    "input_tokens_details": {"text_tokens": 50, "image_tokens": 1240},
                    "output_tokens_details": {"text_tokens": 56, "image_tokens": 1000},
                }
            },
        ),
        (  # the input's kinds only (a streamed image's output is not detailed)
            {"input_tokens": 50, "output_tokens": 9, "input_text_tokens": 50, **{KINDS[1]: 0}},
            {
                "usage": {
                    "input_tokens": 50,
                    "output_tokens": 9,
                    "input_tokens_details": {"text_tokens": 50, "image_tokens": 0},
                }
            },
        ),
        ({"media_type": "image/jpeg", "width": 1, "height": 1}, {"width": 1, "height": 1}),
    ]
    cases[-1][1]["media_type"] = "image/jpeg"
    rows = [_row("p", as_bytes=kind != "str", ints=kind == "sqlite", **r) for r, _ in cases]
    expected = [_expected("p", **fields) for _, fields in cases]
    assert public_json_lines(rows) == expected
    assert [image.model_dump_json().encode() for image in public_images(rows)] == expected
    formats = [json.loads(line)["format"] for line in public_json_lines(rows)]
    assert formats == ["png", "png", "webp", None, "png", "png", "jpeg"]


def test_a_parents_value_we_did_not_write_goes_through_json() -> None:
    odd = '[ "1b4e28ba-2fa1-11d2-883f-0016d3cca427" ]'  # spaces: not our compact form
    line = public_json_lines([_row("p", parents=odd)])[0]
    assert line == _expected("p", parents=[GUID])


@pytest.mark.parametrize("as_bytes", [True, False], ids=["bytes", "str"])
@pytest.mark.parametrize("prompt", AWKWARD_TEXT)
def test_awkward_prompts_match_pydantic(prompt: str, as_bytes: bool) -> None:
    assert public_json_lines([_row(prompt, as_bytes=as_bytes)]) == [_expected(prompt)]


def test_every_ascii_and_latin1_character_matches_pydantic() -> None:
    prompts = [f"a{chr(code)}b" for code in range(1, 0x100)]
    assert public_json_lines([_row(p) for p in prompts]) == [_expected(p) for p in prompts]


@pytest.mark.parametrize("text", ['mod"el', "mo\\del", "mod\nel", "🦊"])
def test_every_text_field_is_escaped(text: str) -> None:
    row = _row("p", provider=text, model=text, media_type=text, guid=text)
    expected = _expected("p", provider=text, model=text, media_type=text, guid=text)
    assert public_json_lines([row]) == [expected]


def test_owner_privacy_and_placeholder_flags() -> None:
    rows = [
        _row("p", is_private=1, owner="alice"),
        _row("p", is_private=0, owner="bob.o'neil@example"),
        _row("p", provider="placeholder", model="placeholder-v1"),
        _row("p", as_bytes=False, is_private=1, owner="alice"),
    ]
    assert public_json_lines(rows) == [
        _expected("p", private=True, owner="alice"),
        _expected("p", owner="bob.o'neil@example"),
        _expected("p", provider="placeholder", model="placeholder-v1"),
        _expected("p", private=True, owner="alice"),
    ]


@pytest.mark.parametrize(
    ("stored", "moment"),
    [
        ("2026-11-26 08:00:00.000000", datetime(2026, 11, 26, 8, tzinfo=UTC)),
        ("2026-11-26 08:00:00.000001", datetime(2026, 11, 26, 8, 0, 0, 1, tzinfo=UTC)),
        ("2026-11-26 08:00:00", datetime(2026, 11, 26, 8, tzinfo=UTC)),
        ("2026-11-26T09:00:00+01:00", datetime(2026, 11, 26, 8, tzinfo=UTC)),
        ("0999-01-02 03:04:05.5", datetime(999, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
        (
            datetime(2026, 11, 26, 8, 0, 0, 120000),
            datetime(2026, 11, 26, 8, 0, 0, 120000, tzinfo=UTC),
        ),
    ],
)
def test_timestamps_as_pydantic_writes_them(stored, moment: datetime) -> None:
    raw = stored.encode() if isinstance(stored, str) else stored
    expected = _expected("p", created_at=moment, updated_at=moment)
    assert public_json_lines([_row("p", created_at=raw, updated_at=raw)]) == [expected]


def test_a_page_mixing_fast_and_careful_rows_keeps_its_order() -> None:
    prompts = [f"p{n}" if n % 3 else f'q"{n}' for n in range(12)]
    rows = [_row(p, as_bytes=n % 4 != 1) for n, p in enumerate(prompts)]
    assert public_json_lines(rows) == [_expected(p) for p in prompts]


def test_a_timestamp_that_is_not_one_is_an_error() -> None:
    with pytest.raises(ValueError, match="yesterday"):
        public_json_lines([_row("p", created_at=b"yesterday")])


def test_no_rows_no_lines() -> None:
    assert public_json_lines([]) == []


def test_random_pages_match_pydantic_row_for_row() -> None:
    # Seeded, so a failure reproduces: 40 pages of 50 rows, each row a random mix of plain
    # text, characters JSON escapes, non-ASCII and astral characters, owners, flags and
    # timestamps with and without a fraction, in raw bytes as the drivers give them.
    import random

    clean = [chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"\\'] + [
        *"éß中\u2028\ufeff🦊𝄞\x7f\x85"
    ]
    escaped = [chr(c) for c in range(0x01, 0x20)] + ['"', "\\"]
    rng = random.Random(7)

    def text(most: int) -> str:
        # Most pages take the fast path whole; some rows need escaping, as in real data.
        alphabet = clean + escaped if rng.random() < 0.02 else clean
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, most)))

    for _ in range(40):
        rows, expected = [], []
        for _ in range(50):
            moments = [
                datetime(2026, 11, 26, 8, rng.randint(0, 59), rng.randint(0, 59), micro, UTC)
                for micro in (rng.choice([0, rng.randint(0, 999_999)]) for _ in range(2))
            ]
            owner = rng.choice([None, "alice", "bob.o'neil@example"])
            fields = {
                "private": owner is not None and rng.random() < 0.5,
                "owner": owner,
                "provider": rng.choice(["openai", "placeholder", text(8)]),
                "model": text(12) or "m",
                "created_at": moments[0],
                "updated_at": moments[1],
            }
            width = rng.choice([None, rng.randint(1, 4096)])
            tokens = rng.choice([None, (rng.randint(0, 10**6), rng.randint(0, 10**6))])
            parents = rng.choice([None, [GUID], [None, GUID, None]])
            media_type = rng.choice(["image/png", "image/jpeg", "image/webp"])
            extra = {
                "width": width,
                "height": width and width + 1,
                "parents": parents,
                "media_type": media_type,
            }
            fields.update(extra)
            if tokens:
                fields["usage"] = {"input_tokens": tokens[0], "output_tokens": tokens[1]}
            prompt = text(60) or "p"
            expected.append(_expected(prompt, **fields))
            rows.append(
                _row(
                    prompt,
                    is_private=int(fields["private"]),
                    owner=owner,
                    provider=fields["provider"],
                    model=fields["model"],
                    created_at=moments[0].strftime("%Y-%m-%d %H:%M:%S.%f"),
                    updated_at=moments[1].strftime("%Y-%m-%d %H:%M:%S.%f"),
                    width=width,
                    height=width and width + 1,
                    parents=None if parents is None else json.dumps(parents).replace(" ", ""),
                    media_type=media_type,
                    input_tokens=tokens and tokens[0],
                    output_tokens=tokens and tokens[1],
                    ints=rng.random() < 0.5,
                )
            )
        assert public_json_lines(rows) == expected
        # The models the table output renders come from the same rows, and agree.
        assert [image.model_dump_json().encode() for image in public_images(rows)] == expected


def test_one_json_array_for_the_cli_and_the_api() -> None:
    from pixyproxy_cli.core.json_array import json_array

    assert b"".join(json_array([])) == b"[]\n"
    assert b"".join(json_array([[], []])) == b"[]\n"
    chunks = list(json_array([[b"1", b"2"], [], [b"3"]]))
    assert chunks == [b"[\n1,\n2", b",\n3", b"\n]\n"]  # one chunk per page, then the close
    assert json.loads(b"".join(chunks)) == [1, 2, 3]


def test_the_careful_paths_name_the_listing_columns_in_order() -> None:
    from pixyproxy_cli.data.db.public_json import _ListedRow

    assert _ListedRow._fields == PUBLIC_JSON_COLUMNS
