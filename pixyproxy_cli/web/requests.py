"""What the image routes take: the request models, the caller, the generation limit.

POST /image's body (also each request of POST /jobs, and the gallery's form), POST /edits'
fields, the prompt service as the caller sees it, and the charging of images to the
caller's limit before any work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, Request
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    create_model,
)

from pixyproxy_cli.core.constants import MAX_IMAGES_PER_REQUEST
from pixyproxy_cli.core.image_options import (
    ANIMATED_FORMATS,
    COMPRESSED_FORMATS,
    IMAGE_OPTIONS,
    SINGLE_IMAGE_FORMATS,
    TRANSPARENT_FORMATS,
    ImageOption,
    ImageOptions,
    image_size_problem,
)
from pixyproxy_cli.core.models import PROMPT_JSON_SCHEMA
from pixyproxy_cli.service.init import Services
from pixyproxy_cli.service.interfaces import (
    PromptServiceInterface,
    ServedPromptServiceInterface,
)
from pixyproxy_cli.web.dependencies import client_address, prompts_for_caller


def _whole_number(value: Any) -> Any:
    """JSON Schema's integer includes 9.0; strict validation then refuses the rest."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInt = Annotated[StrictInt, BeforeValidator(_whole_number)]
"""A JSON integer: 9 or 9.0, never "9" or true."""


def _checked_size(value: str) -> str:
    problem = image_size_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class _PromptFields(BaseModel):
    """The body of POST /image but for its image options, which ``IMAGE_OPTIONS`` adds."""

    model_config = ConfigDict(
        extra="forbid",
        # A compression needs a format that takes one, a transparent background a format
        # that has one: said in the schema, enforced by the service (the one place for the
        # rules, core/image_options.py, whose constants these are).
        json_schema_extra={
            "dependentSchemas": {
                "compression": {
                    "properties": {"format": {"enum": list(COMPRESSED_FORMATS)}},
                    "required": ["format"],
                },
                **{
                    name: {
                        "properties": {"format": {"enum": list(ANIMATED_FORMATS)}},
                        "required": ["format"],
                    }
                    for name in ("frames", "frame_ms")
                },
                "n": {
                    "anyOf": [
                        {"properties": {"n": {"const": 1}}},
                        {"properties": {"format": {"not": {"enum": list(SINGLE_IMAGE_FORMATS)}}}},
                    ]
                },
                "background": {
                    "anyOf": [
                        {"properties": {"background": {"not": {"const": "transparent"}}}},
                        {"properties": {"format": {"enum": list(TRANSPARENT_FORMATS)}}},
                    ]
                },
            }
        },
    )

    prompt: StrictStr = Field(
        description=(
            "What to draw: at least one non-blank character, no NUL, at most "
            "PROMPT_MAX_LENGTH characters (32,000 by default)."
        ),
        # Documented for clients; the service enforces them, with the configured maximum.
        json_schema_extra=PROMPT_JSON_SCHEMA,
    )
    private: StrictBool = Field(default=False, description="Only the authenticated owner sees it.")
    n: JsonInt = Field(
        default=1,
        ge=1,
        le=MAX_IMAGES_PER_REQUEST,
        description="How many images, in one provider call. With n > 1 the answer is an array.",
    )

    def options(self, defaults: ImageOptions) -> ImageOptions:
        """The server's image options with this request's own on top."""
        given = {
            option.name: getattr(self, option.name)
            for option in IMAGE_OPTIONS
            if getattr(self, option.name, None) is not None
        }
        return defaults.overridden(given)


def _option_field(option: ImageOption) -> tuple[Any, Any]:
    """A request field for ``option``: its type and schema from the one declaration."""
    annotation: Any
    if option.limits is not None:
        low, high = option.limits
        annotation = Annotated[
            JsonInt, Field(ge=low, le=high), WithJsonSchema(option.json_schema())
        ]
    elif option.choices:
        annotation = Literal[option.choices]
    else:
        annotation = Annotated[
            StrictStr, AfterValidator(_checked_size), WithJsonSchema(option.json_schema())
        ]
    default = "the API's" if option.default is None else f"the server's {option.variable}"
    return annotation | None, Field(
        default=None, description=f"{option.summary} (default: {default})."
    )


def _with_options(name: str, base: type[_PromptFields], endpoint: str) -> type[_PromptFields]:
    """``base`` and the image options ``endpoint`` takes that it has not: a request model."""
    fields: dict[str, Any] = {
        option.name: _option_field(option)
        for option in IMAGE_OPTIONS
        if option.takes(endpoint) and option.name not in base.model_fields
    }
    return create_model(name, __base__=base, __doc__=f"The fields of {name}.", **fields)


if TYPE_CHECKING:
    ImageRequest = _PromptFields
    EditRequest = _PromptFields
else:
    ImageRequest = _with_options("ImageRequest", _PromptFields, "generate")
    """The body of POST /image."""
    EditRequest = _with_options("EditRequest", ImageRequest, "edit")
    """The fields of POST /edits' form: POST /image's, and an input fidelity."""


Prompts = Annotated[ServedPromptServiceInterface, Depends(prompts_for_caller)]
"""The prompt service as the caller sees it (anonymous, or the authenticated user)."""
# FastAPI lists HTTP Basic as required; `{}` beside it tells OpenAPI readers that anonymous
# calls are allowed too (credentials are optional on every path).
OPTIONAL_AUTH: dict[str, Any] = {"security": [{}]}


def _limited(prompts: PromptServiceInterface, request: Request) -> tuple[str, str]:
    """Whom the generation limit counts: the user, or the client's address when anonymous."""
    return ("user", prompts.viewer) if prompts.viewer else ("address", client_address(request))


def charge_images(
    prompts: PromptServiceInterface, services: Services, request: Request, n: int
) -> None:
    """Count ``n`` images against the caller's generation limit, before the work.

    Images cost money at the provider: the limit is per user, or per address when
    anonymous. Raises TooManyRequestsError (429, with retry_after) when over it, and
    InputValidationError (422) when ``n`` alone is over it: waiting would not help.
    """
    services.generation_limiter.acquire(
        "Too many images requested; try again later", *_limited(prompts, request), weight=n
    )


def give_back_images(
    prompts: PromptServiceInterface, services: Services, request: Request, n: int
) -> None:
    """Uncount ``n`` images charged for a request that was refused before any work."""
    services.generation_limiter.give_back(*_limited(prompts, request), weight=n)
