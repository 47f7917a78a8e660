"""Pydantic models shared by every layer, and the annotated field types they are made of.

The image ladder, from what a caller asks for to what leaves the service layer (the first
three are the specification's)::

    ImageDetailCreate   what a caller asks for: prompt, private
      ImageDetail       + what is stored: guid, filename, owner, provider, model, media type
        Image           + the stored record's integer id and timestamps (UTC)
    ImagePublic         an Image as users see it: no integer id, no file name
    ImageFile           where an image's bytes are: file name, media type, visibility
      ImageContent      + the local path and size, ready to send or copy

Users: ``UserCreate`` (a request, with its password) is stored as a ``UserRecord`` (a roster
row, with the hash, never above the service layer) and handed out as ``User`` (the
identity: no password, no hash). Listing types are not images and live with their layer:
``ImageQuery`` (data/db/interfaces.py) and ``RowPage`` (data/db/public_json.py).

The field types (``Guid``, ``Prompt``, ``Password``, ``Username``, ``ClassKey``,
``Filename``) hold the validation rules, so that models, CLI and web check alike. A
prompt's maximum length is a setting: pass it as validation context
``{"max_prompt_length": N}``; without it ``DEFAULT_MAX_PROMPT_LENGTH`` applies.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
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
    model_validator,
)

from pixyproxy_cli.core.constants import (
    DEFAULT_MAX_PROMPT_LENGTH,
    MAX_CLASS_KEY_LENGTH,
    MAX_EDIT_SOURCES,
    MAX_GUID_LENGTH,
    MEDIA_TYPE_FORMATS,
    PLACEHOLDER_PROVIDER,
)
from pixyproxy_cli.core.files import StoredFile

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


EARLIEST_MOMENT = datetime(1970, 1, 1, tzinfo=UTC)
"""No image is older than this: a stored timestamp before it is a mistake in the input."""
CLOCK_SKEW = timedelta(days=1)
"""How far past this machine's clock a timestamp from elsewhere may be (another clock)."""


def check_moment(value: datetime) -> datetime:
    """``value`` as an aware UTC moment that both databases store and read back.

    Raises ValueError for a naive time (whose zone is unknown), and for one before 1970 or
    more than a day ahead of this machine's clock (no image was made then).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must name its time zone (such as Z or +00:00)")
    value = value.astimezone(UTC)
    if value < EARLIEST_MOMENT:
        raise ValueError(f"must not be before {EARLIEST_MOMENT:%Y-%m-%d}")
    if value > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError("must not be in the future")
    return value


ImageMoment = Annotated[datetime, AfterValidator(check_moment)]
"""When an image was made or changed, as it enters from outside (an import)."""


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


def _check_prompt(value: str, info: ValidationInfo) -> str:
    _check_text(value, "prompt")
    if not value.strip():
        raise ValueError("prompt must not be empty")
    context: dict[str, Any] = info.context or {}
    limit = int(context.get("max_prompt_length", DEFAULT_MAX_PROMPT_LENGTH))
    if len(value) > limit:
        raise ValueError(f"prompt is {len(value):,} characters; the maximum is {limit:,}")
    return value


def _check_password(value: SecretStr) -> SecretStr:
    secret = value.get_secret_value()
    _check_text(secret, "password")
    if len(secret) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(secret) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    return value


MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
PROMPT_JSON_SCHEMA: dict[str, Any] = {
    "minLength": 1,
    "maxLength": DEFAULT_MAX_PROMPT_LENGTH,
    "pattern": r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
}
"""What a prompt is, for OpenAPI readers: not blank, no NUL, at most the default length
(the configured PROMPT_MAX_LENGTH is checked by ``Prompt`` with validation context)."""

Guid = Annotated[str, AfterValidator(normalize_guid)]
"""A GUID in either case, normalised to lower case."""
Filename = Annotated[str, AfterValidator(_check_filename)]
"""A plain file name, never a path."""
Username = Annotated[str, AfterValidator(_check_username)]
"""A roster user name."""
ClassKey = Annotated[str, AfterValidator(_check_class_key)]
"""A user's class key: printable text."""
Prompt = Annotated[str, AfterValidator(_check_prompt)]
"""What to draw: not blank, no NUL; at most ``max_prompt_length`` (validation context,
default DEFAULT_MAX_PROMPT_LENGTH) characters."""
Password = Annotated[SecretStr, AfterValidator(_check_password)]
"""A password: 8 to 1024 characters of text, kept out of reprs and logs."""
Parents = Annotated[list[Guid | None], Field(min_length=1, max_length=MAX_EDIT_SOURCES)]
"""An edit's sources, in order: the GUID of a stored image, or None for a local file."""


class ImageDetailCreate(BaseModel):
    """A request to generate an image: the prompt, and whether the image is private."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: Prompt
    private: bool = False


class ImageDetail(ImageDetailCreate):
    """An image's stored details: what was asked, where its file is, who owns it, how made."""

    guid: Guid
    filename: Filename
    owner: Username | None = None
    provider: str = Field(min_length=1, max_length=32)
    model: str = Field(min_length=1, max_length=64)
    media_type: str = Field(default="image/png", min_length=1, max_length=64)
    input_tokens: int | None = Field(default=None, ge=0)
    """Tokens the provider counted for the request (its share of them), or None."""
    output_tokens: int | None = Field(default=None, ge=0)
    input_text_tokens: int | None = Field(default=None, ge=0)
    """Of the input tokens, those of the prompt's text (None: the kinds were not reported)."""
    input_image_tokens: int | None = Field(default=None, ge=0)
    """Of the input tokens, those of an edit's source images."""
    output_text_tokens: int | None = Field(default=None, ge=0)
    output_image_tokens: int | None = Field(default=None, ge=0)
    width: int | None = Field(default=None, gt=0)
    """Pixels, read from the file when it was stored (None for images made before that)."""
    height: int | None = Field(default=None, gt=0)
    parents: Parents | None = None
    """For an edit, the sources it was made from, in order: a GUID, or None for a local file."""

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
            width=self.width,
            height=self.height,
            parents=self.parents,
            usage=image_usage(
                self.input_tokens,
                self.output_tokens,
                self.input_text_tokens,
                self.input_image_tokens,
                self.output_text_tokens,
                self.output_image_tokens,
            ),
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


class TokenKinds(BaseModel):
    """Tokens by kind, as the API details them: text, and images."""

    model_config = ConfigDict(frozen=True)

    text_tokens: int = Field(ge=0)
    image_tokens: int = Field(ge=0)


class ImageUsage(BaseModel):
    """The tokens the provider counted for an image (its share of its request's).

    The details are the API's ``input_tokens_details`` and ``output_tokens_details``: None
    where the provider did not report them (or the image was made before they were kept).
    """

    model_config = ConfigDict(frozen=True)

    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    input_tokens_details: TokenKinds | None = None
    output_tokens_details: TokenKinds | None = None


def token_kinds(text_tokens: int | None, image_tokens: int | None) -> TokenKinds | None:
    """The kinds of some tokens, when both counts are known, else None."""
    if text_tokens is None or image_tokens is None:
        return None
    return TokenKinds.model_construct(text_tokens=text_tokens, image_tokens=image_tokens)


def image_usage(
    input_tokens: int | None,
    output_tokens: int | None,
    input_text_tokens: int | None = None,
    input_image_tokens: int | None = None,
    output_text_tokens: int | None = None,
    output_image_tokens: int | None = None,
) -> ImageUsage | None:
    """The usage of an image whose provider reported both counts, else None."""
    if input_tokens is None or output_tokens is None:
        return None
    return ImageUsage.model_construct(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        input_tokens_details=token_kinds(input_text_tokens, input_image_tokens),
        output_tokens_details=token_kinds(output_text_tokens, output_image_tokens),
    )


class ImagePublic(BaseModel):
    """An image's details as shown to users: never the integer id or a file-system path.

    ``format`` (png, jpeg, webp) is derived from the media type; ``width`` and ``height``
    are None for images stored before they were recorded; ``parents`` is None unless the
    image is an edit; ``usage`` is None when the provider reported no tokens.
    """

    model_config = ConfigDict(frozen=True)

    guid: str
    prompt: str
    private: bool
    owner: str | None
    provider: str
    model: str
    media_type: str
    width: int | None = None
    height: int | None = None
    parents: list[str | None] | None = None
    usage: ImageUsage | None = None
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def format(self) -> str | None:
        """The file format (png, jpeg, webp) of the media type, or None for another type."""
        return MEDIA_TYPE_FORMATS.get(self.media_type)

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
    """A stored image file ready to be read or sent, from whichever store keeps it.

    ``source`` streams its bytes (``source.chunks()``) and may sign a URL for it;
    ``path`` is set only for a local file, which may be sent as it is. ``location`` says
    where it is, for people.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    size: int
    location: str
    source: Annotated[StoredFile, Field(exclude=True, repr=False)]

    @property
    def path(self) -> Path | None:
        """The local file, when the store keeps one (None for an object store)."""
        return self.source.path

    @classmethod
    def of(cls, image: ImageFile | Image, stored: StoredFile) -> ImageContent:
        """``image``'s details with the file ``stored`` holds."""
        return cls(
            guid=image.guid,
            filename=image.filename,
            media_type=image.media_type,
            private=image.private,
            owner=image.owner,
            updated_at=image.updated_at,
            size=stored.size,
            location=stored.location,
            source=stored,
        )


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
    password: Password
    class_key: ClassKey
