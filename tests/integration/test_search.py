"""Search and filters over real SQLite (FTS5) and MariaDB (InnoDB FULLTEXT): each engine finds
exactly what the rule in core/search.py says, hostile text included, and the index keeps in
step with every write."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pixyproxy_cli.core.exceptions import InputValidationError, StorageError
from pixyproxy_cli.core.filters import image_filters
from pixyproxy_cli.core.models import ImageDetailCreate, User
from pixyproxy_cli.core.search import matches, parse_search
from pixyproxy_cli.data.init import create_database
from pixyproxy_cli.service.init import build_services
from tests.fakes import FakeProvider, Journal

PROMPTS = [
    "A lighthouse at dawn",
    "lighthouses of the north sea",
    "a highlight of the evening",
    "rock'n'roll fox, 50% off",
    "500 foxes",
    "my_file.png on a desk",
    "e-mail from the lighthouse keeper",
    'a "quoted" word and a back\\slash',
    "Маяк на рассвете",
    "маяк ночью",
    "Café du matin",
    "🦄 unicorn at dawn",
    "🐙 octopus at dawn",
    "海边的灯塔",
    "灯塔 lighthouse",
    "100% _underscored_ %percent%",
    "NEAR AND OR NOT * + - ( ) ~ < > @ : ^",
    "O'Reilly's lighthouse",
]

QUERIES = [
    "lighthouse",
    "LIGHT",
    "light dawn",
    "dawn light",
    "highlight",
    "the",
    "at",
    "a",
    "rock'n'roll",
    "50%",
    "%",
    "_",
    "%_",
    "my_file",
    "my_file.png",
    "e-mail",
    '"quoted"',
    '"',
    "'",
    "\\",
    "back\\slash",
    "маяк",
    "МАЯК",
    "cafe",
    "café",
    "🦄",
    "🐙 octopus",
    "灯塔",
    "海边",
    "NEAR",
    "AND",
    "OR NOT",
    "*",
    "+",
    "-",
    "(",
    ")",
    "~",
    "@",
    "<",
    ":",
    "^",
    "light*",
    "+light -dawn",
    '"light',
    "reilly",
    "o'reilly's",
    "x" * 100,
    "lighthouse " * 3,
    "nothing-matches-this",
]


@pytest.fixture
def services(backend_settings):
    database = create_database(backend_settings)
    built = build_services(backend_settings, provider=FakeProvider(Journal()), database=database)
    yield built
    database.close()


@pytest.fixture
def stored(services):
    guids = {}
    for prompt in PROMPTS:
        guids[prompt] = services.prompts.generate_image(ImageDetailCreate(prompt=prompt)).guid
    return guids


def found(services, **filters) -> list[str]:
    return [
        image.prompt for image in services.prompts.get_all_images(filters=image_filters(**filters))
    ]


@pytest.mark.parametrize("query", QUERIES)
def test_each_engine_finds_exactly_what_the_rule_says(services, stored, query):
    terms = parse_search(query)
    expected = [prompt for prompt in PROMPTS if matches(prompt, terms)]

    assert found(services, search=query) == expected
    assert found(services, search=query, order="newest") == expected[::-1]


def test_what_the_rule_says_is_what_a_person_expects():
    def hits(query):
        return [prompt for prompt in PROMPTS if matches(prompt, parse_search(query))]

    assert hits("light dawn") == ["A lighthouse at dawn"]
    assert hits("МАЯК") == ["Маяк на рассвете", "маяк ночью"]
    assert hits("🦄") == ["🦄 unicorn at dawn"]
    assert hits("50%") == ["rock'n'roll fox, 50% off"]
    assert hits("_") == ["my_file.png on a desk", "100% _underscored_ %percent%"]
    assert hits("cafe") == ["Café du matin"]
    assert hits("highlight") == ["a highlight of the evening"]  # not lighthouse
    assert "a highlight of the evening" not in hits("light")  # words begin with the term
    assert hits("灯塔") == ["海边的灯塔", "灯塔 lighthouse"]


def test_json_pages_find_the_same_as_models(services, stored):
    pages = services.prompts.get_all_images_json_pages(filters=image_filters(search="dawn"))
    texts = [line for page in pages for line in page]

    assert len(texts) == len(found(services, search="dawn")) == 3


def test_search_pages_with_after_in_both_orders(services, stored):
    everything = [
        image.guid
        for image in services.prompts.get_all_images(filters=image_filters(search="lighthouse"))
    ]
    assert len(everything) == 5
    for order, expected in (("oldest", everything), ("newest", everything[::-1])):
        filters = image_filters(search="lighthouse", order=order)
        first = [i.guid for i in services.prompts.get_all_images(limit=2, filters=filters)]
        rest = [i.guid for i in services.prompts.get_all_images(after=first[-1], filters=filters)]
        assert first + rest == expected


def test_search_keeps_to_what_the_caller_may_see(services):
    alice = services.prompts_for(User(username="alice", class_key="k"))
    services.users.add_user({"username": "alice", "password": "a long password", "class_key": "k"})
    alice.generate_image(ImageDetailCreate(prompt="secret lighthouse", private=True))
    services.prompts.generate_image(ImageDetailCreate(prompt="public lighthouse"))

    assert found(services, search="lighthouse") == ["public lighthouse"]
    mine = [i.prompt for i in alice.get_all_images(filters=image_filters(search="lighthouse"))]
    assert mine == ["secret lighthouse", "public lighthouse"]
    assert [
        i.prompt
        for i in alice.get_all_images(private=True, filters=image_filters(search="lighthouse"))
    ] == ["secret lighthouse"]


def test_the_index_follows_deletes_and_failed_inserts(services, monkeypatch):
    admin = services.prompts_for(None)
    admin = type(admin)(
        type(admin.dependencies)(**{**admin.dependencies.__dict__, "local_admin": True})
    )
    kept = admin.generate_image(ImageDetailCreate(prompt="kept lighthouse"))
    gone = admin.generate_image(ImageDetailCreate(prompt="deleted lighthouse"))
    admin.delete_images([gone.guid])

    def refuse(filename, data):
        raise StorageError("disk full")

    # A generate that fails rolls back its row, and the index with it.
    store = services.prompts.dependencies.store
    monkeypatch.setattr(store, "save", refuse)
    with pytest.raises(StorageError):
        services.prompts.generate_image(ImageDetailCreate(prompt="failed lighthouse"))

    assert [
        i.guid for i in services.prompts.get_all_images(filters=image_filters(search="lighthouse"))
    ] == [kept.guid]


def test_filters_by_dates_and_model(services):
    moments = iter(
        [
            datetime(2026, 11, 29, 23, 59, tzinfo=UTC),
            datetime(2026, 11, 30, 12, tzinfo=UTC),
            datetime(2026, 12, 1, 0, 0, tzinfo=UTC),
        ]
    )
    clocked = type(services.prompts)(
        type(services.prompts.dependencies)(
            **{**services.prompts.dependencies.__dict__, "clock": lambda: next(moments)}
        )
    )
    for prompt in ("before", "on the 30th", "after"):
        clocked.generate_image(ImageDetailCreate(prompt=prompt))

    assert found(services, since="2026-11-30", until="2026-11-30") == ["on the 30th"]
    assert found(services, since="2026-11-30T12:00:00Z") == ["on the 30th", "after"]
    assert found(services, until="2026-11-30T11:59:59.999999") == ["before"]
    assert found(services, since="2026-11-30T13:00+01:00", until="2026-11-30T12:00") == [
        "on the 30th"
    ]
    assert found(services, model="fake-model", order="newest") == [
        "after",
        "on the 30th",
        "before",
    ]
    assert found(services, model="gpt-image-1") == []
    assert found(services, since="2026-12-02", until="2026-12-01") == []  # an empty range


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"search": "   "}, "search text must not be blank"),
        ({"search": "a\x00b"}, "search text must not contain NUL characters"),
        ({"search": "x" * 501}, "search text must be at most 500 characters"),
        ({"search": " ".join(f"w{n}" for n in range(17))}, "search text must be at most 16 words"),
        ({"since": "yesterday"}, "since must be a date (YYYY-MM-DD) or a time"),
        ({"until": "2026-13-01"}, "until must be a date (YYYY-MM-DD) or a time"),
        ({"order": "random"}, "order must be one of oldest, newest, not 'random'"),
        ({"model": ""}, "model must be 1 to 64 characters"),
    ],
)
def test_bad_filters_are_refused_with_a_message(filters, message):
    with pytest.raises(InputValidationError) as refused:
        image_filters(**filters)
    assert str(refused.value).startswith(message)


def test_doctor_checks_that_the_index_keeps_three_letter_words(services):
    from pixyproxy_cli.service.admin import search_index_check

    [check] = [c for c in services.admin.diagnose() if c.name == "search index"]
    shorter = search_index_check(3)
    longer = search_index_check(4)

    assert check.status == "ok"  # this machine's MariaDB and SQLite: the defaults
    expected = "InnoDB FULLTEXT" if services.database.dialect == "mysql" else "SQLite FTS5"
    assert check.detail.startswith(expected)
    assert shorter.status == "ok"
    assert (longer.status, longer.detail) == (
        "warn",
        "innodb_ft_min_token_size is 4: searches for words of 3 to 3 letters find nothing",
    )
    assert "OPTIMIZE TABLE images" in (longer.fix or "")
