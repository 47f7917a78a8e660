"""What every part of a prompt service works with, and the errors they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from pixyproxy_cli.core.constants import DEFAULT_MAX_PROMPT_LENGTH
from pixyproxy_cli.core.exceptions import RecordNotFoundError
from pixyproxy_cli.data.db.rows import utc_now
from pixyproxy_cli.data.files.storage import ImageStoreInterface
from pixyproxy_cli.service.cache import ImageCache
from pixyproxy_cli.service.transaction import UnitOfWorkFactory

if TYPE_CHECKING:
    from pixyproxy_cli.data.providers import ImageProviderInterface

DEFAULT_CHUNK_SIZE = 2000
"""Rows per listing query: large enough that round trips do not dominate, small enough that
memory stays flat (a page is a few hundred KB)."""


@dataclass(frozen=True)
class PromptDependencies:
    """What a prompt service works with; shared by the public and private services."""

    uow: UnitOfWorkFactory
    """Opens a unit of work (its transaction and repositories)."""
    make_provider: Callable[[], ImageProviderInterface]
    """The image provider, built by its first call (``data.init.ChosenProvider``): reading
    and listing never build it."""
    store: ImageStoreInterface
    max_prompt_length: int = DEFAULT_MAX_PROMPT_LENGTH
    chunk_size: int = DEFAULT_CHUNK_SIZE
    clock: Callable[[], datetime] = utc_now
    cache: ImageCache = field(default_factory=ImageCache)
    local_admin: bool = False
    """Whether the caller has the database itself (the CLI, not the server): it may delete
    images without an owner, and every image of a user being removed."""

    @property
    def provider(self) -> ImageProviderInterface:
        """The image provider (built now if this is the first use)."""
        return self.make_provider()


def file_missing(guid: str) -> RecordNotFoundError:
    """The error for an image whose row exists but whose file does not."""
    return RecordNotFoundError(f"The file of image {guid} is missing")


def not_found(guid: str) -> RecordNotFoundError:
    """The error for an image that is absent or private to someone else: the same words."""
    return RecordNotFoundError(f"No image with GUID {guid}")
