"""An export directory: image files, one JSON Lines file of their details, and a manifest.

    DIR/manifest.json     {"format": "pixyproxy-export", "version": 1, "images": N, ...}
    DIR/images.jsonl      one image's details per line (ImagePublic's fields, plus "file",
                          "size" and "sha256" of its bytes)
    DIR/images/GUID.EXT   the files, byte for byte

The manifest is written last, atomically: a directory without one is an export that did not
finish. Reading streams the lines, so any number of images takes constant memory, and every
file is checked against its size and SHA-256 before it is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pixyproxy_cli.core.exceptions import InputValidationError, StorageError
from pixyproxy_cli.core.files import atomic_file
from pixyproxy_cli.core.models import (
    Filename,
    Guid,
    ImageMoment,
    ImageUsage,
    Parents,
    Username,
)
from pixyproxy_cli.data.storage import OWN_FILENAME

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


class ExportRecord(BaseModel):
    """One line of ``images.jsonl``: an image's details and where its file is."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    guid: Guid
    prompt: str = Field(min_length=1)
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

    @property
    def filename(self) -> Filename:
        """The file's name (``images/NAME`` in the export, ``NAME`` in the store)."""
        return self.file.removeprefix(f"{FILES}/")


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

    def add(self, image: ImagePublic, source: Path) -> None:
        """Copy ``image``'s file from ``source`` and write its line. Raises StorageError."""
        name = source.name
        target = self.directory / FILES / name
        digest = hashlib.sha256()
        size = 0
        try:
            with source.open("rb") as reader, atomic_file(target, prefix=INCOMING) as writer:
                while chunk := reader.read(_COPY_CHUNK):
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
    """Reads an export written by ``ExportWriter``.

    Raises InputValidationError when ``directory`` is not a finished pixyproxy export.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            manifest: Any = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputValidationError(
                f"{directory} is not a finished pixyproxy export (no {MANIFEST}); "
                "run pixyproxy export again"
            ) from None
        except (OSError, ValueError) as error:
            raise InputValidationError(f"Cannot read {directory / MANIFEST}: {error}") from error
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise InputValidationError(f"{directory / MANIFEST} is not a pixyproxy manifest")
        if manifest.get("version") != VERSION:
            raise InputValidationError(
                f"{directory} is an export of format version {manifest.get('version')}; "
                f"this pixyproxy reads version {VERSION}"
            )
        self.manifest = Manifest(int(manifest.get("images", 0)), str(manifest.get("exported_at")))

    def records(self) -> Iterator[ExportRecord]:
        """Every line's record, in order. Raises InputValidationError naming a bad line."""
        path = self.directory / DETAILS
        try:
            with path.open(encoding="utf-8") as lines:
                for number, line in enumerate(lines, 1):
                    if line.strip():
                        yield _record(line, f"{path}, line {number}")
        except (OSError, UnicodeDecodeError) as error:
            raise InputValidationError(f"Cannot read {path}: {error}") from error

    def read_file(self, record: ExportRecord) -> bytes:
        """The bytes of ``record``'s file, checked against its size and SHA-256.

        Raises InputValidationError when the file is missing or not what the line says.
        """
        path = self.directory / FILES / record.filename
        try:
            data = path.read_bytes()
        except OSError as error:
            raise InputValidationError(
                f"The file of image {record.guid} is missing from the export ({path})"
            ) from error
        if len(data) != record.size or hashlib.sha256(data).hexdigest() != record.sha256:
            raise InputValidationError(
                f"The file of image {record.guid} in the export ({path}) is not the one that "
                "was exported (its size or SHA-256 differs)"
            )
        return data


def _record(line: str, where: str) -> ExportRecord:
    try:
        record = ExportRecord.model_validate_json(line)
    except ValidationError as error:
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
    return record
