"""What every image store promises, as checks any store must pass.

Run against the local directory and the tests' fake (tests/integration/test_store_contract.py)
and against the S3 store on a real radosgw (tests/cluster/test_object_store.py): the services
above may rely on nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from pixyproxy_cli.core.exceptions import RecordNotFoundError, StoredFileExistsError
from pixyproxy_cli.data.files.storage import ImageStoreInterface


def fresh_name(extension: str = ".png") -> str:
    return f"{uuid.uuid4()}{extension}"


def check_a_saved_file_streams_back_whole_with_its_size(store: ImageStoreInterface) -> None:
    name, data = fresh_name(), bytes(range(256)) * 4096  # 1 MiB: more than one chunk
    store.save(name, data)

    located = store.locate(name)
    assert located.size == len(data)
    assert located.name == name
    assert name in located.location
    assert b"".join(located.chunks()) == data
    assert store.read(name) == data
    assert store.exists(name)
    assert store.has(name)


def check_writes_are_create_only(store: ImageStoreInterface) -> None:
    name = fresh_name()
    store.save(name, b"first")
    with pytest.raises(StoredFileExistsError):
        store.save(name, b"second")
    assert store.read(name) == b"first"


def check_a_missing_file_is_not_found(store: ImageStoreInterface) -> None:
    name = fresh_name()
    assert not store.exists(name)
    assert store.missing([name]) == [name]
    with pytest.raises(RecordNotFoundError):
        store.locate(name)
    with pytest.raises(RecordNotFoundError):
        store.read(name)
    assert store.thumbnail(name, 256) is None
    assert store.age(name) == 0.0
    store.delete(name)  # nothing to delete is no error


def check_names_that_are_paths_are_refused(store: ImageStoreInterface) -> None:
    for name in ("", ".", "..", "a/b.png", "../x.png", "a\\b.png"):
        with pytest.raises(RecordNotFoundError):
            store.locate(name)
        assert not store.exists(name)


def check_delete_removes_the_file_and_its_thumbnails(store: ImageStoreInterface) -> None:
    name, other = fresh_name(), fresh_name()
    store.save(name, b"image")
    store.save(other, b"other")
    for size in (128, 256):
        store.save_thumbnail(name, size, b"thumb%d" % size)
    store.save_thumbnail(other, 128, b"other thumb")

    cached = store.thumbnail(name, 256)
    assert cached is not None
    assert cached.read() == b"thumb256"
    assert cached.size == 8
    store.delete(name)
    store.delete_thumbnails(name)

    assert not store.exists(name)
    assert store.thumbnail(name, 128) is None
    assert store.thumbnail(name, 256) is None
    assert store.read(other) == b"other"
    kept = store.thumbnail(other, 128)
    assert kept is not None
    assert kept.read() == b"other thumb"


def check_listings_name_images_thumbnails_and_nothing_else(store: ImageStoreInterface) -> None:
    name = fresh_name(".webp")
    store.save(name, b"listed")
    store.save_thumbnail(name, 512, b"t")

    assert name in set(store.list_filenames())
    assert (name.removesuffix(".webp"), f"{name.removesuffix('.webp')}-512.webp") in set(
        store.list_thumbnails()
    )
    assert name not in set(store.list_foreign())
    assert store.missing([name, fresh_name()]) != []
    assert name not in store.missing([name])
    assert store.age(name) >= 0.0


def check_the_store_is_ready(store: ImageStoreInterface) -> None:
    store.check()
    assert store.describe()


CONTRACT: list[Callable[[ImageStoreInterface], None]] = [
    check_a_saved_file_streams_back_whole_with_its_size,
    check_writes_are_create_only,
    check_a_missing_file_is_not_found,
    check_names_that_are_paths_are_refused,
    check_delete_removes_the_file_and_its_thumbnails,
    check_listings_name_images_thumbnails_and_nothing_else,
    check_the_store_is_ready,
]
