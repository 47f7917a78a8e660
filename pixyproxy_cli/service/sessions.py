"""``SessionService``: log in, log out, and who the current caller is.

Credentials are checked against the roster before they are kept, and every time they are
used: a password changed since the login makes the stored credentials fail, loudly,
instead of quietly downgrading the caller to anonymous.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pixyproxy_cli.core.exceptions import AuthenticationError
from pixyproxy_cli.data.keyring_stores.credentials import (
    PASSWORD_VARIABLE,
    USERNAME_VARIABLE,
    Credentials,
    CredentialStore,
)
from pixyproxy_cli.service.interfaces import UserServiceInterface

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import User


@dataclass(frozen=True)
class Session:
    """Who is logged in, and where their credentials live."""

    user: User
    source: str
    warning: str | None = None
    """What the user should know about where the credentials are kept."""


class SessionService:
    """The CLI's login state, over a CredentialStore and the roster."""

    def __init__(self, *, users: UserServiceInterface, store: CredentialStore) -> None:
        self._users = users
        self._store = store
        self._current: Session | None = None
        self._resolved = False

    def login(self, username: str, password: str) -> Session:
        """Check the credentials against the roster, then keep them.

        Raises AuthenticationError (nothing is kept) and KeyringError.
        """
        user = self._users.authenticate(username, password)
        where = self._store.save(user.username, password)
        self._current = Session(user, where, self._store.keyring_warning())
        self._resolved = True
        return self._current

    def logout(self) -> str | None:
        """Forget the stored credentials; return whose they were (None: nobody was logged in)."""
        self._current, self._resolved = None, True
        return self._store.clear()

    def current(self) -> Session | None:
        """The authenticated session, or None when no credentials are stored or set.

        Raises AuthenticationError when the stored credentials no longer authenticate,
        and KeyringError when the keyring cannot be read.
        """
        if not self._resolved:
            credentials = self._store.load()
            if credentials is None:
                self._current = None
            else:
                try:
                    user = self._users.authenticate(credentials.username, credentials.password)
                except AuthenticationError as error:
                    raise AuthenticationError(_refused(credentials)) from error
                warning = None if credentials.from_environment else self._store.keyring_warning()
                self._current = Session(user, credentials.source, warning)
            self._resolved = True
        return self._current

    def current_user(self) -> User | None:
        """The authenticated user, or None; see ``current``."""
        session = self.current()
        return session.user if session else None

    @property
    def environment_overrides_keyring(self) -> bool:
        """Whether PIXYPROXY_USERNAME / PIXYPROXY_PASSWORD are set (they beat the keyring)."""
        return self._store.from_environment() is not None


def _refused(credentials: Credentials) -> str:
    """Why stored or given credentials were refused, and the way out that can help."""
    if credentials.from_environment:
        return (
            f"{USERNAME_VARIABLE} and {PASSWORD_VARIABLE} were refused: they do not "
            f"authenticate {credentials.username}; correct them, or unset them"
        )
    return (
        f"The credentials of {credentials.username} from {credentials.source} are no longer "
        "valid: run pixyproxy login"
    )
