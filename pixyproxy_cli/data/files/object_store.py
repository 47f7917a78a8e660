"""Image files in an S3 bucket (AWS, Ceph's radosgw, MinIO, R2...), through obstore.

Keys mirror the local directory: ``PREFIX/GUID.EXT`` for images and
``PREFIX/.thumbnails/GUID-SIZE.webp`` for thumbnails. An object store has no half-written
objects (a PUT is whole or absent), so there are no leftovers to sweep. Every image write is
create-only: ``If-None-Match: *``, which S3 answers with 412 when the key exists.

Why obstore (the Rust ``object_store`` crate) rather than boto3: it does create-only PUTs
(``mode="create"``) and presigned URLs itself, retries with backoff and maps S3's answers to
typed errors, and ships as one compiled wheel that needs only typing-extensions. Importing
it took 41 to 100 ms here (``python -X importtime -c "import obstore"``, three runs), so it
is imported on the store's first request, never on a command's start-up path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from pixyproxy_cli.core.exceptions import (
    ConfigurationError,
    RecordNotFoundError,
    StorageError,
    StorageUnavailableError,
    StoredFileExistsError,
)
from pixyproxy_cli.core.files import READ_CHUNK, StoredFile
from pixyproxy_cli.data.files.storage import (
    OWN_FILENAME,
    THUMBNAILS,
    ImageStoreInterface,
    check_filename,
    thumbnail_name,
    thumbnail_owner,
)

if TYPE_CHECKING:
    from obstore import ObjectMeta
    from obstore.store import ClientConfig, S3Store

T = TypeVar("T")
HEADS_AT_ONCE = 16
"""Concurrent HEAD requests when doctor asks which of many files are stored."""
SCHEME = "s3://"


@dataclass(frozen=True)
class BucketAddress:
    """``s3://bucket/prefix``, taken apart."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> BucketAddress:
        """Read ``s3://bucket[/prefix]``. Raises ConfigurationError naming IMAGE_STORE."""
        parts = urlsplit(url.strip())
        if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
            raise ConfigurationError(
                f"IMAGE_STORE: {url!r} is not s3://bucket or s3://bucket/prefix "
                "(for a local folder, set IMAGE_DIR instead)"
            )
        prefix = parts.path.strip("/")
        if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
            raise ConfigurationError(f"IMAGE_STORE: {url!r} has an empty or dotted prefix part")
        return cls(parts.netloc, prefix)

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}".rstrip("/")


@dataclass(frozen=True)
class S3Settings:
    """Where the bucket is and how to sign in to it."""

    address: BucketAddress
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: Callable[[], str | None] = lambda: None
    """Read when the store is first used (it may come from the keyring)."""
    timeout_seconds: float = 30.0


class S3ImageStore(ImageStoreInterface):
    """Image files as objects in one bucket, under one prefix."""

    local = False

    def __init__(self, settings: S3Settings) -> None:
        """Raises ConfigurationError when obstore is not installed (found, not imported)."""
        from importlib.util import find_spec

        if find_spec("obstore") is None:
            raise ConfigurationError(
                "IMAGE_STORE names an S3 bucket, which needs obstore: pip install 'pixyproxy[s3]'"
            )
        self.address = settings.address
        self._settings = settings

    @cached_property
    def _store(self) -> S3Store:
        """The client, made on first use: a command that reads no file never imports it."""
        from obstore.store import S3Store

        settings = self._settings
        config: dict[str, Any] = {}
        if settings.endpoint_url:
            config["endpoint"] = settings.endpoint_url
            # A private endpoint (radosgw, MinIO) rarely has a bucket per host name.
            config["virtual_hosted_style_request"] = False
        if settings.region:
            config["region"] = settings.region
        if settings.access_key_id:
            config["access_key_id"] = settings.access_key_id
        secret = settings.secret_access_key()
        if secret:
            config["secret_access_key"] = secret
        timeout = f"{max(int(settings.timeout_seconds), 1)}s"
        client: ClientConfig = {"timeout": timeout, "connect_timeout": "5s"}
        if settings.endpoint_url and settings.endpoint_url.startswith("http://"):
            client["allow_http"] = True
        return S3Store(
            settings.address.bucket,
            prefix=settings.address.prefix or None,
            client_options=client,
            # The SDK's default retries for three minutes; a request should fail sooner.
            retry_config={
                "max_retries": 3,
                "retry_timeout": timedelta(seconds=settings.timeout_seconds),
                "backoff": {
                    "init_backoff": timedelta(milliseconds=50),
                    "max_backoff": timedelta(seconds=2),
                    "base": 2,
                },
            },
            **config,
        )

    def describe(self) -> str:
        """``s3://bucket/prefix``."""
        return str(self.address)

    def _location(self, key: str) -> str:
        return f"{self.address}/{key}"

    def _call(self, action: str, key: str, call: Callable[[], T]) -> T:
        """Run one request, its errors as pixyproxy's (StoredFileExistsError, not found...)."""
        from obstore import exceptions

        try:
            return call()
        except exceptions.AlreadyExistsError as error:
            raise StoredFileExistsError(f"{self._location(key)} is stored already") from error
        except (FileNotFoundError, exceptions.NotFoundError) as error:
            raise RecordNotFoundError(f"The image file {key} is missing") from error
        except Exception as error:  # obstore's BaseError, and OSError from the transport
            status, code = _s3_answer(error)
            where = f"Cannot {action} {self._location(key)}"
            if status in (401, 403) or isinstance(
                error, exceptions.PermissionDeniedError | exceptions.UnauthenticatedError
            ):
                raise StorageUnavailableError(
                    f"{where}: the object store refused the credentials ({status} {code})"
                ) from error
            if code == "NoSuchBucket":
                raise RecordNotFoundError(f"{where}: the bucket does not exist") from error
            said = f"the object store answered {status} {code}" if status else _first_line(error)
            raise StorageError(f"{where}: {said}") from error

    def save(self, filename: str, data: bytes) -> None:
        """PUT with ``If-None-Match: *``: StoredFileExistsError when the key exists."""
        import obstore

        key = check_filename(filename)
        self._call("write", key, lambda: obstore.put(self._store, key, data, mode="create"))

    def delete(self, filename: str) -> None:
        """DELETE the object (S3 answers a missing key as deleted)."""
        import obstore

        key = check_filename(filename)
        self._call("remove", key, lambda: obstore.delete(self._store, key))

    def missing(self, filenames: Sequence[str]) -> list[str]:
        """HEAD requests, 16 at a time: S3 has no request that asks about many keys."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=HEADS_AT_ONCE) as pool:
            present = list(pool.map(self.exists, filenames))
        return [name for name, there in zip(filenames, present, strict=True) if not there]

    def has(self, filename: str) -> bool:
        """True, without a request: the database says what is stored.

        A delete anywhere is honoured through the database's invalidations; ``locate``
        still asks the bucket before a file is served.
        """
        check_filename(filename)
        return True

    def check(self) -> None:
        """List one key: the bucket answers and takes the credentials.

        Raises StorageUnavailableError otherwise.
        """
        try:
            self._call("list", "", lambda: next(self._pages(None, 1), None))
        except RecordNotFoundError as error:
            raise StorageUnavailableError(f"The bucket of {self.address} does not exist") from error
        except StorageUnavailableError:
            raise
        except StorageError as error:
            raise StorageUnavailableError(error.message) from error

    def locate(self, filename: str) -> StoredFile:
        """A HEAD request; the file streams from a GET when read."""
        return self._stored(check_filename(filename))

    def _stored(self, key: str) -> StoredFile:
        import obstore

        meta = self._call("read", key, lambda: obstore.head(self._store, key))
        return self._file(key, int(meta["size"]), partial(self._chunks, key))

    def _file(self, key: str, size: int, opener: Callable[[], Iterator[bytes]]) -> StoredFile:
        """The object at ``key``: its name, size, ``s3://`` location and signer."""
        name = key.rsplit("/", 1)[-1]
        return StoredFile(name, size, self._location(key), opener, signer=partial(self._sign, key))

    def _chunks(self, key: str) -> Iterator[bytes]:
        import obstore

        result = self._call("read", key, lambda: obstore.get(self._store, key))
        for chunk in self._drained("read", key, result.stream(min_chunk_size=READ_CHUNK)):
            yield bytes(chunk)

    def read(self, filename: str) -> bytes:
        """One GET."""
        import obstore

        key = check_filename(filename)
        return self._call("read", key, lambda: bytes(obstore.get(self._store, key).bytes()))

    def _sign(self, key: str, seconds: int) -> str:
        import obstore

        return self._call(
            "sign",
            key,
            lambda: obstore.sign(self._store, "GET", key, timedelta(seconds=seconds)),
        )

    def thumbnail(self, filename: str, size: int) -> StoredFile | None:
        """A HEAD request for the thumbnail's key."""
        try:
            return self._stored(f"{THUMBNAILS}/{thumbnail_name(filename, size)}")
        except RecordNotFoundError:
            return None

    def save_thumbnail(self, filename: str, size: int, data: bytes) -> StoredFile:
        """PUT the thumbnail (overwriting one made meanwhile by another replica is fine)."""
        import obstore

        key = f"{THUMBNAILS}/{thumbnail_name(filename, size)}"
        self._call("write", key, lambda: obstore.put(self._store, key, data))
        return self._file(key, len(data), lambda: iter((data,)))

    def delete_thumbnails(self, filename: str) -> None:
        """DELETE every cached size of ``filename``'s thumbnail (a missing one is fine)."""
        import obstore

        from pixyproxy_cli.core.constants import THUMBNAIL_SIZES

        for size in THUMBNAIL_SIZES:
            key = f"{THUMBNAILS}/{thumbnail_name(filename, size)}"
            self._call("remove", key, partial(obstore.delete, self._store, key))

    def _keys(self, prefix: str | None = None) -> Iterator[str]:
        """Every key under the store's prefix (and ``prefix`` within it), streamed."""
        pages = self._call("list", prefix or "", lambda: self._pages(prefix))
        for page in self._drained("list", prefix or "", pages):
            for meta in page:
                yield meta["path"]

    def _drained(self, action: str, key: str, items: Iterator[T]) -> Iterator[T]:
        """``items``, each fetched under ``_call``: a failure mid-way is pixyproxy's error."""
        while True:
            item = self._call(action, key, lambda: next(items, None))
            if item is None:
                return
            yield item

    def _pages(self, prefix: str | None, chunk_size: int = 1000) -> Iterator[Sequence[ObjectMeta]]:
        import obstore

        return iter(obstore.list(self._store, prefix, chunk_size=chunk_size))

    def list_thumbnails(self) -> Iterator[tuple[str, str]]:
        """(the image's GUID stem, the thumbnail's name) of every cached thumbnail."""
        for key in self._keys(THUMBNAILS):
            name = key.rsplit("/", 1)[-1]
            owner = thumbnail_owner(name)
            if owner is not None:
                yield owner, name

    def list_filenames(self) -> Iterator[str]:
        """Every key directly under the prefix that is a name pixyproxy gives an image."""
        for key in self._keys():
            if OWN_FILENAME.fullmatch(key):
                yield key

    def list_leftovers(self) -> Iterator[str]:
        """None: an object store never holds half a PUT."""
        yield from ()

    def list_foreign(self) -> Iterator[str]:
        """Every key that is neither an image's nor a thumbnail's."""
        for key in self._keys():
            if OWN_FILENAME.fullmatch(key) is None and not key.startswith(f"{THUMBNAILS}/"):
                yield key

    def age(self, filename: str) -> float:
        """Seconds since the object was written (0 when it is gone)."""
        import obstore

        key = check_filename(filename)
        try:
            meta = self._call("read", key, lambda: obstore.head(self._store, key))
        except RecordNotFoundError:
            return 0.0
        modified: datetime = meta["last_modified"]
        return max((datetime.now(UTC) - modified).total_seconds(), 0.0)


def _s3_answer(error: BaseException) -> tuple[int | None, str]:
    """The HTTP status and S3 error code an obstore error carries in its text, if any."""
    text = str(error)
    status = re.search(r"status code: (\d{3})", text)
    code = re.search(r"<Code>([^<]{1,64})</Code>", text)
    return (int(status.group(1)) if status else None), (code.group(1) if code else "")


def _first_line(error: BaseException) -> str:
    """Obstore's messages carry a debug dump after the first line; keep the first."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
