"""API tokens: get one for a password, list yours, revoke one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from pixyproxy_cli.core.exceptions import AuthenticationError
from pixyproxy_cli.core.models import User
from pixyproxy_cli.service.tokens import (
    LABEL_PATTERN,
    MAX_LABEL_LENGTH,
    TOKEN_PATTERN,
    ApiToken,
    IssuedToken,
)
from pixyproxy_cli.web.dependencies import CurrentUser, ServicesDep, password_user
from pixyproxy_cli.web.errors import error_responses

router = APIRouter(prefix="/token", tags=["tokens"])
TokenIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="The token's id")]


class TokenRequest(BaseModel):
    """The (optional) body of POST /token."""

    model_config = ConfigDict(extra="forbid")

    label: StrictStr = Field(
        default="API token",
        min_length=1,
        max_length=MAX_LABEL_LENGTH,
        pattern=LABEL_PATTERN,
        description="What the token is for (shown in GET /token), e.g. the machine's name.",
    )


@router.post(
    "",
    status_code=201,
    response_model=IssuedToken,
    summary="Get an API token",
    description=(
        "Exchanges HTTP Basic credentials for an API token, shown this once: send it as "
        "`Authorization: Bearer TOKEN` wherever Basic is accepted. It expires after "
        "TOKEN_LIFETIME_DAYS (90 by default) and can be revoked with DELETE /token/{id}."
    ),
    responses=error_responses(401, 422, 429, 500, 503),
)
async def create_token(
    services: ServicesDep,
    user: Annotated[User | None, Depends(password_user)],
    body: Annotated[TokenRequest | None, Body()] = None,
) -> IssuedToken:
    """POST /token."""
    if user is None:
        raise AuthenticationError("Send HTTP Basic credentials (user name and password)")
    label = body.label if body is not None else TokenRequest().label
    return await run_in_threadpool(services.tokens.issue, user, label)


@router.get(
    "",
    response_model=list[ApiToken],
    summary="Your API tokens",
    description="The caller's tokens, oldest first: ids, labels, dates; never the tokens.",
    responses=error_responses(401, 429, 500, 503),
)
async def list_tokens(services: ServicesDep, user: CurrentUser) -> list[ApiToken]:
    """GET /token."""
    return await run_in_threadpool(services.tokens.list_tokens, user)


@router.delete(
    "/{token_id}",
    status_code=204,
    summary="Revoke an API token",
    description="Revokes one of the caller's tokens: refused by every worker from now on.",
    responses=error_responses(401, 404, 422, 429, 500, 503),
)
async def revoke_token(services: ServicesDep, user: CurrentUser, token_id: TokenIdPath) -> Response:
    """DELETE /token/{id}."""
    await run_in_threadpool(services.tokens.revoke, user, token_id)
    return Response(status_code=204)


class Caller(BaseModel):
    """Who the credentials of a request name."""

    username: str
    class_key: str
    token_id: str | None = Field(description="The API token's id, when one was sent.")


user_router = APIRouter(tags=["tokens"])


@user_router.get(
    "/user",
    response_model=Caller,
    summary="Who you are",
    description="The user the request's credentials (Basic or Bearer) name; 401 without.",
    responses=error_responses(401, 429, 500, 503),
)
async def who_am_i(user: CurrentUser, request: Request) -> Caller:
    """GET /user."""
    header = request.headers.get("authorization", "")
    match = TOKEN_PATTERN.fullmatch(header[7:]) if header[:7].lower() == "bearer " else None
    return Caller(
        username=user.username,
        class_key=user.class_key,
        token_id=match.group(1) if match else None,
    )
