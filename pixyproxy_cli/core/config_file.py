"""The user's config file: settings that follow the user from folder to folder.

It lives in the platform's config folder (``PIXYPROXY_CONFIG_DIR``, else platformdirs: XDG on
Linux) as ``config.toml``, one ``KEY = "value"`` line per setting, keyed by the settings'
environment variable names (``.env.example``). ``pixyproxy config set`` edits it line by line,
so a user's comments and order survive; every write replaces the file atomically.

Secrets never go here (the keyring keeps them: ``pixyproxy key set``), nor the setting that
says where this file is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pixyproxy_cli.core.exceptions import ConfigurationError
from pixyproxy_cli.core.files import write_text_atomically

CONFIG_FILE_NAME = "config.toml"
SECRET_KEYS = {"OPENAI_API_KEY": "openai", "DB_PASSWORD": "db", "AWS_SECRET_ACCESS_KEY": "s3"}
"""Settings kept in the keyring instead, by the name ``pixyproxy key set`` gives them."""
NOT_IN_FILE = {"PIXYPROXY_CONFIG_DIR": "it says where this file is"}
HEADER = (
    "# pixyproxy's settings for this user: pixyproxy config set KEY VALUE (or edit this file).\n"
    "# Flags, the environment and a .env file win over these; secrets go in the keyring\n"
    "# (pixyproxy key set openai).\n"
)
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=")
_LINE_IN_ERROR = re.compile(r"\(at line (\d+), column \d+\)")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


@dataclass(frozen=True)
class ConfigFile:
    """A config file's settings: each key's value (as text) and the line it is on."""

    path: Path
    values: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    text: str | None = None
    """The file as it was read (None: there is no file); ``write_setting`` edits it."""

    def where(self, key: str) -> str:
        """``path, line N`` of ``key``, for messages."""
        line = self.lines.get(key)
        return f"{self.path}, line {line}" if line else str(self.path)


def config_file_path(config_dir: Path) -> Path:
    """Where the config file of ``config_dir`` is."""
    return Path(config_dir) / CONFIG_FILE_NAME


def read_config_file(path: Path, known: set[str], *, strict: bool = True) -> ConfigFile:
    """The settings in the file at ``path`` (none when there is no file).

    ``known`` are the keys a setting has. Raises ConfigurationError naming the file and the
    line: not TOML, a value that is not text, a number or true/false, or (when ``strict``)
    an unknown key, a secret, or a key that does not belong in the file. Not strict, such
    keys are kept, so that ``config unset`` can remove them.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ConfigFile(path)
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"cannot read the config file {path}: {error}") from error
    import tomllib  # only when there is a file

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = _LINE_IN_ERROR.search(str(error))
        line = found.group(1) if found else max(1, len(text.splitlines()))  # end of document
        where = f"{path}, line {line}"
        reason = _LINE_IN_ERROR.sub("", str(error)).replace("(at end of document)", "").strip()
        raise ConfigurationError(f"{where}: not valid TOML: {reason}") from None
    config = ConfigFile(path, {}, _key_lines(text), text)
    for key, value in data.items():
        problem = key_problem(key, known) if strict else None
        if problem is None and isinstance(value, bool):
            value = "true" if value else "false"
        elif problem is None and isinstance(value, int | float | str):
            value = str(value)
        elif problem is None:
            problem = f"{key} must be text, a number, or true/false"
        if problem is not None:
            raise ConfigurationError(f"{config.where(key)}: {problem}")
        config.values[key] = value
    return config


def key_problem(key: str, known: set[str]) -> str | None:
    """Why ``key`` cannot be in the config file, or None when it can."""
    if key in SECRET_KEYS:
        return (
            f"{key} is a secret and is not kept in the config file: "
            f"use pixyproxy key set {SECRET_KEYS[key]}"
        )
    if key in NOT_IN_FILE:
        return f"{key} cannot be set in the config file: {NOT_IN_FILE[key]}"
    if key not in known:
        return f"unknown setting {key!r} (pixyproxy config list names them)"
    return None


def write_setting(config: ConfigFile, key: str, value: str | None) -> None:
    """Set ``key`` to ``value`` in the file (None removes it), atomically.

    The key's own line of the text that was read is replaced (or removed, or a line added
    at the end); everything else is kept. Raises ConfigurationError when the file cannot be
    written.
    """
    text = HEADER if config.text is None else config.text
    lines = text.splitlines(keepends=True)
    number = config.lines.get(key)
    new_line = None if value is None else f"{key} = {toml_string(value)}\n"
    if number is not None and _single_line(lines[number - 1], key):
        lines[number - 1 : number] = [] if new_line is None else [new_line]
        text = "".join(lines)
    elif number is None and new_line is not None:
        text = ("".join(lines).rstrip("\n") + "\n" if lines else "") + new_line
    else:  # a value over several lines, written by hand: write the file anew
        values = {k: v for k, v in config.values.items() if k != key}
        if value is not None:
            values[key] = value
        text = HEADER + "".join(f"{k} = {toml_string(v)}\n" for k, v in values.items())
    _replace(config.path, text)


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string (control characters escaped)."""
    escaped = "".join(
        _ESCAPES.get(char) or (f"\\u{ord(char):04x}" if _is_control(char) else char)
        for char in value
    )
    return f'"{escaped}"'


def _is_control(char: str) -> bool:
    return ord(char) < 0x20 or ord(char) == 0x7F


def _key_lines(text: str) -> dict[str, int]:
    """The line each top-level key is assigned on (the first, for a hand-made duplicate)."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("["):
            break  # a table: what follows is not a top-level key
        match = _ASSIGNMENT.match(line)
        if match:
            lines.setdefault(match.group(1), number)
    return lines


def _single_line(line: str, key: str) -> bool:
    """Whether ``line`` assigns ``key`` a whole value (not the start of a multi-line one)."""
    import tomllib

    try:
        return key in tomllib.loads(line)
    except tomllib.TOMLDecodeError:
        return False


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically. Raises ConfigurationError naming the file."""
    try:
        write_text_atomically(path, text, prefix=".config-")
    except OSError as error:
        raise ConfigurationError(f"cannot write the config file {path}: {error}") from error
