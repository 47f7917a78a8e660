"""The service interfaces that the CLI and the REST server program against."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pixyproxy_cli.core.edits import LocalImage
    from pixyproxy_cli.core.filters import ImageFilters
    from pixyproxy_cli.core.image_options import ImageOptions
    from pixyproxy_cli.core.models import (
        ImageContent,
        ImageDetailCreate,
        ImageFile,
        ImagePublic,
        User,
        UserCreate,
    )
    from pixyproxy_cli.core.progress import ImageProgress


class PromptServiceInterface(ABC):
    """Generate images from prompts and read them back, within one caller's visibility."""

    @property
    @abstractmethod
    def viewer(self) -> str | None:
        """The user whose private images this caller may see; None when anonymous."""

    @abstractmethod
    def generate_image(self, request: ImageDetailCreate | Mapping[str, Any]) -> ImagePublic:
        """Generate an image for ``request.prompt``, store its file and details, return them.

        ``request`` is validated afresh, as a model or as its fields (callers pass what a
        user typed as a mapping, and get InputValidationError rather than build an invalid
        model).

        Raises InputValidationError for a bad prompt (the provider is never called),
        AuthenticationError for a private request without a user, a GenerationError for
        provider failures, StorageError, and database errors; on any failure nothing is
        left behind: no row, and no file.
        """

    @abstractmethod
    def generate_images(
        self,
        request: ImageDetailCreate | Mapping[str, Any],
        n: int,
        options: ImageOptions | None = None,
        progress: ImageProgress | None = None,
    ) -> list[ImagePublic]:
        """Generate ``n`` (1 to 10) images for one request in one provider call.

        ``options`` are the caller's own (a REST request's), checked here
        (InputValidationError); None means the configured ones. ``progress``, when given,
        is told ``(received, expected)`` for each partial image of a streamed request.

        Each has its own GUID, row and file, and records its width and height; all rows are
        inserted in one transaction, and if anything fails no row and no file of the batch
        remains. Raises as ``generate_image`` does (InputValidationError for ``n`` out of
        range).
        """

    @abstractmethod
    def edit_images(
        self,
        request: ImageDetailCreate | Mapping[str, Any],
        sources: Sequence[str | LocalImage],
        n: int = 1,
        options: ImageOptions | None = None,
        *,
        mask: LocalImage | None = None,
        progress: ImageProgress | None = None,
    ) -> list[ImagePublic]:
        """Make ``n`` images from ``sources`` as ``request.prompt`` describes; store them.

        A source is the GUID of a stored image the caller may see, or a ``LocalImage`` (a
        PNG, JPEG or WebP under 50 MB); 1 to 16 of them, checked before the provider is
        called. ``mask`` (a PNG under 4 MB) marks what to change in the first. Each result
        records its ``parents`` (the GUIDs, None for local images); an edit of a private
        image is private, and owned by its caller.

        Raises InputValidationError for bad sources or options, RecordNotFoundError for a
        GUID that does not exist or is another user's private image (the same words), and
        otherwise as ``generate_images``, storing all or nothing.
        """

    @abstractmethod
    def get_image_by_guid(self, guid: str) -> ImagePublic:
        """The details of one image. Raises InputValidationError, RecordNotFoundError."""

    @abstractmethod
    def get_all_images(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        mine: bool = False,
        private: bool | None = None,
        filters: ImageFilters | None = None,
    ) -> Iterator[ImagePublic]:
        """Every image visible to the caller, oldest first, fetched in bounded chunks.

        ``limit`` caps the count; ``after`` (a GUID) starts after that image; ``mine`` keeps
        the caller's own images; ``private`` keeps only private (True) or public (False)
        ones; ``filters`` (``core.filters.image_filters``) keeps those that match a search,
        dates and a model, and may order them newest first (``after`` then pages on down).
        Arguments are validated before the iterator is returned (InputValidationError,
        AuthenticationError for ``mine`` or ``private=True`` without a user,
        RecordNotFoundError for an unknown ``after``); database errors surface while
        iterating.
        """

    @abstractmethod
    def get_all_images_json_pages(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        mine: bool = False,
        private: bool | None = None,
        filters: ImageFilters | None = None,
    ) -> Iterator[list[bytes]]:
        """The same images as ``get_all_images``, as pages of JSON texts (UTF-8 bytes).

        Each text is byte-for-byte ``ImagePublic.model_dump_json()``, written without
        building models: the fast way to list many images. A page is one database chunk
        (never empty). Raises as ``get_all_images`` does.
        """

    @abstractmethod
    def get_image_file(self, guid: str) -> ImageContent:
        """The stored file of one image.

        Raises InputValidationError, and RecordNotFoundError when the image or its file
        does not exist (or is not visible to the caller).
        """

    @abstractmethod
    def get_image_contents(self, guids: Sequence[str]) -> dict[str, ImageContent]:
        """The stored files of those of ``guids`` the caller may see, by GUID, in one query.

        Images that do not exist, are not visible, or whose file is missing are left out.
        Raises InputValidationError for a malformed GUID.
        """

    @abstractmethod
    def delete_images(self, guids: Sequence[str]) -> list[str]:
        """Delete these images (rows, then files); return their GUIDs, without repeats.

        All or none: the rows go in one transaction, committed before any file is removed,
        so a crash between leaves only orphan files (``doctor --fix``). Once this returns,
        no process serves them again. The owner may delete their images; images without an
        owner only the local admin (the CLI on the database).

        Raises InputValidationError (a malformed GUID, none given), RecordNotFoundError
        (absent, or another user's private image: the same words), AuthenticationError
        (anonymous, for an image with an owner), PermissionDeniedError (someone else's
        public image; an ownerless one over HTTP), and StorageError when a file could not
        be removed after its row was deleted.
        """


class ServedPromptServiceInterface(PromptServiceInterface):
    """What the REST server asks of a prompt service beyond the shared operations.

    Thumbnails, and answers without I/O for its event loop (the ``peek_*`` methods): the
    server's own service has them; the CLI's remote mode does not need them.
    """

    @abstractmethod
    def get_thumbnail(self, guid: str, size: int) -> ImageContent:
        """A WebP thumbnail of one image, ``size`` pixels on its longer side, made on first use.

        A GIF's is its first frame; an SVG is its own thumbnail (the file itself).

        Raises InputValidationError (a size not offered, a malformed GUID), and
        RecordNotFoundError as ``get_image_file``.
        """

    @abstractmethod
    def peek_image_by_guid(self, guid: str) -> ImagePublic | None:
        """The details of one image when they are at hand without I/O, else None.

        For callers on an event loop: on None, call ``get_image_by_guid`` in a worker
        thread. Raises InputValidationError for a malformed GUID.
        """

    @abstractmethod
    def peek_image_file(self, guid: str) -> ImageContent | None:
        """The stored file of one image when its details are at hand (a stat, no query).

        As ``peek_image_by_guid``, for ``get_image_file``.
        """

    @abstractmethod
    def peek_thumbnail(self, guid: str, size: int) -> ImageContent | None:
        """A thumbnail when the image and its thumbnail are at hand (stats), else None.

        As ``peek_image_by_guid``, for ``get_thumbnail``.
        """


class AdminPromptServiceInterface(PromptServiceInterface):
    """What the local admin (the CLI on the database itself) may do beyond everyone else.

    Every method raises PermissionDeniedError for a caller who is not the local admin.
    """

    @abstractmethod
    def delete_images_of(self, owner: str) -> int:
        """Delete every image ``owner`` owns, in chunks; return how many.

        For the local admin removing a user; raises PermissionDeniedError for anyone else,
        InputValidationError for a malformed name, StorageError as ``delete_images``.
        """

    @abstractmethod
    def count_hidden_images(
        self,
        *,
        mine: bool = False,
        private: bool | None = None,
        filters: ImageFilters | None = None,
    ) -> int:
        """How many images a listing with these filters leaves out as others' private ones.

        Raises as the listing does.
        """

    @abstractmethod
    def everything_view(self) -> AdminPromptServiceInterface:
        """The local admin's view: every image, whoever's and however private (reads only).

        Raises PermissionDeniedError for anyone but the local admin.
        """

    @abstractmethod
    def images_for_admin(self, guids: Sequence[str]) -> list[ImageFile]:
        """Who owns each of ``guids`` and whether it is private, whoever asks about it.

        For the local admin's ``rm --admin`` confirmation. Raises PermissionDeniedError for
        anyone else, InputValidationError, and RecordNotFoundError for a missing image.
        """

    @abstractmethod
    def delete_any_images(self, guids: Sequence[str]) -> list[str]:
        """Delete ``guids`` as ``delete_images`` does, whoever owns them (all or none).

        For the local admin (the CLI on the database); raises PermissionDeniedError for
        anyone else, and the errors of ``delete_images``.
        """


class UserServiceInterface(ABC):
    """The roster: users who may log in and own private images."""

    @abstractmethod
    def authenticate(self, username: str, password: str) -> User:
        """The user these credentials identify.

        Raises AuthenticationError, with the same message and about the same delay whether
        the user is unknown or the password wrong.
        """

    @abstractmethod
    def add_user(self, request: UserCreate | Mapping[str, Any]) -> User:
        """Add a user (``request`` validated afresh, as a model or as its fields).

        Raises InputValidationError, and ConstraintViolationError when the name is taken,
        in any case (``bob`` and ``BOB`` are one name; the message names the one stored).
        """

    @abstractmethod
    def case_clashes(self) -> list[list[str]]:
        """Groups of user names that differ only in case, each oldest first.

        Only a database from before names were folded can hold any; none can be made now.
        """

    @abstractmethod
    def get_all_users(self) -> Iterator[User]:
        """Every user, in the order they were added, fetched in bounded chunks."""

    @abstractmethod
    def change_password(self, username: str, new_password: str) -> None:
        """Set a new password. Raises InputValidationError, RecordNotFoundError."""

    @abstractmethod
    def remove_user(self, username: str) -> None:
        """Remove a user.

        Raises RecordNotFoundError, and ConstraintViolationError while they own images.
        """
