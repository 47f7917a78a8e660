"""Public prompt requests: what anyone may do without logging in.

``PromptService`` generates public images and reads public ones. The authenticated
variant, which also sees and makes its user's private images, is ``PrivatePromptService``
in ``private_prompts.py``; both share this implementation and differ only in who the
viewer is.

Generating an image runs in this order, so that a failure leaves nothing behind:
validate the prompt -> call the provider (no database connection held) -> write the file
atomically -> insert the row in one transaction -> on any failure after the write, remove
the file. A crash between the steps leaves at most an orphan file, never a row without one.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixyproxy_cli.core.constants import (
    DEFAULT_MAX_PROMPT_LENGTH,
    MAX_IMAGES_PER_REQUEST,
    MEDIA_TYPE_EXTENSIONS,
    SVG_MEDIA_TYPE,
    THUMBNAIL_SIZES,
)
from pixyproxy_cli.core.edits import (
    EDIT_MEDIA_TYPES,
    LocalImage,
    source_count_problem,
    source_size_problem,
)
from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    GenerationError,
    InputValidationError,
    PermissionDeniedError,
    RecordNotFoundError,
    StorageError,
)
from pixyproxy_cli.core.filters import ImageFilters
from pixyproxy_cli.core.image_options import ImageOptions, count_problem, mask_problem
from pixyproxy_cli.data.db.context import UnitOfWork
from pixyproxy_cli.data.db.interfaces import ImageQuery
from pixyproxy_cli.data.db.public_json import RowPage
from pixyproxy_cli.data.db.rows import utc_now
from pixyproxy_cli.data.files.imaging import image_dimensions, kinds, make_thumbnail, read_header
from pixyproxy_cli.data.files.storage import ImageStoreInterface
from pixyproxy_cli.data.providers import (
    GeneratedImage,
    ImageProviderInterface,
    Progress,
    SourceImage,
)
from pixyproxy_cli.service.cache import ImageCache
from pixyproxy_cli.service.interfaces import PromptServiceInterface
from pixyproxy_cli.service.transaction import UnitOfWorkFactory, transaction
from pixyproxy_cli.service.validation import (
    validate_count,
    validate_guid,
    validate_limit,
    validate_model,
    validate_username,
)

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import (
        Image,
        ImageContent,
        ImageDetailCreate,
        ImageFile,
        ImagePublic,
    )

logger = logging.getLogger(__name__)


DELETE_CHUNK_SIZE = 500
"""Images deleted per transaction when a user's images all go."""

DEFAULT_CHUNK_SIZE = 2000
"""Rows per listing query: large enough that round trips do not dominate, small enough that
memory stays flat (a page is a few hundred KB)."""


@dataclass(frozen=True)
class PromptDependencies:
    """What a prompt service works with; shared by the public and private services."""

    uow: UnitOfWorkFactory
    """Opens a unit of work (its transaction and repositories)."""
    provider: ImageProviderInterface
    store: ImageStoreInterface
    max_prompt_length: int = DEFAULT_MAX_PROMPT_LENGTH
    chunk_size: int = DEFAULT_CHUNK_SIZE
    clock: Callable[[], datetime] = utc_now
    cache: ImageCache = field(default_factory=ImageCache)
    local_admin: bool = False
    """Whether the caller has the database itself (the CLI, not the server): it may delete
    images without an owner, and every image of a user being removed."""


class PromptService(PromptServiceInterface):
    """Image requests made anonymously: public images only."""

    def __init__(self, dependencies: PromptDependencies) -> None:
        self.dependencies = dependencies
        self._uow = dependencies.uow
        self._provider = dependencies.provider
        self._store = dependencies.store
        self._max_prompt_length = dependencies.max_prompt_length
        self._chunk_size = dependencies.chunk_size
        self._clock = dependencies.clock
        self._cache = dependencies.cache
        self._local_admin = dependencies.local_admin

    # -- who is asking (PrivatePromptService overrides these) ---------------------------

    @property
    def viewer(self) -> str | None:
        """The user name whose private images this service may see; None when anonymous."""
        return None

    def _owner_for(self, private: bool) -> str | None:
        if private:
            raise AuthenticationError("Log in to create private images")
        return None

    def _is_visible(self, private: bool, owner: str | None) -> bool:
        return not private or (self.viewer is not None and owner == self.viewer)

    # -- operations --------------------------------------------------------------------

    def generate_image(self, request: ImageDetailCreate | Mapping[str, Any]) -> ImagePublic:
        """See PromptServiceInterface.generate_image."""
        return self.generate_images(request, 1)[0]

    def generate_images(
        self,
        request: ImageDetailCreate | Mapping[str, Any],
        n: int,
        options: ImageOptions | None = None,
        progress: Progress | None = None,
    ) -> list[ImagePublic]:
        """See PromptServiceInterface.generate_images."""
        request, n = self._checked_request(request, n, options, edit=False)
        owner = self._owner_for(request.private)
        self._database_ready()
        generated = self._call_provider(
            lambda: self._provider.generate(request.prompt, n, options, progress)
        )
        return self._store_batch(request.prompt, request.private, owner, generated, None)

    def edit_images(
        self,
        request: ImageDetailCreate | Mapping[str, Any],
        sources: Sequence[str | LocalImage],
        n: int = 1,
        options: ImageOptions | None = None,
        *,
        mask: LocalImage | None = None,
        progress: Progress | None = None,
    ) -> list[ImagePublic]:
        """See PromptServiceInterface.edit_images."""
        request, n = self._checked_request(request, n, options, edit=True)
        problem = source_count_problem(len(sources))
        if problem:
            raise InputValidationError(problem)
        uploads: list[SourceImage] = []
        parents: list[str | None] = []
        private = request.private
        for number, source in enumerate(sources, 1):
            if isinstance(source, str):
                image = self._visible_image(validate_guid(source))
                private = private or image.private  # an edit of a private image stays private
                uploads.append(self._stored_source(image))
                parents.append(image.guid)
            else:
                uploads.append(_local_source(source, f"source-{number}"))
                parents.append(None)
        upload_mask = None
        if mask is not None:
            masked = mask_problem((options or self._provider.default_options()).format)
            if masked is not None:
                raise InputValidationError(masked)
            upload_mask = _local_source(mask, "mask", mask=True)
            _check_mask_fits(upload_mask, uploads[0], mask.name)
        owner = self._owner_for(private)
        self._database_ready()
        generated = self._call_provider(
            lambda: self._provider.edit(request.prompt, uploads, upload_mask, n, options, progress)
        )
        return self._store_batch(request.prompt, private, owner, generated, parents)

    def _checked_request(
        self,
        request: ImageDetailCreate | Mapping[str, Any],
        n: int,
        options: ImageOptions | None,
        *,
        edit: bool,
    ) -> tuple[ImageDetailCreate, int]:
        """The request, count and options validated (InputValidationError)."""
        from pixyproxy_cli.core.models import ImageDetailCreate

        request = validate_model(
            ImageDetailCreate, request, {"max_prompt_length": self._max_prompt_length}
        )
        n = validate_count(n, MAX_IMAGES_PER_REQUEST)
        model = self._provider.model
        problem = options.first_problem(model, edit=edit) if options is not None else None
        if problem is not None:
            raise InputValidationError(problem[1])
        image_format = (options or self._provider.default_options()).format
        count = count_problem(n, image_format)
        if count is not None:
            raise InputValidationError(count)
        return request, n

    def _database_ready(self) -> None:
        # Images cost money: make sure there is a database to keep them in before asking.
        with transaction(self._uow):
            pass

    def _stored_source(self, image: Image) -> SourceImage:
        """A stored image's bytes, as an edit uploads them, read through their header.

        Raises StorageError when the stored file is not an image it can read (an import of
        an older pixyproxy did not look): the store's fault, not the request's.
        """
        try:
            data = self._store.read(image.filename)
        except RecordNotFoundError as error:
            raise _file_missing(image.guid) from error
        try:
            header = read_header(data, f"The file of image {image.guid}")
        except InputValidationError as error:  # the stored file, not the request
            raise StorageError(error.message) from error
        if header.media_type not in EDIT_MEDIA_TYPES:
            raise InputValidationError(
                f"Image {image.guid} is {kinds([header.media_type])}: an edit starts from "
                f"{kinds(EDIT_MEDIA_TYPES).removeprefix('a ')}s"
            )
        return SourceImage(image.filename, data, header.media_type, header.width, header.height)

    def _store_batch(
        self,
        prompt: str,
        private: bool,
        owner: str | None,
        generated: list[GeneratedImage],
        parents: list[str | None] | None,
    ) -> list[ImagePublic]:
        """Write every file, then insert every row in one transaction: all, or nothing."""
        from pixyproxy_cli.core.models import Image, ImageDetail

        details = []
        for image in generated:
            guid = str(uuid.uuid4())
            width, height = image_dimensions(image.data) or (None, None)
            detail = ImageDetail(
                prompt=prompt,
                private=private,
                guid=guid,
                filename=f"{guid}{image.extension}",
                owner=owner,
                provider=image.provider,
                model=image.model,
                media_type=image.media_type,
                input_tokens=image.input_tokens,
                output_tokens=image.output_tokens,
                input_text_tokens=image.input_text_tokens,
                input_image_tokens=image.input_image_tokens,
                output_text_tokens=image.output_text_tokens,
                output_image_tokens=image.output_image_tokens,
                width=width,
                height=height,
                parents=parents,
            )
            details.append((detail, image.data))
        saved: list[str] = []
        try:
            for detail, data in details:
                self._store.save(detail.filename, data)
                saved.append(detail.filename)
            now = self._clock()
            with transaction(self._uow) as uow:  # all of them, or none
                ids = [uow.images.create_image(detail, now=now) for detail, _ in details]
        except BaseException:
            for filename in saved:
                self._remove_file_quietly(filename)
            raise
        return [
            Image(**detail.model_dump(), id=image_id, created_at=now, updated_at=now).to_public()
            for (detail, _), image_id in zip(details, ids, strict=True)
        ]

    def _call_provider(self, call: Callable[[], list[GeneratedImage]]) -> list[GeneratedImage]:
        # Providers translate what their service answers into the GenerationError family;
        # anything else (a TypeError from an SDK too old for a keyword, say) is a bug, and
        # is left to surface as one, never as "the provider failed".
        generated = call()
        if not generated or not all(image.data for image in generated):
            raise GenerationError("The image provider returned an empty image")
        return generated

    def _remove_file_quietly(self, filename: str) -> None:
        try:
            self._store.delete(filename)
        except StorageError:
            logger.warning("could not remove %s after a failed insert", filename, exc_info=True)

    def _cached_image(self, guid: str) -> Image | None:
        """The cached image if this caller may see it and its file is still there.

        Visibility is checked first (see ``_visible_image``); a file gone (deleted, perhaps
        by another process) drops the image from the cache.
        """
        image = self._cache.get(guid)
        if image is None or not self._is_visible(image.private, image.owner):
            return None
        if not self._store.has(image.filename):
            self._cache.forget(guid)
            return None
        return image

    def _visible_image(self, guid: str) -> Image:
        """The stored image this caller may see. Raises RecordNotFoundError otherwise.

        Another user's private image costs exactly what a GUID never stored does: one cache
        lookup that finds nothing this caller may see, then one query that asks for the
        image only if it is visible to them and returns no row (no timing tells them apart).
        """
        image = self._cached_image(guid)
        if image is None:
            with transaction(self._uow) as uow:
                image = uow.images.get_visible_image(guid, self.viewer)
            if image is None:
                raise _not_found(guid)
            self._cache.put(image)
        return image

    def get_image_by_guid(self, guid: str) -> ImagePublic:
        """See PromptServiceInterface.get_image_by_guid."""
        return self._visible_image(validate_guid(guid)).to_public()

    def peek_image_by_guid(self, guid: str) -> ImagePublic | None:
        """The image's details when they are at hand without I/O, else None.

        For callers on an event loop: on None, call ``get_image_by_guid`` in a worker
        thread. Raises InputValidationError for a malformed GUID.
        """
        image = self._cached_image(validate_guid(guid))
        return None if image is None else image.to_public()

    def get_all_images(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        mine: bool = False,
        private: bool | None = None,
        filters: ImageFilters | None = None,
    ) -> Iterator[ImagePublic]:
        """See PromptServiceInterface.get_all_images."""
        pages = self._listing_pages(limit, after, mine, private, filters)
        return itertools.chain.from_iterable(page.images() for page in pages)

    def get_all_images_json_pages(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        mine: bool = False,
        private: bool | None = None,
        filters: ImageFilters | None = None,
    ) -> Iterator[list[bytes]]:
        """See PromptServiceInterface.get_all_images_json_pages."""
        pages = self._listing_pages(limit, after, mine, private, filters)
        return (page.json_lines() for page in pages)

    def _listing_pages(
        self,
        limit: int | None,
        after: str | None,
        mine: bool,
        private: bool | None,
        filters: ImageFilters | None,
    ) -> Iterator[RowPage]:
        """The one listing: its arguments checked now, then its pages lazily."""
        query, limit = self._listing_start(limit, after, mine, private, filters)
        return self._iterate_pages(query, limit)

    def _listing_start(
        self,
        limit: int | None,
        after: str | None,
        mine: bool,
        private: bool | None,
        filters: ImageFilters | None,
    ) -> tuple[ImageQuery, int | None]:
        """Validate a listing's arguments: the query of its first page, and its limit."""
        limit = validate_limit(limit)
        if mine and self.viewer is None:
            raise AuthenticationError("Log in to list your own images")
        if private and self.viewer is None:
            raise AuthenticationError("Log in to list your private images")
        after_id = 0
        if after is not None:
            after = validate_guid(after)
            with transaction(self._uow) as uow:
                start = uow.images.get_image_by_guid(after)
            if start is None or not self._is_visible(start.private, start.owner):
                raise _not_found(after)
            after_id = start.id
        owner = self.viewer if mine else None
        first = ImageQuery(
            self._chunk_size,
            after_id,
            self.viewer,
            owner,
            private,
            filters or ImageFilters(),
            everything=self._sees_everything,
        )
        return first, limit

    _sees_everything = False
    """Whether this caller sees every image (the local admin's view, ``everything_view``)."""

    def count_hidden_images(
        self,
        *,
        mine: bool = False,
        private: bool | None = None,
        filters: ImageFilters | None = None,
    ) -> int | None:
        """See PromptServiceInterface.count_hidden_images."""
        if self._sees_everything:
            return 0
        query, _ = self._listing_start(None, None, mine, private, filters)
        with transaction(self._uow) as uow:
            return uow.images.count_hidden(query)

    def everything_view(self) -> PromptServiceInterface:
        """See PromptServiceInterface.everything_view."""
        self._only_the_local_admin("see every image")
        return EverythingPromptService(self.dependencies)

    def _iterate_pages(self, query: ImageQuery, limit: int | None) -> Iterator[RowPage]:
        # Each chunk is its own short transaction: no connection is held while the caller
        # consumes rows, and keyset paging on id (either way) never skips or repeats a row.
        remaining = limit
        while remaining is None or remaining > 0:
            size = self._chunk_size if remaining is None else min(self._chunk_size, remaining)
            with transaction(self._uow) as uow:
                page = uow.images.get_all_images(replace(query, limit=size))
            if page:
                yield page
            if len(page) < size:
                return
            query = query.after(page.last_id)
            if remaining is not None:
                remaining -= len(page)

    def delete_images(self, guids: Sequence[str]) -> list[str]:
        """See PromptServiceInterface.delete_images."""
        wanted = _wanted(guids)
        # Anonymous callers of the server may delete nothing: 401 before any lookup, whatever
        # the GUIDs name (a missing image, someone's private one, an ownerless one).
        check_may_delete_any(wanted[0], self.viewer, local_admin=self._local_admin)
        return self._delete(wanted, as_admin=False)

    def images_for_admin(self, guids: Sequence[str]) -> list[ImageFile]:
        """See PromptServiceInterface.images_for_admin."""
        self._only_the_local_admin("see any image")
        with transaction(self._uow) as uow:
            return [self._stored(uow, guid, as_admin=True) for guid in _wanted(guids)]

    def delete_any_images(self, guids: Sequence[str]) -> list[str]:
        """See PromptServiceInterface.delete_any_images."""
        self._only_the_local_admin("delete any image")
        return self._delete(_wanted(guids), as_admin=True)

    def _only_the_local_admin(self, what: str) -> None:
        if not self._local_admin:
            raise PermissionDeniedError(f"Only the local admin may {what}")

    def _stored(self, uow: UnitOfWork, guid: str, *, as_admin: bool) -> ImageFile:
        """The stored file of ``guid`` as this caller may see it (the admin: any)."""
        stored = uow.images.get_image_file(guid)
        if stored is None or not (as_admin or self._is_visible(stored.private, stored.owner)):
            raise _not_found(guid)
        return stored

    def _delete(self, wanted: list[str], *, as_admin: bool) -> list[str]:
        """Delete ``wanted``'s rows in one transaction, then their files: all, or none."""
        filenames = []
        with transaction(self._uow) as uow:  # every row, or none
            for guid in wanted:  # every check first: a refusal deletes nothing
                stored = self._stored(uow, guid, as_admin=as_admin)
                if not as_admin:
                    self._check_may_delete(guid, stored.owner)
                filenames.append(stored.filename)
            for guid in wanted:
                if not uow.images.delete_image(guid):  # deleted meanwhile by someone else
                    raise _not_found(guid)
        self._remove_deleted(wanted, filenames)
        return wanted

    def delete_images_of(self, owner: str) -> int:
        """See PromptServiceInterface.delete_images_of."""
        self._only_the_local_admin("delete a user's images")
        owner = validate_username(owner)
        deleted = 0
        while True:
            with transaction(self._uow) as uow:
                page = uow.images.get_owned_image_files(owner, limit=DELETE_CHUNK_SIZE)
                for stored in page:
                    uow.images.delete_image(stored.guid)
            self._remove_deleted([f.guid for f in page], [f.filename for f in page])
            deleted += len(page)
            if len(page) < DELETE_CHUNK_SIZE:
                return deleted

    def _check_may_delete(self, guid: str, owner: str | None) -> None:
        check_may_delete(guid, owner, self.viewer, local_admin=self._local_admin)

    def _remove_deleted(self, guids: Sequence[str], filenames: Sequence[str]) -> None:
        """After the rows' delete committed: forget the images, then remove their files.

        Raises StorageError naming the files it could not remove (their rows are gone:
        ``doctor --fix`` removes them as orphans).
        """
        for guid in guids:
            self._cache.forget(guid)
        failed = []
        for filename in filenames:
            try:
                self._store.delete(filename)
                self._store.delete_thumbnails(filename)
            except StorageError as error:
                logger.warning("could not remove %s after its row was deleted", filename)
                failed.append(error.message)
        if failed:
            raise StorageError(
                f"The images were deleted, but {len(failed)} file(s) could not be removed "
                f"({failed[0]}); pixyproxy doctor --fix removes them"
            )

    def get_image_file(self, guid: str) -> ImageContent:
        """See PromptServiceInterface.get_image_file."""
        return self._content(self._visible_image(validate_guid(guid)))

    def peek_image_file(self, guid: str) -> ImageContent | None:
        """The image's file when its details are at hand (a stat, no query), else None.

        For callers on an event loop: on None, call ``get_image_file`` in a worker thread.
        Raises InputValidationError.
        """
        image = self._cache.get(validate_guid(guid))
        if image is None or not self._is_visible(image.private, image.owner):
            return None
        try:
            return self._content(image)
        except RecordNotFoundError:
            # Deleted since it was cached (by any process): let the database say so.
            self._cache.forget(image.guid)
            return None

    def get_image_contents(self, guids: Sequence[str]) -> dict[str, ImageContent]:
        """See PromptServiceInterface.get_image_contents."""
        from pixyproxy_cli.core.models import ImageContent

        with transaction(self._uow) as uow:
            stored = uow.images.get_image_files([validate_guid(guid) for guid in guids])
        contents = {}
        for image in stored:
            if not self._is_visible(image.private, image.owner):
                continue
            try:
                located = self._store.locate(image.filename)
            except RecordNotFoundError:
                continue
            contents[image.guid] = ImageContent(
                **image.model_dump(), path=located.path, size=located.size
            )
        return contents

    def get_thumbnail(self, guid: str, size: int) -> ImageContent:
        """See PromptServiceInterface.get_thumbnail."""
        if size not in THUMBNAIL_SIZES:
            sizes = ", ".join(str(allowed) for allowed in THUMBNAIL_SIZES)
            raise InputValidationError(f"size must be one of {sizes}, not {size}")
        image = self._visible_image(validate_guid(guid))
        if image.media_type == SVG_MEDIA_TYPE:
            return self._content(image)  # a drawing of any size: its own thumbnail
        cached = self._store.thumbnail(image.filename, size)
        if cached is None:
            try:
                data = self._store.read(image.filename)
            except RecordNotFoundError as error:
                raise _file_missing(image.guid) from error
            try:
                thumbnail = make_thumbnail(data, size, f"The file of image {image.guid}")
            except InputValidationError as error:  # the stored file, not the request
                raise StorageError(error.message) from error
            cached = self._store.save_thumbnail(image.filename, size, thumbnail)
        return self._thumbnail_content(image, cached.path, cached.size)

    def peek_thumbnail(self, guid: str, size: int) -> ImageContent | None:
        """The thumbnail when the image is cached and so is its thumbnail (stats), else None.

        For callers on an event loop: on None, call ``get_thumbnail`` in a worker thread.
        """
        if size not in THUMBNAIL_SIZES:
            return None
        image = self._cached_image(validate_guid(guid))
        if image is None:
            return None
        if image.media_type == SVG_MEDIA_TYPE:
            return self._content(image)
        cached = self._store.thumbnail(image.filename, size)
        return None if cached is None else self._thumbnail_content(image, cached.path, cached.size)

    @staticmethod
    def _thumbnail_content(image: Image, path: Path, size: int) -> ImageContent:
        from pixyproxy_cli.core.models import ImageContent

        return ImageContent(
            guid=image.guid,
            filename=path.name,
            media_type="image/webp",
            private=image.private,
            owner=image.owner,
            updated_at=image.updated_at,
            path=path,
            size=size,
        )

    def _content(self, image: Image) -> ImageContent:
        from pixyproxy_cli.core.models import ImageContent

        try:
            located = self._store.locate(image.filename)
        except RecordNotFoundError as error:
            raise _file_missing(image.guid) from error
        return ImageContent(
            guid=image.guid,
            filename=image.filename,
            media_type=image.media_type,
            private=image.private,
            owner=image.owner,
            updated_at=image.updated_at,
            path=located.path,
            size=located.size,
        )


class EverythingPromptService(PromptService):
    """The local admin's view of the database: every image, whoever's, private ones too.

    For reading and exporting (``export --all``); it makes images as an anonymous caller.
    """

    _sees_everything = True

    def _is_visible(self, private: bool, owner: str | None) -> bool:
        return True

    def _visible_image(self, guid: str) -> Image:
        with transaction(self._uow) as uow:
            image = uow.images.get_image_by_guid(guid)
        if image is None:
            raise _not_found(guid)
        return image


def check_may_delete_any(guid: str, viewer: str | None, *, local_admin: bool) -> None:
    """Refuse an anonymous caller of the server, who may delete no image.

    Checked before any image is looked up, whatever ``guid`` names. Raises
    AuthenticationError.
    """
    if viewer is None and not local_admin:
        raise AuthenticationError(f"Log in as the owner of image {guid} to delete it")


def check_may_delete(
    guid: str, owner: str | None, viewer: str | None, *, local_admin: bool
) -> None:
    """The one rule of who may delete an image (seen by ``viewer``, who may see it).

    Its owner may; an image without an owner only the local admin (the CLI on the
    database); an anonymous caller of the server none. Raises AuthenticationError for an
    anonymous caller of the server, else PermissionDeniedError.
    """
    check_may_delete_any(guid, viewer, local_admin=local_admin)
    if owner is not None and owner == viewer:
        return
    if owner is None:
        if local_admin:
            return
        raise PermissionDeniedError(
            f"Image {guid} has no owner: only the local admin may delete it, with "
            "pixyproxy rm on a machine that reaches the database"
        )
    raise PermissionDeniedError(f"Image {guid} belongs to {owner}: only its owner may delete it")


def _local_source(image: LocalImage, label: str, *, mask: bool = False) -> SourceImage:
    """A local file or upload checked as an edit's source (or mask), ready to upload.

    Raises InputValidationError when it is too large, empty, not a PNG, JPEG or WebP image
    (a mask: not a PNG), or has too many pixels (read from its header, never decoded).
    """
    problem = source_size_problem(image.name, len(image.data), mask=mask)
    if problem:
        raise InputValidationError(problem)
    accepted = ("image/png",) if mask else EDIT_MEDIA_TYPES
    header = read_header(image.data, image.name, accepted)
    extension = MEDIA_TYPE_EXTENSIONS[header.media_type]
    return SourceImage(
        f"{label}{extension}", image.data, header.media_type, header.width, header.height
    )


def _check_mask_fits(mask: SourceImage, first: SourceImage, name: str) -> None:
    """Raise InputValidationError unless the mask has the first source's dimensions.

    A first source whose dimensions cannot be read is left to the provider to judge.
    """
    if first.width is None or first.height is None:
        return
    if (mask.width, mask.height) != (first.width, first.height):
        raise InputValidationError(
            f"{name} is {mask.width}x{mask.height} pixels; a mask must have the size of the "
            f"first source ({first.width}x{first.height})"
        )


def _wanted(guids: Sequence[str]) -> list[str]:
    """``guids`` validated, each once, in order. Raises InputValidationError."""
    wanted = list(dict.fromkeys(validate_guid(guid) for guid in guids))
    if not wanted:
        raise InputValidationError("Name at least one image to delete")
    return wanted


def _file_missing(guid: str) -> RecordNotFoundError:
    return RecordNotFoundError(f"The file of image {guid} is missing")


def _not_found(guid: str) -> RecordNotFoundError:
    # The same words whether the image is absent or private to someone else.
    return RecordNotFoundError(f"No image with GUID {guid}")
