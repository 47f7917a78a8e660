"""The caller's usage: their images and the tokens those used, summed."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from pixyproxy_cli.core.constants import UsageGrouping
from pixyproxy_cli.core.exceptions import InputValidationError
from pixyproxy_cli.web.dependencies import CurrentUser, ServicesDep, only_query_parameters
from pixyproxy_cli.web.errors import error_responses

router = APIRouter(tags=["usage"])
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _start_of(day: str) -> datetime:
    """The UTC midnight that starts ``day`` (YYYY-MM-DD). Raises InputValidationError."""
    try:
        return datetime.combine(date.fromisoformat(day), time(), tzinfo=UTC)
    except ValueError:
        raise InputValidationError(f"since: {day} is not a day of the calendar") from None


class UsageLineOut(BaseModel):
    """One group's images, tokens and estimated cost in USD (null without prices)."""

    key: str
    images: int
    input_tokens: int
    output_tokens: int
    input_text_tokens: int = Field(description="Of the input tokens, those reported as text.")
    input_image_tokens: int = Field(description="Of the input tokens, an edit's images.")
    output_image_tokens: int
    output_text_tokens: int
    cost: float | None


@router.get(
    "/usage",
    response_model=list[UsageLineOut],
    summary="Your usage",
    description=(
        "The authenticated caller's images and the tokens they used, summed by `day` (UTC), "
        "`model` or `user`, since a day when given; the kinds count the tokens the provider "
        "detailed (the totals may hold more, of images made before the kinds were kept). "
        "`cost` is estimated from the server's IMAGE_PRICES (USD per million tokens), null "
        "for a group with an unpriced model, or with tokens of no known kind where the "
        "prices of their kinds differ."
    ),
    responses=error_responses(401, 422, 429, 500, 503),
    dependencies=[Depends(only_query_parameters("by", "since"))],
)
def get_usage(
    user: CurrentUser,
    services: ServicesDep,
    by: UsageGrouping = "day",
    since: Annotated[
        str | None,
        Query(
            pattern=DAY_PATTERN,
            description="Only images made on or after this UTC day.",
            json_schema_extra={"format": "date"},
        ),
    ] = None,
) -> list[UsageLineOut]:
    """GET /usage."""
    start = _start_of(since) if since else None
    lines = services.usage.summary(by=by, since=start, owner=user.username)
    return [UsageLineOut(**asdict(line)) for line in lines]


class ModelOut(BaseModel):
    """One image model the server's API key may use."""

    id: str
    default: bool
    available: bool
    shutdown_date: str | None = None
    advice: str | None = None


class ModelsOut(BaseModel):
    """The server's image models, and why none are listed (no API key) if so."""

    models: list[ModelOut]
    notice: str | None = None


@router.get(
    "/models",
    response_model=ModelsOut,
    summary="The server's image models",
    description=(
        "The image models the server's OpenAI key may use, its default marked "
        "(`pixyproxy models` with a server). Credentials required: it asks the provider."
    ),
    responses=error_responses(401, 429, 500, 502, 503),
)
def list_models(services: ServicesDep, user: CurrentUser) -> ModelsOut:
    """GET /models."""
    listing = services.models.list_models()
    return ModelsOut(
        models=[ModelOut(**asdict(entry)) for entry in listing.models], notice=listing.notice
    )
