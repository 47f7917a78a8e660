"""Files that appear whole or not at all.

A temporary file is written beside the target, fsynced, then renamed over it. A crash leaves
the old file (or none) and, at worst, a temporary one whose ``prefix`` says who made it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
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
