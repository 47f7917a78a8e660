"""Remote mode: the prompt service of a pixyproxy server, over its REST API.

``RemotePromptService`` implements ``PromptServiceInterface`` with HTTP requests, so the
CLI's commands run unchanged against a team's ``serve``: the same output, the same JSON
(the server sends each image's details byte for byte as local mode prints them) and the
same exit codes (the server's errors come back as the classes that raised them). The
server applies every rule (visibility, ownership, limits); this side checks only what it
can without asking (a GUID's form, a search's), to fail fast with the local words.

``RemoteSession`` logs in (password -> token in the keyring), out (the token revoked on the
server first) and says who is logged in.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    ConfigurationError,
    RecordNotFoundError,
    RemoteServerError,
)
from pixyproxy_cli.core.image_options import IMAGE_OPTIONS
from pixyproxy_cli.core.iterables import batches
from pixyproxy_cli.data.remote.client import GENERATE_TIMEOUT, RemoteClient
from pixyproxy_cli.data.remote.logins import ServerLogins
from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.interfaces import PromptServiceInterface
from pixyproxy_cli.service.prompts.deleting import wanted_guids
from pixyproxy_cli.service.validation import validate_guid

if TYPE_CHECKING:
    from datetime import date

    from pixyproxy_cli.core.edits import LocalImage
    from pixyproxy_cli.core.filters import ImageFilters
    from pixyproxy_cli.core.image_options import ImageOptions
    from pixyproxy_cli.core.models import (
        ImageContent,
        ImageDetailCreate,
        ImagePublic,
    )
    from pixyproxy_cli.core.progress import ImageProgress
    from pixyproxy_cli.service.models import ModelListing
    from pixyproxy_cli.service.usage import UsageLine

PAGE = 2000
"""Images per page handed on while a listing streams in."""
LOCAL_ONLY = "works on the local database only (it is an admin command); drop --server"


class RemotePromptService(PromptServiceInterface):
    """Image requests to a pixyproxy server, as the token's user (or anonymously)."""

    def __init__(self, client: RemoteClient, options: Mapping[str, Any] | None = None) -> None:
        self.client = client
        self.options = {name: value for name, value in (options or {}).items() if value}
        """The image options given on the command line; the server's own apply otherwise."""
        self._viewer: str | None = None
        self._viewer_known = False
        self._downloads: tempfile.TemporaryDirectory[str] | None = None

    @property
    def viewer(self) -> str | None:
        """The token's user, as the server names it; None when anonymous."""
        if not self._viewer_known:
            if self.client.token is not None:
                self._viewer = self.client.request("GET", "/user").json()["username"]
            self._viewer_known = True
        return self._viewer

    def close(self) -> None:
        """Remove downloaded files and close the connections."""
        if self._downloads is not None:
            self._downloads.cleanup()
            self._downloads = None
        self.client.close()

    # -- making images ---------------------------------------------------------------------

    def generate_image(self, request: ImageDetailCreate | Mapping[str, Any]) -> ImagePublic:
        """See PromptServiceInterface.generate_image."""
        return self.generate_images(request, 1)[0]

    def generate_images(
        self,
        request: ImageDetailCreate | Mapping[str, Any],
        n: int,
        options: ImageOptions | None = None,
        progress: ImageProgress | None = None,
    ) -> list[ImagePublic]:
        """See PromptServiceInterface.generate_images (POST /image)."""
        body = {**_request_fields(request), "n": n, **self._options(options)}
        response = self.client.request("POST", "/image", json=body, timeout=GENERATE_TIMEOUT)
        answer = response.json()
        return [_image(item) for item in (answer if isinstance(answer, list) else [answer])]

    def edit_images(
        self,
        request: ImageDetailCreate | Mapping[str, Any],
        sources: Sequence[str | LocalImage],
        n: int = 1,
        options: ImageOptions | None = None,
        *,
        mask: LocalImage | None = None,
        progress: ImageProgress | None = None,
    ) -> list[ImagePublic]:
        """See PromptServiceInterface.edit_images (POST /edits, multipart)."""
        fields_ = {**_request_fields(request), "n": n, **self._options(options)}
        for option in IMAGE_OPTIONS:
            if not option.takes("edit"):
                fields_.pop(option.name, None)
        parts: list[tuple[str, tuple[str | None, bytes | str]]] = []
        for source in sources:
            if isinstance(source, str):
                parts.append(("image", (None, validate_guid(source))))
            else:
                parts.append(("image", (Path(source.name).name or "image", source.data)))
        if mask is not None:
            parts.append(("mask", (Path(mask.name).name or "mask.png", mask.data)))
        for name, value in fields_.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            parts.append((name, (None, text)))
        response = self.client.request("POST", "/edits", files=parts, timeout=GENERATE_TIMEOUT)
        return [_image(item) for item in response.json()]

    def _options(self, options: ImageOptions | None) -> dict[str, Any]:
        given = dict(self.options)
        if options is not None:
            given.update(
                {
                    f.name: getattr(options, f.name)
                    for f in fields(options)
                    if getattr(options, f.name)
                }
            )
        return given

    # -- reading ---------------------------------------------------------------------------

    def get_image_by_guid(self, guid: str) -> ImagePublic:
        """See PromptServiceInterface.get_image_by_guid (GET /image/{guid})."""
        return _image(self.client.request("GET", f"/image/{validate_guid(guid)}").json())

    def get_all_images(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        mine: bool = False,
        private: bool | None = None,
        filters: ImageFilters | None = None,
    ) -> Iterator[ImagePublic]:
        """See PromptServiceInterface.get_all_images (GET /image, streamed)."""
        pages = self.get_all_images_json_pages(
            limit=limit, after=after, mine=mine, private=private, filters=filters
        )
        return (_image_json(text) for page in pages for text in page)

    def get_all_images_json_pages(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        mine: bool = False,
        private: bool | None = None,
        filters: ImageFilters | None = None,
    ) -> Iterator[list[bytes]]:
        """See PromptServiceInterface.get_all_images_json_pages.

        The server's array has one image per line, each exactly ``model_dump_json()``: the
        lines are handed on as they arrive, in pages, in constant memory.
        """
        params: dict[str, Any] = {}
        if limit is not None:
            params["limit"] = limit
        if after is not None:
            params["after"] = validate_guid(after)
        if mine:
            params["mine"] = "true"
        if private:
            params["private"] = "true"
        if filters is not None:
            params.update(_filter_params(filters))
        lines = self._lines("/image", params)
        first = next(lines, None)  # the request is made (and its errors raised) now
        return batches(itertools.chain([first] if first is not None else [], lines), PAGE)

    def _lines(self, path: str, params: dict[str, Any]) -> Iterator[bytes]:
        with self.client.stream("GET", path, params=params) as response:
            pending = b""
            for chunk in response.iter_bytes():
                pending += chunk
                *complete, pending = pending.split(b"\n")
                yield from _elements(complete, self.client.server)
            yield from _elements([pending], self.client.server)

    def get_image_file(self, guid: str) -> ImageContent:
        """See PromptServiceInterface.get_image_file: downloaded to a temporary file."""
        from pixyproxy_cli.core.files import StoredFile
        from pixyproxy_cli.core.models import ImageContent

        image = self.get_image_by_guid(guid)
        if self._downloads is None:
            self._downloads = tempfile.TemporaryDirectory(prefix="pixyproxy-")
        target = Path(self._downloads.name) / image.guid
        size = 0
        with (
            self.client.stream("GET", f"/image/{image.guid}/content", elsewhere=True) as response,
            target.open("wb") as handle,
        ):
            for chunk in response.iter_bytes():
                handle.write(chunk)
                size += len(chunk)
        stored = StoredFile.local(target, size)
        return ImageContent(
            guid=image.guid,
            filename=image.guid,
            media_type=image.media_type,
            private=image.private,
            owner=image.owner,
            updated_at=image.updated_at,
            size=size,
            location=f"{self.client.server}/image/{image.guid}/content",
            source=stored,
        )

    def get_image_contents(self, guids: Sequence[str]) -> dict[str, ImageContent]:
        """Not over HTTP: ``export`` reads the local database."""
        raise ConfigurationError(f"export {LOCAL_ONLY}")

    # -- deleting --------------------------------------------------------------------------

    def delete_images(self, guids: Sequence[str]) -> list[str]:
        """See PromptServiceInterface.delete_images (DELETE /image/{guid} each).

        Every image is looked up first, so that one the caller may not delete stops the
        command before any is deleted (the server checks again on each delete).
        """
        wanted = wanted_guids(guids)
        caller = Caller(viewer=self.viewer)
        for guid in wanted:
            caller.check_may_delete(guid, self.get_image_by_guid(guid).owner)
        for guid in wanted:
            self.client.request("DELETE", f"/image/{guid}")
        return wanted

    def usage(self, by: str, since: date | None) -> list[UsageLine]:
        """The caller's own usage (GET /usage), from the day ``since`` on."""
        from pixyproxy_cli.service.usage import UsageLine

        params = {"by": by, **({"since": since.isoformat()} if since else {})}
        answer = self.client.request("GET", "/usage", params=params).json()
        return [UsageLine.from_json(line) for line in answer]

    def models(self) -> ModelListing:
        """The image models the server's key may use, its default marked (GET /models)."""
        from pixyproxy_cli.service.models import ModelEntry, ModelListing

        answer = self.client.request("GET", "/models").json()
        return ModelListing(
            [ModelEntry.from_json(entry) for entry in answer["models"]], answer["notice"]
        )


@dataclass(frozen=True)
class RemoteWho:
    """Who is logged in to a server, with which token, kept where."""

    server: str
    username: str
    class_key: str
    token_id: str | None
    source: str


class RemoteSession:
    """Log in to a server, out of it, and say who is logged in there."""

    def __init__(self, server: str, logins: ServerLogins) -> None:
        self.server = server
        self.logins = logins

    def client(self) -> RemoteClient:
        """A client for the server, with the kept (or PIXYPROXY_TOKEN) token, if any."""
        token, _ = self.logins.token(self.server)
        return RemoteClient(self.server, token=token)

    def login(self, username: str, password: str, label: str) -> tuple[str, str]:
        """Get a token for these credentials and keep it; (the user name, where it went).

        Raises AuthenticationError, RemoteServerError and KeyringError.
        """
        client = RemoteClient(self.server)
        try:
            issued = client.request(
                "POST", "/token", basic=(username, password), json={"label": label}
            ).json()
        finally:
            client.close()
        if not isinstance(issued, dict) or "token" not in issued:
            raise RemoteServerError(f"{self.server} did not answer as a pixyproxy server")
        where = self.logins.save(self.server, username, issued["id"], issued["token"])
        return username, where

    def logout(self) -> tuple[str | None, str | None]:
        """Revoke the kept token on the server, then forget it.

        Returns whose it was (None: nobody) and, when the server could not be reached, what
        the user should know: the token is forgotten here but still valid there. A token the
        server no longer knows (revoked, expired) is forgotten all the same.
        """
        login = self.logins.login(self.server)
        if login is None:
            return None, None
        client = self.client()
        problem = None
        try:
            client.request("DELETE", f"/token/{login.token_id}")
        except (AuthenticationError, RecordNotFoundError):
            pass  # already gone on the server
        except RemoteServerError as error:
            problem = (
                f"the token could not be revoked on the server ({error.message}); it stays "
                f"valid there until it expires, or until DELETE /token/{login.token_id}"
            )
        finally:
            client.close()
        self.logins.forget(self.server)
        return login.username, problem

    def who(self) -> RemoteWho:
        """Who the token names, asked of the server. Raises AuthenticationError without one."""
        token, source = self.logins.token(self.server)
        if token is None:
            raise AuthenticationError(
                f"Not logged in to {self.server}: run pixyproxy login --server {self.server}"
            )
        client = RemoteClient(self.server, token=token)
        try:
            caller = client.request("GET", "/user").json()
        finally:
            client.close()
        return RemoteWho(
            self.server, caller["username"], caller["class_key"], caller["token_id"], source
        )


def _request_fields(request: ImageDetailCreate | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(request, Mapping):
        return {"prompt": request.get("prompt"), "private": bool(request.get("private"))}
    return {"prompt": request.prompt, "private": request.private}


def _filter_params(filters: ImageFilters) -> dict[str, str]:
    params = {"order": "newest" if filters.newest_first else "oldest"}
    if filters.search is not None:
        params["q"] = filters.search.text
    if filters.since is not None:
        params["since"] = filters.since.isoformat()
    if filters.until is not None:
        params["until"] = filters.until.isoformat()
    if filters.model is not None:
        params["model"] = filters.model
    return params


def _image(value: Any) -> ImagePublic:
    from pixyproxy_cli.core.models import ImagePublic

    return ImagePublic.model_validate(value)


def _image_json(text: bytes) -> ImagePublic:
    from pixyproxy_cli.core.models import ImagePublic

    return ImagePublic.model_validate_json(text)


def _elements(lines: list[bytes], server: str) -> Iterator[bytes]:
    """The images of a listing's lines (``[``, ``{...},``, ``{...}``, ``]``, ``[]``)."""
    for line in lines:
        line = line.strip()
        if line in (b"", b"[", b"]", b"[]"):
            continue
        if not line.startswith(b"{"):
            raise RemoteServerError(f"{server} sent a listing that is not pixyproxy's")
        yield line.removesuffix(b",")
