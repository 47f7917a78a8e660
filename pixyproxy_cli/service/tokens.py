"""``TokenService``: API tokens, issued for a password once and used instead of it after.

A token is ``pxy_`` + its public id (16 hex digits) + ``_`` + 256 random bits (URL-safe
base64). The database keeps only its SHA-256: the bits are random, so a fast hash is as
safe as argon2 and costs nothing per request.

The database decides whether a token is valid: a token issued through any replica works on
every replica at once (an unknown token is looked up). A checked token is remembered in
memory, so a request with it costs one stat (its mark on this machine,
``data/files/token_marks.py``) instead of a query. A revoke deletes the row and writes an
invalidation in the same transaction, then removes this machine's mark: every worker here
refuses the token at its next request (the mark is gone), and every worker on another
replica within ``service/invalidations.py``'s poll interval (it removes its own mark). At
most once a minute per process a token is checked against the database again, which also
records when it was last used.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    InputValidationError,
    RecordNotFoundError,
)
from pixyproxy_cli.data.db.interfaces import (
    TokenRecord,
)
from pixyproxy_cli.data.db.rows import utc_now
from pixyproxy_cli.data.files.token_marks import TokenMarks
from pixyproxy_cli.service.invalidations import TOKEN
from pixyproxy_cli.service.transaction import UnitOfWorkFactory, retried, transaction

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import User

TOKEN_PATTERN = re.compile(r"pxy_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
REFUSED = "The API token is not valid (revoked, expired, or never issued): log in again"
RECHECK_SECONDS = 60.0
CACHE_SIZE = 4096
MAX_LABEL_LENGTH = 100
_CONTROL = "\x00-\x1f\x7f-\x9f"
LABEL_PATTERN = f"^[^{_CONTROL}]*[^\\s{_CONTROL}][^{_CONTROL}]*$"
"""A label: printable text (no control characters) with something besides spaces."""


class ApiToken(BaseModel):
    """An API token as its owner sees it in a listing: never the token itself."""

    model_config = ConfigDict(frozen=True)

    id: str
    label: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = None


class IssuedToken(ApiToken):
    """A new API token, with the token itself: shown this once, never again."""

    token: str


@dataclass
class _Known:
    token_hash: str
    user: User
    expires_at: datetime
    checked_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _public(record: TokenRecord) -> ApiToken:
    return ApiToken(
        id=record.token_id,
        label=record.label,
        created_at=record.created_at,
        expires_at=record.expires_at,
        last_used_at=record.last_used_at,
    )


class TokenService:
    """Issue, check, list and revoke API tokens."""

    def __init__(
        self,
        *,
        marks: TokenMarks,
        uow: UnitOfWorkFactory,
        lifetime: timedelta,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._marks = marks
        self._uow = uow
        self._lifetime = lifetime
        self._clock = clock
        self._known: OrderedDict[str, _Known] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, user: User, label: str = "API token") -> IssuedToken:
        """A new token for ``user`` (already authenticated).

        Raises InputValidationError for a label that is empty or over 100 characters,
        StorageError, and database errors.
        """
        label = label.strip()
        # The same rule as the REST schema's (LABEL_PATTERN, MAX_LABEL_LENGTH), after strip.
        if len(label) > MAX_LABEL_LENGTH or not re.fullmatch(LABEL_PATTERN, label):
            raise InputValidationError(
                f"label must be 1 to {MAX_LABEL_LENGTH} printable characters"
            )
        token_id = secrets.token_hex(8)
        token = f"pxy_{token_id}_{secrets.token_urlsafe(32)}"
        now = self._clock()
        record = TokenRecord(
            token_id=token_id,
            username=user.username,
            token_hash=_digest(token),
            label=label,
            created_at=now,
            expires_at=now + self._lifetime,
        )
        self._marks.add(token_id)  # first: a row without its mark is refused, never used
        for attempt in retried(self._uow):
            with attempt as uow:
                uow.tokens.create_token(record)
        return IssuedToken(**_public(record).model_dump(), token=token)

    def peek(self, token: str) -> User | None:
        """The token's user when this process checked it lately, without I/O but a stat.

        None when it must be checked (``authenticate``, in a worker thread). Raises
        AuthenticationError for a token that is malformed, revoked or expired.
        """
        match = TOKEN_PATTERN.fullmatch(token)
        if match is None:
            raise AuthenticationError(REFUSED)
        with self._lock:
            known = self._known.get(match.group(1))
        if known is None or not hmac.compare_digest(known.token_hash, _digest(token)):
            return None
        now = self._clock()
        if known.expires_at <= now or not self._marks.has(match.group(1)):
            self._forget(match.group(1))
            raise AuthenticationError(REFUSED)
        if (now - known.checked_at).total_seconds() >= RECHECK_SECONDS:
            return None
        return known.user

    def authenticate(self, token: str) -> User:
        """The user of a valid token (checked against the database, its use recorded).

        Raises AuthenticationError, with the same words for every reason.
        """
        match = TOKEN_PATTERN.fullmatch(token)
        if match is None:
            raise AuthenticationError(REFUSED)
        token_id = match.group(1)
        now = self._clock()
        for attempt in retried(self._uow):
            with attempt as uow:
                record = uow.tokens.get_token(token_id)
                valid = (
                    record is not None
                    and hmac.compare_digest(record.token_hash, _digest(token))
                    and record.expires_at > now
                )
                owner = uow.users.authenticate_user(record.username) if valid and record else None
                if owner is not None:
                    uow.tokens.touch_token(token_id, now=now)
        if record is None or owner is None:
            self._forget(token_id)
            raise AuthenticationError(REFUSED)
        # Valid by the database: mark it on this machine (issued elsewhere, or unmarked by
        # an invalidation that another token's revoke raced), so that its uses cost a stat.
        self._marks.add(token_id)
        user = owner.to_user()
        with self._lock:
            self._known[token_id] = _Known(record.token_hash, user, record.expires_at, now)
            self._known.move_to_end(token_id)
            while len(self._known) > CACHE_SIZE:
                self._known.popitem(last=False)
        return user

    def list_tokens(self, user: User) -> list[ApiToken]:
        """``user``'s tokens, oldest first (expired ones too, until revoked)."""
        with transaction(self._uow) as uow:
            records = uow.tokens.get_tokens(user.username)
        return [_public(record) for record in records]

    def revoke(self, user: User, token_id: str) -> None:
        """Revoke one of ``user``'s tokens, for every process at once.

        Raises RecordNotFoundError when ``user`` has no token with this id.
        """
        for attempt in retried(self._uow):
            with attempt as uow:
                record = uow.tokens.get_token(token_id)
                if record is None or record.username != user.username:
                    raise RecordNotFoundError(f"No API token with id {token_id}")
                uow.tokens.delete_token(token_id)
                uow.invalidations.record(TOKEN, token_id, now=self._clock().timestamp())
        self.forget_here(token_id)

    def revoke_token(self, token: str) -> bool:
        """Revoke ``token`` itself (signing out with it); whether it was valid until now."""
        match = TOKEN_PATTERN.fullmatch(token)
        if match is None:
            return False
        try:
            user = self.authenticate(token)
            self.revoke(user, match.group(1))
        except (AuthenticationError, RecordNotFoundError):
            return False
        return True

    def revoke_all(self, username: str) -> int:
        """Revoke every token of ``username`` (gallery sign-ins included); how many.

        Every process refuses them at once. Raises the database's PixyProxyExceptions.
        """
        now = self._clock().timestamp()
        for attempt in retried(self._uow):
            with attempt as uow:
                records = uow.tokens.get_tokens(username)
                for record in records:
                    uow.tokens.delete_token(record.token_id)
                    uow.invalidations.record(TOKEN, record.token_id, now=now)
        self._drop(records)
        return len(records)

    @contextmanager
    def revoking_all(self, username: str) -> Iterator[None]:
        """Around the removal of ``username``, whose row takes its tokens' rows with it.

        Once the block succeeds, every process refuses those tokens (this machine's at
        once, other replicas' within the poll interval); if it raises, nothing is revoked
        (the invalidations written first only make the other replicas look them up again).
        """
        now = self._clock().timestamp()
        for attempt in retried(self._uow):
            with attempt as uow:
                records = uow.tokens.get_tokens(username)
                for record in records:
                    uow.invalidations.record(TOKEN, record.token_id, now=now)
        yield
        self._drop(records)

    def _drop(self, records: list[TokenRecord]) -> None:
        for record in records:
            self.forget_here(record.token_id)

    def forget_here(self, token_id: str) -> None:
        """Forget a token revoked anywhere: this machine's mark, and this process's memory.

        What an invalidation does in every worker (``service/invalidations.py``).
        """
        try:
            self._marks.remove(token_id)
        except ValueError:  # not a token id: nothing of ours to remove
            return
        self._forget(token_id)

    def _forget(self, token_id: str) -> None:
        with self._lock:
            self._known.pop(token_id, None)
