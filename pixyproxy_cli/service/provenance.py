"""``ProvenanceService``: the API's content provenance check of an image, kept with it.

A stored image (by GUID, as its caller may see it) or a local file is sent to the
provider's check. The check of a stored image is kept in ``provenance_checks`` (one row per
check, gone with the image), so that ``show`` and ``provenance --last`` can say it again
without asking.
"""

from __future__ import annotations

from pixyproxy_cli.core.constants import MEDIA_TYPE_EXTENSIONS, SVG_MEDIA_TYPE
from pixyproxy_cli.core.edits import LocalImage
from pixyproxy_cli.core.exceptions import (
    InputValidationError,
    RecordNotFoundError,
)
from pixyproxy_cli.core.provenance import ProvenanceReport
from pixyproxy_cli.data.files.imaging import kinds, read_header
from pixyproxy_cli.data.providers import ImageProviderInterface, SourceImage
from pixyproxy_cli.service.interfaces import PromptServiceInterface
from pixyproxy_cli.service.transaction import UnitOfWorkFactory, retried, transaction
from pixyproxy_cli.service.validation import validate_guid

PROVENANCE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
"""What the check takes (the SDK: "PNG, JPEG, WebP, and GIF (including animated GIFs)")."""


class ProvenanceService:
    """Asks the provider whether an image carries its provenance signals, and keeps it."""

    def __init__(
        self,
        *,
        prompts: PromptServiceInterface,
        provider: ImageProviderInterface,
        uow: UnitOfWorkFactory,
    ) -> None:
        self._prompts = prompts
        self._provider = provider
        self._uow = uow

    def check(self, source: str | LocalImage) -> ProvenanceReport:
        """Check a stored image (its GUID) or a local file; a stored image's check is kept.

        Raises InputValidationError for a malformed GUID or a file of a kind the check does
        not take, RecordNotFoundError for an image the caller may not see (or one deleted
        meanwhile), ConfigurationError for a provider without the check, and the
        GenerationError subclasses when the provider cannot answer.
        """
        if isinstance(source, LocalImage):
            header = read_header(source.data, source.name, PROVENANCE_MEDIA_TYPES)
            upload = SourceImage(
                f"check{MEDIA_TYPE_EXTENSIONS[header.media_type]}", source.data, header.media_type
            )
            return self._provider.check_provenance(upload)
        guid = validate_guid(source)
        stored = self._prompts.get_image_file(guid)
        if stored.media_type not in PROVENANCE_MEDIA_TYPES:
            what = "an SVG image" if stored.media_type == SVG_MEDIA_TYPE else stored.media_type
            raise InputValidationError(
                f"Image {guid} is {what}: the provenance check takes "
                f"{kinds(PROVENANCE_MEDIA_TYPES).removeprefix('a ')}s"
            )
        data = stored.source.read()
        report = self._provider.check_provenance(
            SourceImage(stored.filename, data, stored.media_type)
        )
        for attempt in retried(self._uow):
            with attempt as uow:
                kept = uow.images.add_provenance_check(guid, report)
        if not kept:
            raise RecordNotFoundError(f"Image {guid} was deleted while it was checked")
        return report

    def last(self, guid: str) -> ProvenanceReport | None:
        """The last check kept for a stored image the caller may see, or None.

        Raises InputValidationError for a malformed GUID, RecordNotFoundError for an image
        the caller may not see.
        """
        guid = validate_guid(guid)
        self._prompts.get_image_by_guid(guid)  # the caller's visibility, as for any read
        with transaction(self._uow) as uow:
            return uow.images.latest_provenance_check(guid)
