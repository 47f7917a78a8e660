"""Settings: one frozen record, from flags, the environment, ``.env``, a config file, defaults.

Precedence, highest first: explicit overrides (command-line flags) > environment variables >
the ``.env`` file > the user's config file (``core/config_file.py``) > defaults. The ``.env``
file is ``$PIXYPROXY_ENV_FILE`` when that is set, otherwise ``.env`` in the current directory;
python-dotenv reads it without touching ``os.environ``. ``.env.example`` documents every
variable listed in ``ENVIRONMENT``. ``explain_settings`` also says where each value came from.

Every command loads the settings, so they cost what a command's start-up can afford:

- Why not pydantic-settings, which reads env and ``.env`` with the same precedence:
  ``benchmarks/settings_loader.py`` (2026-11-27, 2 cores): importing this module and loading
  all 30 settings took 29 ms; importing pydantic-settings and building a 5-field BaseSettings
  took 50 ms (1.72x, +21 ms), both after pydantic itself.
- Why not a pydantic ``BaseModel``: building a model class of 50 fields took 15 ms of every
  command (2026-12-07, ``python -X importtime``), a third of ``list --json``'s own cost.
  Each setting declares its type for mypy and its rule as a pydantic-core schema (the engine
  under pydantic, which Typer loads anyway); the values given are checked by one
  ``SchemaValidator`` built from those schemas in under a millisecond, with pydantic's own
  messages. A default is not checked at run time: ``tests/unit/test_settings.py`` checks
  every default against its rule.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import SecretStr
from pydantic_core import SchemaValidator, ValidationError
from pydantic_core import core_schema as cs

from pixyproxy_cli.core.config_file import (
    ConfigFile,
    config_file_path,
    key_problem,
    read_config_file,
)
from pixyproxy_cli.core.constants import (
    DEFAULT_IMAGE_MODEL,
    DEFAULT_MAX_PROMPT_LENGTH,
    ProviderChoice,
)
from pixyproxy_cli.core.exceptions import ConfigurationError, InputValidationError
from pixyproxy_cli.core.image_options import OPTION_BY_NAME

if TYPE_CHECKING:
    from pydantic_core.core_schema import CoreSchema

APP_NAME = "pixyproxy"
ENV_FILE_VARIABLE = "PIXYPROXY_ENV_FILE"

RENAMED = {
    "data_dir": "PIXYPROXY_DATA_DIR",
    "config_dir": "PIXYPROXY_CONFIG_DIR",
    "max_prompt_length": "PROMPT_MAX_LENGTH",
    "openai_model": "OPENAI_IMAGE_MODEL",
}
"""The settings whose environment variable is not their field's name in upper case."""

_RULE = "rule"
"""The metadata key of a setting's pydantic-core schema."""


def _setting(default: Any, rule: CoreSchema, *, optional: bool = False) -> Any:
    """A setting's field: its default, and the schema a given value must pass."""
    return dataclasses.field(
        default=default, metadata={_RULE: cs.nullable_schema(rule) if optional else rule}
    )


def _text(min_length: int | None = None, max_length: int | None = None) -> CoreSchema:
    return cs.str_schema(min_length=min_length, max_length=max_length)


def _secret() -> CoreSchema:
    """A secret: text kept in a SecretStr (a SecretStr is taken as it is)."""
    return cs.no_info_before_validator_function(
        lambda value: value.get_secret_value() if isinstance(value, SecretStr) else value,
        cs.no_info_after_validator_function(SecretStr, cs.str_schema()),
    )


def _one_of(choices: Any) -> CoreSchema:
    """One of a ``Literal``'s values: the type mypy checks is the rule the values pass."""
    return cs.literal_schema(list(get_args(choices)))


DatabaseBackend = Literal["sqlite", "mysql"]
"""The databases pixyproxy keeps its details in (DB_BACKEND)."""

_PATH = cs.no_info_plain_validator_function(Path)
"""A path: ``Path(value)``, which takes text or a path."""


def _image_setting(name: str) -> Any:
    """The field of image option ``name``'s setting: its default from ``IMAGE_OPTIONS``.

    Its value is checked when an image is made (``ImageOptions.check``), not here.
    """
    option = OPTION_BY_NAME[name]
    if option.integer:
        return _setting(option.default, cs.int_schema(), optional=True)
    return _setting(option.default, _text(max_length=32))


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every setting pixyproxy reads, resolved and validated (``load_settings``)."""

    db_backend: DatabaseBackend = _setting("sqlite", _one_of(DatabaseBackend))
    db_host: str | None = _setting(None, _text(), optional=True)
    db_port: int = _setting(3306, cs.int_schema(ge=1, le=65535))
    db_user: str | None = _setting(None, _text(), optional=True)
    db_password: SecretStr | None = _setting(None, _secret(), optional=True)
    db_name: str = _setting("pixyproxy", _text(min_length=1, max_length=64))
    db_pool_size: int = _setting(10, cs.int_schema(ge=1, le=512))
    db_pool_timeout: float = _setting(10.0, cs.float_schema(ge=0))
    db_connect_timeout: float = _setting(5.0, cs.float_schema(gt=0))
    # Galera's causal reads (wsrep_sync_wait) for every session; None: the server's own.
    db_sync_wait: int | None = _setting(None, cs.int_schema(ge=0, le=15), optional=True)
    data_dir: Path = dataclasses.field(metadata={_RULE: _PATH})
    config_dir: Path = dataclasses.field(metadata={_RULE: _PATH})
    image_dir: Path = dataclasses.field(metadata={_RULE: _PATH})
    # An object store instead of IMAGE_DIR: s3://bucket/prefix, signed in with the AWS
    # variables (the secret also in the keyring: pixyproxy key set s3).
    image_store: str | None = _setting(None, _text(max_length=1024), optional=True)
    aws_endpoint_url: str | None = _setting(None, _text(max_length=1024), optional=True)
    aws_region: str | None = _setting(None, _text(max_length=64), optional=True)
    aws_access_key_id: str | None = _setting(None, _text(max_length=256), optional=True)
    aws_secret_access_key: SecretStr | None = _setting(None, _secret(), optional=True)
    # Seconds a presigned URL lives when `serve` redirects GET .../content to the object
    # store (307); 0 sends the bytes through `serve`. A local IMAGE_DIR is always sent.
    image_redirect: int = _setting(0, cs.int_schema(ge=0, le=7 * 24 * 3600))
    sqlite_path: Path = dataclasses.field(metadata={_RULE: _PATH})
    max_prompt_length: int = _setting(DEFAULT_MAX_PROMPT_LENGTH, cs.int_schema(ge=1, le=1_000_000))
    image_provider: ProviderChoice = _setting("auto", _one_of(ProviderChoice))
    openai_api_key: SecretStr | None = _setting(None, _secret(), optional=True)
    openai_base_url: str | None = _setting(None, _text(), optional=True)
    # The signing secret of an OpenAI webhook endpoint pointed at `serve`'s POST
    # /webhooks/openai (whsec_...); unset, that path answers 404 and the workers poll.
    openai_webhook_secret: SecretStr | None = _setting(None, _secret(), optional=True)
    # Seconds between two looks at the Batch API's unfinished batches by a long-running
    # worker (`serve`'s, `pixyproxy worker`); 0: only webhooks and `jobs collect`.
    batch_poll_seconds: float = _setting(300.0, cs.float_schema(ge=0, le=86400))
    openai_model: str = _setting(DEFAULT_IMAGE_MODEL, _text(min_length=1, max_length=64))
    # The image options, declared in core/image_options.py::IMAGE_OPTIONS; checked when an
    # image is made (ImageOptions.check), not here: a bad IMAGE_SIZE must not stop `list` or
    # `show`, which never use it. A GIF's frames and delay apply only when the format is gif.
    image_size: str = _image_setting("size")
    image_quality: str = _image_setting("quality")
    image_format: str = _image_setting("format")
    image_compression: int | None = _image_setting("compression")
    image_background: str = _image_setting("background")
    image_moderation: str = _image_setting("moderation")
    image_complexity: str = _image_setting("complexity")
    image_input_fidelity: str = _image_setting("input_fidelity")
    image_frames: int | None = _image_setting("frames")
    image_frame_ms: int | None = _image_setting("frame_ms")
    # USD per million input and output tokens, per model: "model=in:out,..." (usage's cost).
    image_prices: str | None = _setting(None, _text(), optional=True)
    # What an image made through the Batch API costs, as a share of IMAGE_PRICES.
    batch_price_factor: float = _setting(0.5, cs.float_schema(ge=0, le=1))
    # The SDK's own default is 10 minutes; an image takes well under two.
    openai_timeout: float = _setting(120.0, cs.float_schema(gt=0, le=3600))
    openai_max_retries: int = _setting(2, cs.int_schema(ge=0, le=10))
    # The REST API's limits (0 turns one off): failed logins per user and client, and
    # images generated per user (or per client address when anonymous), per window.
    login_max_failures: int = _setting(5, cs.int_schema(ge=0))
    login_failure_window: float = _setting(300.0, cs.float_schema(gt=0))
    generate_rate_limit: int = _setting(10, cs.int_schema(ge=0))
    generate_rate_window: float = _setting(60.0, cs.float_schema(gt=0))
    # Proxies whose X-Forwarded-For / -Proto `serve` believes (comma-separated addresses or
    # networks, or *). None: proxy headers are ignored and the peer's address counts.
    forwarded_allow_ips: str | None = _setting(None, _text(), optional=True)
    # Seconds a client has to send a request's headers before `serve` closes the connection.
    http_header_timeout: float = _setting(10.0, cs.float_schema(gt=0, le=600))
    http_body_timeout: float = _setting(30.0, cs.float_schema(gt=0, le=3600))
    # How long an API token from POST /token is valid.
    token_lifetime_days: float = _setting(90.0, cs.float_schema(gt=0, le=3650))
    # Job workers each `serve` process runs (0: none; jobs then wait for `pixyproxy worker`).
    job_workers: int = _setting(2, cs.int_schema(ge=0, le=64))

    def database_hosts(self) -> list[tuple[str, int]]:
        """The MySQL servers DB_HOST names, in order: ``a``, or ``a,b:3307,c`` (failover).

        A host without a port has DB_PORT's. Raises ConfigurationError for an empty name or
        a port that is not a number from 1 to 65535.
        """
        hosts = []
        for part in (self.db_host or "127.0.0.1").split(","):
            name, port = part.strip(), self.db_port
            if name.count(":") == 1:  # host:port (an IPv6 address has more colons)
                name, _, given = name.partition(":")
                if not given.isdecimal() or not 1 <= int(given) <= 65535:
                    raise ConfigurationError(f"DB_HOST: {part.strip()!r} has no valid port")
                port = int(given)
            if not name:
                raise ConfigurationError(f"DB_HOST: an empty host name in {self.db_host!r}")
            hosts.append((name, port))
        return hosts

    def database_location(self) -> str:
        """Where the database lives, for messages: ``host:port/name`` or the SQLite file."""
        if self.db_backend == "mysql":
            hosts = ",".join(f"{host}:{port}" for host, port in self.database_hosts())
            return f"{hosts}/{self.db_name}"
        return str(self.sqlite_path)


def default_data_dir() -> Path:
    """The platform's per-user data directory for pixyproxy (XDG on Linux)."""
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def default_config_dir() -> Path:
    """The platform's per-user configuration directory for pixyproxy (XDG on Linux)."""
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False)


def env_file_path(environ: Mapping[str, str]) -> Path | None:
    """The ``.env`` file that applies, or None when there is none.

    Raises ConfigurationError when ``PIXYPROXY_ENV_FILE`` names a file that does not exist.
    """
    explicit = environ.get(ENV_FILE_VARIABLE)
    path = Path(explicit) if explicit else Path.cwd() / ".env"
    if not path.is_file():
        if explicit:
            raise ConfigurationError(f"{ENV_FILE_VARIABLE} names {path}, which is not a file")
        return None
    return path


def read_env_file(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the key/values of the ``.env`` file that applies, or nothing if there is none.

    Raises ConfigurationError when ``PIXYPROXY_ENV_FILE`` names a file that does not exist.
    """
    path = env_file_path(environ)
    return {} if path is None else _dotenv_values(path)


_WARNED: set[tuple[str, int, str]] = set()
"""The ``.env`` lines said to be wrong already in this process (each is said once)."""


def _dotenv_values(path: Path) -> dict[str, str]:
    """The values of a ``.env`` file, python-dotenv's reading of it.

    A line it cannot read is left out, said once on stderr with the file and the line
    (python-dotenv's own warning names neither, and came once per read).
    """
    import io
    import logging

    from dotenv import dotenv_values  # only when there is a file to read
    from dotenv.parser import parse_stream

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"cannot read {path}: {error}") from error
    for binding in parse_stream(io.StringIO(text)):
        said = (str(path), binding.original.line, binding.original.string)
        if binding.error and said not in _WARNED:
            _WARNED.add(said)
            logging.getLogger(__name__).warning(
                "%s, line %d: not NAME=VALUE, left out: %s",
                path,
                binding.original.line,
                binding.original.string.strip()[:80],
            )
    dotenv_logger = logging.getLogger("dotenv.main")
    was_disabled, dotenv_logger.disabled = dotenv_logger.disabled, True
    try:
        values = dotenv_values(stream=io.StringIO(text))
    finally:
        dotenv_logger.disabled = was_disabled
    return {key: value for key, value in values.items() if value is not None}


ENVIRONMENT: dict[str, str] = {
    setting.name: RENAMED.get(setting.name, setting.name.upper())
    for setting in dataclasses.fields(Settings)
}
"""Field name -> the environment variable (and ``.env`` key) that sets it, in the fields'
order: each field of Settings is a setting, named by RENAMED or by its own name."""
CONFIG_KEYS = set(ENVIRONMENT.values())
"""The keys of the config file: the settings' variable names (some are refused there)."""
FLAG = "a command-line flag"
ENVIRONMENT_SOURCE = "the environment"
DEFAULT = "the default"


@dataclass(frozen=True)
class SettingSources:
    """Where the settings came from: each field's source, and the files that were read."""

    by_field: dict[str, str]
    env_file: Path | None
    config: ConfigFile

    def of(self, field: str) -> str:
        """The source of ``field``'s value: a flag, the environment, a file, the default."""
        return self.by_field.get(field, DEFAULT)


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The settings from ``overrides`` (field names), the environment, ``.env``, config file.

    ``environ`` defaults to ``os.environ``. Empty values count as unset. Raises
    ConfigurationError naming the variable (and the config file's line) when a value is not
    valid, or when the config file is not.
    """
    return explain_settings(overrides, environ)[0]


def explain_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[Settings, SettingSources]:
    """The settings, and where each came from. Raises as ``load_settings``."""
    environ = os.environ if environ is None else environ
    env_file = env_file_path(environ)
    env_values = _dotenv_values(env_file) if env_file else {}
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    for field in given:
        if field not in ENVIRONMENT:
            raise ConfigurationError(f"unknown setting {field!r}")
    config_dir = given.get("config_dir") or _config_dir(environ, env_values)
    config = read_config_file(config_file_path(Path(config_dir).expanduser()), CONFIG_KEYS)
    layers = (
        (ENVIRONMENT_SOURCE, environ),
        (f"the .env file ({env_file})", env_values),
        (f"the config file ({config.path})", config.values),
    )
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for field, variable in ENVIRONMENT.items():
        for label, layer in layers:
            raw = _value(layer, variable)
            if raw is not None:
                values[field], sources[field] = raw, label
                break
    for field, value in given.items():
        values[field], sources[field] = value, FLAG
    explained = SettingSources(sources, env_file, config)
    return _build(values, explained), explained


def user_config(environ: Mapping[str, str] | None = None) -> ConfigFile:
    """The user's config file as it is, for editing: unknown keys kept, values unchecked.

    Raises ConfigurationError when the file is not TOML (naming the line).
    """
    return read_config_file(user_config_path(environ), CONFIG_KEYS, strict=False)


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the user's config file is (it may not exist); its contents are not read."""
    environ = os.environ if environ is None else environ
    env_file = env_file_path(environ)
    return config_file_path(_config_dir(environ, _dotenv_values(env_file) if env_file else {}))


def _config_dir(environ: Mapping[str, str], env_values: Mapping[str, str]) -> Path:
    """The config directory: PIXYPROXY_CONFIG_DIR (environment, then .env), else the platform's."""
    chosen = _value(environ, "PIXYPROXY_CONFIG_DIR") or _value(env_values, "PIXYPROXY_CONFIG_DIR")
    return Path(chosen).expanduser() if chosen else default_config_dir()


def _value(layer: Mapping[str, str], variable: str) -> str | None:
    raw = layer.get(variable)
    return raw.strip() if raw is not None and raw.strip() != "" else None


def _build(values: dict[str, Any], sources: SettingSources | None = None) -> Settings:
    """Settings from ``values`` with the derived paths filled in. Raises ConfigurationError."""
    if "db_backend" in values:
        values["db_backend"] = str(values["db_backend"]).lower()
    else:
        values["db_backend"] = "mysql" if values.get("db_host") else "sqlite"
    data_dir = Path(values.get("data_dir") or default_data_dir()).expanduser()
    values["data_dir"] = data_dir
    values["config_dir"] = Path(values.get("config_dir") or default_config_dir()).expanduser()
    values["image_dir"] = Path(values.get("image_dir") or data_dir / "images").expanduser()
    sqlite_path = values.get("sqlite_path") or data_dir / "pixyproxy.db"
    values["sqlite_path"] = Path(sqlite_path).expanduser()

    try:
        return Settings(**_validator().validate_python(values))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            name = ENVIRONMENT.get(field, field)
            if sources is not None and sources.of(field) == (
                f"the config file ({sources.config.path})"
            ):
                name = f"{name} ({sources.config.where(name)})"
            problems.append(f"{name}: {error['msg']}")
        raise ConfigurationError("invalid settings: " + "; ".join(problems)) from exc


@cache
def _validator() -> SchemaValidator:
    """One validator of every setting's rule; a setting not given keeps its default."""
    return SchemaValidator(
        cs.typed_dict_schema(
            {
                setting.name: cs.typed_dict_field(setting.metadata[_RULE], required=False)
                for setting in dataclasses.fields(Settings)
            },
            extra_behavior="forbid",
        )
    )


def check_setting(key: str, value: str) -> str:
    """Refuse a value for the config file as a command would refuse it; its key, normalised.

    ``key`` is a variable name of ``ENVIRONMENT`` in any case. Raises InputValidationError
    naming the key: unknown, a secret, not allowed in the file, or a value not valid (the
    settings' own validation, and for image options the check ``generate`` makes).
    """
    from pixyproxy_cli.core.image_options import ImageOptions

    key = key.strip().upper()
    problem = key_problem(key, CONFIG_KEYS)
    if problem is not None:
        raise InputValidationError(problem)
    field = next(f for f, variable in ENVIRONMENT.items() if variable == key)
    placeholder = {name: "." for name in ("data_dir", "config_dir")}
    try:
        settings = _build({**placeholder, field: value.strip()})
        if field.startswith("image_") and field != "image_prices":
            ImageOptions.from_settings(settings).check(settings.openai_model)
    except ConfigurationError as error:
        raise InputValidationError(error.message.removeprefix("invalid settings: ")) from None
    return key
