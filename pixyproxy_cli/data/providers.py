"""Image providers: the interface the service layer calls to turn a prompt into image bytes.

Implementations (the OpenAI Images API, the offline placeholder renderer) translate their
own failures into the GenerationError family; the service layer treats anything else they
raise as an unexpected generation failure.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

MEDIA_TYPE_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
}


@dataclass(frozen=True)
class GeneratedImage:
    """The bytes a provider produced, with what made them."""

    data: bytes
    media_type: str
    provider: str
    model: str

    @property
    def extension(self) -> str:
        """The file extension for this media type (``.png``, ``.jpg``, ...)."""
        return MEDIA_TYPE_EXTENSIONS.get(self.media_type, ".bin")


class ImageProviderInterface(ABC):
    """Something that generates an image from a prompt."""

    name: str

    @abstractmethod
    def generate(self, prompt: str) -> GeneratedImage:
        """Generate one image for ``prompt``. Raises a GenerationError subclass on failure."""
