"""Moving images between installations: export what a caller may see, import it elsewhere.

An export is a directory (``data/files/archive.py``): the files, one JSON Lines file of details,
and a manifest written last. Import reads it into the configured database and store:

* It keeps every GUID and both timestamps, and skips GUIDs already stored, so a re-run
  after an interruption picks up where the last one stopped.
* It checks the owners first: names missing from this roster are refused, listed, unless
  ``create_users`` adds them (without a password: they cannot log in until
  ``user passwd`` gives them one).
* What an image is comes from its file's bytes, never from its line: a file that is not a
  PNG, JPEG or WebP image (or has more pixels than pixyproxy reads) is refused, naming its
  line, and the stored media type, dimensions and file extension are the header's.
* It works in chunks of ``IMPORT_CHUNK`` images: their files are written first, then their
  rows inserted in one transaction; if that fails, the chunk's files are removed again. A
  crash leaves at most orphan files (``doctor --fix``), never a row without its file.
* Memory stays bounded by a chunk, and by the set of distinct owner names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from pixyproxy_cli.core.constants import MEDIA_TYPE_EXTENSIONS
from pixyproxy_cli.core.exceptions import (
    ConstraintViolationError,
    InputValidationError,
    RecordNotFoundError,
    StorageError,
    StoredFileExistsError,
)
from pixyproxy_cli.core.iterables import batches
from pixyproxy_cli.data.db.rows import utc_now
from pixyproxy_cli.data.files.archive import ExportReader, ExportRecord, ExportWriter
from pixyproxy_cli.data.files.storage import ImageStoreInterface
from pixyproxy_cli.service.transaction import UnitOfWorkFactory, transaction
from pixyproxy_cli.service.validation import describe

if TYPE_CHECKING:
    from pixyproxy_cli.core.filters import ImageFilters
    from pixyproxy_cli.core.models import ImageDetail
    from pixyproxy_cli.data.files.imaging import ImageHeader
    from pixyproxy_cli.service.interfaces import PromptServiceInterface

logger = logging.getLogger(__name__)

IMPORT_CHUNK = 200
EXPORT_CHUNK = 500
UNUSABLE_HASH = "!"
"""The password hash of an imported user, until ``user passwd`` gives them a password."""
IMPORTED_CLASS = "imported"

Tick = Callable[[int], None]
"""Told how many more images were handled (for a progress bar)."""


@dataclass
class TransferSummary:
    """What an export or import did."""

    done: int = 0
    """Images exported, or imported."""
    skipped: int = 0
    """Import: GUIDs already stored here. Export: images whose file was missing."""
    missing_files: list[str] = field(default_factory=list)
    """Export: the GUIDs of the images whose file was missing (at most 20 kept)."""
    created_users: list[str] = field(default_factory=list)
    """Import: the users ``create_users`` added."""


class TransferService:
    """Export the images a caller may see; import an export (the local admin's)."""

    def __init__(
        self,
        *,
        store: ImageStoreInterface,
        uow: UnitOfWorkFactory,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._uow = uow
        self._clock = clock

    def export_images(
        self,
        prompts: PromptServiceInterface,
        directory: Path,
        *,
        filters: ImageFilters | None = None,
        mine: bool = False,
        private: bool | None = None,
        force: bool = False,
        tick: Tick | None = None,
    ) -> TransferSummary:
        """Write the images ``prompts``' caller may see (those ``filters`` keep) to ``directory``.

        Oldest first. An image whose file is missing is left out and counted in ``skipped``. Raises
        InputValidationError (``directory`` not empty without ``force``, bad filters),
        StorageError, and the listing's errors.
        """
        summary = TransferSummary()
        writer = ExportWriter(directory, force=force)
        try:
            images = prompts.get_all_images(filters=filters, mine=mine, private=private)
            for chunk in batches(images, EXPORT_CHUNK):
                contents = prompts.get_image_contents([image.guid for image in chunk])
                for image in chunk:
                    content = contents.get(image.guid)
                    if content is None:  # deleted meanwhile, or its file is gone
                        summary.skipped += 1
                        if len(summary.missing_files) < 20:
                            summary.missing_files.append(image.guid)
                        continue
                    writer.add(image, content.source)
                    summary.done += 1
                if tick is not None:
                    tick(len(chunk))
            writer.finish()
        finally:
            writer.close()
        return summary

    def count_export(self, directory: Path) -> int:
        """How many images the export in ``directory`` holds (its manifest's count)."""
        with ExportReader(directory) as reader:
            return reader.manifest.images

    def import_images(
        self, directory: Path, *, create_users: bool = False, tick: Tick | None = None
    ) -> TransferSummary:
        """Read the export in ``directory`` into this database and store.

        Raises InputValidationError for a directory that is not a finished export, a bad
        line, or a file that differs from its line or is not an image (naming the line),
        RecordNotFoundError listing
        the owners missing from the roster (unless ``create_users``), StorageError, and
        database errors; images imported before a failure stay, and a re-run skips them.
        """
        with ExportReader(directory) as reader:
            # A first pass reads every line, so that a bad one is refused before any import.
            owners = {record.owner for record in reader.records() if record.owner is not None}
            summary = TransferSummary()
            summary.created_users = self._ensure_owners(sorted(owners), create=create_users)
            for chunk in batches(reader.records(), IMPORT_CHUNK):
                with transaction(self._uow) as uow:
                    guids = [record.guid for record in chunk]
                    present = {file.guid for file in uow.images.get_image_files(guids)}
                fresh = list({r.guid: r for r in chunk if r.guid not in present}.values())
                imported = self._import_chunk(reader, fresh)
                summary.done += imported
                summary.skipped += len(chunk) - imported
                if tick is not None:
                    tick(len(chunk))
        return summary

    def _ensure_owners(self, owners: list[str], *, create: bool) -> list[str]:
        """The owners missing from the roster, created when ``create``; else refused.

        An owner whose name is a user's here in another case is refused either way (names
        are unique regardless of case), before anything is imported or created.
        """
        with transaction(self._uow) as uow:
            missing = [name for name in owners if uow.users.authenticate_user(name) is None]
            clashes = {name: uow.users.find_username(name) for name in missing}
        clashing = [f"{name} (here: {found})" for name, found in clashes.items() if found]
        if clashing:
            raise ConstraintViolationError(
                "The export has images of users whose names are users' here in another case: "
                f"{', '.join(clashing)}; user names are unique regardless of case, so nothing "
                "was imported"
            )
        if not missing:
            return []
        if not create:
            raise RecordNotFoundError(
                "The export has images of users who are not in this roster: "
                f"{', '.join(missing)}; add them (pixyproxy user add NAME), or import with "
                "--create-users"
            )
        for name in missing:
            try:
                with transaction(self._uow) as uow:
                    uow.users.create_user(name, UNUSABLE_HASH, IMPORTED_CLASS, now=self._clock())
            except ConstraintViolationError:
                pass  # added meanwhile by someone else: the import's rows say which fails
        return missing

    def _import_chunk(self, reader: ExportReader, records: list[ExportRecord]) -> int:
        """Files first, then the rows in one transaction; on failure, the files go again."""
        saved: list[str] = []
        try:
            details = []
            for record in records:
                data, header = reader.read_image(record)
                detail = _detail(record, header)
                if self._save_new(detail.filename, data):
                    saved.append(detail.filename)
                details.append((record, detail))
            with transaction(self._uow) as uow:
                for record, detail in details:
                    uow.images.create_image(
                        detail, now=record.created_at, updated_at=record.updated_at
                    )
        except ConstraintViolationError:
            # Another import stored some of these meanwhile: import them one at a time.
            self._remove_quietly(saved)
            return self._import_one_by_one(reader, records)
        except BaseException:
            self._remove_quietly(saved)
            raise
        return len(records)

    def _import_one_by_one(self, reader: ExportReader, records: list[ExportRecord]) -> int:
        imported = 0
        for record in records:
            data, header = reader.read_image(record)
            detail = _detail(record, header)
            self._save_new(detail.filename, data)
            try:
                with transaction(self._uow) as uow:
                    uow.images.create_image(
                        detail,
                        now=record.created_at,
                        updated_at=record.updated_at,
                    )
                imported += 1
            except ConstraintViolationError:
                pass  # stored meanwhile: its row names this same file, which stays
        return imported

    def _save_new(self, filename: str, data: bytes) -> bool:
        """Store an imported file; False when the same bytes were stored already.

        Writes are create-only, so a file found under the name is somebody else's (an
        earlier import, another importer right now): kept, and never removed by this one.
        Raises StorageError when it holds other bytes than the export's.
        """
        try:
            self._store.save(filename, data)
        except StoredFileExistsError:
            if self._store.read(filename) != data:
                raise StorageError(
                    f"{filename} is stored already with other bytes than the export's; "
                    "pixyproxy doctor says whether a row names it"
                ) from None
            return False
        return True

    def _remove_quietly(self, filenames: list[str]) -> None:
        for filename in filenames:
            try:
                self._store.delete(filename)
            except StorageError:
                logger.warning("could not remove %s after a failed import", filename)


def _detail(record: ExportRecord, header: ImageHeader) -> ImageDetail:
    """The stored details of an exported image, validated as every stored image is.

    What it is comes from ``header`` (its bytes), the rest from its line. Raises
    InputValidationError naming the line.
    """
    from pixyproxy_cli.core.models import ImageDetail

    usage = record.usage
    inputs = None if usage is None else usage.input_tokens_details
    outputs = None if usage is None else usage.output_tokens_details
    try:
        return ImageDetail(
            prompt=record.prompt,
            private=record.private,
            guid=record.guid,
            filename=record.guid + MEDIA_TYPE_EXTENSIONS[header.media_type],
            owner=record.owner,
            provider=record.provider,
            model=record.model,
            media_type=header.media_type,
            input_tokens=None if usage is None else usage.input_tokens,
            output_tokens=None if usage is None else usage.output_tokens,
            input_text_tokens=None if inputs is None else inputs.text_tokens,
            input_image_tokens=None if inputs is None else inputs.image_tokens,
            output_text_tokens=None if outputs is None else outputs.text_tokens,
            output_image_tokens=None if outputs is None else outputs.image_tokens,
            width=header.width,
            height=header.height,
            parents=record.parents,
        )
    except ValidationError as error:  # the line's checks mirror these: a bug if reached
        raise InputValidationError(f"{record.where}: {describe(error)}") from None
