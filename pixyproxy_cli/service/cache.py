"""A bounded, thread-safe cache of stored images by GUID.

An image's row never changes once stored (nothing updates or deletes one), so a cached
copy never goes stale and needs no invalidation; only found images are cached, since a
GUID that is missing now cannot appear later (GUIDs are generated, never reused). Each
process (each server worker) keeps its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import Image


DEFAULT_CACHE_SIZE = 4096


class ImageCache:
    """The most recently used images, at most ``size`` of them."""

    def __init__(self, size: int = DEFAULT_CACHE_SIZE) -> None:
        self.size = size
        self._images: OrderedDict[str, Image] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, guid: str) -> Image | None:
        """The cached image with this (canonical) GUID, or None."""
        with self._lock:
            image = self._images.get(guid)
            if image is not None:
                self._images.move_to_end(guid)
            return image

    def put(self, image: Image) -> None:
        """Remember ``image``, forgetting the least recently used one when full."""
        if self.size <= 0:
            return
        with self._lock:
            self._images[image.guid] = image
            self._images.move_to_end(image.guid)
            if len(self._images) > self.size:
                self._images.popitem(last=False)
