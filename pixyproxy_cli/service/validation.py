"""Re-validation of service arguments with pydantic, reported as InputValidationError.

Callers (the CLI, the web layer, scripts) may hand the services anything; every public
service method passes its arguments through these helpers before touching a repository.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from pixyproxy_cli.core.exceptions import InputValidationError

M = TypeVar("M", bound=BaseModel)


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    # Built on first use: each costs a schema build that most commands never need.
    return TypeAdapter(kind)


def describe(error: ValidationError) -> str:
    """One readable line for a pydantic ValidationError: ``field: problem; ...``."""
    return describe_errors(error.errors(include_url=False, include_input=False))


def describe_errors(errors: Iterable[Mapping[str, Any]], skip: tuple[str, ...] = ()) -> str:
    """One readable line for pydantic-style error dicts; ``skip`` drops location parts."""
    problems = []
    for item in errors:
        where = ".".join(str(part) for part in item["loc"] if part not in skip)
        message = item["msg"].removeprefix("Value error, ")
        # Our own messages already name their field ("prompt must not be empty").
        names_field = item["type"] == "value_error" and message.lower().startswith(
            where.replace("_", " ").lower()
        )
        problems.append(f"{where}: {message}" if where and not names_field else message)
    return "; ".join(problems)


def validate_model(model: type[M], value: Any, context: dict[str, Any] | None = None) -> M:
    """Validate ``value`` (a model instance or a mapping) afresh as ``model``.

    Raises InputValidationError.
    """
    if isinstance(value, BaseModel):
        # The field values themselves: a dump would mask SecretStr fields.
        data = {name: getattr(value, name) for name in type(value).model_fields}
    else:
        data = value
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        raise InputValidationError(describe(error)) from error


def validate_guid(value: Any) -> str:
    """Return ``value`` as a canonical lower-case GUID. Raises InputValidationError."""
    from pixyproxy_cli.core.models import Guid

    guid: str = _validated(Guid, value)
    return guid


def validate_username(value: Any) -> str:
    """Return ``value`` if it is a well-formed user name. Raises InputValidationError."""
    from pixyproxy_cli.core.models import Username

    username: str = _validated(Username, value)
    return username


def validate_count(value: Any, most: int) -> int:
    """Return ``value`` as a whole number from 1 to ``most``. Raises InputValidationError."""
    number = validate_limit(value, "the number of images")
    if number is None or number > most:
        raise InputValidationError(f"the number of images must be 1 to {most}")
    return number


def validate_password(value: Any) -> SecretStr:
    """Return ``value`` as a SecretStr if it is an acceptable password.

    Raises InputValidationError.
    """
    from pixyproxy_cli.core.models import Password

    password: SecretStr = _validated(Password, value)
    return password


def _validated(kind: Any, value: Any) -> Any:
    try:
        return _adapter(kind).validate_python(value)
    except ValidationError as error:
        raise InputValidationError(describe(error)) from error


def validate_limit(value: Any, what: str = "limit") -> int | None:
    """Return ``value`` as a positive int, or None. Raises InputValidationError."""
    if value is None:
        return None
    try:
        number: int = _adapter(int).validate_python(value, strict=True)
    except ValidationError as error:
        raise InputValidationError(f"{what} must be a whole number") from error
    if number < 1:
        raise InputValidationError(f"{what} must be at least 1")
    return number
