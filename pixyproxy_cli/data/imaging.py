"""What pixyproxy reads from and does to image bytes, through Pillow.

Pillow is imported on first use, never at start-up: only commands that store or render an
image pay for it. Reading an image's size decodes its header only, not its pixels.
"""

from __future__ import annotations

import io
from typing import Any

from pixyproxy_cli.core.exceptions import InputValidationError

PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
"""pixyproxy's format names, as Pillow spells them."""


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """The (width, height) in pixels of a PNG, JPEG or WebP image, or None if unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in PILLOW_FORMATS.values():
                return None
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def open_image(data: bytes, what: str) -> Any:
    """``data`` decoded as a Pillow image (pixels loaded).

    Raises InputValidationError naming ``what`` when it is not a PNG, JPEG or WebP image.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        if image.format not in PILLOW_FORMATS.values():
            raise InputValidationError(f"{what} is not a PNG, JPEG or WebP image")
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise InputValidationError(f"{what} is not a PNG, JPEG or WebP image") from error
    return image


def encode_image(image: Any, image_format: str, compression: int | None = None) -> bytes:
    """``image`` (a Pillow image) as the bytes of ``image_format`` (png, jpeg, webp).

    ``compression`` (0-100, webp and jpeg) is the encoder's quality, as the Images API's
    ``output_compression`` is: its default, 100, keeps the most detail.
    """
    buffer = io.BytesIO()
    if image_format == "jpeg" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")  # JPEG has no alpha channel
    options: dict[str, Any] = {}
    if image_format in ("jpeg", "webp"):
        options["quality"] = 100 if compression is None else compression
    image.save(buffer, PILLOW_FORMATS[image_format], **options)
    return buffer.getvalue()


THUMBNAIL_QUALITY = 80


def make_thumbnail(data: bytes, size: int, what: str) -> bytes:
    """A WebP of ``data`` that fits a ``size`` x ``size`` square, its proportions kept.

    Never larger than the image itself. Raises InputValidationError naming ``what`` when
    ``data`` is not a PNG, JPEG or WebP image.
    """
    from PIL import Image

    image = open_image(data, what)
    # Shrink by the whole factor first with a box filter (each output pixel the mean of a
    # block: the right filter for downscaling), then bilinear for what is left: as good
    # as Lanczos at this size, in a third of the time.
    factor = max(image.size) // size
    if factor > 1:
        image = image.reduce(factor)
    image.thumbnail((size, size), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=THUMBNAIL_QUALITY, method=0)
    return buffer.getvalue()
