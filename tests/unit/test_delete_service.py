"""Deleting images over fakes: who may, the order (rows committed, then files), the cache."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    InputValidationError,
    PermissionDeniedError,
    RecordNotFoundError,
    StorageError,
)
from pixyproxy_cli.service.private_prompts import PrivatePromptService
from pixyproxy_cli.service.public_prompts import PromptService
from tests.unit.test_prompt_service import ALICE, BOB, World, make_world, request

MISSING = "0b4e28ba-2fa1-11d2-883f-0016d3cca427"


@pytest.fixture
def world() -> World:
    return make_world()


def admin(world):
    return PromptService(replace(world.dependencies, local_admin=True))


def test_the_rows_are_deleted_and_committed_before_any_file_is_removed(world):
    alice = world.as_user(ALICE)
    first, second = (alice.generate_image(request(f"mine {n}")) for n in (1, 2))
    world.journal.events.clear()

    deleted = alice.delete_images([first.guid, second.guid, first.guid])

    assert deleted == [first.guid, second.guid]
    assert world.journal.events == [
        "enter",
        "begin",
        "repo.get_image_file",
        "repo.get_image_file",
        "repo.delete_image",
        "repo.delete_image",
        "commit",
        "exit",
        "store.delete",
        "store.delete",
    ]
    assert world.images.rows == {}
    assert world.store.files == {}


def test_one_image_that_may_not_be_deleted_keeps_every_row_and_file(world):
    mine = world.as_user(ALICE).generate_image(request("mine"))
    bobs = world.as_user(BOB).generate_image(request("bob's"))

    with pytest.raises(PermissionDeniedError, match=f"Image {bobs.guid} belongs to bob"):
        world.as_user(ALICE).delete_images([mine.guid, bobs.guid])

    assert "rollback" in world.journal.events
    assert "store.delete" not in world.journal.events
    assert len(world.images.rows) == len(world.store.files) == 2


@pytest.mark.parametrize("who", ["bob", "admin"])
def test_another_users_private_image_is_not_found_as_a_guid_never_stored(world, who):
    private = world.as_user(ALICE).generate_image(request("secret", private=True))
    caller = {"bob": world.as_user(BOB), "admin": admin(world)}[who]

    with pytest.raises(RecordNotFoundError) as refused:
        caller.delete_images([private.guid])

    assert str(refused.value) == f"No image with GUID {private.guid}"
    assert len(world.images.rows) == 1


def test_the_owner_may_delete_a_public_image_and_others_may_not(world):
    public = world.as_user(ALICE).generate_image(request("shared"))

    with pytest.raises(PermissionDeniedError, match="only its owner may delete it"):
        world.as_user(BOB).delete_images([public.guid])
    with pytest.raises(AuthenticationError, match="Log in as the owner of image"):
        world.service.delete_images([public.guid])  # anonymous over HTTP
    with pytest.raises(PermissionDeniedError, match="belongs to alice"):
        admin(world).delete_images([public.guid])  # the admin removes users, not their images

    assert world.as_user(ALICE).delete_images([public.guid]) == [public.guid]


def test_an_image_without_owner_is_deleted_only_by_the_local_admin(world):
    ownerless = world.service.generate_image(request("anyone's"))

    with pytest.raises(PermissionDeniedError, match="has no owner: only the local admin"):
        world.as_user(ALICE).delete_images([ownerless.guid])

    assert admin(world).delete_images([ownerless.guid]) == [ownerless.guid]
    assert world.store.files == {}


def test_an_anonymous_caller_of_the_server_is_refused_before_any_lookup(world):
    guids = [
        world.as_user(ALICE).generate_image(request("secret", private=True)).guid,
        world.service.generate_image(request("anyone's")).guid,
        world.as_user(ALICE).generate_image(request("shared")).guid,
        MISSING,
    ]
    world.journal.events.clear()

    for guid in guids:
        with pytest.raises(AuthenticationError) as refused:
            world.service.delete_images([guid])
        assert str(refused.value) == f"Log in as the owner of image {guid} to delete it"

    assert world.journal.events == []  # not even a transaction: nothing was looked up
    assert len(world.images.rows) == 3


def test_bad_arguments_are_refused_before_any_transaction(world):
    with pytest.raises(InputValidationError, match="at least one image"):
        admin(world).delete_images([])
    with pytest.raises(InputValidationError):
        admin(world).delete_images(["not-a-guid"])
    assert world.journal.events == []


def test_a_deleted_image_is_not_served_from_any_processs_cache(world):
    # Two processes: two services with their own caches over one database and one store.
    image = world.as_user(ALICE).generate_image(request("cached"))
    other_worker = PrivatePromptService(
        replace(world.dependencies, cache=type(world.dependencies.cache)()), ALICE
    )
    assert other_worker.get_image_by_guid(image.guid).guid == image.guid
    assert other_worker.peek_image_by_guid(image.guid) is not None  # now cached there

    world.as_user(ALICE).delete_images([image.guid])

    assert other_worker.peek_image_by_guid(image.guid) is None
    assert other_worker.peek_image_file(image.guid) is None
    with pytest.raises(RecordNotFoundError, match=f"No image with GUID {image.guid}"):
        other_worker.get_image_by_guid(image.guid)
    with pytest.raises(RecordNotFoundError, match=f"No image with GUID {image.guid}"):
        other_worker.get_image_file(image.guid)


def test_a_file_that_cannot_be_removed_is_reported_after_the_row_is_gone(world):
    image = world.as_user(ALICE).generate_image(request("stuck"))

    def refuse(filename):
        raise StorageError(f"Could not remove {filename}: read-only file system")

    world.store.delete = refuse

    with pytest.raises(StorageError, match="deleted, but 1 file.*doctor --fix removes them"):
        world.as_user(ALICE).delete_images([image.guid])
    assert world.images.rows == {}
    with pytest.raises(RecordNotFoundError):
        world.as_user(ALICE).get_image_by_guid(image.guid)


def test_a_users_images_all_go_in_chunks(world, monkeypatch):
    monkeypatch.setattr("pixyproxy_cli.service.prompts.deleting.DELETE_CHUNK_SIZE", 3)
    alice = world.as_user(ALICE)
    made = [alice.generate_image(request(f"{n}", private=n % 2 == 0)) for n in range(7)]
    keep = world.as_user(BOB).generate_image(request("bob's"))

    assert admin(world).delete_images_of("alice") == len(made)

    assert world.journal.events.count("repo.get_owned_image_files") == 3
    assert [image.guid for image in world.images.rows.values()] == [keep.guid]
    assert list(world.store.files) == [f"{keep.guid}.png"]


def test_only_the_local_admin_deletes_a_users_images(world):
    world.as_user(ALICE).generate_image(request("mine"))

    with pytest.raises(PermissionDeniedError, match="Only the local admin"):
        world.as_user(ALICE).delete_images_of("alice")
    assert len(world.images.rows) == 1


def test_only_the_local_admin_deletes_any_image_and_then_all_or_none(world):
    private = world.as_user(ALICE).generate_image(request("secret", private=True))
    bobs = world.as_user(BOB).generate_image(request("bob's"))

    for caller in (world.as_user(BOB), world.as_user(ALICE)):
        with pytest.raises(PermissionDeniedError, match="Only the local admin"):
            caller.delete_any_images([bobs.guid])
        with pytest.raises(PermissionDeniedError, match="Only the local admin"):
            caller.images_for_admin([bobs.guid])
    with pytest.raises(RecordNotFoundError):
        admin(world).delete_any_images([private.guid, MISSING])
    assert len(world.images.rows) == 2  # nothing deleted

    seen = admin(world).images_for_admin([private.guid, bobs.guid])
    deleted = admin(world).delete_any_images([private.guid, bobs.guid])

    assert [(image.owner, image.private) for image in seen] == [("alice", True), ("bob", False)]
    assert deleted == [private.guid, bobs.guid]
    assert world.images.rows == {}
    assert world.store.files == {}
