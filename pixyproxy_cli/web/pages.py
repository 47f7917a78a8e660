"""The gallery's HTML: templates, security headers, the sign-in cookie and CSRF.

Every page is rendered here, so every page gets the same headers: a Content-Security-Policy
that allows only pixyproxy's own scripts, styles and images (no inline script, no framing),
``no-store`` (a page shows what its viewer may see), and the CSRF cookie its forms need.

Signing in issues an API token (``TokenService``) and keeps it in an HttpOnly, SameSite=Strict
cookie. The API honours that cookie for reads only (GET and HEAD), so a browser's ``<img>``
sees its user's private images; every state-changing request goes through a gallery form,
which is refused (``check_csrf``) unless

* the browser says it comes from this origin: ``Sec-Fetch-Site`` (when sent) is
  ``same-origin``, and ``Origin`` (when sent) is this server's own; a page on another port
  of the same host is another origin, though the same site, and
* its CSRF field is this session's token: an HMAC of the sign-in cookie's token, which no
  other page can read or compute (a planted cookie cannot forge it). Before signing in,
  the only session there is, the field must equal a random CSRF cookie (double submit).

Over HTTPS both cookies take the ``__Host-`` prefix, which a browser accepts only from this
origin itself (Secure, Path=/, no Domain): a sibling site cannot plant them.
"""

from __future__ import annotations

import base64
import hashlib
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
        # data: for a running job's partial images, which its events carry as data URLs.
        "img-src 'self' data:",
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


HOST_PREFIX = "__Host-"


def cookie_name(request: Request, name: str) -> str:
    """``name`` as this request's cookies spell it: with the ``__Host-`` prefix over HTTPS."""
    return HOST_PREFIX + name if request.url.scheme == "https" else name


def _session_csrf(session: str) -> str:
    """The CSRF token bound to a sign-in token: an HMAC keyed by it."""
    digest = hmac.new(session.encode(), b"pixyproxy gallery form", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_token(request: Request) -> str:
    """The CSRF token this browser's forms carry.

    Bound to its sign-in when it has one; else its CSRF cookie's (or a new one, set with
    the page). A stale sign-in is forgotten with this page, so its forms are anonymous.
    """
    session = session_token(request)
    if session is not None and not getattr(request.state, "stale_session", False):
        return _session_csrf(session)
    token = request.cookies.get(cookie_name(request, CSRF_COOKIE))
    token = token or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a form that another origin sent, or whose CSRF field is not this session's.

    Raises PermissionDeniedError (403).
    """
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if (site is not None and site != "same-origin") or (origin is not None and origin != own):
        raise PermissionDeniedError(CSRF_REFUSED)
    session = session_token(request)
    if session is not None:
        expected: str | None = _session_csrf(session)
    else:
        expected = request.cookies.get(cookie_name(request, CSRF_COOKIE))
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise PermissionDeniedError(CSRF_REFUSED)


def session_token(request: Request) -> str | None:
    """The API token of the browser's sign-in cookie, if it sent one."""
    return request.cookies.get(cookie_name(request, SESSION_COOKIE)) or None


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
    name = cookie_name(request, SESSION_COOKIE)
    response.set_cookie(name, token, max_age=max_age, **_cookie_flags(request))


def sign_out(request: Request, response: Response) -> None:
    """Forget the sign-in cookie."""
    response.delete_cookie(cookie_name(request, SESSION_COOKIE), **_cookie_flags(request))


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
        response.set_cookie(cookie_name(request, CSRF_COOKIE), new, **_cookie_flags(request))
    return response
