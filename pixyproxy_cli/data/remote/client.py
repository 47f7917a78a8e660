"""A pixyproxy server as seen by the CLI: its HTTP API (httpx).

``RemoteClient`` sends requests and turns every failure into a PixyProxyException: the
server's own error body maps back to the class that raised it there (so the CLI exits with
the same code as in local mode), and a server that cannot be reached, does not answer in
time, presents an untrusted certificate or is not a pixyproxy server is one clear message.
Credentials never go over plain HTTP to anything but a loopback address. The logins kept
per server are ``data/remote/logins.py``'s.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    ConfigurationError,
    ConstraintViolationError,
    GenerationError,
    InputValidationError,
    PermissionDeniedError,
    PixyProxyException,
    RecordNotFoundError,
    RemoteServerError,
    StorageError,
    TooManyRequestsError,
)
from pixyproxy_cli.data.remote.logins import normalize_server

CA_BUNDLE_VARIABLE = "PIXYPROXY_CA_BUNDLE"
TIMEOUT_VARIABLE = "PIXYPROXY_TIMEOUT"
DEFAULT_TIMEOUT = 30.0
GENERATE_TIMEOUT = 300.0
"""Generating or editing waits for the provider: the server's own timeout is 120 s."""
_PLAIN_HTTP_SIGNS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "packet length too long")
"""What OpenSSL says when the other end of a TLS handshake answers in plain HTTP."""


def is_loopback(server: str) -> bool:
    """Whether ``server`` is on this machine (127.0.0.0/8, ::1, localhost)."""
    host = urlsplit(server).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_BY_CODE: dict[str, type[PixyProxyException]] = {}


def _error_classes() -> dict[str, type[PixyProxyException]]:
    """Every PixyProxyException class by its ``code``, as the server's bodies name them."""
    if not _BY_CODE:
        pending: list[type[PixyProxyException]] = [PixyProxyException]
        while pending:
            cls = pending.pop()
            _BY_CODE.setdefault(cls.code, cls)
            pending.extend(cls.__subclasses__())
    return _BY_CODE


_BY_STATUS: dict[int, type[PixyProxyException]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: RecordNotFoundError,
    409: ConstraintViolationError,
    413: InputValidationError,
    422: InputValidationError,
    429: TooManyRequestsError,
    502: GenerationError,
    503: RemoteServerError,
    507: StorageError,
}


class RemoteClient:
    """HTTP requests to one pixyproxy server; every failure a PixyProxyException."""

    def __init__(
        self,
        server: str,
        *,
        token: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        environ = os.environ if environ is None else environ
        self.server = normalize_server(server)
        self.token = token
        self.ca_bundle = environ.get(CA_BUNDLE_VARIABLE) or None
        try:
            self.timeout = float(environ.get(TIMEOUT_VARIABLE) or DEFAULT_TIMEOUT)
        except ValueError:
            raise ConfigurationError(f"{TIMEOUT_VARIABLE} must be a number of seconds") from None
        self._client: Any = None

    def _http(self) -> Any:
        if self._client is None:
            import ssl

            import httpx

            verify: ssl.SSLContext | bool = True
            if self.server.startswith("https://"):
                # The system's trust store (or the given bundle), not certifi's copy.
                try:
                    verify = ssl.create_default_context(cafile=self.ca_bundle)
                except (OSError, ssl.SSLError) as error:
                    raise ConfigurationError(
                        f"{CA_BUNDLE_VARIABLE}={self.ca_bundle} cannot be read: {error}"
                    ) from error
            self._client = httpx.Client(
                base_url=self.server,
                verify=verify,
                timeout=self.timeout,
                headers={"User-Agent": "pixyproxy-cli"},
                follow_redirects=False,
            )
        return self._client

    def close(self) -> None:
        """Close the connections."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _headers(self, basic: tuple[str, str] | None) -> dict[str, str]:
        if basic is None and self.token is None:
            return {}
        if not self.server.startswith("https://") and not is_loopback(self.server):
            raise ConfigurationError(
                f"Refusing to send credentials over plain HTTP to {self.server}: use https:// "
                "(pixyproxy serve --ssl-certfile/--ssl-keyfile), or a loopback address"
            )
        if basic is not None:
            import base64

            pair = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        return {"Authorization": f"Bearer {self.token}"}

    def request(
        self,
        method: str,
        path: str,
        *,
        basic: tuple[str, str] | None = None,
        anonymous: bool = False,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """One request; the httpx response of a 2xx answer. Raises PixyProxyException."""
        headers = {} if anonymous else self._headers(basic)
        with self._transport_errors():
            response = self._http().request(
                method, path, headers=headers, timeout=timeout or self.timeout, **kwargs
            )
        if response.status_code >= 300:
            raise self._error(response)
        return response

    @contextlib.contextmanager
    def stream(
        self, method: str, path: str, *, elsewhere: bool = False, **kwargs: Any
    ) -> Iterator[Any]:
        """A streamed request: the httpx response (2xx), body not yet read.

        ``elsewhere`` follows one redirect to another place (a server that hands out its
        object store's presigned URLs): without credentials, and never from https to http.
        """
        with (
            self._transport_errors(),
            self._http().stream(method, path, headers=self._headers(None), **kwargs) as response,
        ):
            location = response.headers.get("location", "")
            if elsewhere and response.status_code in (302, 303, 307) and location:
                with self._presigned(location) as moved:
                    yield moved
                return
            if response.status_code >= 300:
                response.read()
                raise self._error(response)
            yield response

    @contextlib.contextmanager
    def _presigned(self, url: str) -> Iterator[Any]:
        """GET ``url`` (a presigned URL) with no credentials of ours."""
        import httpx

        scheme = httpx.URL(url).scheme
        if scheme not in ("http", "https") or (
            scheme == "http" and self.server.startswith("https://")
        ):
            raise RemoteServerError(f"{self.server} sent the file elsewhere, to {url!r}: refused")
        with self._http().stream("GET", url) as response:
            if response.status_code >= 300:
                raise RemoteServerError(
                    f"The file {self.server} sent elsewhere answered {response.status_code}"
                )
            yield response

    @contextlib.contextmanager
    def _transport_errors(self) -> Iterator[None]:
        import httpx

        try:
            yield
        except httpx.TimeoutException as error:
            raise RemoteServerError(
                f"The pixyproxy server at {self.server} did not answer within "
                f"{self.timeout:g} s ({TIMEOUT_VARIABLE} sets the wait)"
            ) from error
        except httpx.ConnectError as error:
            reason = str(error) or type(error).__name__
            if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate" in reason.lower():
                raise RemoteServerError(
                    f"The TLS certificate of {self.server} is not trusted ({reason}); set "
                    f"{CA_BUNDLE_VARIABLE} to the CA that signed it"
                ) from error
            if self.server.startswith("https://") and any(
                sign in reason for sign in _PLAIN_HTTP_SIGNS
            ):
                plain = "http://" + self.server.removeprefix("https://")
                raise RemoteServerError(
                    f"The pixyproxy server at {self.server} does not speak TLS ({reason}); "
                    f"if it serves plain HTTP, use {plain}"
                ) from error
            raise RemoteServerError(
                f"Cannot reach the pixyproxy server at {self.server}: {reason}"
            ) from error
        except httpx.HTTPError as error:
            raise RemoteServerError(
                f"The connection to {self.server} failed: {error or type(error).__name__}"
            ) from error

    def _error(self, response: Any) -> PixyProxyException:
        """The exception an error answer stands for (the server's own class when it is ours)."""
        status = response.status_code
        body: Any = None
        with contextlib.suppress(ValueError):
            body = response.json()
        if (
            "x-request-id" not in response.headers
            or not isinstance(body, dict)
            or not isinstance(body.get("message"), str)
        ):
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            return RemoteServerError(
                f"{self.server} did not answer as a pixyproxy server (HTTP {status}, {kind})"
            )
        cls = _error_classes().get(str(body.get("error")))
        if cls is None or cls is PixyProxyException:
            cls = _BY_STATUS.get(status, PixyProxyException)
        message = str(body["message"])
        if issubclass(cls, TooManyRequestsError):
            retry = response.headers.get("retry-after")
            suffix = f" (retry after {retry} s)" if retry else ""
            return TooManyRequestsError(message + suffix, float(retry) if retry else None)
        return cls(message)
