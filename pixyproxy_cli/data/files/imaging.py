"""What pixyproxy reads from and does to image bytes, through Pillow.

Pillow is imported on first use, never at start-up: only commands that store or render an
image pay for it. Every image is opened through ``read_header`` first, which reads the
format and the dimensions from the header only and refuses more than
``MAX_IMAGE_PIXELS`` before any pixel is decoded; Pillow's own ``MAX_IMAGE_PIXELS`` is set
to the same number, so that nothing decodes a larger image by another path.

SVG is not decoded at all: ``svg_size`` reads the root element's start tag (and nothing
after it) with the standard library's pull parser, and refuses a document that declares
entities. An SVG is only ever shown inside ``<img>`` or behind the file policy's sandbox.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from pixyproxy_cli.core.constants import MAX_IMAGE_PIXELS, MEDIA_TYPE_FORMATS, SVG_MEDIA_TYPE
from pixyproxy_cli.core.exceptions import InputValidationError

PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}
"""pixyproxy's raster format names, as Pillow spells them."""
MEDIA_TYPES = {v: f"image/{k}" for k, v in PILLOW_FORMATS.items()}
"""The media type of each format Pillow recognises that pixyproxy stores."""
STORED_MEDIA_TYPES = tuple(MEDIA_TYPE_FORMATS)
"""Every media type pixyproxy stores: PNG, JPEG, WebP, GIF and SVG."""
_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WebP", "gif": "GIF", "svg": "SVG"}
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
_SVG_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<(?:\?xml|svg|!--|!DOCTYPE)", re.IGNORECASE)
_SVG_LENGTH = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?:px)?\s*")
_SVG_HEAD_BYTES = 64 * 1024
"""How far into a file the root element of an SVG must start."""


def kinds(media_types: Collection[str]) -> str:
    """``media_types`` named for a message: "a PNG, JPEG or WebP image"."""
    names = [_NAMES[MEDIA_TYPE_FORMATS[media_type]] for media_type in media_types]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"a {listed} image"


def looks_like_svg(data: bytes) -> bool:
    """Whether ``data`` starts as an XML document might (the cheap test before parsing)."""
    return _SVG_START.match(data[:256]) is not None


def svg_size(data: bytes) -> tuple[int, int] | None:
    """The (width, height) an SVG document states, or None when ``data`` is not one we keep.

    It is one when its root element is ``svg`` in the SVG namespace, starting within the
    first 64 KiB, and it declares no entities. The size is the root's ``width`` and
    ``height`` (plain numbers or px), else its ``viewBox``'s, rounded up to whole pixels.
    """
    from xml.etree.ElementTree import Element, ParseError, XMLPullParser

    if not looks_like_svg(data) or b"<!ENTITY" in data.upper():
        return None
    parser: XMLPullParser[Element] = XMLPullParser(events=("start",))
    root: Element | None = None
    try:
        for start in range(0, min(len(data), _SVG_HEAD_BYTES), 4096):
            parser.feed(data[start : start + 4096])
            for event in parser.read_events():
                if isinstance(event[-1], Element):
                    root = event[-1]
                    break
            if root is not None:
                break
    except ParseError:
        return None
    if root is None or root.tag != f"{{{SVG_NAMESPACE}}}svg":
        return None
    width, height = _svg_length(root.get("width")), _svg_length(root.get("height"))
    if width is None or height is None:
        box = (root.get("viewBox") or "").replace(",", " ").split()
        if len(box) != 4:
            return None
        width, height = _svg_length(box[2]), _svg_length(box[3])
        if width is None or height is None:
            return None
    return max(1, math.ceil(width)), max(1, math.ceil(height))


def _svg_length(value: str | None) -> float | None:
    """A length in user units (a number, or px), or None for another unit or nothing."""
    found = _SVG_LENGTH.fullmatch(value or "")
    if found is None:
        return None
    number = float(found[1])
    return number if 0 < number < 1e7 else None


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


def _open(
    data: bytes, what: str, media_types: Collection[str] = STORED_MEDIA_TYPES
) -> tuple[Any, ImageHeader]:
    """The image opened lazily (no pixel decoded) and its header, checked.

    Raster images only (an SVG is not Pillow's): one of ``media_types``.
    """
    image_module = _pillow()
    from PIL import UnidentifiedImageError

    not_image = f"{what} is not {kinds(media_types)}"
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
    if media_type is None or media_type not in media_types or width <= 0 or height <= 0:
        image.close()
        raise InputValidationError(not_image)
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise InputValidationError(_too_many_pixels(what, (width, height)))
    return image, ImageHeader(media_type, width, height)


def _too_many_pixels(what: str, size: tuple[int, int] | None) -> str:
    has = f" is {size[0]}x{size[1]} pixels;" if size else " has too many pixels;"
    return f"{what}{has} an image may have at most {MAX_IMAGE_PIXELS:,} (4096x4096)"


def read_header(
    data: bytes, what: str, media_types: Collection[str] = STORED_MEDIA_TYPES
) -> ImageHeader:
    """The media type and dimensions of an image, from its bytes' header alone.

    ``media_types`` are the kinds accepted (by default every kind pixyproxy stores: PNG,
    JPEG, WebP, GIF, SVG). Raises InputValidationError naming ``what`` when ``data`` is not
    such an image, or has more than ``MAX_IMAGE_PIXELS`` pixels.
    """
    if SVG_MEDIA_TYPE in media_types and looks_like_svg(data):
        size = svg_size(data)
        if size is None:
            raise InputValidationError(f"{what} is not {kinds(media_types)}")
        if size[0] * size[1] > MAX_IMAGE_PIXELS:
            raise InputValidationError(_too_many_pixels(what, size))
        return ImageHeader(SVG_MEDIA_TYPE, *size)
    image, header = _open(data, what, media_types)
    image.close()
    return header


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """The (width, height) in pixels of an image pixyproxy stores, or None if unreadable."""
    try:
        header = read_header(data, "the image")
    except InputValidationError:
        return None
    return header.width, header.height


RASTER_MEDIA_TYPES = tuple(MEDIA_TYPES.values())


def open_image(data: bytes, what: str) -> Any:
    """``data`` decoded as a Pillow image (pixels loaded; a GIF's first frame).

    Raises InputValidationError naming ``what`` when it is not a PNG, JPEG, WebP or GIF
    image, or has too many pixels (checked before decoding).
    """
    from PIL import UnidentifiedImageError

    image, _ = _open(data, what, RASTER_MEDIA_TYPES)
    try:
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise InputValidationError(f"{what} is not {kinds(RASTER_MEDIA_TYPES)}") from error
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


def encode_animation(frames: list[Any], frame_ms: int) -> bytes:
    """``frames`` (Pillow images of one size) as an animated GIF that loops for ever."""
    buffer = io.BytesIO()
    first, *rest = (frame.convert("RGB") for frame in frames)
    first.save(
        buffer, "GIF", save_all=True, append_images=rest, duration=frame_ms, loop=0, optimize=False
    )
    return buffer.getvalue()


THUMBNAIL_QUALITY = 80


def make_thumbnail(data: bytes, size: int, what: str) -> bytes:
    """A WebP of ``data`` that fits a ``size`` x ``size`` square, its proportions kept.

    A GIF's thumbnail is its first frame. Never larger than the image itself. Raises
    InputValidationError naming ``what`` when ``data`` is not a PNG, JPEG, WebP or GIF
    image, or has too many pixels.
    """
    image_module = _pillow()
    image = open_image(data, what)
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")  # a GIF's palette: WebP takes no palette images
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
