"""Public prompt requests: what anyone may do without logging in.

``PromptService`` generates public images and reads public ones. The authenticated
variant, which also sees and makes its user's private images, is ``PrivatePromptService``
in ``private_prompts.py``; the two differ only in their ``Caller`` (``service/access.py``),
which holds every rule of who may see, make and delete what.

The work is done by three parts (``service/prompts/``): ``ImageMaker`` generates and edits
(the provider called outside any transaction, files written before rows, all or nothing),
``ImageReader`` reads details, listings, files and thumbnails, and ``ImageDeleter`` deletes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.interfaces import (
    AdminPromptServiceInterface,
    ServedPromptServiceInterface,
)
from pixyproxy_cli.service.prompts.dependencies import DEFAULT_CHUNK_SIZE, PromptDependencies
from pixyproxy_cli.service.prompts.reading import ImageReader

if TYPE_CHECKING:
    from pixyproxy_cli.core.edits import LocalImage
    from pixyproxy_cli.core.filters import ImageFilters
    from pixyproxy_cli.core.image_options import ImageOptions
    from pixyproxy_cli.core.models import (
        ImageContent,
        ImageDetailCreate,
        ImageFile,
        ImagePublic,
    )
    from pixyproxy_cli.data.providers import Progress
    from pixyproxy_cli.service.prompts.deleting import ImageDeleter
    from pixyproxy_cli.service.prompts.making import ImageMaker

__all__ = ["DEFAULT_CHUNK_SIZE", "PromptDependencies", "PromptService"]


class PromptService(ServedPromptServiceInterface, AdminPromptServiceInterface):
    """Image requests made anonymously: public images only."""

    def __init__(self, dependencies: PromptDependencies, caller: Caller | None = None) -> None:
        self.dependencies = dependencies
        self.caller = caller or Caller(local_admin=dependencies.local_admin)
        self._reader = ImageReader(dependencies, self.caller)

    # Made on first use: a listing, the most common call, loads neither (nor their imports).

    @cached_property
    def _maker(self) -> ImageMaker:
        from pixyproxy_cli.service.prompts.making import ImageMaker

        return ImageMaker(self.dependencies, self.caller, self._reader)

    @cached_property
    def _deleter(self) -> ImageDeleter:
        from pixyproxy_cli.service.prompts.deleting import ImageDeleter

        return ImageDeleter(self.dependencies, self.caller)

    @property
    def viewer(self) -> str | None:
        """The user name whose private images this service may see; None when anonymous."""
        return self.caller.viewer

    # -- making ------------------------------------------------------------------------

    def generate_image(self, request: ImageDetailCreate | Mapping[str, Any]) -> ImagePublic:
        """See PromptServiceInterface.generate_image."""
        return self._maker.generate_images(request, 1)[0]

    def generate_images(
        self,
        request: ImageDetailCreate | Mapping[str, Any],
        n: int,
        options: ImageOptions | None = None,
        progress: Progress | None = None,
    ) -> list[ImagePublic]:
        """See PromptServiceInterface.generate_images."""
        return self._maker.generate_images(request, n, options, progress)

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
        return self._maker.edit_images(request, sources, n, options, mask=mask, progress=progress)

    # -- reading -----------------------------------------------------------------------

    def get_image_by_guid(self, guid: str) -> ImagePublic:
        """See PromptServiceInterface.get_image_by_guid."""
        return self._reader.get_image_by_guid(guid)

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
        return self._reader.get_all_images(
            limit=limit, after=after, mine=mine, private=private, filters=filters
        )

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
        return self._reader.get_all_images_json_pages(
            limit=limit, after=after, mine=mine, private=private, filters=filters
        )

    def get_image_file(self, guid: str) -> ImageContent:
        """See PromptServiceInterface.get_image_file."""
        return self._reader.get_image_file(guid)

    def get_image_contents(self, guids: Sequence[str]) -> dict[str, ImageContent]:
        """See PromptServiceInterface.get_image_contents."""
        return self._reader.get_image_contents(guids)

    # -- what the server adds ----------------------------------------------------------

    def get_thumbnail(self, guid: str, size: int) -> ImageContent:
        """See ServedPromptServiceInterface.get_thumbnail."""
        return self._reader.get_thumbnail(guid, size)

    def peek_image_by_guid(self, guid: str) -> ImagePublic | None:
        """See ServedPromptServiceInterface.peek_image_by_guid."""
        return self._reader.peek_image_by_guid(guid)

    def peek_image_file(self, guid: str) -> ImageContent | None:
        """See ServedPromptServiceInterface.peek_image_file."""
        return self._reader.peek_image_file(guid)

    def peek_thumbnail(self, guid: str, size: int) -> ImageContent | None:
        """See ServedPromptServiceInterface.peek_thumbnail."""
        return self._reader.peek_thumbnail(guid, size)

    # -- deleting, and what the local admin adds ---------------------------------------

    def delete_images(self, guids: Sequence[str]) -> list[str]:
        """See PromptServiceInterface.delete_images."""
        return self._deleter.delete_images(guids)

    def delete_images_of(self, owner: str) -> int:
        """See AdminPromptServiceInterface.delete_images_of."""
        return self._deleter.delete_images_of(owner)

    def images_for_admin(self, guids: Sequence[str]) -> list[ImageFile]:
        """See AdminPromptServiceInterface.images_for_admin."""
        return self._deleter.images_for_admin(guids)

    def delete_any_images(self, guids: Sequence[str]) -> list[str]:
        """See AdminPromptServiceInterface.delete_any_images."""
        return self._deleter.delete_any_images(guids)

    def count_hidden_images(
        self,
        *,
        mine: bool = False,
        private: bool | None = None,
        filters: ImageFilters | None = None,
    ) -> int:
        """See AdminPromptServiceInterface.count_hidden_images."""
        return self._reader.count_hidden_images(mine=mine, private=private, filters=filters)

    def everything_view(self) -> PromptService:
        """See AdminPromptServiceInterface.everything_view.

        The view makes images as an anonymous caller, and deletes as the local admin.
        """
        self.caller.check_local_admin("see every image")
        return PromptService(
            self.dependencies, replace(self.caller, viewer=None, sees_everything=True)
        )
