"""LocalImageStore on a real directory: atomic writes, containment, failures."""

from __future__ import annotations

import errno
import os

import pytest

from pixyproxy_cli.core.exceptions import RecordNotFoundError, StorageError, StoredFileExistsError
from pixyproxy_cli.data.files.storage import LocalImageStore

NAME = "1b4e28ba-2fa1-11d2-883f-0016d3cca427.png"


@pytest.fixture
def store(tmp_path) -> LocalImageStore:
    return LocalImageStore(tmp_path / "images")


def test_save_creates_the_directory_and_writes_the_bytes(store):
    store.save(NAME, b"one")

    located = store.locate(NAME)
    assert located.path.read_bytes() == b"one"
    assert located.size == 3
    assert list(store.list_filenames()) == [NAME]


def test_only_names_pixyproxy_makes_are_listed_as_its_images(store):
    store.root.mkdir()
    foreign = ["holiday.jpg", "notes.txt", NAME.upper(), f"{NAME}.bak", ".hidden"]
    for name in [*foreign, NAME, NAME.replace(".png", ".webp"), ".incoming-x1"]:
        (store.root / name).write_bytes(b"x")

    assert sorted(store.list_filenames()) == sorted([NAME, NAME.replace(".png", ".webp")])
    assert list(store.list_leftovers()) == [".incoming-x1"]
    assert sorted(store.list_foreign()) == sorted(foreign)


def test_save_is_create_only_and_leaves_no_temporary_files(store):
    store.save("a.png", b"first")
    with pytest.raises(StoredFileExistsError, match="a.png is stored already"):
        store.save("a.png", b"second")

    assert store.read("a.png") == b"first"
    assert b"".join(store.locate("a.png").chunks()) == b"first"
    assert sorted(os.listdir(store.root)) == ["a.png"]


def test_without_hard_links_a_taken_name_is_still_refused(store, monkeypatch):
    import errno

    def no_links(source, target):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    store.save("a.png", b"first")
    with pytest.raises(StoredFileExistsError):
        store.save("a.png", b"second")

    assert store.read("a.png") == b"first"
    assert sorted(os.listdir(store.root)) == ["a.png"]


def test_a_failed_write_leaves_nothing_and_says_the_disk_is_full(store, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)

    with pytest.raises(StorageError, match="the disk is full"):
        store.save("a.png", b"data")

    monkeypatch.undo()
    assert os.listdir(store.root) == []


@pytest.mark.parametrize("name", ["../escape.png", "/etc/passwd", "a/b.png", "..", "", "."])
def test_names_with_directories_are_refused(store, name):
    with pytest.raises(RecordNotFoundError):
        store.locate(name)
    with pytest.raises(RecordNotFoundError):
        store.save(name, b"x")
    assert store.exists(name) is False


def test_a_symlink_leading_out_of_the_store_is_not_served(store, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve")
    store.root.mkdir()
    (store.root / "link.png").symlink_to(secret)
    (store.root / NAME).symlink_to(secret)

    with pytest.raises(RecordNotFoundError, match="link.png is missing"):
        store.locate("link.png")
    assert list(store.list_filenames()) == []


def test_missing_files_are_not_found_and_delete_is_idempotent(store):
    with pytest.raises(RecordNotFoundError, match="gone.png is missing"):
        store.locate("gone.png")
    store.delete("gone.png")
    store.save("here.png", b"x")
    store.delete("here.png")
    assert store.exists("here.png") is False


def test_listing_an_absent_directory_is_empty(store):
    assert list(store.list_filenames()) == []


def test_has_is_one_stat_for_a_regular_file_and_false_otherwise(store):
    name = "1b4e28ba-2fa1-11d2-883f-0016d3cca427.png"
    assert not store.has(name)
    store.save(name, b"bytes")
    (store.root / "0b4e28ba-2fa1-11d2-883f-0016d3cca427.png").mkdir()

    assert store.has(name)
    assert not store.has("0b4e28ba-2fa1-11d2-883f-0016d3cca427.png")  # a directory
    assert not store.has("../escape.png")
    store.delete(name)
    assert not store.has(name)
