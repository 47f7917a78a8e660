"""An export directory: image files, one JSON Lines file of their details, and a manifest.

    DIR/manifest.json     {"format": "pixyproxy-export", "version": 1, "images": N, ...}
    DIR/images.jsonl      one image's details per line (ImagePublic's fields, plus "file",
                          "size" and "sha256" of its bytes)
    DIR/images/GUID.EXT   the files, byte for byte

The manifest is written last, atomically: a directory without one is an export that did not
finish. An export is input from anyone, so reading trusts none of it: the lines are streamed
(each at most ``MAX_LINE_BYTES``), so any number of images takes constant memory; every bad
line is one InputValidationError naming the line and the field; a file is opened without
following links (the ``images`` directory once, each file relative to it), its size is
checked before it is read, it is hashed in chunks, and what it is comes from its bytes:
``read_image`` refuses anything that is not a PNG, JPEG or WebP image of at most
``MAX_IMAGE_PIXELS`` pixels, whatever its line says.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from pixyproxy_cli.core.constants import MAX_IMAGE_FILE_BYTES
from pixyproxy_cli.core.exceptions import InputValidationError, StorageError
from pixyproxy_cli.core.files import StoredFile, atomic_file
from pixyproxy_cli.core.models import (
    Filename,
    Guid,
    ImageMoment,
    ImageUsage,
    Parents,
    Prompt,
    Username,
)
from pixyproxy_cli.data.files.imaging import ImageHeader, read_header
from pixyproxy_cli.data.files.storage import OWN_FILENAME

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import ImagePublic

FORMAT = "pixyproxy-export"
VERSION = 1
MANIFEST = "manifest.json"
DETAILS = "images.jsonl"
FILES = "images"
_COPY_CHUNK = 1024 * 1024
INCOMING = ".incoming-"
"""The prefix of a file being written into the export directory."""
MAX_LINE_BYTES = 1024 * 1024
"""The longest line of ``images.jsonl`` read: a prompt of 32,000 characters, each escaped
as JSON's six-byte ``\\uXXXX``, is 192,000 bytes."""
MAX_MANIFEST_BYTES = 64 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class ExportRecord(BaseModel):
    """One line of ``images.jsonl``: an image's details and where its file is."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    guid: Guid
    prompt: Prompt
    private: bool
    owner: Username | None
    provider: str = Field(min_length=1, max_length=32)
    model: str = Field(min_length=1, max_length=64)
    media_type: str = Field(min_length=1, max_length=64)
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)
    parents: Parents | None = None
    usage: ImageUsage | None = None
    created_at: ImageMoment
    updated_at: ImageMoment
    file: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    _where: str = PrivateAttr(default=DETAILS)

    @property
    def filename(self) -> Filename:
        """The file's name (``images/NAME`` in the export, ``NAME`` in the store)."""
        return self.file.removeprefix(f"{FILES}/")

    @property
    def where(self) -> str:
        """The line this record was read from, for error messages (``PATH, line N``)."""
        return self._where


@dataclass(frozen=True)
class Manifest:
    """What an export says about itself."""

    images: int
    exported_at: str


class ExportWriter:
    """Writes an export into ``directory``: ``add`` each image, then ``finish``.

    Raises InputValidationError when ``directory`` already holds files (unless ``force``),
    and StorageError when it cannot be written.
    """

    def __init__(self, directory: Path, *, force: bool = False) -> None:
        self.directory = directory
        self.count = 0
        if directory.exists() and not directory.is_dir():
            raise InputValidationError(f"{directory} is not a directory")
        if directory.exists() and any(directory.iterdir()) and not force:
            raise InputValidationError(
                f"{directory} is not empty; export into a new directory (or --force to "
                "replace an export there)"
            )
        try:
            (directory / FILES).mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                (directory / MANIFEST).unlink()  # until finish, this export is unfinished
            self._details = (directory / DETAILS).open("w", encoding="utf-8", newline="\n")
        except OSError as error:
            raise StorageError(f"Cannot write the export in {directory}: {error}") from error

    def add(self, image: ImagePublic, source: StoredFile) -> None:
        """Copy ``image``'s file from ``source`` and write its line. Raises StorageError."""
        name = source.name
        target = self.directory / FILES / name
        digest = hashlib.sha256()
        size = 0
        try:
            with atomic_file(target, prefix=INCOMING) as writer:
                for chunk in source.chunks():
                    digest.update(chunk)
                    writer.write(chunk)
                    size += len(chunk)
            record = image.model_dump(mode="json", exclude={"format", "placeholder"})
            record.update(file=f"{FILES}/{name}", size=size, sha256=digest.hexdigest())
            self._details.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError as error:
            raise StorageError(f"Cannot export image {image.guid}: {error}") from error
        self.count += 1

    def finish(self) -> Manifest:
        """Close the details and write the manifest (atomically). Raises StorageError."""
        manifest = Manifest(self.count, datetime.now(UTC).isoformat())
        try:
            self._details.flush()
            os.fsync(self._details.fileno())
            self._details.close()
            with atomic_file(self.directory / MANIFEST, prefix=INCOMING) as writer:
                body = {"format": FORMAT, "version": VERSION, **manifest.__dict__}
                writer.write(json.dumps(body, indent=2).encode() + b"\n")
        except OSError as error:
            raise StorageError(f"Cannot finish the export in {self.directory}: {error}") from error
        return manifest

    def close(self) -> None:
        """Close the details file (an unfinished export keeps no manifest)."""
        self._details.close()


class ExportReader:
    """Reads an export written by ``ExportWriter``; a context manager (``close`` when done).

    Raises InputValidationError when ``directory`` is not a finished pixyproxy export.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files_fd: int | None = None
        path = directory / MANIFEST
        try:
            with path.open("rb") as reader:
                raw = reader.read(MAX_MANIFEST_BYTES + 1)
        except FileNotFoundError:
            raise InputValidationError(
                f"{directory} is not a finished pixyproxy export (no {MANIFEST}); "
                "run pixyproxy export again"
            ) from None
        except OSError as error:
            raise InputValidationError(f"Cannot read {path}: {error}") from error
        if len(raw) > MAX_MANIFEST_BYTES:
            raise InputValidationError(f"{path} is not a pixyproxy manifest (too long)")
        try:
            manifest: Any = json.loads(raw.decode("utf-8"))
        except ValueError as error:  # UnicodeDecodeError and JSONDecodeError included
            raise InputValidationError(f"Cannot read {path}: {error}") from error
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise InputValidationError(f"{path} is not a pixyproxy manifest")
        if manifest.get("version") != VERSION:
            raise InputValidationError(
                f"{directory} is an export of format version {manifest.get('version')}; "
                f"this pixyproxy reads version {VERSION}"
            )
        images = manifest.get("images", 0)
        if type(images) is not int or images < 0:
            raise InputValidationError(f"{path}: images: must be a whole number, not {images!r}")
        self.manifest = Manifest(images, str(manifest.get("exported_at")))

    def __enter__(self) -> ExportReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the ``images`` directory, if a file was read from it."""
        if self._files_fd is not None:
            os.close(self._files_fd)
            self._files_fd = None

    def records(self) -> Iterator[ExportRecord]:
        """Every line's record, in order. Raises InputValidationError naming a bad line."""
        path = self.directory / DETAILS
        try:
            with path.open("rb") as lines:
                number = 0
                while raw := lines.readline(MAX_LINE_BYTES + 1):
                    number += 1
                    where = f"{path}, line {number}"
                    if len(raw) > MAX_LINE_BYTES:
                        raise InputValidationError(
                            f"{where}: is longer than {MAX_LINE_BYTES:,} bytes"
                        )
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError as error:
                        raise InputValidationError(
                            f"{where}: is not UTF-8 text (byte {error.start + 1})"
                        ) from None
                    if line.strip():
                        yield _record(line, where)
        except OSError as error:
            raise InputValidationError(f"Cannot read {path}: {error}") from error

    def read_image(self, record: ExportRecord) -> tuple[bytes, ImageHeader]:
        """The bytes of ``record``'s file, checked, and what its header says it is.

        The file must be a regular file (no link is followed), of the size and SHA-256 its
        line gives, at most ``MAX_IMAGE_FILE_BYTES``, and a PNG, JPEG or WebP image of at
        most ``MAX_IMAGE_PIXELS`` pixels. Raises InputValidationError naming the line
        otherwise.
        """
        where = f"{record.where}: file: {record.file}"
        try:
            fd = os.open(
                record.filename, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW, dir_fd=self._files()
            )
        except FileNotFoundError:
            raise InputValidationError(f"{where} is missing from the export") from None
        except OSError as error:
            if os.path.islink(self.directory / FILES / record.filename):
                raise InputValidationError(
                    f"{where} is a symbolic link; an export holds files only"
                ) from None
            raise InputValidationError(f"{where} cannot be read: {error.strerror}") from error
        with os.fdopen(fd, "rb") as reader:
            status = os.fstat(reader.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise InputValidationError(f"{where} is not a regular file")
            if status.st_size > MAX_IMAGE_FILE_BYTES:
                raise InputValidationError(
                    f"{where} is {status.st_size:,} bytes; an image file may have at most "
                    f"{MAX_IMAGE_FILE_BYTES:,}"
                )
            if status.st_size != record.size:
                raise InputValidationError(f"{where} is not the one that was exported ({_DIFFERS})")
            digest = hashlib.sha256()
            chunks = []
            read = 0
            while read <= record.size and (chunk := reader.read(_COPY_CHUNK)):
                digest.update(chunk)
                chunks.append(chunk)
                read += len(chunk)
        if read != record.size or digest.hexdigest() != record.sha256:
            raise InputValidationError(f"{where} is not the one that was exported ({_DIFFERS})")
        data = b"".join(chunks)
        return data, read_header(data, where)

    def _files(self) -> int:
        """The ``images`` directory, opened once, never through a link."""
        if self._files_fd is None:
            path = self.directory / FILES
            try:
                self._files_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
            except OSError as error:
                if path.is_symlink():
                    raise InputValidationError(
                        f"{path} is a symbolic link; an export holds its files itself"
                    ) from None
                raise InputValidationError(f"Cannot read {path}: {error.strerror}") from error
        return self._files_fd


_DIFFERS = "its size or SHA-256 differs"


def _record(line: str, where: str) -> ExportRecord:
    try:
        record = ExportRecord.model_validate_json(line)
    except ValidationError as error:  # not JSON, not an object, or a field out of bounds
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "line"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InputValidationError(f"{where}: {field}: {message}") from None
    guid = record.filename.split(".", 1)[0]
    if (
        not record.file.startswith(f"{FILES}/")
        or OWN_FILENAME.fullmatch(record.filename) is None
        or guid != record.guid
    ):
        raise InputValidationError(f"{where}: file must be {FILES}/{record.guid}.EXT")
    if record.updated_at < record.created_at:
        raise InputValidationError(f"{where}: updated_at: must not be before created_at")
    if record.private and record.owner is None:
        raise InputValidationError(f"{where}: a private image must have an owner")
    record._where = where
    return record
