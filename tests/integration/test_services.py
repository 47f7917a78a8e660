"""The services wired by service/init.py over real databases and a real image directory."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pixyproxy_cli.core.exceptions import (
    ConstraintViolationError,
    InputValidationError,
    RecordNotFoundError,
)
from pixyproxy_cli.core.models import ImageDetailCreate, User, UserCreate
from pixyproxy_cli.data.db.repositories import SqlImageRepository
from pixyproxy_cli.data.init import create_database
from pixyproxy_cli.service.init import build_services
from pixyproxy_cli.service.passwords import PasswordHasher
from tests.fakes import PNG_BYTES, FakeProvider, Journal

PASSWORD = "correct horse battery staple"


@pytest.fixture
def services(backend_settings):
    database = create_database(backend_settings)
    built = build_services(
        backend_settings,
        provider=FakeProvider(Journal()),
        database=database,
        hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )
    yield built
    database.close()


def image_files(services) -> list[str]:
    root = services.settings.image_dir
    return sorted(path.name for path in root.iterdir()) if root.exists() else []


def test_generate_show_list_and_file_end_to_end(services):
    prompts = services.prompts

    made = prompts.generate_image(ImageDetailCreate(prompt="a lighthouse at dawn 🌅"))

    assert prompts.get_image_by_guid(made.guid) == made
    assert [image.guid for image in prompts.get_all_images()] == [made.guid]
    content = prompts.get_image_file(made.guid)
    assert content.path.read_bytes() == PNG_BYTES
    assert content.path.parent == services.settings.image_dir.resolve()
    assert content.size == len(PNG_BYTES)
    assert image_files(services) == [f"{made.guid}.png"]


def test_a_failed_insert_leaves_neither_row_nor_file(services, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise ConstraintViolationError()

    monkeypatch.setattr(SqlImageRepository, "create_image", refuse)

    with pytest.raises(ConstraintViolationError):
        services.prompts.generate_image(ImageDetailCreate(prompt="doomed"))

    monkeypatch.undo()
    assert list(services.prompts.get_all_images()) == []
    assert image_files(services) == []


def test_listing_walks_every_row_in_bounded_chunks(services, monkeypatch):
    made = [
        services.prompts.generate_image(ImageDetailCreate(prompt=f"prompt {n}")).guid
        for n in range(7)
    ]
    pages: list[int] = []
    real = SqlImageRepository.get_all_images

    def spy(self, query):
        page = real(self, query)
        pages.append(len(page.rows))
        return page

    monkeypatch.setattr(SqlImageRepository, "get_all_images", spy)
    monkeypatch.setattr(services.prompts._reader, "_chunk_size", 3)

    assert [image.guid for image in services.prompts.get_all_images()] == made
    assert pages == [3, 3, 1]


def test_private_images_and_users_on_the_real_roster(services):
    users = services.users
    users.add_user(UserCreate(username="alice", password=PASSWORD, class_key="staff"))
    users.add_user(UserCreate(username="bob", password=PASSWORD, class_key="staff"))
    alice = users.authenticate("alice", PASSWORD)
    assert alice == User(username="alice", class_key="staff")

    private = services.prompts_for(alice).generate_image(
        ImageDetailCreate(prompt="secret", private=True)
    )

    assert services.prompts_for(alice).get_image_file(private.guid).size == len(PNG_BYTES)
    bob = users.authenticate("bob", PASSWORD)
    for viewer in (None, bob):
        with pytest.raises(RecordNotFoundError, match=f"No image with GUID {private.guid}"):
            services.prompts_for(viewer).get_image_by_guid(private.guid)
        assert list(services.prompts_for(viewer).get_all_images()) == []
    with pytest.raises(ConstraintViolationError, match="alice still owns images"):
        users.remove_user("alice")
    assert [user.username for user in users.get_all_users()] == ["alice", "bob"]


def test_prompt_length_limit_comes_from_settings(backend_settings):
    settings = replace(backend_settings, max_prompt_length=10)
    database = create_database(settings)
    provider = FakeProvider(Journal())
    try:
        services = build_services(settings, provider=provider, database=database)
        with pytest.raises(InputValidationError, match="the maximum is 10"):
            services.prompts.generate_image(ImageDetailCreate(prompt="x" * 11))
        assert provider.prompts == []
    finally:
        database.close()


AWKWARD_PROMPTS = [
    'a sign saying "open"',
    "back\\slash and\nnew line\ttab",
    "\x01\x1f\x7f control characters",
    "é 中文 🦊 \u2028",
    "'; DROP TABLE images; --",
]


def test_json_listing_is_byte_for_byte_the_models_json(services, monkeypatch):
    users = services.users
    users.add_user(UserCreate(username="alice", password=PASSWORD, class_key="staff"))
    alice = users.authenticate("alice", PASSWORD)
    for prompt in AWKWARD_PROMPTS:
        services.prompts.generate_image(ImageDetailCreate(prompt=prompt))
    services.prompts_for(alice).generate_image(ImageDetailCreate(prompt="mine", private=True))
    monkeypatch.setattr(services.prompts._reader, "_chunk_size", 2)  # several pages

    for viewer, query in [
        (None, {}),
        (alice, {}),
        (alice, {"mine": True}),
        (alice, {"private": True}),
        (None, {"limit": 3}),
    ]:
        prompts = services.prompts_for(viewer)
        if viewer is not None:
            monkeypatch.setattr(prompts._reader, "_chunk_size", 2)
        models = [image.model_dump_json().encode() for image in prompts.get_all_images(**query)]
        pages = list(prompts.get_all_images_json_pages(**query))
        assert [line for page in pages for line in page] == models
        assert all(pages)
    everything = [
        line for page in services.prompts_for(alice).get_all_images_json_pages() for line in page
    ]
    assert len(everything) == len(AWKWARD_PROMPTS) + 1
    assert [json.loads(line)["prompt"] for line in everything][:-1] == AWKWARD_PROMPTS
    after = json.loads(everything[1])["guid"]
    after_pages = services.prompts.get_all_images_json_pages(after=after)
    assert [line for page in after_pages for line in page] == everything[2:-1]


def test_a_batch_is_all_or_nothing_on_a_real_database(services, monkeypatch):
    real = SqlImageRepository.create_image
    inserted: list[str] = []

    def third_fails(self, detail, *, now):
        if len(inserted) == 2:
            raise ConstraintViolationError()
        inserted.append(detail.guid)
        return real(self, detail, now=now)

    monkeypatch.setattr(SqlImageRepository, "create_image", third_fails)
    with pytest.raises(ConstraintViolationError):
        services.prompts.generate_images(ImageDetailCreate(prompt="three foxes"), 3)
    monkeypatch.undo()

    assert len(inserted) == 2  # two rows were written inside the transaction...
    assert list(services.prompts.get_all_images()) == []  # ...and rolled back with it
    assert image_files(services) == []
    made = services.prompts.generate_images(ImageDetailCreate(prompt="three foxes"), 3)
    assert [image.guid for image in services.prompts.get_all_images()] == [i.guid for i in made]
    assert image_files(services) == sorted(f"{image.guid}.png" for image in made)


def test_usage_groups_by_day_model_and_user_on_a_real_database(services):
    from datetime import UTC, datetime, timedelta

    services.users.add_user(UserCreate(username="alice", password=PASSWORD, class_key="k"))
    alice = services.users.authenticate("alice", PASSWORD)
    services.prompts_for(alice).generate_images(ImageDetailCreate(prompt="hers"), 2)
    services.prompts.generate_image(ImageDetailCreate(prompt="anonymous"))
    today = datetime.now(UTC).date().isoformat()

    by_day = services.usage.summary(by="day")
    by_user = services.usage.summary(by="user")
    hers = services.usage.summary(by="model", owner="alice")
    later = services.usage.summary(since=datetime.now(UTC) + timedelta(days=1))

    assert [(line.key, line.images) for line in by_day] == [(today, 3)]
    assert [(line.key, line.images) for line in by_user] == [("", 1), ("alice", 2)]
    assert [(line.key, line.images, line.cost) for line in hers] == [("fake-model", 2, None)]
    assert later == []
