"""The one place where errors become HTTP answers: ``{"error", "message", "request_id"}``.

The PixyProxyException family maps to statuses by class; FastAPI's own request validation
errors answer 422 in the same shape. Anything else becomes a 500 in ``RequestLogMiddleware``,
with the request id and no traceback in the body (the traceback goes to the log, under the
same request id).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from pixyproxy_cli.core.constants import GUID_PATTERN
from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    ConstraintViolationError,
    ContentRejectedError,
    DBConnectionError,
    GenerationError,
    InputValidationError,
    PermissionDeniedError,
    PixyProxyException,
    RateLimitedError,
    RecordNotFoundError,
    StorageError,
    StorageFullError,
    StorageUnavailableError,
    TooManyRequestsError,
    TransactionConflictError,
)
from pixyproxy_cli.service.validation import describe_errors
from pixyproxy_cli.web.context import request_id_var
from pixyproxy_cli.web.pages import is_page, render_error

logger = logging.getLogger(__name__)

AUTHENTICATE_HEADER = {"WWW-Authenticate": 'Basic realm="pixyproxy"'}
DEFAULT_RETRY_AFTER_SECONDS = 5

STATUS_BY_CLASS: dict[type[PixyProxyException], int] = {
    InputValidationError: 422,
    ContentRejectedError: 422,
    RecordNotFoundError: 404,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    ConstraintViolationError: 409,
    TooManyRequestsError: 429,
    StorageFullError: 507,
    StorageUnavailableError: 503,
    DBConnectionError: 503,
    TransactionConflictError: 503,
    RateLimitedError: 429,
    GenerationError: 502,
    PixyProxyException: 500,
}


class ErrorBody(BaseModel):
    """Every error answer's body."""

    error: str
    message: str
    request_id: str


def status_for(error: PixyProxyException) -> int:
    """The HTTP status of the nearest mapped class in ``error``'s hierarchy."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_CLASS:
            return STATUS_BY_CLASS[cls]
    return 500


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error answer carrying the current request id."""
    body = ErrorBody(error=code, message=message, request_id=request_id_var.get())
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _answer(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The error as JSON for the API, or as a page for the gallery's paths."""
    if is_page(request):
        return render_error(request, status, message, request_id_var.get())
    return error_response(status, code, message, headers)


async def handle_pixyproxy_exception(request: Request, error: Exception) -> Response:
    """Map a PixyProxyException to its status and JSON body."""
    assert isinstance(error, PixyProxyException)
    status = status_for(error)
    request.state.error = error.code  # for GET /metrics
    headers: dict[str, str] = {}
    if status == 401:
        headers.update(AUTHENTICATE_HEADER)
    if status in (429, 503):
        retry_after = getattr(error, "retry_after", None) or DEFAULT_RETRY_AFTER_SECONDS
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    message = error.message
    if status >= 500:
        logger.error("%s: %s", type(error).__name__, error.message, exc_info=error)
        if status not in (502, 503) or isinstance(error, StorageError):
            # Internal failures (storage, configuration, database) may name server paths:
            # the details go to the log; the caller gets the kind of failure.
            message = type(error).default_message
    return _answer(request, status, error.code, message, headers)


async def handle_validation_error(request: Request, error: Exception) -> Response:
    """FastAPI's request validation errors, in our shape."""
    assert isinstance(error, RequestValidationError)
    content_type = request.headers.get("content-type", "")
    items = [_friendlier(item, content_type) for item in error.errors()]
    message = describe_errors(items, skip=("body", "path", "query")) or "invalid request"
    return _answer(request, 422, InputValidationError.code, message)


async def handle_http_exception(request: Request, error: Exception) -> Response:
    """Starlette's HTTP errors (unknown path, wrong method) in our shape."""
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400:
        # FastAPI's "error parsing the body" (e.g. invalid UTF-8): invalid input, like the rest.
        return error_response(
            422,
            InputValidationError.code,
            "The request body could not be parsed: send JSON encoded as UTF-8",
        )
    code = "not_found" if error.status_code == 404 else f"http_{error.status_code}"
    headers = dict(error.headers or {})
    if error.status_code == 405:
        # Starlette names only the first route that matched the path; list them all.
        headers["Allow"] = ", ".join(allowed_methods(request))
    return _answer(request, error.status_code, code, str(error.detail), headers)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at this request's path.

    Asked of the routes themselves (``matches``), so included routers count too; HEAD is
    answered wherever GET is (``HeadMiddleware``).
    """
    allowed = {
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    }
    if "GET" in allowed:
        allowed.add("HEAD")
    return sorted(allowed)


_NOT_AN_OBJECT = ("model_attributes_type", "model_type", "dict_type")
"""Pydantic's error types for a body that is not a JSON object."""


def _friendlier(item: dict[str, Any], content_type: str) -> dict[str, Any]:
    """One validation error in words a caller can act on.

    "GUID must look like ..." rather than the GUID regular expression; what is wrong with a
    body that is not a JSON object (``content_type``: the request's) rather than pydantic's
    words for it.
    """
    loc = tuple(item.get("loc") or ())
    if loc[:1] == ("body",) and (message := _body_problem(item, loc, content_type)):
        return {**item, "loc": (), "type": "value_error", "msg": message}
    if (
        item.get("type") == "string_pattern_mismatch"
        and (item.get("ctx") or {}).get("pattern") == GUID_PATTERN
    ):
        name = str(item["loc"][-1])
        example = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
        if name == "guid":
            return {
                **item,
                "loc": (),
                "type": "value_error",
                "msg": f"GUID must look like {example}",
            }
        return {**item, "msg": f"must be a GUID like {example}"}
    return item


def _body_problem(item: dict[str, Any], loc: tuple[Any, ...], content_type: str) -> str | None:
    """What is wrong with the whole body of a JSON endpoint, or None for a field's problem."""
    media_type = content_type.partition(";")[0].strip().lower()
    is_json = media_type == "application/json" or media_type.endswith("+json")
    if item.get("type") == "json_invalid":
        detail = (item.get("ctx") or {}).get("error") or "JSON decode error"
        where = f" (at character {loc[1]})" if len(loc) > 1 else ""
        return f"The request body is not valid JSON: {detail}{where}"
    if len(loc) != 1:
        return None
    if item.get("type") == "missing":
        return (
            "The request body is missing: send a JSON object, with Content-Type: application/json"
        )
    if item.get("type") not in _NOT_AN_OBJECT:
        return None
    if is_json:
        return "The request body must be a JSON object"
    sent = f"it was sent as {media_type}" if media_type else "it was sent without a Content-Type"
    return f"The request body must be JSON, with Content-Type: application/json ({sent})"


def install_exception_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app``."""
    app.add_exception_handler(PixyProxyException, handle_pixyproxy_exception)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    # Anything else is answered by RequestLogMiddleware: a 500 that names the request id.


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses, all with ErrorBody."""
    descriptions = {
        401: "Authentication required or failed (HTTP Basic; see WWW-Authenticate)",
        403: "Only the image's owner may delete it (ownerless images: the local admin's CLI)",
        404: "No such image, or it is private to someone else",
        409: "Conflict with an existing record",
        411: "An upload without Content-Length",
        413: "Request body too large",
        422: "The request is not valid (or the provider's safety system rejected the prompt)",
        429: "Too many failed logins, or too many images; see Retry-After",
        500: "Unexpected error (the body names the request id)",
        502: "The image provider failed",
        503: "Database or image storage unavailable, or provider rate limit; see Retry-After",
        507: "No space left to store the image",
    }
    return {
        status: {"model": ErrorBody, "description": descriptions[status]} for status in statuses
    }
