"""Files that appear whole or not at all, and stored files that stream.

A temporary file is written beside the target, fsynced, then renamed over it. A crash leaves
the old file (or none) and, at worst, a temporary one whose ``prefix`` says who made it.
``StoredFile`` is what an image store hands out: a name, a size and a stream of bytes, from
a local folder or an object store alike.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_file(
    target: Path,
    *,
    prefix: str,
    text: bool = False,
    durable: bool = True,
    permissions: int | None = None,
) -> Iterator[IO[Any]]:
    """A file to write that replaces ``target`` when the block ends without an error.

    ``durable`` fsyncs the file before the rename (a copy for the user may skip it);
    ``permissions`` replaces mkstemp's 0600. The temporary file is removed on any failure;
    OSError propagates.
    """
    fd, temporary = tempfile.mkstemp(prefix=prefix, dir=target.parent)
    try:
        if permissions is not None:
            os.fchmod(fd, permissions)
        handle: IO[Any] = os.fdopen(fd, "w", encoding="utf-8") if text else os.fdopen(fd, "wb")
        with handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_text_atomically(target: Path, content: str, *, prefix: str) -> None:
    """Replace ``target`` with ``content`` (UTF-8), creating its folder. Raises OSError."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(target, prefix=prefix, text=True) as handle:
        handle.write(content)


READ_CHUNK = 512 * 1024
"""Bytes per chunk when a stored file is streamed (images are around 1-3 MB)."""


@dataclass(frozen=True)
class StoredFile:
    """A stored file ready to be read: its name, size and place, and how to stream it.

    ``location`` says where it is, for people (a path, or ``s3://bucket/key``); ``path`` is
    set only when it is a local file that may be handed to ``sendfile`` as it is. Reading
    goes through ``chunks``, whatever the store, so that no caller needs a path.
    """

    name: str
    size: int
    location: str
    opener: Callable[[], Iterator[bytes]] = field(repr=False, compare=False)
    path: Path | None = None
    signer: Callable[[int], str] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def local(cls, path: Path, size: int) -> StoredFile:
        """A local file, read in ``READ_CHUNK`` pieces."""
        return cls(path.name, size, str(path), partial(read_chunks, path), path)

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes, piece by piece. Raises StorageError when they cannot be read."""
        return self.opener()

    def read(self) -> bytes:
        """The whole file. Raises StorageError when it cannot be read."""
        return b"".join(self.chunks())

    def url(self, seconds: int) -> str | None:
        """A URL that fetches the file for ``seconds`` without credentials, or None."""
        return None if self.signer is None else self.signer(seconds)


def read_chunks(path: Path) -> Iterator[bytes]:
    """``path``'s bytes in ``READ_CHUNK`` pieces. Raises StorageError when it cannot be read."""
    from pixyproxy_cli.core.exceptions import StorageError

    try:
        with path.open("rb") as handle:
            while chunk := handle.read(READ_CHUNK):
                yield chunk
    except OSError as error:
        raise StorageError(f"Cannot read {path}: {error.strerror or error}") from error
