"""Image size and quality: the rules every layer checks them by, with no heavy imports.

The CLI checks its flags with these while parsing (``--help`` must not load pydantic), and
the providers check the settings with them when an image is made.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pixyproxy_cli.core.constants import GUID_PATTERN
from pixyproxy_cli.core.exceptions import ConfigurationError

if TYPE_CHECKING:
    from pixyproxy_cli.core.settings import Settings

SIZE_STEP = 16
"""Width and height must both be divisible by 16 (the SDK's ``size`` docs)."""
MAX_SIZE = (3840, 2160)
"""The largest resolution the API makes, landscape; its portrait 2160x3840 too."""
MAX_ASPECT = 3
"""The aspect ratio must be between 1:3 and 3:1."""
_SIDES = "|".join(str(side) for side in range(MAX_SIZE[0], 0, -SIZE_STEP))


class LazyPattern:
    """A regular expression compiled on first use.

    Every command imports this module, and the size's 480 alternatives take milliseconds
    to compile, which ``list`` never needs.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: re.Pattern[str] | None = None

    def fullmatch(self, text: str) -> re.Match[str] | None:
        """``re.fullmatch`` of the pattern, compiled the first time."""
        if self._compiled is None:
            self._compiled = re.compile(self.pattern)
        return self._compiled.fullmatch(text)


IMAGE_SIZE_PATTERN = LazyPattern(rf"auto|(?:{_SIDES})x(?:{_SIDES})")
"""What a regular expression (and so an OpenAPI schema) can say of a size: ``auto``, or
sides that are multiples of 16 up to 3840. ``image_size_problem`` adds the rest."""
IMAGE_QUALITIES = ("auto", "low", "medium", "high", "xhigh", "max")
"""The qualities today's GPT image models take (the SDK's list, less DALL-E's retired ones)."""
IMAGE_FORMATS = ("png", "webp", "jpeg", "gif", "svg")
"""The file formats pixyproxy asks for and stores: the SDK's ``output_format`` Literal."""
ANIMATED_FORMATS = ("gif",)
"""The formats that take ``frames`` and ``frame_ms`` (the SDK: "only supported with
output_format=gif")."""
SINGLE_IMAGE_FORMATS = ("svg",)
"""The formats made one image a request ("SVG generation requires n=1")."""
UNSTREAMED_FORMATS = ("gif", "svg")
"""The formats the API does not stream (no partial images): asked for whole."""
UNMASKED_FORMATS = ("gif",)
"""The formats an edit with a mask cannot ask for ("GIF output does not support ... masks")."""
MIN_FRAMES, MAX_FRAMES = 2, 16
"""A GIF's frame count ("Accepts integers from 2 through 16"; the API's default is 9)."""
MAX_FRAME_MS = 655_350
"""The longest delay a GIF frame can encode ("caps the encoded delay at 655,350 ms"): a longer
one would be cut without a word, so pixyproxy refuses it. The API's default is 200 ms."""
COMPRESSED_FORMATS = ("webp", "jpeg")
"""The formats ``--compression`` applies to."""
BACKGROUNDS = ("auto", "opaque", "transparent")
MODERATIONS = ("auto", "low")
INPUT_FIDELITIES = ("auto", "low", "high")
"""How closely an edit keeps its sources' features (the SDK's low, high); auto: nothing is
sent (the model's default, where it takes one)."""
INPUT_FIDELITY_MODELS = {"gpt-image-1.5": ("low", "high"), "gpt-image-1-mini": ("low",)}
"""The models the SDK documents as taking an input fidelity, and which (its
``input_fidelity`` docs: gpt-image-2 must omit it)."""
COMPLEXITIES = ("auto", "low", "medium", "high")
"""How much the model plans the image (the SDK's low, medium, high); auto: the model's own
default, and nothing is sent."""


STANDARD_SIZES = ("1024x1024", "1536x1024", "1024x1536")
"""The sizes every GPT image model takes (and ``auto``, for those that size themselves)."""
CUSTOM_SIZE_MODELS = frozenset(
    {
        "gpt-image-2",
        "gpt-image-2-2026-04-21",
        "gpt-image-2.5-sunburst",
        "gpt-image-2.5-sunburst-2026-09-08",
        "gpt-image-2.5-flare",
        "gpt-image-2.5-flare-2026-09-08",
    }
)
"""The models the SDK documents as taking any ``WIDTHxHEIGHT`` (its ``size`` docs)."""
EXTRA_QUALITIES = ("xhigh", "max")
EXTRA_QUALITY_MODELS = frozenset(
    {
        "gpt-image-2.5-sunburst",
        "gpt-image-2.5-sunburst-2026-09-08",
        "gpt-image-2.5-flare",
        "gpt-image-2.5-flare-2026-09-08",
    }
)
"""The models the SDK documents as also taking ``xhigh`` and ``max`` (its ``quality`` docs)."""
STANDARD_SIZE_MODELS = frozenset(
    {
        "gpt-image-1-mini",
        "gpt-image-1.5",
        "gpt-image-2.6-sunburst",
        "gpt-image-2.6-flare",
        "chatgpt-image-latest",
    }
)
"""The other current models the SDK lists: it documents no custom size or extra quality for
them, so they get the standard sizes and qualities only."""
TRANSPARENT_FORMATS = ("png", "webp")
"""A transparent background needs one of these formats (the ``background`` docs)."""
# The whole table is held to the installed SDK's docs by tests/cli/test_openai.py. A model
# it does not know (newer than the table) is held to the rules of every model only.

_GUID = re.compile(GUID_PATTERN)


def looks_like_guid(value: str) -> bool:
    """Whether ``value`` is written as a GUID (either case), for telling GUIDs from paths."""
    return _GUID.match(value) is not None


def image_size_problem(value: str) -> str | None:
    """What is wrong with an image size, or None.

    A size is ``auto`` or ``WIDTHxHEIGHT``: both divisible by 16, within 3840x2160 (either
    way round), and of an aspect ratio between 1:3 and 3:1, as the SDK documents for the
    models that take custom sizes.
    """
    if value == "auto":
        return None
    found = re.fullmatch(r"([0-9]{1,6})x([0-9]{1,6})", value)
    if found is None:
        return f"{value!r} is not a size: use WIDTHxHEIGHT such as 1024x1024, or auto"
    width, height = int(found[1]), int(found[2])
    if max(width, height) > MAX_SIZE[0] or min(width, height) > MAX_SIZE[1]:
        largest = f"{MAX_SIZE[0]}x{MAX_SIZE[1]}"
        return f"size {value} is larger than the API makes: at most {largest} (or portrait)"
    if width == 0 or height == 0 or width % SIZE_STEP or height % SIZE_STEP:
        return f"size {value}: width and height must be multiples of {SIZE_STEP}"
    if max(width, height) > MAX_ASPECT * min(width, height):
        return f"size {value}: the aspect ratio must be between 1:{MAX_ASPECT} and {MAX_ASPECT}:1"
    return None


def image_quality_problem(value: str) -> str | None:
    """What is wrong with an image quality, or None."""
    if value in IMAGE_QUALITIES:
        return None
    return f"{value!r} is not a quality: use one of {', '.join(IMAGE_QUALITIES)}"


def choice_problem(what: str, choices: tuple[str, ...]) -> Callable[[str], str | None]:
    """A check that ``value`` is one of ``choices`` (for a format, background, ...)."""

    def problem(value: str) -> str | None:
        if value in choices:
            return None
        return f"{value!r} is not a {what}: use one of {', '.join(choices)}"

    return problem


image_format_problem = choice_problem("format", IMAGE_FORMATS)
background_problem = choice_problem("background", BACKGROUNDS)
moderation_problem = choice_problem("moderation level", MODERATIONS)
complexity_problem = choice_problem("complexity", COMPLEXITIES)
input_fidelity_problem = choice_problem("input fidelity", INPUT_FIDELITIES)


def compression_problem(compression: int | None, image_format: str) -> str | None:
    """What is wrong with a compression for ``image_format``, or None."""
    if compression is None:
        return None
    if not 0 <= compression <= 100:
        return f"compression must be 0 to 100, not {compression}"
    if image_format not in COMPRESSED_FORMATS:
        return f"compression applies to {' and '.join(COMPRESSED_FORMATS)}, not {image_format}"
    return None


def frames_problem(frames: int | None, image_format: str) -> str | None:
    """What is wrong with a GIF's frame count for ``image_format``, or None."""
    if frames is None:
        return None
    if not MIN_FRAMES <= frames <= MAX_FRAMES:
        return f"frames must be {MIN_FRAMES} to {MAX_FRAMES}, not {frames}"
    if image_format not in ANIMATED_FORMATS:
        return f"frames apply to {' and '.join(ANIMATED_FORMATS)} only, not {image_format}"
    return None


def frame_ms_problem(frame_ms: int | None, image_format: str) -> str | None:
    """What is wrong with a GIF's delay per frame for ``image_format``, or None."""
    if frame_ms is None:
        return None
    if not 1 <= frame_ms <= MAX_FRAME_MS:
        return f"frame-ms must be 1 to {MAX_FRAME_MS:,} (milliseconds), not {frame_ms}"
    if image_format not in ANIMATED_FORMATS:
        return f"frame-ms applies to {' and '.join(ANIMATED_FORMATS)} only, not {image_format}"
    return None


def count_problem(n: int, image_format: str) -> str | None:
    """What is wrong with asking for ``n`` images of ``image_format`` in one request, or None."""
    if n > 1 and image_format in SINGLE_IMAGE_FORMATS:
        return f"{image_format} is made one image at a time: ask for 1, not {n}"
    return None


def mask_problem(image_format: str) -> str | None:
    """What is wrong with an edit with a mask that asks for ``image_format``, or None."""
    if image_format in UNMASKED_FORMATS:
        return f"{image_format} output takes no mask: drop the mask, or choose another format"
    return None


@dataclass(frozen=True)
class ImageOptions:
    """How an image is asked for: size, quality, file format and the rest (all settings).

    Each field is declared once more, in ``IMAGE_OPTIONS``, with everything every layer
    needs to offer and check it.
    """

    size: str = "auto"
    """The API's own default for both endpoints: sent only when something else is asked."""
    quality: str = "auto"
    format: str = "png"
    compression: int | None = None
    background: str = "auto"
    moderation: str = "auto"
    complexity: str = "auto"
    input_fidelity: str = "auto"
    """Edits only (generations have none)."""
    frames: int | None = None
    """A GIF's frame count (None: the API's default, 9)."""
    frame_ms: int | None = None
    """A GIF's delay per frame in milliseconds (None: the API's default, 200)."""

    def first_problem(
        self, model: str | None = None, *, edit: bool = False
    ) -> tuple[str, str] | None:
        """The first option that is not valid, as (the setting that names it, what is wrong).

        With ``model``, also what that model does not take (``model_problems``); ``edit``
        for an edit's options (the input fidelity applies to edits only).
        """
        found = (
            *((option.variable, option.problem(self)) for option in IMAGE_OPTIONS),
            *model_problems(self, model, edit=edit),
        )
        return next(((variable, problem) for variable, problem in found if problem), None)

    @classmethod
    def from_settings(cls, settings: Settings, *, defaults: bool = False) -> ImageOptions:
        """The options the settings (and the flags among them) ask for; checked when used.

        The GIF settings (frames, delay) apply only when the format is an animated one;
        ``defaults`` keeps them whatever the format, for requests that choose their own
        format on top (``overridden``).
        """
        animated = defaults or settings.image_format in ANIMATED_FORMATS
        return cls(
            **{
                option.name: getattr(settings, option.setting)
                for option in IMAGE_OPTIONS
                if animated or option.name not in ANIMATION_OPTIONS
            }
        )

    def overridden(self, given: Mapping[str, Any]) -> ImageOptions:
        """These options (a server's defaults) with a request's own ``given`` on top.

        Inherited GIF options are dropped when the request's format is not an animated
        one; the request's own are kept, and checked as given.
        """
        options = replace(self, **given) if given else self
        if options.format not in ANIMATED_FORMATS:
            options = replace(
                options,
                frames=given.get("frames"),
                frame_ms=given.get("frame_ms"),
            )
        return options

    def check(self, model: str | None = None, *, edit: bool = False) -> None:
        """Raise ConfigurationError naming the setting of the first option not valid.

        For options that came from settings; a caller's own options are checked by the
        service (InputValidationError, without the setting's name).
        """
        problem = self.first_problem(model, edit=edit)
        if problem is not None:
            raise ConfigurationError(f"{problem[0]}: {problem[1]}")


ANIMATION_OPTIONS = ("frames", "frame_ms")
"""The options of animated formats only (see ``ANIMATED_FORMATS``)."""


@dataclass(frozen=True)
class ImageOption:
    """One image option, declared once for every layer that offers or checks it.

    The CLI's flag and help, the setting and its environment variable, the REST field and
    its JSON schema, the gallery's choices and the provider's parameter all come from here.
    """

    name: str
    """The ``ImageOptions`` field, the REST field and the CLI parameter."""
    api_name: str
    """The Images API's parameter."""
    summary: str
    """What it does, for ``--help`` and the REST schema."""
    default: str | int | None = "auto"
    """The setting's default: also the value never sent (the API's own default)."""
    choices: tuple[str, ...] = ()
    """The values a text option takes (none: a size, checked by ``image_size_problem``)."""
    noun: str = ""
    """What a value is called in a refusal ("... is not a moderation level")."""
    limits: tuple[int, int] | None = None
    """The range of an integer option."""
    format_problem: Callable[[int | None, str], str | None] | None = None
    """An integer option's check, which depends on the format."""
    endpoints: tuple[str, ...] = ("generate", "edit")
    """The API endpoints that take it."""
    flag: str = ""
    """The CLI flag (default: ``--`` and the name with dashes)."""

    @property
    def setting(self) -> str:
        """The setting it overrides (``Settings``' field)."""
        return f"image_{self.name}"

    @property
    def variable(self) -> str:
        """The setting's environment variable."""
        return self.setting.upper()

    @property
    def cli_flag(self) -> str:
        """The CLI flag that gives it."""
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def integer(self) -> bool:
        """Whether its values are integers (else text)."""
        return self.limits is not None

    def takes(self, endpoint: str) -> bool:
        """Whether ``endpoint`` (``generate`` or ``edit``) takes this option."""
        return endpoint in self.endpoints

    def text_problem(self, value: str) -> str | None:
        """What is wrong with a text option's value on its own, or None."""
        if not self.choices:
            return image_size_problem(value)
        return choice_problem(self.noun or self.name, self.choices)(value)

    def problem(self, options: ImageOptions) -> str | None:
        """What is wrong with this option's value in ``options``, or None."""
        value = getattr(options, self.name)
        if self.format_problem is not None:
            return self.format_problem(value, options.format)
        return self.text_problem(value)

    def json_schema(self) -> dict[str, Any]:
        """The option's JSON schema (the REST fields and forms)."""
        if self.limits is not None:
            return {"type": "integer", "minimum": self.limits[0], "maximum": self.limits[1]}
        if self.choices:
            return {"type": "string", "enum": list(self.choices)}
        return {"type": "string", "pattern": f"^(?:{IMAGE_SIZE_PATTERN.pattern})$"}


IMAGE_OPTIONS: tuple[ImageOption, ...] = (
    ImageOption("size", "size", "Image size WIDTHxHEIGHT such as 1536x1024, or auto"),
    ImageOption("quality", "quality", "How finely it is drawn", choices=IMAGE_QUALITIES),
    ImageOption(
        "format",
        "output_format",
        "File format (gif: animated; svg: a drawing, one image a request)",
        default="png",
        choices=IMAGE_FORMATS,
    ),
    ImageOption(
        "compression",
        "output_compression",
        "Compression, for webp and jpeg",
        default=None,
        limits=(0, 100),
        format_problem=lambda value, image_format: compression_problem(value, image_format),
    ),
    ImageOption(
        "background",
        "background",
        "The background (transparent: png or webp)",
        choices=BACKGROUNDS,
    ),
    ImageOption(
        "moderation",
        "moderation",
        "The provider's moderation",
        choices=MODERATIONS,
        noun="moderation level",
        endpoints=("generate",),
    ),
    ImageOption(
        "complexity",
        "complexity",
        "How much the model plans the image (auto: the model's default)",
        choices=COMPLEXITIES,
    ),
    ImageOption(
        "input_fidelity",
        "input_fidelity",
        "How closely the edit keeps the sources' features, faces especially (auto: the "
        "model's default; gpt-image-1.5 takes high and low, gpt-image-1-mini low)",
        choices=INPUT_FIDELITIES,
        noun="input fidelity",
        endpoints=("edit",),
    ),
    ImageOption(
        "frames",
        "frame_count",
        "Frames of an animated GIF (--format gif; default: the API's, 9)",
        default=None,
        limits=(MIN_FRAMES, MAX_FRAMES),
        format_problem=lambda value, image_format: frames_problem(value, image_format),
    ),
    ImageOption(
        "frame_ms",
        "frame_duration_ms",
        "Milliseconds each GIF frame shows, rounded by the API to tens (--format gif; "
        "default: the API's, 200)",
        default=None,
        limits=(1, MAX_FRAME_MS),
        format_problem=lambda value, image_format: frame_ms_problem(value, image_format),
        flag="--frame-ms",
    ),
)
"""Every image option, in the order their problems are reported."""
OPTION_BY_NAME = {option.name: option for option in IMAGE_OPTIONS}


def api_arguments(options: ImageOptions, endpoint: str) -> dict[str, Any]:
    """The Images API parameters of ``options`` for ``endpoint`` (``generate``, ``edit``).

    Only what the endpoint takes, and only what differs from the API's own defaults.
    """
    arguments = {}
    for option in IMAGE_OPTIONS:
        value = getattr(options, option.name)
        if option.takes(endpoint) and value != option.default:
            arguments[option.api_name] = value
    return arguments


def _in_table(model: str | None) -> bool:
    """Whether the rule table knows ``model`` (one it does not gets every model's rules)."""
    return model in STANDARD_SIZE_MODELS or model in CUSTOM_SIZE_MODELS


def qualities_for(model: str | None) -> tuple[str, ...]:
    """The qualities ``model`` takes (all of them for a model the table does not know)."""
    if _in_table(model) and model not in EXTRA_QUALITY_MODELS:
        return tuple(quality for quality in IMAGE_QUALITIES if quality not in EXTRA_QUALITIES)
    return IMAGE_QUALITIES


def model_problems(
    options: ImageOptions, model: str | None, *, edit: bool = False
) -> list[tuple[str, str | None]]:
    """What ``options`` ask that ``model`` does not take, by setting (None: nothing wrong).

    The rules the SDK documents that depend on the model or on another option: custom
    sizes only for the models that take them, ``xhigh``/``max`` only for the gpt-image-2.5
    models, a transparent background only as PNG or WebP.
    """
    size = None
    if (
        model in STANDARD_SIZE_MODELS
        and options.size not in ("auto", *STANDARD_SIZES)
        and image_size_problem(options.size) is None
    ):
        size = (
            f"size {options.size}: {model} takes {', '.join(STANDARD_SIZES)} or auto (other "
            "sizes: gpt-image-2 and the gpt-image-2.5 models)"
        )
    quality = None
    if options.quality in IMAGE_QUALITIES and options.quality not in qualities_for(model):
        quality = f"quality {options.quality}: only the gpt-image-2.5 models take it, not {model}"
    fidelity = None
    if edit and options.input_fidelity != "auto" and _in_table(model):
        takes = INPUT_FIDELITY_MODELS.get(model or "", ())
        if options.input_fidelity not in takes:
            which = f"only {', '.join(takes)}" if takes else "none: omit it"
            fidelity = f"input fidelity {options.input_fidelity}: {model} takes {which}"
    background = None
    if options.background == "transparent" and options.format not in TRANSPARENT_FORMATS:
        background = (
            f"background transparent needs format {' or '.join(TRANSPARENT_FORMATS)}, "
            f"not {options.format}"
        )
    return [
        ("IMAGE_SIZE", size),
        ("IMAGE_QUALITY", quality),
        ("IMAGE_INPUT_FIDELITY", fidelity),
        ("IMAGE_BACKGROUND", background),
    ]
