"""Repository interfaces: what the service layer may ask of stored images and users.

Repositories do no transaction management of their own: they run inside the
``DatabaseContext`` that the service layer opened (found with ``get_current_db_context``),
and raise only PixyProxyExceptions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from pixyproxy_cli.core.filters import ImageFilters
from pixyproxy_cli.data.db.public_json import RowPage

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import Image, ImageDetail, ImageFile, UserRecord
    from pixyproxy_cli.core.provenance import ProvenanceReport


@dataclass(frozen=True)
class ImageQuery:
    """Which images one listing page holds.

    The images ``viewer`` may see (the public ones and the viewer's private ones) that
    ``owner``, ``private`` and ``filters`` keep, at most ``limit`` of them, by id: those with
    ``id > after_id`` in ascending order, or with ``filters.newest_first`` those with
    ``id < after_id`` (any id when it is 0) in descending order.
    """

    limit: int
    after_id: int = 0
    viewer: str | None = None
    owner: str | None = None
    private: bool | None = None
    filters: ImageFilters = field(default_factory=ImageFilters)
    everything: bool = False
    """The local admin's view: every image, whoever's and however private."""

    def after(self, last_id: int) -> ImageQuery:
        """The same query, for the page after the image with id ``last_id``."""
        return replace(self, after_id=last_id)


class ImageRepositoryInterface(ABC):
    """Stored image details."""

    @abstractmethod
    def get_image_by_guid(self, guid: str) -> Image | None:
        """The image with this GUID, or None."""

    @abstractmethod
    def get_visible_image(self, guid: str, viewer: str | None) -> Image | None:
        """The image with this GUID if ``viewer`` may see it (public, or theirs), or None.

        One query either way: another user's private image and a GUID never stored cost
        the same.
        """

    @abstractmethod
    def get_all_images(self, query: ImageQuery) -> RowPage:
        """The page of images ``query`` describes, and the id to go on after.

        Callers walk all images page by page, and take a page's images as models
        (``RowPage.images``) or JSON lines (``RowPage.json_lines``) after the transaction;
        its raw rows are the data layer's own.
        """

    @abstractmethod
    def create_image(
        self, image: ImageDetail, *, now: datetime, updated_at: datetime | None = None
    ) -> int:
        """Insert ``image`` made at ``now`` (and updated at ``updated_at``, default ``now``).

        Returns its new integer id. Raises ConstraintViolationError for a duplicate GUID or
        file name.
        """

    @abstractmethod
    def get_image_files(self, guids: Sequence[str]) -> list[ImageFile]:
        """The file details of those of ``guids`` that are stored (any visibility)."""

    @abstractmethod
    def delete_image(self, guid: str) -> bool:
        """Delete the row of the image with this GUID; False when there is none."""

    @abstractmethod
    def get_owned_image_files(self, owner: str, *, limit: int) -> list[ImageFile]:
        """The files of up to ``limit`` of ``owner``'s images (the oldest first)."""

    @abstractmethod
    def get_image_file(self, guid: str) -> ImageFile | None:
        """Where the file of the image with this GUID is kept, or None."""

    @abstractmethod
    def count_images(self) -> int:
        """How many images are stored, private ones included."""

    @abstractmethod
    def get_image_files_page(self, *, after_id: int = 0, limit: int) -> list[tuple[int, ImageFile]]:
        """One page of (id, file details) of every image, private ones included, by id."""

    @abstractmethod
    def find_unreadable_images(
        self, *, after_id: int = 0, limit: int
    ) -> tuple[list[tuple[str, str]], int | None]:
        """The images of one page by id whose rows cannot be read back, and where it ended.

        Returns (GUID, what is wrong) for each such row, and the last id of the page (None
        when the page was the last). For ``doctor``: one such row breaks every listing.
        """

    @abstractmethod
    def usage(self, *, by: str, since: datetime | None, owner: str | None) -> list[UsageRow]:
        """Images and tokens by group, and by model within each group.

        Groups are ``by`` ``day`` (UTC), ``model`` or ``user`` (owner; empty for
        anonymous). Only images made since ``since``, and only ``owner``'s when given;
        ordered by group, then model.
        """

    @abstractmethod
    def shortest_indexed_word(self) -> int | None:
        """The fewest letters a word needs to be in the full-text index (None: any)."""

    @abstractmethod
    def find_filenames(self, filenames: Sequence[str]) -> set[str]:
        """Which of ``filenames`` belong to a stored image."""

    @abstractmethod
    def count_hidden(self, query: ImageQuery) -> int:
        """How many images ``query``'s filters keep that its viewer may not see.

        Those are other users' private images; paging and ``everything`` are not applied.
        """

    @abstractmethod
    def add_provenance_check(self, guid: str, report: ProvenanceReport) -> bool:
        """Keep a provenance check of the image with this GUID; False when there is none."""

    @abstractmethod
    def latest_provenance_check(self, guid: str) -> ProvenanceReport | None:
        """The last provenance check kept for the image with this GUID, or None."""


@dataclass(frozen=True)
class UsageRow:
    """Images of one group and one model, and the tokens they used."""

    key: str
    model: str
    images: int
    input_tokens: int
    output_tokens: int
    input_text_tokens: int = 0
    """Of the input tokens, those known to be text (the rest of unknown kind or images)."""
    input_image_tokens: int = 0
    output_text_tokens: int = 0
    output_image_tokens: int = 0
    provider: str = ""
    """Who made them (one of ``BATCH_PROVIDERS``: through a Batch API)."""


class UserRepositoryInterface(ABC):
    """The roster of users who may own private images."""

    @abstractmethod
    def authenticate_user(self, username: str) -> UserRecord | None:
        """The roster record to verify a login against (with its hash), or None."""

    @abstractmethod
    def create_user(
        self, username: str, password_hash: str, class_key: str, *, now: datetime
    ) -> int:
        """Add a user; return the new id.

        Raises ConstraintViolationError if the name is taken, in any case (``bob`` and
        ``BOB`` are one name).
        """

    @abstractmethod
    def find_username(self, username: str) -> str | None:
        """The stored name that is ``username`` regardless of case (the oldest), or None."""

    @abstractmethod
    def find_case_clashes(self) -> list[list[str]]:
        """Groups of user names that differ only in case (made before names were folded).

        Each group is in the order the names were added; empty when there are none.
        """

    @abstractmethod
    def get_all_users(self, *, after_id: int = 0, limit: int) -> list[UserRecord]:
        """One page of users with ``id > after_id``, by id."""

    @abstractmethod
    def update_password_hash(self, username: str, password_hash: str, *, now: datetime) -> bool:
        """Replace a user's password hash; False when there is no such user."""

    @abstractmethod
    def delete_user(self, username: str) -> bool:
        """Remove a user; False when there is no such user.

        Raises ConstraintViolationError while the user still owns images.
        """


@dataclass(frozen=True)
class LimitSlot:
    """One slot of a limit's count: events counted in it, and when its window started."""

    slot: int
    hits: int
    window_start: float


class LimitRepositoryInterface(ABC):
    """Counters of events per bucket and window, shared by every process on the database.

    A bucket's count is spread over slots, each holding at most its share of the limit: a
    writer takes room in one slot, so writers collide only when they pick the same one.
    """

    @abstractmethod
    def slots(self, bucket: str) -> list[LimitSlot]:
        """The bucket's slots as last committed: a plain read (no lock, no write)."""

    @abstractmethod
    def take(
        self, bucket: str, slot: int, *, weight: int, capacity: int, now: float, window: float
    ) -> bool:
        """Count ``weight`` events in ``slot`` if it has room; whether it did.

        Room is ``capacity``; a slot whose window started ``window`` seconds or more before
        ``now`` starts again at ``now``. Atomic: however many take at once, no slot goes
        over its capacity.
        """

    @abstractmethod
    def give_back(self, bucket: str, weight: int) -> None:
        """Uncount ``weight`` events of ``bucket`` (ones that were refused after all)."""

    @abstractmethod
    def clear(self, bucket: str) -> None:
        """Forget ``bucket``'s events."""

    @abstractmethod
    def purge(self, *, prefix: str, before: float) -> int:
        """Remove the slots of buckets named ``prefix...`` whose window began before ``before``."""


class InvalidationRepositoryInterface(ABC):
    """What every process must forget (a revoked token, a deleted image), with when.

    Inserts only: writers on several nodes of a cluster never touch the same row.
    """

    @abstractmethod
    def record(self, kind: str, subject: str, *, now: float) -> None:
        """Note that ``subject`` (a token id, a GUID) of ``kind`` is gone as of ``now``."""

    @abstractmethod
    def since(self, moment: float) -> list[tuple[int, str, str]]:
        """(id, kind, subject) of every row noted at ``moment`` or later, by id."""

    @abstractmethod
    def purge(self, *, before: float) -> int:
        """Remove the rows noted before ``before``; how many."""


@dataclass(frozen=True)
class TokenRecord:
    """An API token as stored: never the token itself, only its SHA-256."""

    token_id: str
    username: str
    token_hash: str
    label: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = None


class TokenRepositoryInterface(ABC):
    """API tokens, by their public id."""

    @abstractmethod
    def create_token(self, token: TokenRecord) -> None:
        """Store ``token``. Raises ConstraintViolationError (a duplicate id, no such user)."""

    @abstractmethod
    def get_token(self, token_id: str) -> TokenRecord | None:
        """The token with this id, or None."""

    @abstractmethod
    def get_tokens(self, username: str) -> list[TokenRecord]:
        """``username``'s tokens, oldest first."""

    @abstractmethod
    def delete_token(self, token_id: str) -> bool:
        """Delete the token with this id; False when there is none."""

    @abstractmethod
    def touch_token(self, token_id: str, *, now: datetime) -> None:
        """Record that the token was used at ``now``."""
