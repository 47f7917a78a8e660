"""A bounded, thread-safe cache of stored images by GUID.

An image's row never changes once stored; it can only be deleted. Each process (each server
worker) keeps its own cache, so a delete in one cannot reach the others' caches: instead the
service checks, on every hit, that the image's file is still there (a stat, no query). A
delete commits the row's removal and then removes the file, so once a delete has returned
every worker's next hit misses and asks the database. The deleting process also forgets the
entry at once. Only found images are cached, since a GUID that is missing now cannot appear
later (GUIDs are generated, never reused).
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

    def forget(self, guid: str) -> None:
        """Drop the image with this GUID, if it is cached."""
        with self._lock:
            self._images.pop(guid, None)

    def put(self, image: Image) -> None:
        """Remember ``image``, forgetting the least recently used one when full."""
        if self.size <= 0:
            return
        with self._lock:
            self._images[image.guid] = image
            self._images.move_to_end(image.guid)
            if len(self._images) > self.size:
                self._images.popitem(last=False)
