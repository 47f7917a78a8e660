"""Reading images for one caller: details, listings, files and thumbnails.

A read either finds an image the caller may see or raises the same RecordNotFoundError as
for a GUID never stored: another user's private image costs exactly what an absent one does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from pixyproxy_cli.core.constants import SVG_MEDIA_TYPE, THUMBNAIL_SIZES
from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    InputValidationError,
    RecordNotFoundError,
    StorageError,
)
from pixyproxy_cli.core.filters import ImageFilters
from pixyproxy_cli.data.db.interfaces import ImageQuery
from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.prompts.dependencies import (
    PromptDependencies,
    file_missing,
    not_found,
)
from pixyproxy_cli.service.transaction import transaction
from pixyproxy_cli.service.validation import validate_guid, validate_limit

if TYPE_CHECKING:
    from pixyproxy_cli.core.files import StoredFile
    from pixyproxy_cli.core.models import Image, ImageContent, ImagePublic
    from pixyproxy_cli.data.db.public_json import RowPage


class ImageReader:
    """The images ``caller`` may see, read through the cache, the database and the store."""

    def __init__(self, dependencies: PromptDependencies, caller: Caller) -> None:
        self._uow = dependencies.uow
        self._store = dependencies.store
        self._cache = dependencies.cache
        self._chunk_size = dependencies.chunk_size
        self._caller = caller

    # -- one image ---------------------------------------------------------------------

    def cached_image(self, guid: str) -> Image | None:
        """The cached image if this caller may see it and its file is still there.

        Visibility is checked first (see ``visible_image``); a file gone (deleted, perhaps
        by another process) drops the image from the cache.
        """
        image = self._cache.get(guid)
        if image is None or not self._caller.may_see(image.private, image.owner):
            return None
        if not self._store.has(image.filename):
            self._cache.forget(guid)
            return None
        return image

    def visible_image(self, guid: str) -> Image:
        """The stored image this caller may see. Raises RecordNotFoundError otherwise.

        Another user's private image costs exactly what a GUID never stored does: one cache
        lookup that finds nothing this caller may see, then one query that asks for the
        image only if it is visible to them and returns no row (no timing tells them apart).
        """
        if self._caller.sees_everything:
            with transaction(self._uow) as uow:
                image = uow.images.get_image_by_guid(guid)
            if image is None:
                raise not_found(guid)
            return image
        image = self.cached_image(guid)
        if image is None:
            with transaction(self._uow) as uow:
                image = uow.images.get_visible_image(guid, self._caller.viewer)
            if image is None:
                raise not_found(guid)
            self._cache.put(image)
        return image

    def get_image_by_guid(self, guid: str) -> ImagePublic:
        """See PromptServiceInterface.get_image_by_guid."""
        return self.visible_image(validate_guid(guid)).to_public()

    def peek_image_by_guid(self, guid: str) -> ImagePublic | None:
        """See ServedPromptServiceInterface.peek_image_by_guid."""
        image = self.cached_image(validate_guid(guid))
        return None if image is None else image.to_public()

    # -- listings ----------------------------------------------------------------------

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

    def count_hidden_images(
        self,
        *,
        mine: bool = False,
        private: bool | None = None,
        filters: ImageFilters | None = None,
    ) -> int:
        """See AdminPromptServiceInterface.count_hidden_images."""
        if self._caller.sees_everything:
            return 0
        query, _ = self._listing_start(None, None, mine, private, filters)
        with transaction(self._uow) as uow:
            return uow.images.count_hidden(query)

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
        viewer = self._caller.viewer
        if mine and viewer is None:
            raise AuthenticationError("Log in to list your own images")
        if private and viewer is None:
            raise AuthenticationError("Log in to list your private images")
        after_id = 0
        if after is not None:
            after = validate_guid(after)
            with transaction(self._uow) as uow:
                start = uow.images.get_image_by_guid(after)
            if start is None or not self._caller.may_see(start.private, start.owner):
                raise not_found(after)
            after_id = start.id
        first = ImageQuery(
            self._chunk_size,
            after_id,
            viewer,
            viewer if mine else None,
            private,
            filters or ImageFilters(),
            everything=self._caller.sees_everything,
        )
        return first, limit

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

    # -- files -------------------------------------------------------------------------

    def get_image_file(self, guid: str) -> ImageContent:
        """See PromptServiceInterface.get_image_file."""
        return self._content(self.visible_image(validate_guid(guid)))

    def peek_image_file(self, guid: str) -> ImageContent | None:
        """See ServedPromptServiceInterface.peek_image_file."""
        if not self._store.local:
            return None  # a request to the object store: never on the event loop
        image = self._cache.get(validate_guid(guid))
        if image is None or not self._caller.may_see(image.private, image.owner):
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
            if not self._caller.may_see(image.private, image.owner):
                continue
            try:
                located = self._store.locate(image.filename)
            except RecordNotFoundError:
                continue
            contents[image.guid] = ImageContent.of(image, located)
        return contents

    def get_thumbnail(self, guid: str, size: int) -> ImageContent:
        """See ServedPromptServiceInterface.get_thumbnail."""
        if size not in THUMBNAIL_SIZES:
            sizes = ", ".join(str(allowed) for allowed in THUMBNAIL_SIZES)
            raise InputValidationError(f"size must be one of {sizes}, not {size}")
        image = self.visible_image(validate_guid(guid))
        if image.media_type == SVG_MEDIA_TYPE:
            return self._content(image)  # a drawing of any size: its own thumbnail
        cached = self._store.thumbnail(image.filename, size)
        if cached is None:
            from pixyproxy_cli.data.files.imaging import make_thumbnail

            try:
                data = self._store.read(image.filename)
            except RecordNotFoundError as error:
                raise file_missing(image.guid) from error
            try:
                thumbnail = make_thumbnail(data, size, f"The file of image {image.guid}")
            except InputValidationError as error:  # the stored file, not the request
                raise StorageError(error.message) from error
            cached = self._store.save_thumbnail(image.filename, size, thumbnail)
        return _thumbnail_content(image, cached)

    def peek_thumbnail(self, guid: str, size: int) -> ImageContent | None:
        """See ServedPromptServiceInterface.peek_thumbnail."""
        if size not in THUMBNAIL_SIZES or not self._store.local:
            return None
        image = self.cached_image(validate_guid(guid))
        if image is None:
            return None
        if image.media_type == SVG_MEDIA_TYPE:
            return self._content(image)
        cached = self._store.thumbnail(image.filename, size)
        return None if cached is None else _thumbnail_content(image, cached)

    def _content(self, image: Image) -> ImageContent:
        from pixyproxy_cli.core.models import ImageContent

        try:
            located = self._store.locate(image.filename)
        except RecordNotFoundError as error:
            raise file_missing(image.guid) from error
        return ImageContent.of(image, located)


def _thumbnail_content(image: Image, thumbnail: StoredFile) -> ImageContent:
    from pixyproxy_cli.core.models import ImageContent

    content = ImageContent.of(image, thumbnail)
    return content.model_copy(update={"filename": thumbnail.name, "media_type": "image/webp"})
