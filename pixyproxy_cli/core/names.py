"""What makes two user names the same name (light: no pydantic, for the data layer)."""


def username_key(username: str) -> str:
    """The form of a user name that must be unique: names that differ only in case clash.

    User names are ASCII (``core.models`` checks them), so lower-casing folds them completely;
    the databases fold with ``LOWER()``, which agrees on ASCII.
    """
    return username.lower()
