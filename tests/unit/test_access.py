"""The one home of the access rules: who sees, makes and deletes which image."""

from __future__ import annotations

import pytest

from pixyproxy_cli.core.exceptions import AuthenticationError, PermissionDeniedError
from pixyproxy_cli.service.access import Caller

GUID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
ANONYMOUS = Caller()
ALICE = Caller(viewer="alice")
ADMIN = Caller(local_admin=True)
ALICE_AT_THE_CLI = Caller(viewer="alice", local_admin=True)
EVERYTHING = Caller(local_admin=True, sees_everything=True)


@pytest.mark.parametrize(
    ("caller", "owner", "expected"),
    [
        (ANONYMOUS, None, AuthenticationError),  # the server's anonymous caller: nothing
        (ANONYMOUS, "alice", AuthenticationError),
        (ALICE, "alice", None),
        (ALICE, "bob", PermissionDeniedError),
        (ALICE, None, PermissionDeniedError),  # ownerless: the local admin's alone
        (ADMIN, None, None),
        (ADMIN, "alice", PermissionDeniedError),  # rm --admin is delete_any_images
        (ALICE_AT_THE_CLI, "alice", None),
        (ALICE_AT_THE_CLI, None, None),
        (ALICE_AT_THE_CLI, "bob", PermissionDeniedError),
    ],
)
def test_who_may_delete_an_image(caller, owner, expected):
    if expected is None:
        caller.check_may_delete(GUID, owner)
        assert caller.may_delete(GUID, owner)
    else:
        with pytest.raises(expected):
            caller.check_may_delete(GUID, owner)
        assert not caller.may_delete(GUID, owner)


def test_the_refusals_say_why():
    with pytest.raises(AuthenticationError, match=f"^Log in as the owner of image {GUID}"):
        ANONYMOUS.check_may_delete(GUID, "alice")
    with pytest.raises(PermissionDeniedError, match="belongs to bob: only its owner may"):
        ALICE.check_may_delete(GUID, "bob")
    with pytest.raises(PermissionDeniedError, match="has no owner: only the local admin"):
        ALICE.check_may_delete(GUID, None)


@pytest.mark.parametrize(
    ("caller", "private", "owner", "visible"),
    [
        (ANONYMOUS, False, "alice", True),
        (ANONYMOUS, True, "alice", False),
        (ALICE, True, "alice", True),
        (ALICE, True, "bob", False),
        (ADMIN, True, "bob", False),  # the local admin sees others' private images only...
        (EVERYTHING, True, "bob", True),  # ...in the everything view
    ],
)
def test_who_sees_an_image(caller, private, owner, visible):
    assert caller.may_see(private, owner) is visible


def test_who_owns_what_they_make():
    assert ANONYMOUS.owner_for(False) is None
    with pytest.raises(AuthenticationError, match="Log in to create private images"):
        ANONYMOUS.owner_for(True)
    assert ALICE.owner_for(False) == ALICE.owner_for(True) == "alice"


def test_only_the_local_admin_passes_the_admin_check():
    ADMIN.check_local_admin("delete any image")
    with pytest.raises(PermissionDeniedError, match="^Only the local admin may delete any image$"):
        ALICE.check_local_admin("delete any image")
