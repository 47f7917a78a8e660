"""The PixyProxyException family: every error pixyproxy raises above the data layer.

Each class carries a default message, so ``raise RecordNotFoundError()`` reads as the
specification wrote it, and a stable ``code`` that the CLI maps to an exit status and the
REST server to an HTTP status. Driver and SDK exceptions never travel above ``data/``: they
are translated into one of these, chained with ``from``.
"""

from __future__ import annotations


class PixyProxyException(Exception):  # noqa: N818 - the specification's name
    """Base class of every error pixyproxy raises on purpose."""

    code = "error"
    default_message = "An unexpected error occurred while processing your request."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class DBConnectionError(PixyProxyException):
    """The database cannot be reached, refused the credentials, or no connection was free."""

    code = "db_unavailable"
    default_message = "Error connecting to the database"


class DatabaseMissingError(DBConnectionError):
    """The configured database, or pixyproxy's schema in it, does not exist yet."""

    code = "db_missing"
    default_message = "The database does not exist yet; run pixyproxy db init"


class RecordNotFoundError(PixyProxyException):
    """No record answers the request (or it exists but is not visible to the caller)."""

    code = "not_found"
    default_message = "Record not found"


class ConstraintViolationError(PixyProxyException):
    """A uniqueness, foreign-key or check constraint refused the change."""

    code = "constraint_violation"
    default_message = "A database constraint was violated"


class DatabaseError(PixyProxyException):
    """The database failed in a way that is neither a connection nor a constraint problem."""

    code = "database_error"
    default_message = "The database reported an error"


class ForeignDatabaseError(DatabaseError):
    """The configured file is not a pixyproxy database (corrupt, or another program's)."""

    code = "not_a_pixyproxy_database"
    default_message = "The configured database is not a pixyproxy database"


class SchemaVersionError(DatabaseError):
    """The database schema was written by a newer pixyproxy than this one."""

    code = "schema_version"
    default_message = "The database schema is newer than this version of pixyproxy supports"


class InputValidationError(PixyProxyException):
    """An argument failed validation (empty prompt, malformed GUID, ...)."""

    code = "validation_error"
    default_message = "The request is not valid"


class AuthenticationError(PixyProxyException):
    """Credentials are missing or wrong; the message never says which part was wrong."""

    code = "authentication_failed"
    default_message = "Invalid username or password"


class PermissionDeniedError(PixyProxyException):
    """The caller may see the record but not change it (another user's image)."""

    code = "forbidden"
    default_message = "You may not change this record"


class KeyringError(PixyProxyException):
    """The OS keyring cannot keep or give back the credentials."""

    code = "keyring_unavailable"
    default_message = "The OS keyring is not usable"


class ConfigurationError(PixyProxyException):
    """A setting is missing or has a value pixyproxy cannot use."""

    code = "configuration_error"
    default_message = "pixyproxy is not configured correctly"


class StorageError(PixyProxyException):
    """An image file could not be written, read or removed."""

    code = "storage_error"
    default_message = "The image file could not be stored or read"


class StorageUnavailableError(StorageError):
    """The image storage refuses writes (permissions, a read-only file system)."""

    code = "storage_unavailable"
    default_message = "The image storage is not writable; try again later"


class JobLostError(PixyProxyException):
    """A job was cancelled, or taken over by another worker, while it ran."""

    code = "job_lost"
    default_message = "The job was cancelled or taken over while it ran; nothing was stored"


class StoredFileExistsError(StorageError):
    """A file of that name is stored already: writes are create-only, never overwrites."""

    code = "storage_conflict"
    default_message = "A file of that name is stored already"


class StorageFullError(StorageError):
    """No space is left on the device that holds the image files."""

    code = "storage_full"
    default_message = "There is no space left to store the image"


class _RetryLater(PixyProxyException):
    """A refusal that says when to try again: ``retry_after`` seconds (None: unknown)."""

    def __init__(self, message: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransactionConflictError(DatabaseError, _RetryLater):
    """Another transaction changed the same rows first: the unit of work may run again.

    A deadlock, a lock wait given up, or a multi-primary cluster's certification conflict.
    """

    code = "transaction_conflict"
    default_message = (
        "The database refused the change because another one changed the same rows; try again"
    )


class TooManyRequestsError(_RetryLater):
    """A caller went over a limit (failed logins, images per minute); try again later."""

    code = "too_many_requests"
    default_message = "Too many requests; try again later"


class RemoteServerError(PixyProxyException):
    """A pixyproxy server (remote mode) cannot be reached, timed out, or is not one."""

    code = "server_unavailable"
    default_message = "The pixyproxy server cannot be reached"


class GenerationError(PixyProxyException):
    """The image provider failed to produce an image."""

    code = "provider_error"
    default_message = "The image provider failed to generate an image"


class ContentRejectedError(GenerationError):
    """The provider's safety system rejected the prompt."""

    code = "prompt_rejected"
    default_message = "The prompt was rejected by the provider's safety system"


class ProviderAuthenticationError(GenerationError):
    """The provider refused our API key."""

    code = "provider_auth_failed"
    default_message = "The image provider rejected the API key"


class RateLimitedError(GenerationError, _RetryLater):
    """The provider (or pixyproxy itself) is rate limiting requests; try again later."""

    code = "rate_limited"
    default_message = "Rate limited by the image provider; try again later"


class ProviderUnavailableError(GenerationError):
    """The provider could not be reached or did not answer in time."""

    code = "provider_unavailable"
    default_message = "The image provider could not be reached"


class ModelUnavailableError(GenerationError):
    """The provider does not offer the configured model to this API key (retired, unknown)."""

    code = "model_unavailable"
    default_message = "The image model is not available to this API key"
