"""PromptService and PrivatePromptService over fakes: ordering, transactions, validation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import pytest

from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    ConstraintViolationError,
    ContentRejectedError,
    DBConnectionError,
    GenerationError,
    InputValidationError,
    PixyProxyException,
    RecordNotFoundError,
    StorageError,
)
from pixyproxy_cli.core.models import ImageDetailCreate, User
from pixyproxy_cli.service.private_prompts import PrivatePromptService
from pixyproxy_cli.service.public_prompts import PromptDependencies, PromptService
from tests.fakes import (
    PNG_BYTES,
    FakeImageRepository,
    FakeProvider,
    FakeStore,
    FakeUnitOfWork,
    Journal,
)

NOW = datetime(2026, 11, 26, 8, 0, 0, 123456, tzinfo=UTC)
ALICE = User(username="alice", class_key="staff")
BOB = User(username="bob", class_key="staff")


@dataclass
class World:
    journal: Journal
    images: FakeImageRepository
    provider: FakeProvider
    store: FakeStore
    dependencies: PromptDependencies
    service: PromptService

    def as_user(self, user: User) -> PrivatePromptService:
        return PrivatePromptService(self.dependencies, user)

    def fail_commits(self, error: Exception, after: int = 0) -> None:
        self.dependencies = PromptDependencies(
            **{
                **self.dependencies.__dict__,
                "uow": partial(
                    FakeUnitOfWork,
                    self.journal,
                    images=self.images,
                    fail_commit=error,
                    commits_before_failing=[after],
                ),
            }
        )
        self.service = PromptService(self.dependencies)


@pytest.fixture
def world() -> World:
    return make_world()


def make_world() -> World:
    """Fakes of every dependency, sharing one journal, and the anonymous service over them."""
    journal = Journal()
    images = FakeImageRepository(journal)
    provider = FakeProvider(journal)
    store = FakeStore(journal)
    dependencies = PromptDependencies(
        uow=partial(FakeUnitOfWork, journal, images=images),
        make_provider=lambda: provider,
        store=store,
        max_prompt_length=100,
        chunk_size=2,
        clock=lambda: NOW,
    )
    return World(journal, images, provider, store, dependencies, PromptService(dependencies))


def request(prompt: str = "a lighthouse at dawn", private: bool = False) -> ImageDetailCreate:
    return ImageDetailCreate(prompt=prompt, private=private)


# -- generate ----------------------------------------------------------------------------


PROBE = ["enter", "begin", "commit", "exit"]
"""generate's empty transaction first: no provider call is paid for without a database."""


def test_generate_calls_provider_then_writes_file_then_inserts_in_one_transaction(world):
    image = world.service.generate_image(request())

    assert world.journal.events == [
        *PROBE,
        "provider(open_contexts=0)",
        "store.save(open_contexts=0)",
        "enter",
        "begin",
        "repo.create_image",
        "commit",
        "exit",
    ]
    assert image.prompt == "a lighthouse at dawn"
    assert image.private is False
    assert image.owner is None
    assert image.created_at == image.updated_at == NOW
    assert world.store.files == {f"{image.guid}.png": PNG_BYTES}
    stored = world.images.rows[1]
    assert stored.guid == image.guid
    assert stored.filename == f"{image.guid}.png"


def test_generated_details_carry_no_internal_id_or_filename(world):
    public = world.service.generate_image(request()).model_dump()

    assert "id" not in public
    assert "filename" not in public
    assert "path" not in public
    assert public["placeholder"] is False


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("", "prompt must not be empty"),
        ("   \n\t ", "prompt must not be empty"),
        ("before\x00after", "prompt must not contain NUL characters"),
        ("bad \udcff bytes", "prompt is not valid UTF-8 text"),
        ("x" * 101, "prompt is 101 characters; the maximum is 100"),
    ],
)
def test_generate_rejects_bad_prompts_before_any_work(world, prompt, message):
    bad = ImageDetailCreate.model_construct(prompt=prompt, private=False)

    with pytest.raises(InputValidationError) as caught:
        world.service.generate_image(bad)

    assert str(caught.value) == message
    assert world.journal.events == []
    assert world.provider.prompts == []


def test_generate_accepts_a_prompt_of_exactly_the_maximum_length(world):
    world.service.generate_image(request("y" * 100))

    assert world.provider.prompts == ["y" * 100]


def test_generate_revalidates_plain_dicts_and_refuses_unknown_fields(world):
    with pytest.raises(InputValidationError, match="extra: Extra inputs are not permitted"):
        world.service.generate_image({"prompt": "ok", "extra": 1})  # type: ignore[arg-type]
    with pytest.raises(InputValidationError, match="prompt: Input should be a valid string"):
        world.service.generate_image({"prompt": 42})  # type: ignore[arg-type]
    assert world.provider.prompts == []


def test_anonymous_private_request_needs_a_login_and_calls_nothing(world):
    with pytest.raises(AuthenticationError, match="Log in to create private images"):
        world.service.generate_image(request(private=True))

    assert world.journal.events == []


def test_logged_in_user_creates_private_images_they_own(world):
    image = world.as_user(ALICE).generate_image(request(private=True))

    assert image.private is True
    assert image.owner == "alice"


def test_provider_failure_propagates_and_leaves_nothing(world):
    world.provider.fail_with = ContentRejectedError()

    with pytest.raises(ContentRejectedError):
        world.service.generate_image(request())

    assert world.store.files == {}
    assert world.images.rows == {}
    assert world.journal.events == [*PROBE, "provider(open_contexts=0)"]


def test_a_programming_error_in_a_provider_is_a_bug_never_a_provider_failure(world):
    world.provider.fail_with = TypeError("generate() got an unexpected keyword 'stream'")

    with pytest.raises(TypeError, match="unexpected keyword 'stream'"):
        world.service.generate_image(request())

    assert world.store.files == {}
    assert world.images.rows == {}


def test_empty_image_from_provider_is_a_generation_error(world):
    world.provider.data = b""

    with pytest.raises(GenerationError, match="empty image"):
        world.service.generate_image(request())

    assert world.store.files == {}


def test_storage_failure_means_no_transaction(world):
    world.store.fail_with = StorageError("disk full")

    with pytest.raises(StorageError, match="disk full"):
        world.service.generate_image(request())

    assert world.journal.events == [
        *PROBE,
        "provider(open_contexts=0)",
        "store.save(open_contexts=0)",
    ]
    assert world.images.rows == {}


def test_known_insert_failure_rolls_back_removes_file_and_reraises(world):
    world.images.fail_with = ConstraintViolationError()

    with pytest.raises(ConstraintViolationError):
        world.service.generate_image(request())

    events = world.journal.events
    assert events[-4:] == ["repo.create_image", "rollback", "exit", "store.delete"]
    assert world.store.files == {}


def test_unexpected_insert_failure_rolls_back_and_is_wrapped(world):
    world.images.fail_with = ValueError("driver bug")

    with pytest.raises(PixyProxyException) as caught:
        world.service.generate_image(request())

    assert type(caught.value) is PixyProxyException
    assert str(caught.value) == "An unexpected error occurred while processing your request."
    assert isinstance(caught.value.__cause__, ValueError)
    assert "rollback" in world.journal.events
    assert world.store.files == {}


def test_failed_commit_rolls_back_and_removes_the_file(world):
    world.fail_commits(DBConnectionError("lost"), after=1)

    with pytest.raises(DBConnectionError, match="lost"):
        world.service.generate_image(request())

    assert world.journal.events[-3:] == ["rollback", "exit", "store.delete"]
    assert world.store.files == {}


def test_an_unusable_database_is_found_before_the_provider_is_paid(world):
    world.fail_commits(DBConnectionError("gone"))

    with pytest.raises(DBConnectionError, match="gone"):
        world.service.generate_image(request())

    assert world.provider.prompts == []
    assert world.journal.events == ["enter", "begin", "rollback", "exit"]


def test_interrupt_during_insert_still_removes_the_file(world):
    world.images.fail_with = KeyboardInterrupt()

    with pytest.raises(KeyboardInterrupt):
        world.service.generate_image(request())

    assert world.store.files == {}


# -- read one ----------------------------------------------------------------------------


def test_get_image_by_guid_reads_in_a_committed_transaction(world):
    made = world.service.generate_image(request())
    world.journal.events.clear()

    found = world.service.get_image_by_guid(made.guid.upper())

    assert found == made
    assert world.journal.events == ["enter", "begin", "repo.get_visible_image", "commit", "exit"]


@pytest.mark.parametrize(
    "guid",
    ["", "not-a-guid", "../../etc/passwd", "1' OR '1'='1", "x" * 10_000, "%2e%2e"],
)
def test_malformed_guids_are_refused_before_the_repository(world, guid):
    with pytest.raises(InputValidationError, match="GUID must"):
        world.service.get_image_by_guid(guid)
    with pytest.raises(InputValidationError, match="GUID must"):
        world.service.get_image_file(guid)

    assert world.images.calls == 0


def test_unknown_guid_is_not_found(world):
    guid = "0b4e28ba-2fa1-11d2-883f-0016d3cca427"
    with pytest.raises(RecordNotFoundError, match=f"No image with GUID {guid}"):
        world.service.get_image_by_guid(guid)


def test_repository_failure_rolls_back_and_reraises(world):
    world.images.fail_with = DBConnectionError("server gone")

    with pytest.raises(DBConnectionError, match="server gone"):
        world.service.get_image_by_guid("0b4e28ba-2fa1-11d2-883f-0016d3cca427")

    assert world.journal.events[-2:] == ["rollback", "exit"]


def test_private_image_exists_only_for_its_owner(world):
    private = world.as_user(ALICE).generate_image(request(private=True))
    missing = "0b4e28ba-2fa1-11d2-883f-0016d3cca427"

    assert world.as_user(ALICE).get_image_by_guid(private.guid).guid == private.guid
    for service in (world.service, world.as_user(BOB)):
        with pytest.raises(RecordNotFoundError) as hidden:
            service.get_image_by_guid(private.guid)
        with pytest.raises(RecordNotFoundError) as absent:
            service.get_image_by_guid(missing)
        assert str(hidden.value) == str(absent.value).replace(missing, private.guid)
        with pytest.raises(RecordNotFoundError):
            service.get_image_file(private.guid)


# -- list --------------------------------------------------------------------------------


def test_get_all_images_reads_in_chunks_each_in_its_own_transaction(world):
    made = [world.service.generate_image(request(f"prompt {n}")) for n in range(5)]
    world.journal.events.clear()

    listed = list(world.service.get_all_images())

    assert [image.guid for image in listed] == [image.guid for image in made]
    assert world.journal.events.count("repo.get_all_images") == 3  # 2 + 2 + 1
    assert world.journal.events.count("commit") == 3


def test_get_all_images_honours_limit_and_after(world):
    made = [world.service.generate_image(request(f"prompt {n}")) for n in range(5)]

    assert [i.guid for i in world.service.get_all_images(limit=3)] == [m.guid for m in made[:3]]
    after_second = world.service.get_all_images(after=made[1].guid, limit=2)
    assert [i.guid for i in after_second] == [m.guid for m in made[2:4]]


def test_get_all_images_validates_before_returning_the_iterator(world):
    with pytest.raises(InputValidationError, match="limit must be at least 1"):
        world.service.get_all_images(limit=0)
    with pytest.raises(InputValidationError, match="limit must be a whole number"):
        world.service.get_all_images(limit="5")  # type: ignore[arg-type]
    with pytest.raises(InputValidationError, match="GUID must"):
        world.service.get_all_images(after="nope")
    with pytest.raises(AuthenticationError, match="Log in to list your own images"):
        world.service.get_all_images(mine=True)
    with pytest.raises(RecordNotFoundError):
        world.service.get_all_images(after="0b4e28ba-2fa1-11d2-883f-0016d3cca427")


def test_listing_shows_public_images_and_only_the_viewers_private_ones(world):
    public = world.service.generate_image(request("public"))
    alices = world.as_user(ALICE).generate_image(request("alice's", private=True))
    bobs = world.as_user(BOB).generate_image(request("bob's", private=True))

    def guids(images):
        return [image.guid for image in images]

    assert guids(world.service.get_all_images()) == [public.guid]
    assert guids(world.as_user(ALICE).get_all_images()) == [public.guid, alices.guid]
    assert guids(world.as_user(BOB).get_all_images(mine=True)) == [bobs.guid]
    assert guids(world.as_user(ALICE).get_all_images(private=False)) == [public.guid]
    with pytest.raises(RecordNotFoundError):
        world.service.get_all_images(after=alices.guid)


# -- file --------------------------------------------------------------------------------


def test_get_image_file_returns_where_the_bytes_are(world):
    made = world.service.generate_image(request())

    content = world.service.get_image_file(made.guid)

    assert content.guid == made.guid
    assert content.media_type == "image/png"
    assert content.size == len(PNG_BYTES)
    assert content.location == f"/fake-store/{made.guid}.png"
    assert content.source.read() == PNG_BYTES


def test_get_image_file_with_the_file_gone_is_not_found(world):
    made = world.service.generate_image(request())
    world.store.files.clear()

    with pytest.raises(RecordNotFoundError, match=f"The file of image {made.guid} is missing"):
        world.service.get_image_file(made.guid)


# -- several images in one request ----------------------------------------------------------


def test_n_images_are_one_provider_call_and_one_transaction(world):
    images = world.service.generate_images(request(), 3)

    assert len({image.guid for image in images}) == 3
    assert world.journal.events == [
        *PROBE,
        "provider(open_contexts=0)",
        *["store.save(open_contexts=0)"] * 3,
        "enter",
        "begin",
        *["repo.create_image"] * 3,
        "commit",
        "exit",
    ]
    assert sorted(world.store.files) == sorted(f"{image.guid}.png" for image in images)
    assert len(world.images.rows) == 3


def test_a_failed_insert_leaves_no_row_and_no_file_of_the_batch(world, monkeypatch):
    real = world.images.create_image
    made = []

    def third_fails(detail, *, now):
        if len(made) == 2:
            raise ConstraintViolationError()
        made.append(detail.guid)
        return real(detail, now=now)

    monkeypatch.setattr(world.images, "create_image", third_fails)

    with pytest.raises(ConstraintViolationError):
        world.service.generate_images(request(), 3)

    assert world.store.files == {}  # (the rows' rollback is proven on real databases)
    assert world.journal.events[-5:] == ["rollback", "exit", *["store.delete"] * 3]


def test_a_failed_write_removes_the_files_already_written(world, monkeypatch):
    real = world.store.save

    def second_fails(filename, data):
        if world.store.files:
            raise StorageError("disk full")
        real(filename, data)

    monkeypatch.setattr(world.store, "save", second_fails)

    with pytest.raises(StorageError):
        world.service.generate_images(request(), 3)

    assert world.store.files == {}
    assert world.images.rows == {}


@pytest.mark.parametrize("n", [0, 11, -1, "3", 2.5])
def test_n_must_be_1_to_10_before_anything_is_called(world, n):
    with pytest.raises(InputValidationError, match="number of images"):
        world.service.generate_images(request(), n)

    assert world.journal.events == []


def test_another_users_private_image_costs_what_a_guid_never_stored_does(world):
    secret = world.as_user(ALICE).generate_image(request("secret", private=True))
    assert world.as_user(ALICE).get_image_by_guid(secret.guid).guid == secret.guid  # cached
    bob = world.as_user(BOB)
    never_stored = "0b4e28ba-2fa1-11d2-883f-0016d3cca427"

    def work(guid):
        world.journal.events.clear()
        with pytest.raises(RecordNotFoundError) as refused:
            bob.get_image_by_guid(guid)
        return list(world.journal.events), str(refused.value).replace(guid, "GUID")

    theirs, unknown = work(secret.guid), work(never_stored)

    assert theirs == unknown
    assert "repo.get_visible_image" in theirs[0]  # the same one query, finding no row
    assert bob.peek_image_by_guid(secret.guid) is bob.peek_image_by_guid(never_stored) is None
