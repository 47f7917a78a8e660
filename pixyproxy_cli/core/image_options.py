"""Image size and quality: the rules every layer checks them by, with no heavy imports.

The CLI checks its flags with these while parsing (``--help`` must not load pydantic), and
the providers check the settings with them when an image is made.
"""

from __future__ import annotations

import re

from pixyproxy_cli.core.exceptions import ConfigurationError

IMAGE_SIZE_PATTERN = re.compile(r"auto|[1-9][0-9]{1,4}x[1-9][0-9]{1,4}")
IMAGE_QUALITIES = ("auto", "low", "medium", "high", "xhigh", "max")
"""The qualities today's GPT image models take (the SDK's list, less DALL-E's retired ones)."""


def image_size_problem(value: str) -> str | None:
    """What is wrong with an image size, or None: ``WIDTHxHEIGHT`` (any) or ``auto``."""
    if IMAGE_SIZE_PATTERN.fullmatch(value):
        return None
    return f"{value!r} is not a size: use WIDTHxHEIGHT such as 1024x1024, or auto"


def image_quality_problem(value: str) -> str | None:
    """What is wrong with an image quality, or None."""
    if value in IMAGE_QUALITIES:
        return None
    return f"{value!r} is not a quality: use one of {', '.join(IMAGE_QUALITIES)}"


def check_image_options(size: str, quality: str) -> None:
    """Raise ConfigurationError naming IMAGE_SIZE or IMAGE_QUALITY when either is not valid.

    Flags are checked where they are parsed; what reaches here came from the environment.
    """
    for variable, problem in (
        ("IMAGE_SIZE", image_size_problem(size)),
        ("IMAGE_QUALITY", image_quality_problem(quality)),
    ):
        if problem:
            raise ConfigurationError(f"{variable}: {problem}")
