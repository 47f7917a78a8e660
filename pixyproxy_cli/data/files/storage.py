"""Image file storage: the interface, the names it keeps, and a local directory store.

Files are addressed by a plain file name (derived from the image's GUID), never by a path:
a store hands out ``StoredFile`` values that stream their bytes, so the same calls work on a
local directory (here) and on an object store (``object_store.py``). Writes are create-only:
a GUID's file is never overwritten, and a second write of a name raises
StoredFileExistsError (the caller then knows the file is not its own to remove). The local
store writes a temporary file in the same directory, fsyncs it, then links it into place
(a rename that cannot replace), so a reader sees the whole file or none of it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path

from pixyproxy_cli.core.constants import MEDIA_TYPE_EXTENSIONS
from pixyproxy_cli.core.exceptions import (
    RecordNotFoundError,
    StorageError,
    StorageFullError,
    StorageUnavailableError,
    StoredFileExistsError,
)
from pixyproxy_cli.core.files import StoredFile, atomic_file

TEMP_PREFIX = ".incoming-"
THUMBNAILS = ".thumbnails"
"""The folder (or key prefix), inside the store, where thumbnails of its images are cached."""
OWN_FILENAME = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:"
    + "|".join(re.escape(extension) for extension in sorted(MEDIA_TYPE_EXTENSIONS.values()))
    + ")"
)
"""The names pixyproxy gives image files: a lower-case GUID and a known extension."""


def is_own_filename(name: str) -> bool:
    """Whether pixyproxy could have made a file of this name (an image or a temporary file).

    Anything else in the image directory belongs to somebody else and is never removed.
    """
    return (
        OWN_FILENAME.fullmatch(name) is not None
        or name.startswith(TEMP_PREFIX)
        or name == THUMBNAILS
    )


def check_filename(filename: str) -> str:
    """``filename`` if it is one plain name. Raises RecordNotFoundError for a path or empty."""
    if not filename or "/" in filename or "\\" in filename or filename in (".", ".."):
        raise RecordNotFoundError(f"No stored file named {filename!r}")
    return filename


def thumbnail_name(filename: str, size: int) -> str:
    """The name of ``filename``'s ``size`` thumbnail in the thumbnails folder."""
    return f"{Path(check_filename(filename)).stem}-{int(size)}.webp"


def thumbnail_owner(name: str) -> str | None:
    """The GUID stem a thumbnail's name belongs to, or None when it is no thumbnail's name."""
    if not name.endswith(".webp") or "-" not in name:
        return None
    return name.rsplit("-", 1)[0]


class ImageStoreInterface(ABC):
    """Where image files are kept: a local directory, or a bucket of an object store."""

    local: bool = True
    """Whether lookups are local system calls (cheap enough for the server's event loop)."""

    @abstractmethod
    def describe(self) -> str:
        """Where the store is, for people: a folder, or ``s3://bucket/prefix``."""

    @abstractmethod
    def save(self, filename: str, data: bytes) -> None:
        """Store ``data`` under ``filename``, whole or not at all, never over another file.

        Raises StoredFileExistsError when ``filename`` is stored already (nothing is
        written), StorageError when it cannot be stored.
        """

    @abstractmethod
    def delete(self, filename: str) -> None:
        """Remove ``filename`` if it exists. Raises StorageError if it cannot be removed."""

    def exists(self, filename: str) -> bool:
        """Whether ``filename`` is stored (``locate`` finds it)."""
        try:
            self.locate(filename)
        except RecordNotFoundError:
            return False
        return True

    @abstractmethod
    def check(self) -> None:
        """Raise StorageUnavailableError unless the store can be written now (readiness)."""

    def has(self, filename: str) -> bool:
        """Whether a file of this name is there, as cheaply as the store can tell.

        For checks on every request (is a cached image still stored?); ``locate`` still
        checks where the name leads before a file is served. Defaults to ``exists``.
        """
        return self.exists(filename)

    def missing(self, filenames: Sequence[str]) -> list[str]:
        """Those of ``filenames`` that are not stored (``exists`` each, by default)."""
        return [filename for filename in filenames if not self.exists(filename)]

    @abstractmethod
    def locate(self, filename: str) -> StoredFile:
        """A stored file, ready to stream, with its size.

        Raises RecordNotFoundError when the file is missing or the name leads outside.
        """

    def read(self, filename: str) -> bytes:
        """The bytes of a stored file. Raises RecordNotFoundError, StorageError."""
        return self.locate(filename).read()

    @abstractmethod
    def thumbnail(self, filename: str, size: int) -> StoredFile | None:
        """The cached ``size`` thumbnail of ``filename``, or None when there is none yet."""

    @abstractmethod
    def save_thumbnail(self, filename: str, size: int, data: bytes) -> StoredFile:
        """Cache a thumbnail of ``filename`` (whole or not at all). Raises StorageError."""

    @abstractmethod
    def delete_thumbnails(self, filename: str) -> None:
        """Remove every cached thumbnail of ``filename``. Raises StorageError."""

    @abstractmethod
    def list_thumbnails(self) -> Iterator[tuple[str, str]]:
        """(image file name's stem, thumbnail name) of every cached thumbnail."""

    @abstractmethod
    def list_filenames(self) -> Iterator[str]:
        """Every stored image file name that pixyproxy makes (temporary files excluded)."""

    @abstractmethod
    def list_leftovers(self) -> Iterator[str]:
        """Temporary files that interrupted writes left behind."""

    @abstractmethod
    def list_foreign(self) -> Iterator[str]:
        """Files in the store that pixyproxy did not make (never to be touched)."""

    @abstractmethod
    def age(self, filename: str) -> float:
        """Seconds since ``filename`` was last written (0 when it is gone)."""


class LocalImageStore(ImageStoreInterface):
    """Image files in one local directory, created on first write."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _resolve(self, filename: str) -> Path:
        return self.root / check_filename(filename)

    def describe(self) -> str:
        """The folder."""
        return str(self.root)

    def save(self, filename: str, data: bytes) -> None:
        """Write ``data`` to a temporary file, fsync it, and link it into place.

        A hard link, unlike a rename, fails when the name is taken: create-only. On a file
        system without hard links, an existence check and a rename stand in for it.
        """
        target = self._resolve(filename)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=self.root)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                _link_or_rename(temporary, target)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
            self._fsync_directory()
        except FileExistsError as error:
            raise StoredFileExistsError(f"{target} is stored already") from error
        except OSError as error:
            raise _storage_error(error)(_storage_message("write", target, error)) from error

    def check(self) -> None:
        """The folder exists (or can be made) and may be written: StorageUnavailableError."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageUnavailableError(f"Cannot create {self.root}: {error.strerror}") from error
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailableError(f"Cannot write to {self.root}")

    def _write_cache(self, target: Path, data: bytes) -> None:
        """Write a cached file atomically (not fsynced: a cache is made again if lost)."""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_file(target, prefix=TEMP_PREFIX, durable=False) as handle:
                handle.write(data)
        except OSError as error:
            raise _storage_error(error)(_storage_message("write", target, error)) from error

    def _fsync_directory(self) -> None:
        # Make the rename itself durable; not every platform can open a directory.
        try:
            fd = os.open(self.root, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def delete(self, filename: str) -> None:
        """Remove ``filename``; a missing file is not an error."""
        target = self._resolve(filename)
        try:
            target.unlink(missing_ok=True)
        except OSError as error:
            raise StorageError(_storage_message("remove", target, error)) from error

    def has(self, filename: str) -> bool:
        """Whether ``filename`` is a regular file here: one stat (``exists`` resolves links)."""
        try:
            return stat.S_ISREG(os.stat(self._resolve(filename)).st_mode)
        except (OSError, RecordNotFoundError):
            return False

    def locate(self, filename: str) -> StoredFile:
        """The real path and size of a stored file; symlinks leading out are refused."""
        target = self._resolve(filename)
        try:
            real = target.resolve(strict=True)
            root = self.root.resolve(strict=True)
            status = real.stat()
        except (OSError, RuntimeError) as error:
            raise RecordNotFoundError(f"The image file {filename} is missing") from error
        if real.parent != root or not stat.S_ISREG(status.st_mode):
            raise RecordNotFoundError(f"The image file {filename} is missing")
        return StoredFile.local(real, status.st_size)

    def read(self, filename: str) -> bytes:
        """The bytes of a stored file (located as ``locate`` does), in one read."""
        located = self.locate(filename)
        assert located.path is not None
        try:
            return located.path.read_bytes()
        except OSError as error:
            raise StorageError(_storage_message("read", located.path, error)) from error

    def _thumbnail_path(self, filename: str, size: int) -> Path:
        return self.root / THUMBNAILS / thumbnail_name(filename, size)

    def thumbnail(self, filename: str, size: int) -> StoredFile | None:
        """The cached thumbnail, or None (one stat)."""
        path = self._thumbnail_path(filename, size)
        try:
            status = os.stat(path)
        except OSError:
            return None
        return StoredFile.local(path, status.st_size) if stat.S_ISREG(status.st_mode) else None

    def save_thumbnail(self, filename: str, size: int, data: bytes) -> StoredFile:
        """Write the thumbnail atomically; not fsynced: a cache, made again if lost."""
        target = self._thumbnail_path(filename, size)
        self._write_cache(target, data)
        return StoredFile.local(target, len(data))

    def delete_thumbnails(self, filename: str) -> None:
        """Remove the thumbnails of ``filename``, every size."""
        stem = self._resolve(filename).stem
        for owner, name in self.list_thumbnails():
            if owner == stem:
                path = self.root / THUMBNAILS / name
                try:
                    path.unlink(missing_ok=True)
                except OSError as error:
                    raise StorageError(_storage_message("remove", path, error)) from error

    def list_thumbnails(self) -> Iterator[tuple[str, str]]:
        """(the image's GUID stem, the thumbnail's name) of every cached thumbnail."""
        try:
            with os.scandir(self.root / THUMBNAILS) as entries:
                for entry in entries:
                    owner = thumbnail_owner(entry.name)
                    if owner is not None:
                        yield owner, entry.name
        except FileNotFoundError:
            return
        except OSError as error:
            raise StorageError(_storage_message("list", self.root, error)) from error

    def list_filenames(self) -> Iterator[str]:
        """Every image file name pixyproxy makes, streamed (temporary and foreign excluded)."""
        for entry in self._entries():
            if OWN_FILENAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                yield entry.name

    def list_foreign(self) -> Iterator[str]:
        """Every entry whose name pixyproxy would never give a file."""
        for entry in self._entries():
            if not is_own_filename(entry.name):
                yield entry.name

    def list_leftovers(self) -> Iterator[str]:
        """Temporary files of writes that never finished."""
        for entry in self._entries():
            if entry.name.startswith(TEMP_PREFIX) and entry.is_file(follow_symlinks=False):
                yield entry.name

    def _entries(self) -> Iterator[os.DirEntry[str]]:
        try:
            with os.scandir(self.root) as entries:
                yield from entries
        except FileNotFoundError:
            return
        except OSError as error:
            raise StorageError(_storage_message("list", self.root, error)) from error

    def age(self, filename: str) -> float:
        """Seconds since ``filename`` was last modified (0 when it is gone)."""
        try:
            modified = (self.root / filename).lstat().st_mtime
        except OSError:
            return 0.0
        return max(time.time() - modified, 0.0)


def _link_or_rename(temporary: str, target: Path) -> None:
    """Give ``temporary`` the name ``target`` unless it is taken (FileExistsError)."""
    try:
        os.link(temporary, target)
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # No hard links here (some network and FAT file systems): check, then rename.
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "File exists", str(target)) from error
        os.rename(temporary, target)


def _storage_error(error: OSError) -> type[StorageError]:
    """The StorageError subclass for an OSError: full, not writable, or other."""
    if error.errno == errno.ENOSPC:
        return StorageFullError
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StorageUnavailableError
    return StorageError


def _storage_message(action: str, path: Path, error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return f"Cannot {action} {path}: the disk is full"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"Cannot {action} {path}: permission denied"
    return f"Cannot {action} {path}: {error.strerror or error}"
