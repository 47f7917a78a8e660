"""What an edit starts from, and the limits its sources are checked by before any call.

The CLI checks a local file's size with ``source_size_problem`` before reading it (a huge
file is refused without loading it); the service checks the bytes it is given with the
same rule, so that every caller, the REST API's included, is held to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pixyproxy_cli.core.constants import MAX_EDIT_SOURCE_BYTES, MAX_EDIT_SOURCES, MAX_MASK_BYTES

EDIT_MEDIA_TYPES = ("image/png", "image/jpeg", "image/webp")
"""What an edit's sources may be (the Images API's list)."""


@dataclass(frozen=True)
class LocalImage:
    """An image that is not stored in pixyproxy: a local file, or an upload.

    ``name`` is only a label (for messages and the upload's file name), never a path.
    """

    name: str
    data: bytes


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:g} MB"


def source_size_problem(name: str, size: int, *, mask: bool = False) -> str | None:
    """What is wrong with a source (or mask) of ``size`` bytes, or None."""
    most = MAX_MASK_BYTES if mask else MAX_EDIT_SOURCE_BYTES
    what = "the mask" if mask else "each source"
    if size == 0:
        return f"{name} is empty"
    if size >= most:
        return f"{name} is {_megabytes(size)}; {what} must be under {_megabytes(most)}"
    return None


def source_count_problem(count: int) -> str | None:
    """What is wrong with an edit of ``count`` sources, or None."""
    if 1 <= count <= MAX_EDIT_SOURCES:
        return None
    return f"an edit takes 1 to {MAX_EDIT_SOURCES} source images, not {count}"
