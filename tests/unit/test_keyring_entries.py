"""The keyring's entries (data/keyring_stores/entries.py): every store's read, write and
delete go through here, and a backend's failure becomes one KeyringError line."""

from __future__ import annotations

import keyring
import pytest
from keyring.errors import KeyringError as BackendError
from keyring.errors import PasswordDeleteError

from pixyproxy_cli.core.exceptions import KeyringError
from pixyproxy_cli.data.keyring_stores.entries import delete_entry, read_entry, write_entry
from pixyproxy_cli.data.remote.logins import ServerLogins
from tests.keyring_backends import MemoryKeyring


class LockedKeyring(MemoryKeyring):
    """A backend that refuses everything, as a locked keyring does."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def get_password(self, service: str, username: str) -> str | None:
        raise BackendError(self.reason)

    def set_password(self, service: str, username: str, password: str) -> None:
        raise BackendError(self.reason)

    def delete_password(self, service: str, username: str) -> None:
        raise BackendError(self.reason)


def test_an_entry_is_written_read_and_deleted(memory_keyring):
    write_entry("svc", "alice", "s3cret value", "refused: {reason}")

    assert read_entry("svc", "alice", "unread: {reason}") == "s3cret value"
    assert delete_entry("svc", "alice", "kept: {reason}") is True
    assert read_entry("svc", "alice", "unread: {reason}") is None
    assert delete_entry("svc", "alice", "kept: {reason}") is False  # was not there


@pytest.mark.parametrize(
    ("reason", "said"), [("the keyring is locked", "the keyring is locked"), ("", "KeyringError")]
)
def test_a_backends_failure_is_one_line_with_its_reason_or_class(reason, said):
    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring(reason))
    try:
        for call in (
            lambda: read_entry("svc", "alice", "Cannot read {reason}; do this"),
            lambda: write_entry("svc", "alice", "v", "Cannot read {reason}; do this"),
            lambda: delete_entry("svc", "alice", "Cannot read {reason}; do this"),
        ):
            with pytest.raises(KeyringError) as raised:
                call()
            assert raised.value.message == f"Cannot read {said}; do this"
    finally:
        keyring.set_keyring(previous)


def test_forgetting_a_server_with_a_locked_keyring_is_a_keyring_error(tmp_path):
    logins = ServerLogins(tmp_path, environ={})
    logins.save("https://pixy.example", "alice", "0123456789abcdef", "pxy_token")
    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring("locked"))
    try:
        with pytest.raises(KeyringError, match="Cannot update the keyring: locked"):
            logins.forget("https://pixy.example")
    finally:
        keyring.set_keyring(previous)


def test_a_delete_error_of_a_missing_entry_is_not_a_failure(memory_keyring):
    assert isinstance(PasswordDeleteError("x"), BackendError)  # why the order of excepts matters
    assert delete_entry("svc", "nobody", "kept: {reason}") is False
