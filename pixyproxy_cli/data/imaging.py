"""What pixyproxy reads from and does to image bytes, through Pillow.

Pillow is imported on first use, never at start-up: only commands that store or render an
image pay for it. Every image is opened through ``read_header`` first, which reads the
format and the dimensions from the header only and refuses more than
``MAX_IMAGE_PIXELS`` before any pixel is decoded; Pillow's own ``MAX_IMAGE_PIXELS`` is set
to the same number, so that nothing decodes a larger image by another path.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from pixyproxy_cli.core.constants import MAX_IMAGE_PIXELS
from pixyproxy_cli.core.exceptions import InputValidationError

PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
"""pixyproxy's format names, as Pillow spells them."""
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
"""The media type of each format Pillow recognises that pixyproxy stores."""


@dataclass(frozen=True)
class ImageHeader:
    """What an image's header says: its media type (from its bytes) and its dimensions."""

    media_type: str
    width: int
    height: int


def _pillow() -> Any:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # deliberately: never Pillow's default
    return Image


def _open(data: bytes, what: str) -> tuple[Any, ImageHeader]:
    """The image opened lazily (no pixel decoded) and its header, checked."""
    image_module = _pillow()
    from PIL import UnidentifiedImageError

    not_image = f"{what} is not a PNG, JPEG or WebP image"
    try:
        with warnings.catch_warnings():
            # Pillow warns of up to twice its limit, and refuses more: the check below refuses
            # anything over it, so its warning would only be noise in the logs.
            warnings.simplefilter("ignore", image_module.DecompressionBombWarning)
            image = image_module.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise InputValidationError(not_image) from error
    except image_module.DecompressionBombError as error:
        raise InputValidationError(_too_many_pixels(what, None)) from error
    media_type = MEDIA_TYPES.get(image.format or "")
    width, height = image.size
    if media_type is None or width <= 0 or height <= 0:
        image.close()
        raise InputValidationError(not_image)
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise InputValidationError(_too_many_pixels(what, (width, height)))
    return image, ImageHeader(media_type, width, height)


def _too_many_pixels(what: str, size: tuple[int, int] | None) -> str:
    has = f" is {size[0]}x{size[1]} pixels;" if size else " has too many pixels;"
    return f"{what}{has} an image may have at most {MAX_IMAGE_PIXELS:,} (4096x4096)"


def read_header(data: bytes, what: str) -> ImageHeader:
    """The media type and dimensions of a PNG, JPEG or WebP image, from its header alone.

    Raises InputValidationError naming ``what`` when ``data`` is not such an image, or has
    more than ``MAX_IMAGE_PIXELS`` pixels.
    """
    image, header = _open(data, what)
    image.close()
    return header


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """The (width, height) in pixels of a PNG, JPEG or WebP image, or None if unreadable."""
    try:
        header = read_header(data, "the image")
    except InputValidationError:
        return None
    return header.width, header.height


def open_image(data: bytes, what: str) -> Any:
    """``data`` decoded as a Pillow image (pixels loaded).

    Raises InputValidationError naming ``what`` when it is not a PNG, JPEG or WebP image,
    or has too many pixels (checked before decoding).
    """
    from PIL import UnidentifiedImageError

    image, _ = _open(data, what)
    try:
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
    ``data`` is not a PNG, JPEG or WebP image, or has too many pixels.
    """
    image_module = _pillow()
    image = open_image(data, what)
    # Shrink by the whole factor first with a box filter (each output pixel the mean of a
    # block: the right filter for downscaling), then bilinear for what is left: as good
    # as Lanczos at this size, in a third of the time.
    factor = max(image.size) // size
    if factor > 1:
        image = image.reduce(factor)
    image.thumbnail((size, size), image_module.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=THUMBNAIL_QUALITY, method=0)
    return buffer.getvalue()
