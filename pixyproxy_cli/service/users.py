"""``UserService``: the roster, and authentication against it.

Password hashes never leave this module: the repository returns ``UserRecord`` (with the
hash), and every method here returns ``User`` (without it). Hashing and verification run
outside any transaction, so no database connection is held for the ~50 ms they take.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    ConstraintViolationError,
    InputValidationError,
    RecordNotFoundError,
)
from pixyproxy_cli.data.db.rows import utc_now
from pixyproxy_cli.service.interfaces import UserServiceInterface
from pixyproxy_cli.service.passwords import PasswordHasher
from pixyproxy_cli.service.transaction import UnitOfWorkFactory, keyset_pages, retried, transaction
from pixyproxy_cli.service.validation import validate_model, validate_password, validate_username

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import User, UserCreate

logger = logging.getLogger(__name__)

USER_CHUNK_SIZE = 500


class UserService(UserServiceInterface):
    """The roster of users; see UserServiceInterface."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._uow = uow
        self._hasher = hasher or PasswordHasher()
        self._clock = clock

    def authenticate(self, username: str, password: str) -> User:
        """See UserServiceInterface.authenticate."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise AuthenticationError()
        try:
            username = validate_username(username)
        except InputValidationError:
            self._hasher.verify_dummy(password)
            raise AuthenticationError() from None
        with transaction(self._uow) as uow:
            record = uow.users.authenticate_user(username)
        if record is None:
            self._hasher.verify_dummy(password)
            raise AuthenticationError()
        if not self._hasher.verify(record.password_hash, password):
            raise AuthenticationError()
        if self._hasher.needs_rehash(record.password_hash):
            new_hash = self._hasher.hash(password)
            for attempt in retried(self._uow):
                with attempt as uow:
                    uow.users.update_password_hash(username, new_hash, now=self._clock())
            logger.info("rehashed the password of %s with current parameters", username)
        return record.to_user()

    def add_user(self, request: UserCreate | Mapping[str, Any]) -> User:
        """See UserServiceInterface.add_user."""
        from pixyproxy_cli.core.models import User, UserCreate

        request = validate_model(UserCreate, request)
        password_hash = self._hasher.hash(request.password.get_secret_value())
        try:
            for attempt in retried(self._uow):
                with attempt as uow:
                    uow.users.create_user(
                        request.username, password_hash, request.class_key, now=self._clock()
                    )
        except ConstraintViolationError as error:
            raise ConstraintViolationError(self._taken(request.username)) from error
        return User(username=request.username, class_key=request.class_key)

    def _taken(self, username: str) -> str:
        """Why ``username`` cannot be added: it exists, perhaps in another case."""
        with transaction(self._uow) as uow:
            existing = uow.users.find_username(username)
        if existing is None or existing == username:
            return f"User {username} already exists"
        return (
            f"User {existing} already exists, and user names are unique regardless of case: "
            f"choose another name than {username}"
        )

    def case_clashes(self) -> list[list[str]]:
        """See UserServiceInterface.case_clashes."""
        with transaction(self._uow) as uow:
            return uow.users.find_case_clashes()

    def get_all_users(self) -> Iterator[User]:
        """See UserServiceInterface.get_all_users."""
        pages = keyset_pages(
            self._uow,
            lambda uow, after_id, limit: uow.users.get_all_users(after_id=after_id, limit=limit),
            lambda record: record.id,
            USER_CHUNK_SIZE,
        )
        for page in pages:
            for record in page:
                yield record.to_user()

    def change_password(self, username: str, new_password: str) -> None:
        """See UserServiceInterface.change_password."""
        username = validate_username(username)
        password = validate_password(new_password)
        password_hash = self._hasher.hash(password.get_secret_value())
        for attempt in retried(self._uow):
            with attempt as uow:
                changed = uow.users.update_password_hash(username, password_hash, now=self._clock())
        if not changed:
            raise RecordNotFoundError(f"No user named {username}")

    def remove_user(self, username: str) -> None:
        """See UserServiceInterface.remove_user."""
        username = validate_username(username)
        try:
            for attempt in retried(self._uow):
                with attempt as uow:
                    removed = uow.users.delete_user(username)
        except ConstraintViolationError as error:
            raise ConstraintViolationError(
                f"User {username} still owns images; to delete them with the user: "
                f"pixyproxy user remove {username} --delete-images"
            ) from error
        if not removed:
            raise RecordNotFoundError(f"No user named {username}")
