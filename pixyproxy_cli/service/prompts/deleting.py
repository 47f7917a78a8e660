"""Deleting images: rows in one transaction, then their files, as the caller may.

Who may delete what is the ``Caller``'s rule (``service/access.py``); this part applies it
to every image before any is deleted, so a refusal deletes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pixyproxy_cli.core.exceptions import InputValidationError, StorageError
from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.invalidations import IMAGE
from pixyproxy_cli.service.prompts.dependencies import PromptDependencies, not_found
from pixyproxy_cli.service.transaction import retried, transaction
from pixyproxy_cli.service.validation import validate_guid, validate_username

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import ImageFile
    from pixyproxy_cli.data.db.context import UnitOfWork

logger = logging.getLogger(__name__)

DELETE_CHUNK_SIZE = 500
"""Images deleted per transaction when a user's images all go."""


class ImageDeleter:
    """Deletes the images ``caller`` may delete (the local admin: any, when asked)."""

    def __init__(self, dependencies: PromptDependencies, caller: Caller) -> None:
        self._uow = dependencies.uow
        self._store = dependencies.store
        self._cache = dependencies.cache
        self._caller = caller

    def delete_images(self, guids: Sequence[str]) -> list[str]:
        """See PromptServiceInterface.delete_images."""
        wanted = wanted_guids(guids)
        # Anonymous callers of the server may delete nothing: 401 before any lookup, whatever
        # the GUIDs name (a missing image, someone's private one, an ownerless one).
        self._caller.check_may_delete_any(wanted[0])
        return self._delete(wanted, as_admin=False)

    def images_for_admin(self, guids: Sequence[str]) -> list[ImageFile]:
        """See AdminPromptServiceInterface.images_for_admin."""
        self._caller.check_local_admin("see any image")
        with transaction(self._uow) as uow:
            return [self._stored(uow, guid, as_admin=True) for guid in wanted_guids(guids)]

    def delete_any_images(self, guids: Sequence[str]) -> list[str]:
        """See AdminPromptServiceInterface.delete_any_images."""
        self._caller.check_local_admin("delete any image")
        return self._delete(wanted_guids(guids), as_admin=True)

    def delete_images_of(self, owner: str) -> int:
        """See AdminPromptServiceInterface.delete_images_of."""
        self._caller.check_local_admin("delete a user's images")
        owner = validate_username(owner)
        deleted = 0
        while True:
            for attempt in retried(self._uow):
                with attempt as uow:
                    page = uow.images.get_owned_image_files(owner, limit=DELETE_CHUNK_SIZE)
                    for stored in page:
                        uow.images.delete_image(stored.guid)
                        uow.invalidations.record(IMAGE, stored.guid, now=time.time())
            self._remove_deleted([f.guid for f in page], [f.filename for f in page])
            deleted += len(page)
            if len(page) < DELETE_CHUNK_SIZE:
                return deleted

    def _stored(self, uow: UnitOfWork, guid: str, *, as_admin: bool) -> ImageFile:
        """The stored file of ``guid`` as this caller may see it (the admin: any)."""
        stored = uow.images.get_image_file(guid)
        if stored is None or not (as_admin or self._caller.may_see(stored.private, stored.owner)):
            raise not_found(guid)
        return stored

    def _delete(self, wanted: list[str], *, as_admin: bool) -> list[str]:
        """Delete ``wanted``'s rows in one transaction, then their files: all, or none."""
        for attempt in retried(self._uow):
            with attempt as uow:  # every row, or none
                filenames = []
                for guid in wanted:  # every check first: a refusal deletes nothing
                    stored = self._stored(uow, guid, as_admin=as_admin)
                    if not as_admin:
                        self._caller.check_may_delete(guid, stored.owner)
                    filenames.append(stored.filename)
                for guid in wanted:
                    if not uow.images.delete_image(guid):  # deleted meanwhile by someone else
                        raise not_found(guid)
                    # Every worker of every replica forgets it (service/invalidations.py).
                    uow.invalidations.record(IMAGE, guid, now=time.time())
        self._remove_deleted(wanted, filenames)
        return wanted

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


def wanted_guids(guids: Sequence[str]) -> list[str]:
    """``guids`` validated, each once, in order. Raises InputValidationError."""
    wanted = list(dict.fromkeys(validate_guid(guid) for guid in guids))
    if not wanted:
        raise InputValidationError("Name at least one image to delete")
    return wanted
