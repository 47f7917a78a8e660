"""Limits and names every layer shares, in a module that imports nothing.

They live apart from ``models`` so that code which needs only a constant (settings, the
listing's JSON writer, the providers) does not build pydantic models to get it.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal, get_args

DEFAULT_MAX_PROMPT_LENGTH = 32_000
"""gpt-image models accept prompts of up to 32,000 characters."""

MAX_IMAGES_PER_REQUEST = 10
"""How many images one request may ask for (the Images API's limit on ``n``)."""
MAX_GUID_LENGTH = 36
MAX_USERNAME_LENGTH = 64
MAX_CLASS_KEY_LENGTH = 64
PLACEHOLDER_PROVIDER = "placeholder"
ProviderChoice = Literal["auto", "openai", "placeholder"]
"""The image providers a user may ask for (IMAGE_PROVIDER, --provider): auto means OpenAI when
an API key is set, else the offline placeholder."""
UsageGrouping = Literal["day", "model", "user"]
"""What ``usage`` sums over (the CLI's --by, GET /usage's ``by``)."""
USAGE_GROUPINGS: tuple[UsageGrouping, ...] = get_args(UsageGrouping)
SVG_MEDIA_TYPE = "image/svg+xml"
MEDIA_TYPE_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    SVG_MEDIA_TYPE: ".svg",
}
MEDIA_TYPE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/webp": "webp",
    "image/gif": "gif",
    SVG_MEDIA_TYPE: "svg",
}
"""The ``--format`` name of each media type pixyproxy stores."""
MAX_EDIT_SOURCES = 16
"""How many images one edit may start from (the Images API's limit)."""
MAX_EDIT_SOURCE_BYTES = 50 * 1000 * 1000
"""Each source of an edit must be smaller than this (the Images API's "less than 50MB")."""
THUMBNAIL_SIZES = (128, 256, 512)
"""The thumbnail sizes GET /image/{guid}/thumbnail makes (the longer side, in pixels)."""
MAX_MASK_BYTES = 4 * 1000 * 1000
"""An edit's mask must be smaller than this (the API's "less than 4MB")."""

MAX_IMAGE_PIXELS = 4096 * 4096
"""The most pixels an image pixyproxy reads may have (16,777,216), checked from its header
before any pixel is decoded: twice the Images API's largest output (3840x2160), more than
a 12-megapixel photo. A 20 KB PNG can claim 13000x13000 pixels and take 1.5 GB to decode."""

MAX_IMAGE_FILE_BYTES = 8 * MAX_IMAGE_PIXELS + 1024 * 1024
"""The largest image file pixyproxy reads from a place it does not write itself (an
export): 8 bytes a pixel is a 16-bit RGBA PNG stored uncompressed, the most bytes an image
of ``MAX_IMAGE_PIXELS`` takes, plus a mebibyte for its framing."""

GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
"""A GUID as callers may write it (either case); ``normalize_guid`` lower-cases it."""

DEFAULT_IMAGE_MODEL = "gpt-image-2.5-sunburst"
"""The OpenAI image model used unless OPENAI_IMAGE_MODEL or ``--model`` names another.

gpt-image-1 was shut down on 2026-10-23 and dall-e-2/3 retired on 2026-05-12; the installed
SDK's ``openai.types.ImageModel`` documents which models are current (a test holds this one
to that list, so the next retirement breaks a test here instead of a user's run).
"""


class Provision(IntEnum):
    """How much a caller may create where the database is missing; each level includes the last.

    Reading commands must not leave a database behind on a server they were merely pointed
    at; ``doctor`` must not write at all. SQLite's file lives in pixyproxy's own data
    directory, so readers may create it; a MySQL database and its schema belong to the
    operator and come only from ``db init`` (database) or a write (schema).
    """

    NOTHING = 0
    """Create and migrate nothing (``doctor``)."""
    OWN_FILE = 1
    """Readers: SQLite's own file and schema; migrate an existing schema."""
    SCHEMA = 2
    """Writers: also the schema in an existing, empty MySQL database."""
    DATABASE = 3
    """``db init``: also the MySQL database itself."""


BATCH_PROVIDERS = frozenset({"openai-batch"})
"""The providers' names of images made through a Batch API (priced by BATCH_PRICE_FACTOR)."""

MAX_JOB_ERROR_LENGTH = 2000
"""The longest error a job keeps, in characters."""
MAX_JOBS_QUEUED = 100
"""Requests one ``POST /jobs`` (or the gallery's list) may queue (its body is held to 1 MB,
as every JSON body is)."""
MAX_JOBS_LISTED = 1000
"""Jobs one ``GET /jobs`` lists at most."""
