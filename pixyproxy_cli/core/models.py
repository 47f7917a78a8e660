"""Pydantic models shared by every layer.

The specification's models keep their names: ``ImageDetailCreate`` (what a caller asks
for), ``ImageDetail`` (what is stored), ``Image`` (the stored record with its integer id and
timestamps) and ``User``. Two fixes to the sketch:

* ``User`` is the authenticated identity and never carries a password; the stored hash
  lives only in ``UserRecord``, which stays below the service layer.
* ``ImagePublic`` is what leaves the service layer for images: no integer id, no file name.

Validation rules (prompt, GUID, file name, user name) live here so that every layer that
builds a model gets the same checks. A prompt's maximum length is a setting: pass it as
validation context ``{"max_prompt_length": N}``; without it ``DEFAULT_MAX_PROMPT_LENGTH``
applies.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    computed_field,
    field_validator,
    model_validator,
)

from pixyproxy_cli.core.constants import (
    DEFAULT_MAX_PROMPT_LENGTH,
    MAX_CLASS_KEY_LENGTH,
    MAX_GUID_LENGTH,
    PLACEHOLDER_PROVIDER,
)

_GUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_FILENAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}")
_USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_SURROGATES_RE = re.compile(r"[\ud800-\udfff]")


def _check_text(value: str, what: str) -> str:
    """Reject text that no database column or HTTP body can carry faithfully."""
    if "\x00" in value:
        raise ValueError(f"{what} must not contain NUL characters")
    if _SURROGATES_RE.search(value):
        raise ValueError(f"{what} is not valid UTF-8 text")
    return value


def normalize_guid(value: str) -> str:
    """Return ``value`` as a canonical lower-case GUID; raise ``ValueError`` if it is not one."""
    if not isinstance(value, str) or len(value) > MAX_GUID_LENGTH:
        raise ValueError("GUID must be 36 characters like 1b4e28ba-2fa1-11d2-883f-0016d3cca427")
    lowered = value.lower()
    if not _GUID_RE.fullmatch(lowered):
        raise ValueError("GUID must look like 1b4e28ba-2fa1-11d2-883f-0016d3cca427")
    return lowered


def _check_filename(value: str) -> str:
    if not _FILENAME_RE.fullmatch(value) or ".." in value:
        raise ValueError("file name must be a plain name without directories")
    return value


def _check_username(value: str) -> str:
    if not _USERNAME_RE.fullmatch(value):
        raise ValueError(
            "username must be 1-64 characters: letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return value


def _check_class_key(value: str) -> str:
    _check_text(value, "class key")
    if not value.strip() or len(value) > MAX_CLASS_KEY_LENGTH or not value.isprintable():
        raise ValueError(f"class key must be 1-{MAX_CLASS_KEY_LENGTH} printable characters")
    return value


Guid = Annotated[str, AfterValidator(normalize_guid)]
Filename = Annotated[str, AfterValidator(_check_filename)]
Username = Annotated[str, AfterValidator(_check_username)]
ClassKey = Annotated[str, AfterValidator(_check_class_key)]


class ImageDetailCreate(BaseModel):
    """A request to generate an image: the prompt, and whether the image is private."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str
    private: bool = False

    @field_validator("prompt")
    @classmethod
    def _validate_prompt(cls, value: str, info: ValidationInfo) -> str:
        _check_text(value, "prompt")
        if not value.strip():
            raise ValueError("prompt must not be empty")
        context: dict[str, Any] = info.context or {}
        limit = int(context.get("max_prompt_length", DEFAULT_MAX_PROMPT_LENGTH))
        if len(value) > limit:
            raise ValueError(f"prompt is {len(value):,} characters; the maximum is {limit:,}")
        return value


class ImageDetail(ImageDetailCreate):
    """An image's stored details: what was asked, where its file is, who owns it, how made."""

    guid: Guid
    filename: Filename
    owner: Username | None = None
    provider: str = Field(min_length=1, max_length=32)
    model: str = Field(min_length=1, max_length=64)
    media_type: str = Field(default="image/png", min_length=1, max_length=64)

    @model_validator(mode="after")
    def _private_needs_owner(self) -> ImageDetail:
        if self.private and self.owner is None:
            raise ValueError("a private image must have an owner")
        return self


class Image(ImageDetail):
    """An image record as stored: its details plus the internal id and timestamps (UTC)."""

    id: int
    created_at: datetime
    updated_at: datetime

    def to_public(self) -> ImagePublic:
        """Return the view of this image that may leave the service layer."""
        # Built without re-validation: every field comes from this already valid model.
        return ImagePublic.model_construct(
            guid=self.guid,
            prompt=self.prompt,
            private=self.private,
            owner=self.owner,
            provider=self.provider,
            model=self.model,
            media_type=self.media_type,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


class ImagePublic(BaseModel):
    """An image's details as shown to users: never the integer id or a file-system path."""

    model_config = ConfigDict(frozen=True)

    guid: str
    prompt: str
    private: bool
    owner: str | None
    provider: str
    model: str
    media_type: str
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def placeholder(self) -> bool:
        """True when the offline placeholder renderer made this image, not a real model."""
        return self.provider == PLACEHOLDER_PROVIDER


class ImageFile(BaseModel):
    """Where an image's bytes are kept, for callers that send or copy the file."""

    model_config = ConfigDict(frozen=True)

    guid: str
    filename: Filename
    media_type: str
    private: bool
    owner: str | None
    updated_at: datetime


class ImageContent(ImageFile):
    """A stored image file ready to be read or sent: its local path and size in bytes."""

    path: Path
    size: int


class User(BaseModel):
    """An authenticated user, as the service layer hands it out: no password, no hash."""

    model_config = ConfigDict(frozen=True)

    username: Username
    class_key: ClassKey


class UserRecord(User):
    """A roster row, with the password hash; stays below the service layer."""

    id: int
    password_hash: str
    created_at: datetime
    updated_at: datetime

    def to_user(self) -> User:
        """Return the identity without the hash."""
        return User(username=self.username, class_key=self.class_key)


class UserCreate(BaseModel):
    """A request to add a user to the roster; the password is kept out of reprs and logs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: Username
    password: SecretStr
    class_key: ClassKey

    @field_validator("password")
    @classmethod
    def _validate_password(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        _check_text(secret, "password")
        if len(secret) < 8:
            raise ValueError("password must be at least 8 characters")
        if len(secret) > 1024:
            raise ValueError("password must be at most 1024 characters")
        return value
