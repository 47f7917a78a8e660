"""Making images: generations and edits, stored all or nothing.

Generating an image runs in this order, so that a failure leaves nothing behind:
validate the prompt -> call the provider (no database connection held) -> write the file
atomically -> insert the row in one transaction -> on any failure after the write, remove
the file. A crash between the steps leaves at most an orphan file, never a row without one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pixyproxy_cli.core.constants import MAX_IMAGES_PER_REQUEST, MEDIA_TYPE_EXTENSIONS
from pixyproxy_cli.core.edits import (
    EDIT_MEDIA_TYPES,
    LocalImage,
    source_count_problem,
    source_size_problem,
)
from pixyproxy_cli.core.exceptions import (
    GenerationError,
    InputValidationError,
    RecordNotFoundError,
    StorageError,
)
from pixyproxy_cli.core.image_options import ImageOptions, count_problem, mask_problem
from pixyproxy_cli.data.files.imaging import image_dimensions, kinds, read_header
from pixyproxy_cli.data.providers import GeneratedImage, Progress, SourceImage
from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.prompts.dependencies import PromptDependencies, file_missing
from pixyproxy_cli.service.prompts.reading import ImageReader
from pixyproxy_cli.service.transaction import retried, transaction
from pixyproxy_cli.service.validation import validate_count, validate_guid, validate_model

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import Image, ImageDetailCreate, ImagePublic
    from pixyproxy_cli.data.db.context import UnitOfWork

logger = logging.getLogger(__name__)

StoreHook = Callable[["UnitOfWork", list[str]], None]
"""Run in the transaction that stores a batch of images: its unit of work, their GUIDs."""


class ImageMaker:
    """Generates and edits images for ``caller``; edits start from images ``reader`` finds."""

    def __init__(self, dependencies: PromptDependencies, caller: Caller, reader: ImageReader):
        self._uow = dependencies.uow
        self._provider = dependencies.provider
        self._store = dependencies.store
        self._max_prompt_length = dependencies.max_prompt_length
        self._clock = dependencies.clock
        self._caller = caller
        self._reader = reader

    def generate_images(
        self,
        request: ImageDetailCreate | Mapping[str, Any],
        n: int,
        options: ImageOptions | None = None,
        progress: Progress | None = None,
        *,
        sending: Callable[[], None] | None = None,
        then: StoreHook | None = None,
    ) -> list[ImagePublic]:
        """See PromptServiceInterface.generate_images.

        For a job: ``sending`` runs just before the provider is called (after every check),
        and ``then`` inside the transaction that inserts the rows, with the unit of work
        and the new GUIDs; an error it raises stores nothing.
        """
        request, n = self.checked_request(request, n, options, edit=False)
        owner = self._caller.owner_for(request.private)
        self._database_ready()
        if sending is not None:
            sending()
        generated = self._call_provider(
            lambda: self._provider.generate(request.prompt, n, options, progress)
        )
        return self._store_batch(request.prompt, request.private, owner, generated, None, then)

    def store_made(
        self,
        prompt: str,
        private: bool,
        owner: str | None,
        generated: list[GeneratedImage],
        then: StoreHook | None = None,
    ) -> list[ImagePublic]:
        """Store images the provider made for a request checked earlier (a Batch API job's).

        As a generation stores its own: every file, then every row and ``then`` in one
        transaction; all, or nothing.
        """
        return self._store_batch(prompt, private, owner, generated, None, then)

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
        request, n = self.checked_request(request, n, options, edit=True)
        problem = source_count_problem(len(sources))
        if problem:
            raise InputValidationError(problem)
        uploads: list[SourceImage] = []
        parents: list[str | None] = []
        private = request.private
        for number, source in enumerate(sources, 1):
            if isinstance(source, str):
                image = self._reader.visible_image(validate_guid(source))
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
        owner = self._caller.owner_for(private)
        self._database_ready()
        generated = self._call_provider(
            lambda: self._provider.edit(request.prompt, uploads, upload_mask, n, options, progress)
        )
        return self._store_batch(request.prompt, private, owner, generated, parents)

    def checked_request(
        self,
        request: ImageDetailCreate | Mapping[str, Any],
        n: int,
        options: ImageOptions | None,
        *,
        edit: bool,
    ) -> tuple[ImageDetailCreate, int]:
        """The request, count and options validated (InputValidationError).

        The rules every image request is held to, here or when a job is queued.
        """
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
            raise file_missing(image.guid) from error
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
        then: StoreHook | None = None,
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
            for attempt in retried(self._uow):
                with attempt as uow:  # all of them, or none
                    ids = [uow.images.create_image(detail, now=now) for detail, _ in details]
                    if then is not None:
                        then(uow, [detail.guid for detail, _ in details])
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
