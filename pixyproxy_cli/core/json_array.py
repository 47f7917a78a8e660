"""The JSON array a listing is written as: one element per line, a page at a time.

The CLI (``list --json``, ``user list --json``) and the API (``GET /image``) both use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def json_array(pages: Iterable[list[bytes]]) -> Iterator[bytes]:
    """Chunks of one JSON array whose elements are the given UTF-8 JSON texts, in order.

    One chunk per non-empty page (so a caller writes or sends once per database page), and
    the closing one; an empty listing is ``[]``.
    """
    empty = True
    for page in pages:
        if page:
            yield (b"[\n" if empty else b",\n") + b",\n".join(page)
            empty = False
    yield b"[]\n" if empty else b"\n]\n"
