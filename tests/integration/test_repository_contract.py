"""One repository contract, run against SQLite, a real MariaDB server, and the unit tests'
fakes (tests/fakes.py), so that what the service tests learn from a fake is what the
databases do."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial

import pytest

from pixyproxy_cli.core.exceptions import ConstraintViolationError
from pixyproxy_cli.core.models import ImageDetail
from pixyproxy_cli.core.provenance import ProvenanceReport, ProvenanceSignal
from pixyproxy_cli.data.db.context import DatabaseContext, get_current_db_context
from pixyproxy_cli.data.db.interfaces import ImageQuery
from pixyproxy_cli.data.db.public_json import public_images
from pixyproxy_cli.data.init import create_database
from tests.fakes import FakeImageRepository, FakeUnitOfWork, FakeUserRepository, Journal

NOW = datetime(2026, 11, 26, 8, 30, 15, 123456, tzinfo=UTC)

INJECTION_STRINGS = [
    "'; DROP TABLE images; --",
    '" OR 1=1 --',
    "%(guid)s :guid ? %s",
    "Robert'); DELETE FROM roster WHERE ('1'='1",
    "\\'; SELECT SLEEP(5); -- \\",
]


def detail(prompt: str = "a lighthouse at dawn", **changes: object) -> ImageDetail:
    guid = str(uuid.uuid4())
    fields: dict[str, object] = {
        "prompt": prompt,
        "guid": guid,
        "filename": f"{guid}.png",
        "provider": "fake",
        "model": "fake-model",
        "media_type": "image/png",
    }
    fields.update(changes)
    return ImageDetail.model_construct(**fields)


ACTIVE: list = []
"""The units of work the test is inside, innermost last."""


class Current:
    """One repository of the unit of work the caller runs in: the tests name it once, and
    each unit they enter supplies it (on a database, what get_current_db_context() gives)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str):
        return getattr(getattr(ACTIVE[-1], self._name), attribute)


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql), "fake"])
def unit(request):
    """Opens a unit of work on each backend in turn: SQLite, MariaDB, the fakes."""
    database = None
    if request.param == "fake":
        journal = Journal()
        users = FakeUserRepository(journal)
        factory = partial(
            FakeUnitOfWork, journal, images=FakeImageRepository(journal, users), users=users
        )
    else:
        database = create_database(request.getfixturevalue(f"{request.param}_settings"))
        factory = partial(DatabaseContext, database)

    @contextmanager
    def entered() -> Iterator:
        with factory() as opened:
            if isinstance(opened, DatabaseContext):
                assert get_current_db_context() is opened
            ACTIVE.append(opened)
            try:
                yield opened
            finally:
                ACTIVE.pop()

    yield entered
    if database is not None:
        database.close()


@pytest.fixture
def repos(unit):
    return Current("images"), Current("users")


@pytest.fixture
def committed(unit):
    """Run a function in a committed transaction and return its result."""

    def run(work):
        with unit() as db:
            db.begin_transaction()
            result = work()
            db.commit_transaction()
        return result

    return run


def add_user(committed, users, name: str = "alice") -> None:
    committed(lambda: users.create_user(name, "$argon2id$fake", "staff", now=NOW))


# -- images ------------------------------------------------------------------------------


def test_created_image_round_trips_with_utc_timestamps(repos, committed):
    images, users = repos
    add_user(committed, users)
    made = detail(owner="alice", private=True)

    image_id = committed(lambda: images.create_image(made, now=NOW))
    found = committed(lambda: images.get_image_by_guid(made.guid))

    assert image_id > 0
    assert found is not None
    assert found.id == image_id
    assert found.model_dump(exclude={"id", "created_at", "updated_at"}) == made.model_dump()
    assert found.created_at == found.updated_at == NOW
    assert found.created_at.tzinfo is UTC


def test_unknown_guid_reads_as_none(repos, committed):
    images, _ = repos
    missing = str(uuid.uuid4())

    assert committed(lambda: images.get_image_by_guid(missing)) is None
    assert committed(lambda: images.get_image_file(missing)) is None


def test_duplicate_guid_is_a_constraint_violation(repos, committed):
    images, _ = repos
    first = detail()
    committed(lambda: images.create_image(first, now=NOW))
    clash = detail(guid=first.guid)

    with pytest.raises(ConstraintViolationError, match="same unique value"):
        committed(lambda: images.create_image(clash, now=NOW))


def test_private_image_without_owner_is_refused_by_the_database(repos, committed):
    images, _ = repos

    with pytest.raises(ConstraintViolationError):
        committed(lambda: images.create_image(detail(private=True, owner=None), now=NOW))


def test_owner_must_be_on_the_roster(repos, committed):
    images, _ = repos

    with pytest.raises(ConstraintViolationError, match="reference"):
        committed(lambda: images.create_image(detail(owner="ghost"), now=NOW))


def test_emoji_and_four_byte_utf8_prompts_round_trip_byte_identical(repos, committed):
    images, _ = repos
    prompt = "a 🐉 over 𝔐𝔬𝔲𝔫𝔱 富士 at dawn 🌅 — naïve café, zero-width\u200bjoiner 👩‍👩‍👧"
    made = detail(prompt)

    committed(lambda: images.create_image(made, now=NOW))
    found = committed(lambda: images.get_image_by_guid(made.guid))

    assert found.prompt.encode("utf-8") == prompt.encode("utf-8")


@pytest.mark.parametrize("text", INJECTION_STRINGS)
def test_sql_injection_strings_are_stored_and_looked_up_literally(repos, committed, text):
    images, _ = repos
    made = detail(text)

    committed(lambda: images.create_image(made, now=NOW))

    assert committed(lambda: images.get_image_by_guid(made.guid)).prompt == text
    assert committed(lambda: images.get_image_by_guid(text)) is None
    assert committed(lambda: images.count_images()) == 1


def test_get_all_images_pages_by_id_with_visibility_and_filters(repos, committed):
    images, users = repos
    add_user(committed, users, "alice")
    add_user(committed, users, "bob")
    made = [
        detail("public 1"),
        detail("alice private", owner="alice", private=True),
        detail("alice public", owner="alice"),
        detail("bob private", owner="bob", private=True),
        detail("public 2"),
    ]
    ids = [committed(lambda item=item: images.create_image(item, now=NOW)) for item in made]
    assert ids == sorted(ids)

    def prompts(**query):
        found = committed(lambda: images.get_all_images(ImageQuery(limit=10, **query)))
        return [image.prompt for image in public_images(found.rows)]

    assert prompts() == ["public 1", "alice public", "public 2"]
    assert prompts(viewer="alice") == ["public 1", "alice private", "alice public", "public 2"]
    assert prompts(viewer="alice", owner="alice") == ["alice private", "alice public"]
    assert prompts(viewer="alice", private=True) == ["alice private"]
    assert prompts(viewer="bob", private=False) == ["public 1", "alice public", "public 2"]
    assert prompts(after_id=ids[2]) == ["public 2"]
    first_two = committed(lambda: images.get_all_images(ImageQuery(limit=2)))
    assert [i.prompt for i in public_images(first_two.rows)] == ["public 1", "alice public"]
    assert first_two.last_id == ids[2]
    assert committed(lambda: images.count_images()) == 5


def test_get_image_file_gives_name_type_and_visibility(repos, committed):
    images, users = repos
    add_user(committed, users)
    made = detail(owner="alice", private=True, media_type="image/webp")
    committed(lambda: images.create_image(made, now=NOW))

    found = committed(lambda: images.get_image_file(made.guid))

    assert found.filename == made.filename
    assert found.media_type == "image/webp"
    assert found.private is True
    assert found.owner == "alice"
    assert found.updated_at == NOW


def test_a_visible_image_is_found_only_by_those_who_may_see_it(repos, committed):
    images, users = repos
    for name in ("alice", "bob"):
        add_user(committed, users, name)
    private = detail(owner="alice", private=True)
    public = detail(owner="alice")
    for made in (private, public):
        committed(lambda made=made: images.create_image(made, now=NOW))

    def seen(guid, viewer):
        found = committed(lambda: images.get_visible_image(guid, viewer))
        return None if found is None else found.guid

    assert seen(private.guid, "alice") == private.guid
    assert seen(private.guid, "bob") is None
    assert seen(private.guid, None) is None
    assert seen(public.guid, "bob") == seen(public.guid, None) == public.guid
    assert seen(str(uuid.uuid4()), "alice") is None


# -- transactions -------------------------------------------------------------------------


def test_rollback_discards_uncommitted_work(unit, repos, committed):
    images, _ = repos
    made = detail()

    with unit() as db:
        db.begin_transaction()
        images.create_image(made, now=NOW)
        assert images.get_image_by_guid(made.guid) is not None  # visible inside
        db.rollback_transaction()

    assert committed(lambda: images.get_image_by_guid(made.guid)) is None


def test_leaving_the_context_without_commit_rolls_back(unit, repos, committed):
    images, _ = repos
    made = detail()

    with pytest.raises(RuntimeError, match="boom"), unit() as db:
        db.begin_transaction()
        images.create_image(made, now=NOW)
        raise RuntimeError("boom")

    assert committed(lambda: images.get_image_by_guid(made.guid)) is None
    if isinstance(db, DatabaseContext):
        assert db.database.pool.idle_count == 1  # the connection came back


def test_contexts_nest_and_restore_the_outer_one(database):
    with DatabaseContext(database) as outer:
        assert get_current_db_context() is outer
        with DatabaseContext(database) as inner:
            assert get_current_db_context() is inner
        assert get_current_db_context() is outer
    with pytest.raises(RuntimeError, match="outside a DatabaseContext"):
        get_current_db_context()


def test_the_unit_of_work_builds_its_dialects_repositories_and_they_end_with_it(database):
    from pixyproxy_cli.data.db.repositories import MySQLImageRepository, SQLiteImageRepository

    expected = MySQLImageRepository if database.dialect == "mysql" else SQLiteImageRepository
    with DatabaseContext(database) as db:
        images = db.images
        assert type(images) is expected
        assert get_current_db_context().users is db.users  # the specification's view
    for name in ("images", "users", "tokens", "limits"):
        with pytest.raises(RuntimeError, match="outside its unit of work"):
            getattr(db, name)


# -- users -------------------------------------------------------------------------------


def test_roster_create_read_update_delete(repos, committed):
    _, users = repos
    later = datetime(2026, 11, 27, tzinfo=UTC)

    user_id = committed(lambda: users.create_user("alice", "$argon2id$one", "staff", now=NOW))
    record = committed(lambda: users.authenticate_user("alice"))
    assert (record.id, record.username, record.class_key) == (user_id, "alice", "staff")
    assert record.password_hash == "$argon2id$one"

    assert committed(lambda: users.update_password_hash("alice", "$argon2id$two", now=later))
    record = committed(lambda: users.authenticate_user("alice"))
    assert (record.password_hash, record.updated_at, record.created_at) == (
        "$argon2id$two",
        later,
        NOW,
    )

    assert committed(lambda: users.delete_user("alice")) is True
    assert committed(lambda: users.authenticate_user("alice")) is None
    assert committed(lambda: users.delete_user("alice")) is False
    assert committed(lambda: users.update_password_hash("alice", "x", now=later)) is False


def test_usernames_are_unique_regardless_of_case_and_looked_up_exactly(repos, committed):
    _, users = repos
    add_user(committed, users, "alice")

    for taken in ("alice", "Alice", "ALICE", "aLiCe"):
        with pytest.raises(ConstraintViolationError):
            add_user(committed, users, taken)
    add_user(committed, users, "alice2")

    # A login names the user exactly; the folded name only finds who holds a name.
    assert committed(lambda: users.authenticate_user("ALICE")) is None
    assert committed(lambda: users.find_username("ALICE")) == "alice"
    assert committed(lambda: users.find_username("bob")) is None
    assert committed(lambda: users.find_case_clashes()) == []
    assert [user.username for user in committed(lambda: users.get_all_users(limit=10))] == [
        "alice",
        "alice2",
    ]


def test_a_removed_name_can_be_taken_again_in_another_case(repos, committed):
    _, users = repos
    add_user(committed, users, "bob")
    committed(lambda: users.delete_user("bob"))

    add_user(committed, users, "BOB")

    assert committed(lambda: users.find_username("bob")) == "BOB"


def test_user_with_images_cannot_be_deleted(repos, committed):
    images, users = repos
    add_user(committed, users)
    committed(lambda: images.create_image(detail(owner="alice"), now=NOW))

    with pytest.raises(ConstraintViolationError):
        committed(lambda: users.delete_user("alice"))


def test_get_all_users_pages_by_id(repos, committed):
    _, users = repos
    for name in ("u1", "u2", "u3"):
        add_user(committed, users, name)

    first = committed(lambda: users.get_all_users(limit=2))
    rest = committed(lambda: users.get_all_users(after_id=first[-1].id, limit=2))

    assert [u.username for u in first] == ["u1", "u2"]
    assert [u.username for u in rest] == ["u3"]


def _report(outcome: str, moment: datetime) -> ProvenanceReport:
    return ProvenanceReport(
        checked_at=moment,
        signals=(
            ProvenanceSignal("c2pa", outcome, validation_state="trusted", issuer="An issuer"),
            ProvenanceSignal("synthid", outcome, model="gpt-image-2"),
        ),
    )


def test_provenance_checks_are_kept_per_image_newest_last_and_go_with_it(repos, committed):
    images, _ = repos
    image = detail()
    first = _report("not_detected", datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    second = _report("detected", datetime(2026, 12, 2, 9, 30, 0, 250000, tzinfo=UTC))

    assert committed(lambda: images.add_provenance_check(image.guid, first)) is False
    committed(lambda: images.create_image(image, now=datetime(2026, 12, 1, tzinfo=UTC)))
    assert committed(lambda: images.latest_provenance_check(image.guid)) is None
    assert committed(lambda: images.add_provenance_check(image.guid, first)) is True
    assert committed(lambda: images.add_provenance_check(image.guid, second)) is True
    assert committed(lambda: images.latest_provenance_check(image.guid)) == second
    assert committed(lambda: images.delete_image(image.guid))
    assert committed(lambda: images.latest_provenance_check(image.guid)) is None
