"""A pixyproxy server as seen by the CLI: its HTTP API (httpx), and the logins kept for it.

``RemoteClient`` sends requests and turns every failure into a PixyProxyException: the
server's own error body maps back to the class that raised it there (so the CLI exits with
the same code as in local mode), and a server that cannot be reached, does not answer in
time, presents an untrusted certificate or is not a pixyproxy server is one clear message.
Credentials never go over plain HTTP to anything but a loopback address.

``ServerLogins`` keeps, per server, the user name and token id in ``servers.json`` in the
config directory, and the token itself in the OS keyring (service ``pixyproxy:URL``), as
``gh auth login`` does per host. ``PIXYPROXY_TOKEN`` overrides the keyring (CI).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    ConfigurationError,
    ConstraintViolationError,
    GenerationError,
    InputValidationError,
    KeyringError,
    PermissionDeniedError,
    PixyProxyException,
    RecordNotFoundError,
    RemoteServerError,
    StorageError,
    TooManyRequestsError,
)
from pixyproxy_cli.core.files import write_text_atomically

SERVER_VARIABLE = "PIXYPROXY_SERVER"
TOKEN_VARIABLE = "PIXYPROXY_TOKEN"  # noqa: S105 - a variable name, not a token
CA_BUNDLE_VARIABLE = "PIXYPROXY_CA_BUNDLE"
TIMEOUT_VARIABLE = "PIXYPROXY_TIMEOUT"
DEFAULT_TIMEOUT = 30.0
GENERATE_TIMEOUT = 300.0
"""Generating or editing waits for the provider: the server's own timeout is 120 s."""


def normalize_server(url: str) -> str:
    """``url`` as ``scheme://host[:port]``, the key a login is kept under.

    Raises InputValidationError for anything that is not an http(s) URL of a host.
    """
    text = url.strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputValidationError(f"not a server URL: {url!r} (expected https://HOST[:PORT])")
    if parts.path.rstrip("/") or parts.query or parts.fragment or parts.username:
        raise InputValidationError(f"a server URL is scheme://host[:port] only, not {url!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


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


@dataclass(frozen=True)
class ServerLogin:
    """Who is logged in to a server, and the token's id (the token is in the keyring)."""

    server: str
    username: str
    token_id: str


class ServerLogins:
    """Logins per server: ``servers.json`` (names, ids, the default) plus the keyring."""

    def __init__(self, config_dir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.path = Path(config_dir) / "servers.json"
        self._environ = os.environ if environ is None else environ

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"default": None, "servers": {}}
        if not isinstance(data, dict) or not isinstance(data.get("servers"), dict):
            return {"default": None, "servers": {}}
        return data

    def _write(self, data: dict[str, Any]) -> None:
        write_text_atomically(self.path, json.dumps(data, indent=2), prefix=".servers-")

    def default_server(self) -> str | None:
        """The server to use: PIXYPROXY_SERVER, else the last one logged in to, else None."""
        chosen = self._environ.get(SERVER_VARIABLE) or self._read().get("default")
        return normalize_server(chosen) if isinstance(chosen, str) and chosen else None

    def login(self, server: str) -> ServerLogin | None:
        """The login kept for ``server``, or None."""
        entry = self._read()["servers"].get(server)
        if not isinstance(entry, dict):
            return None
        return ServerLogin(server, str(entry.get("username")), str(entry.get("token_id")))

    def token(self, server: str) -> tuple[str | None, str]:
        """The token for ``server`` and where it came from: PIXYPROXY_TOKEN, else the keyring.

        Raises KeyringError when the keyring cannot be read.
        """
        from_env = self._environ.get(TOKEN_VARIABLE)
        if from_env:
            return from_env, f"the environment ({TOKEN_VARIABLE})"
        login = self.login(server)
        if login is None:
            return None, "nowhere"
        from pixyproxy_cli.data.keyring_stores.entries import read_entry

        token = read_entry(_service(server), login.username, "Cannot read the keyring: {reason}")
        return token, f"the keyring ({_backend()})"

    def save(self, server: str, username: str, token_id: str, token: str) -> str:
        """Keep the token in the keyring and make ``server`` the default; return where.

        Raises KeyringError when no usable keyring exists (nothing is kept).
        """
        from pixyproxy_cli.data.keyring_stores.credentials import describe_keyring

        status = describe_keyring()
        if status.problem:
            raise KeyringError(
                f"Cannot keep the token: {status.problem}; install a keyring backend, or set "
                f"{TOKEN_VARIABLE} (and {SERVER_VARIABLE}) instead"
            )
        from pixyproxy_cli.data.keyring_stores.entries import write_entry

        write_entry(_service(server), username, token, "The keyring refused the token: {reason}")
        data = self._read()
        data["servers"][server] = {"username": username, "token_id": token_id}
        data["default"] = server
        self._write(data)
        return f"the keyring ({status.backend})"

    def forget(self, server: str) -> ServerLogin | None:
        """Forget ``server``'s login (keyring and file); return what it was."""
        login = self.login(server)
        if login is None:
            return None
        from pixyproxy_cli.data.keyring_stores.entries import delete_entry

        delete_entry(_service(server), login.username, "Cannot update the keyring: {reason}")
        data = self._read()
        data["servers"].pop(server, None)
        if data.get("default") == server:
            data["default"] = None
        self._write(data)
        return login


def _service(server: str) -> str:
    return f"pixyproxy:{server}"


def _backend() -> str:
    from pixyproxy_cli.data.keyring_stores.credentials import describe_keyring

    return describe_keyring().backend
