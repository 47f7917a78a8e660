"""FastAPI dependencies: the services, and who the caller is.

A caller is authenticated by HTTP Basic credentials, a Bearer API token, or, for reads only,
the gallery's sign-in cookie (``web/pages.py``: state-changing requests with a cookie go
through the gallery's forms, which check a CSRF token).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from starlette.concurrency import run_in_threadpool

from pixyproxy_cli.core.exceptions import AuthenticationError, InputValidationError
from pixyproxy_cli.core.models import User
from pixyproxy_cli.service.init import Services
from pixyproxy_cli.service.interfaces import ServedPromptServiceInterface
from pixyproxy_cli.service.tokens import REFUSED as TOKEN_REFUSED
from pixyproxy_cli.web.pages import SAFE_METHODS, session_token

basic_auth = HTTPBasic(
    auto_error=False,
    realm="pixyproxy",
    description=(
        "Optional on every path. With credentials of a roster user, requests also see and "
        "make that user's private images."
    ),
)

bearer_auth = HTTPBearer(
    auto_error=False,
    description=(
        "An API token from POST /token, accepted wherever HTTP Basic is: the same user, "
        "without a password check per request."
    ),
)


# The dependencies are `async def` so that FastAPI runs them on the event loop: a sync
# dependency costs a worker-thread round trip per request. Only password checking blocks,
# and it is sent to the thread pool explicitly.


async def get_services(request: Request) -> Services:
    """The application's services (built at start-up)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
"""The application's services."""


def client_address(request: Request) -> str:
    """The caller's address (for limits keyed by client)."""
    return request.client.host if request.client else "unknown"


async def password_user(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPBasicCredentials | None, Depends(basic_auth)],
) -> User | None:
    """The user whose HTTP Basic credentials were sent (checked), or None without them.

    Raises AuthenticationError (401) for wrong credentials, and TooManyRequestsError (429)
    after too many failures for that user name from that address.
    """
    if credentials is None:
        return None
    request.state.user = credentials.username  # for the access log line (escaped there)
    return await run_in_threadpool(
        services.login_throttle.authenticate,
        credentials.username,
        credentials.password,
        client_address(request),
    )


async def optional_user(
    request: Request,
    services: ServicesDep,
    basic: Annotated[User | None, Depends(password_user)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_auth)],
) -> User | None:
    """The authenticated user, or None without credentials.

    Credentials are HTTP Basic, a Bearer API token, or (GET and HEAD only) the gallery's
    sign-in cookie.

    Raises AuthenticationError (401) for wrong credentials or a token that is not valid,
    and TooManyRequestsError (429) as ``password_user``.
    """
    if bearer is None:
        authorization = request.headers.get("authorization")
        if authorization is None and request.method in SAFE_METHODS:
            return await cookie_user(request, services)
        if (authorization or "").lower().startswith("bearer"):
            raise AuthenticationError(TOKEN_REFUSED)  # "Bearer" and no token: not anonymous
        return basic
    return await _token_user(request, services, bearer.credentials)


async def cookie_user(request: Request, services: Services) -> User | None:
    """The user of the browser's sign-in cookie, or None without one or with a stale one.

    A cookie is sent with every request, wanted or not: one that no longer names a valid
    token (revoked, expired) makes the browser anonymous rather than refused.
    """
    token = session_token(request)
    if token is None:
        return None
    try:
        return await _token_user(request, services, token)
    except AuthenticationError:
        return None


async def _token_user(request: Request, services: Services, token: str) -> User:
    """The user of an API token. Raises AuthenticationError."""
    # A token checked lately costs a stat here; otherwise one query, in a worker thread.
    user = services.tokens.peek(token)
    if user is None:
        user = await run_in_threadpool(services.tokens.authenticate, token)
    request.state.user = user.username
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
"""The caller's user when they sent credentials (checked), else None."""


async def current_user(user: OptionalUser) -> User:
    """The authenticated caller. Raises AuthenticationError (401) without credentials."""
    if user is None:
        raise AuthenticationError("Authentication required (HTTP Basic or a Bearer token)")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
"""The caller's user, for routes only an authenticated user may call (401 otherwise)."""


async def prompts_for_caller(
    services: ServicesDep, user: OptionalUser
) -> ServedPromptServiceInterface:
    """The prompt service as the caller sees it: anonymous, or the authenticated user.

    Rules about who may do what (a private image needs a user) live in the service.
    """
    return services.prompts_for(user)


def only_query_parameters(*names: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency that refuses (422) query parameters other than ``names``.

    FastAPI ignores unknown ones, so a misspelt filter would silently widen an answer.
    """

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - set(names))
        if unknown:
            raise InputValidationError(f"unknown query parameter {unknown[0]!r}")

    return check
