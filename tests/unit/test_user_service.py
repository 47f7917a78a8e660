"""UserService over a fake roster: hashing, authentication, roster changes."""

from __future__ import annotations

from functools import partial

import pytest

from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    ConstraintViolationError,
    InputValidationError,
    RecordNotFoundError,
)
from pixyproxy_cli.core.models import User, UserCreate
from pixyproxy_cli.service.passwords import PasswordHasher
from pixyproxy_cli.service.users import UserService
from tests.fakes import FakeUnitOfWork, FakeUserRepository, Journal

PASSWORD = "correct horse battery staple"


def cheap_hasher(time_cost: int = 1) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=8, parallelism=1)


class SpyHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verifications = 0

    def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return super().verify(password_hash, password)


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def roster(journal) -> FakeUserRepository:
    return FakeUserRepository(journal)


@pytest.fixture
def hasher() -> SpyHasher:
    return SpyHasher()


@pytest.fixture
def service(roster, journal, hasher) -> UserService:
    return UserService(uow=partial(FakeUnitOfWork, journal, users=roster), hasher=hasher)


def add_alice(service: UserService) -> User:
    return service.add_user(UserCreate(username="alice", password=PASSWORD, class_key="staff"))


def test_added_user_is_stored_with_an_argon2id_hash_never_the_password(service, roster):
    user = add_alice(service)

    assert user == User(username="alice", class_key="staff")
    stored = roster.rows["alice"].password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert "password" not in user.model_dump()


def test_user_create_never_shows_its_password():
    request = UserCreate(username="alice", password=PASSWORD, class_key="staff")

    assert PASSWORD not in repr(request)
    assert PASSWORD not in str(request.model_dump())


def test_authenticate_returns_the_user_without_the_hash(service):
    add_alice(service)

    user = service.authenticate("alice", PASSWORD)

    assert user == User(username="alice", class_key="staff")


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("alice", "wrong password!"),
        ("nobody", PASSWORD),
        ("bad name with spaces", PASSWORD),
        ("", ""),
    ],
)
def test_wrong_or_unknown_credentials_get_the_same_message_and_one_verification(
    service, hasher, username, password
):
    add_alice(service)
    hasher.verifications = 0

    with pytest.raises(AuthenticationError) as caught:
        service.authenticate(username, password)

    assert str(caught.value) == "Invalid username or password"
    assert hasher.verifications == 1
    if password:
        assert password not in str(caught.value)


def test_login_rehashes_a_password_made_with_old_parameters(roster, journal):
    old = UserService(uow=partial(FakeUnitOfWork, journal, users=roster), hasher=cheap_hasher(1))
    add_alice(old)
    old_hash = roster.rows["alice"].password_hash
    new = UserService(uow=partial(FakeUnitOfWork, journal, users=roster), hasher=cheap_hasher(2))

    new.authenticate("alice", PASSWORD)

    new_hash = roster.rows["alice"].password_hash
    assert new_hash != old_hash
    assert "t=2" in new_hash
    assert new.authenticate("alice", PASSWORD).username == "alice"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "alice", "password": "short", "class_key": "k"}, "at least 8"),
        ({"username": "no spaces", "password": PASSWORD, "class_key": "k"}, "username must"),
        ({"username": "alice", "password": PASSWORD, "class_key": ""}, "class key must"),
        ({"username": "alice", "password": "nul\x00in password", "class_key": "k"}, "NUL"),
    ],
)
def test_invalid_new_users_are_refused_before_the_roster(service, roster, fields, message):
    bad = UserCreate.model_construct(**fields)

    with pytest.raises(InputValidationError, match=message):
        service.add_user(bad)

    assert roster.calls == 0


def test_duplicate_user_is_a_constraint_violation_naming_them(service):
    add_alice(service)

    with pytest.raises(ConstraintViolationError, match="User alice already exists"):
        add_alice(service)


@pytest.mark.parametrize("other", ["Alice", "ALICE", "aLIce"])
def test_a_name_taken_in_another_case_is_refused_naming_the_stored_one(service, roster, other):
    add_alice(service)

    with pytest.raises(ConstraintViolationError) as raised:
        service.add_user(UserCreate(username=other, password=PASSWORD, class_key="staff"))

    assert raised.value.message == (
        "User alice already exists, and user names are unique regardless of case: "
        f"choose another name than {other}"
    )
    assert sorted(roster.rows) == ["alice"]


def test_case_clashes_are_reported_oldest_first(service, roster):
    add_alice(service)
    service.add_user(UserCreate(username="bob", password=PASSWORD, class_key="staff"))
    assert service.case_clashes() == []
    # Only a database from before version 9 holds such rows: put one in by hand.
    legacy = roster.rows["alice"].model_copy(update={"id": 3, "username": "ALICE"})
    roster.rows["ALICE"] = legacy

    assert service.case_clashes() == [["alice", "ALICE"]]


def test_change_password_replaces_the_hash(service):
    add_alice(service)

    service.change_password("alice", "a brand new password")

    assert service.authenticate("alice", "a brand new password").username == "alice"
    with pytest.raises(AuthenticationError):
        service.authenticate("alice", PASSWORD)


def test_change_password_of_unknown_user_is_not_found(service):
    with pytest.raises(RecordNotFoundError, match="No user named ghost"):
        service.change_password("ghost", "a brand new password")


def test_remove_user(service, roster):
    add_alice(service)

    service.remove_user("alice")

    assert roster.rows == {}
    with pytest.raises(RecordNotFoundError, match="No user named alice"):
        service.remove_user("alice")


def test_user_who_owns_images_cannot_be_removed(service, roster):
    add_alice(service)
    roster.owners_with_images.add("alice")

    with pytest.raises(ConstraintViolationError, match="alice still owns images"):
        service.remove_user("alice")


def test_get_all_users_pages_through_the_roster(service, roster, monkeypatch):
    monkeypatch.setattr("pixyproxy_cli.service.users.USER_CHUNK_SIZE", 2)
    for name in ("u1", "u2", "u3", "u4", "u5"):
        service.add_user(UserCreate(username=name, password=PASSWORD, class_key="k"))

    names = [user.username for user in service.get_all_users()]

    assert names == ["u1", "u2", "u3", "u4", "u5"]
