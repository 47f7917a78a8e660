"""What a provider tells of a streamed request's partial images (typing only: light to import)."""

from __future__ import annotations

from typing import Protocol


class ImageProgress(Protocol):
    """Told ``(received, expected)`` each time a partial image of a streamed request arrives.

    With the partial image's bytes when the provider sent one that is an image (sniffed).
    """

    def __call__(self, received: int, expected: int, image: bytes | None = None) -> None:
        """One more partial image."""
