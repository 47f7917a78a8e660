"""The gallery's HTML: templates, security headers, the sign-in cookie and CSRF.

Every page is rendered here, so every page gets the same headers: a Content-Security-Policy
that allows only pixyproxy's own scripts, styles and images (no inline script, no framing),
``no-store`` (a page shows what its viewer may see), and the CSRF cookie its forms need.

Signing in issues an API token (``TokenService``) and keeps it in an HttpOnly, SameSite=Strict
cookie. The API honours that cookie for reads only (GET and HEAD), so a browser's ``<img>``
sees its user's private images; every state-changing request goes through a gallery form,
which must carry the CSRF token (double submit: the form field must equal the CSRF cookie,
which another site can neither read nor send).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pixyproxy_cli import __version__
from pixyproxy_cli.core.exceptions import PermissionDeniedError

_R = TypeVar("_R", bound=Response)
SESSION_COOKIE = "pixyproxy_session"
CSRF_COOKIE = "pixyproxy_csrf"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD"})
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
CSRF_REFUSED = "This form has expired or did not come from this page: reload the page and try again"
STATIC_DIR = Path(__file__).with_name("static")
TEMPLATE_DIR = Path(__file__).with_name("templates")

_templates = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    # Every value is escaped in HTML, attributes included: a prompt is text, never markup.
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _moment(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


_templates.filters["moment"] = _moment
_templates.globals["version"] = __version__


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser: its cookie's, or a new one set with the page."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a form whose CSRF field does not equal this browser's CSRF cookie.

    Raises PermissionDeniedError (403).
    """
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise PermissionDeniedError(CSRF_REFUSED)


def session_token(request: Request) -> str | None:
    """The API token of the browser's sign-in cookie, if it sent one."""
    return request.cookies.get(SESSION_COOKIE) or None


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``template``, with the page headers and the CSRF cookie."""
    context.setdefault("viewer", getattr(request.state, "viewer", None))
    html = _templates.get_template(template).render(
        request=request, csrf=csrf_token(request), **context
    )
    return _with_cookies(request, HTMLResponse(html, status_code=status, headers=PAGE_HEADERS))


def redirect(request: Request, url: str) -> Response:
    """A 303 to ``url`` (after a form), with the page headers."""
    return _with_cookies(request, RedirectResponse(url, status_code=303, headers=PAGE_HEADERS))


def sign_in(request: Request, response: Response, token: str, max_age: int) -> None:
    """Keep ``token`` in the sign-in cookie: HttpOnly, SameSite=Strict, Secure over HTTPS."""
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, **_cookie_flags(request))


def sign_out(request: Request, response: Response) -> None:
    """Forget the sign-in cookie."""
    response.delete_cookie(SESSION_COOKIE, **_cookie_flags(request))


def _cookie_flags(request: Request) -> dict[str, Any]:
    """Every cookie of ours: HttpOnly, SameSite=Strict, for the whole site, Secure over HTTPS."""
    return {
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
        "path": "/",
    }


def is_page(request: Request) -> bool:
    """Whether the request is for a gallery page (its errors are pages too)."""
    path = request.url.path
    return path == "/" or path.startswith("/gallery/")


ERROR_TITLES = {
    401: "Sign in needed",
    403: "Not allowed",
    404: "Not found",
    422: "That did not work",
    429: "Too many requests",
}


def render_error(request: Request, status: int, message: str, request_id: str) -> HTMLResponse:
    """The error page: what went wrong, in the words the API would use."""
    title = ERROR_TITLES.get(status, "Something went wrong")
    if status >= 500:
        message = f"{message} (request id {request_id})"
    return render(request, "error.html", status, title=title, message=message)


def _with_cookies(request: Request, response: _R) -> _R:
    if getattr(request.state, "stale_session", False):
        sign_out(request, response)
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF_COOKIE, new, **_cookie_flags(request))
    return response
