"""In-memory fakes of the data layer, for unit tests of the services (no I/O)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from pixyproxy_cli.core.exceptions import (
    ConstraintViolationError,
    RecordNotFoundError,
    StoredFileExistsError,
)
from pixyproxy_cli.core.files import StoredFile
from pixyproxy_cli.core.image_options import ImageOptions
from pixyproxy_cli.core.models import Image, ImageDetail, ImageFile, UserRecord
from pixyproxy_cli.core.names import username_key
from pixyproxy_cli.core.provenance import ProvenanceReport
from pixyproxy_cli.core.search import matches
from pixyproxy_cli.data.db.interfaces import (
    ImageQuery,
    ImageRepositoryInterface,
    InvalidationRepositoryInterface,
    LimitRepositoryInterface,
    LimitSlot,
    UsageRow,
    UserRepositoryInterface,
)
from pixyproxy_cli.data.db.public_json import PUBLIC_JSON_COLUMNS, RowPage
from pixyproxy_cli.data.db.rows import TOKEN_KIND_COLUMNS, db_timestamp, image_to_row
from pixyproxy_cli.data.files.storage import (
    ImageStoreInterface,
    check_filename,
    thumbnail_name,
    thumbnail_owner,
)
from pixyproxy_cli.data.providers import (
    GeneratedImage,
    ImageProviderInterface,
    Progress,
    SourceImage,
    sniff_media_type,
)

PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x02\x08\x02\x00\x00\x00\xfd\xd4"
    b"\x9as\x00\x00\x00\x16IDATx\x9cc<\x11\xa5\xc1\xc0\xc0\xc0\xc4\xc0\xc0\xc0\xc0\xc0\x00\x00\x10B"
    b"\x01Nzn\x86\x10\x00\x00\x00\x00IEND\xaeB`\x82"
)
"""A real PNG of 2x2 pixels, what the fake provider answers: every image is read through its
header, as a real provider's would be."""


class Journal:
    """What happened, in order, across the fakes: transactions, provider calls, file writes."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.open_contexts = 0

    def add(self, event: str) -> None:
        self.events.append(event)


class FakeUnitOfWork:
    """A unit of work over fake repositories; records begin / commit / rollback in the
    journal. Its repositories exist only inside ``with``, as DatabaseContext's do."""

    def __init__(
        self,
        journal: Journal,
        *,
        images: FakeImageRepository | None = None,
        users: FakeUserRepository | None = None,
        limits: FakeLimitRepository | None = None,
        invalidations: FakeInvalidationRepository | None = None,
        fail_commit: Exception | None = None,
        commits_before_failing: list[int] | None = None,
    ) -> None:
        self.journal = journal
        self._repositories = {
            "images": images,
            "users": users,
            "tokens": None,
            "limits": limits,
            # Tests that do not look at them still write them (every delete does).
            "invalidations": invalidations or FakeInvalidationRepository(),
        }
        self._open = False
        self._saved: dict[str, Any] | None = None
        self.fail_commit = fail_commit
        self.commits_before_failing = commits_before_failing or [0]
        """Shared by the units of one test: how many commits succeed before they fail."""

    def _inside(self, name: str) -> Any:
        assert self._open, f"{name} used outside its unit of work"
        repository = self._repositories[name]
        assert repository is not None, f"this test gave its unit of work no {name}"
        return repository

    @property
    def images(self) -> FakeImageRepository:
        return self._inside("images")

    @property
    def users(self) -> FakeUserRepository:
        return self._inside("users")

    @property
    def tokens(self) -> Any:
        return self._inside("tokens")

    @property
    def limits(self) -> FakeLimitRepository:
        return self._inside("limits")

    @property
    def invalidations(self) -> FakeInvalidationRepository:
        return self._inside("invalidations")

    def __enter__(self) -> FakeUnitOfWork:
        self.journal.open_contexts += 1
        self.journal.add("enter")
        self._open = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._saved is not None:  # left without a commit: rolled back, as a database does
            self._restore()
        self.journal.open_contexts -= 1
        self.journal.add("exit")
        self._open = False

    def begin_transaction(self, *, write: bool = False) -> None:
        self.journal.add("begin")
        self._saved = {
            name: repository.saved()
            for name, repository in self._repositories.items()
            if repository is not None
        }

    def commit_transaction(self) -> None:
        if self.fail_commit is not None:
            if self.commits_before_failing[0] <= 0:
                raise self.fail_commit
            self.commits_before_failing[0] -= 1
        self.journal.add("commit")
        self._saved = None

    def rollback_transaction(self) -> None:
        self.journal.add("rollback")
        if self._saved is not None:
            self._restore()

    def _restore(self) -> None:
        """Put every repository back as it was when the transaction began."""
        for name, state in (self._saved or {}).items():
            self._repositories[name].restore(state)
        self._saved = None


def _kept(image: Image, query: ImageQuery) -> bool:
    """Whether ``query``'s owner, privacy and filters keep ``image`` (visibility aside)."""
    filters = query.filters
    return (
        (query.owner is None or image.owner == query.owner)
        and (query.private is None or image.private == query.private)
        and (filters.since is None or image.created_at >= filters.since)
        and (filters.until is None or image.created_at <= filters.until)
        and (filters.model is None or image.model == filters.model)
        and (filters.search is None or matches(image.prompt, filters.search))
    )


class FakeImageRepository(ImageRepositoryInterface):
    """Images in a dict; ``fail_with`` makes the next calls raise."""

    def __init__(self, journal: Journal, users: FakeUserRepository | None = None) -> None:
        self.journal = journal
        self.rows: dict[int, Image] = {}
        self.provenance: dict[str, list[ProvenanceReport]] = {}
        self.fail_with: BaseException | None = None
        self.calls = 0
        self.last_id = 0
        self.users = users
        """The roster an owner must be on, as the databases' foreign key says (when given)."""
        if users is not None:
            users.images = self

    def saved(self) -> Any:
        """This repository's state, for a unit of work's rollback."""
        return dict(self.rows), {g: list(r) for g, r in self.provenance.items()}, self.last_id

    def restore(self, state: Any) -> None:
        """Go back to a state ``saved`` gave."""
        rows, provenance, self.last_id = state
        self.rows, self.provenance = dict(rows), {g: list(r) for g, r in provenance.items()}

    def _call(self, name: str) -> None:
        self.calls += 1
        self.journal.add(f"repo.{name}")
        assert self.journal.open_contexts > 0, "repository used outside a unit of work"
        if self.fail_with is not None:
            raise self.fail_with

    def usage(self, *, by: str, since: datetime | None, owner: str | None) -> list[UsageRow]:
        self._call("usage")
        groups: dict[tuple[str, str], list[Image]] = {}
        for image in self.rows.values():
            if (since and image.created_at < since) or (owner and image.owner != owner):
                continue
            key = {
                "day": image.created_at.date().isoformat(),
                "model": image.model,
                "user": image.owner or "",
            }[by]
            groups.setdefault((key, image.model), []).append(image)
        return [
            UsageRow(
                key,
                model,
                len(images),
                *(
                    sum(getattr(image, column) or 0 for image in images)
                    for column in ("input_tokens", "output_tokens", *TOKEN_KIND_COLUMNS)
                ),
            )
            for (key, model), images in sorted(groups.items())
        ]

    def get_image_by_guid(self, guid: str) -> Image | None:
        self._call("get_image_by_guid")
        return next((image for image in self.rows.values() if image.guid == guid), None)

    def get_visible_image(self, guid: str, viewer: str | None) -> Image | None:
        self._call("get_visible_image")
        found = (image for image in self.rows.values() if image.guid == guid)
        return next((i for i in found if not i.private or i.owner == viewer), None)

    def get_all_images(self, query: ImageQuery) -> RowPage:
        """Rows as SQLite's raw cursor gives them: text as UTF-8 bytes, flags as ints."""
        self._call("get_all_images")
        filters = query.filters
        ordered = sorted(self.rows.items(), reverse=filters.newest_first)
        selected = [
            image
            for image_id, image in ordered
            if (
                image_id < query.after_id or not query.after_id
                if filters.newest_first
                else image_id > query.after_id
            )
            and (query.everything or not image.private or image.owner == query.viewer)
            and _kept(image, query)
        ][: query.limit]
        rows = []
        for image in selected:  # as sqlite3 gives them: text as bytes, numbers as ints
            values = {**image_to_row(image, image.created_at), "id": image.id}
            values["updated_at"] = db_timestamp(image.updated_at)
            rows.append(
                tuple(
                    value.encode() if isinstance(value, str) else value
                    for value in (values[column] for column in PUBLIC_JSON_COLUMNS)
                )
            )
        return RowPage(rows, selected[-1].id if selected else query.after_id)

    def create_image(
        self, image: ImageDetail, *, now: datetime, updated_at: datetime | None = None
    ) -> int:
        self._call("create_image")
        if any(existing.guid == image.guid for existing in self.rows.values()):
            raise ConstraintViolationError("A record with the same unique value already exists")
        if image.private and image.owner is None:
            raise ConstraintViolationError("A private image must have an owner")
        if (
            self.users is not None
            and image.owner is not None
            and image.owner not in self.users.rows
        ):
            raise ConstraintViolationError("The change would break a reference between records")
        # Ids only grow, and a deleted one is never given again (SQLite's AUTOINCREMENT).
        self.last_id = image_id = max(self.last_id, *self.rows, 0) + 1
        self.rows[image_id] = Image(
            **image.model_dump(), id=image_id, created_at=now, updated_at=updated_at or now
        )
        return image_id

    def get_image_files(self, guids) -> list[ImageFile]:
        self._call("get_image_files")
        return [self._file(image) for image in self.rows.values() if image.guid in set(guids)]

    def delete_image(self, guid: str) -> bool:
        self._call("delete_image")
        found = [key for key, image in self.rows.items() if image.guid == guid]
        for key in found:
            del self.rows[key]
        return bool(found)

    def get_owned_image_files(self, owner: str, *, limit: int) -> list[ImageFile]:
        self._call("get_owned_image_files")
        owned = [image for _, image in sorted(self.rows.items()) if image.owner == owner]
        return [self._file(image) for image in owned[:limit]]

    def get_image_file(self, guid: str) -> ImageFile | None:
        self._call("get_image_file")
        image = next((image for image in self.rows.values() if image.guid == guid), None)
        return None if image is None else self._file(image)

    def count_images(self) -> int:
        self._call("count_images")
        return len(self.rows)

    def get_image_files_page(self, *, after_id: int = 0, limit: int) -> list[tuple[int, ImageFile]]:
        self._call("get_image_files_page")
        ids = [image_id for image_id in sorted(self.rows) if image_id > after_id][:limit]
        return [(image_id, self._file(self.rows[image_id])) for image_id in ids]

    def find_unreadable_images(self, *, after_id: int = 0, limit: int):
        self._call("find_unreadable_images")
        ids = [image_id for image_id in sorted(self.rows) if image_id > after_id][:limit]
        return [], (ids[-1] if len(ids) == limit else None)

    def shortest_indexed_word(self) -> int | None:
        return None

    def find_filenames(self, filenames) -> set[str]:
        self._call("find_filenames")
        stored = {image.filename for image in self.rows.values()}
        return {name for name in filenames if name in stored}

    def count_hidden(self, query: ImageQuery) -> int:
        self._call("count_hidden")
        return sum(
            1
            for image in self.rows.values()
            if image.private and image.owner != query.viewer and _kept(image, query)
        )

    def add_provenance_check(self, guid: str, report: ProvenanceReport) -> bool:
        self._call("add_provenance_check")
        if not any(image.guid == guid for image in self.rows.values()):
            return False
        self.provenance.setdefault(guid, []).append(report)
        return True

    def latest_provenance_check(self, guid: str) -> ProvenanceReport | None:
        self._call("latest_provenance_check")
        kept = (
            self.provenance.get(guid)
            if any(image.guid == guid for image in self.rows.values())
            else None
        )
        return kept[-1] if kept else None

    @staticmethod
    def _file(image: Image) -> ImageFile:
        return ImageFile(
            guid=image.guid,
            filename=image.filename,
            media_type=image.media_type,
            private=image.private,
            owner=image.owner,
            updated_at=image.updated_at,
        )


class FakeUserRepository(UserRepositoryInterface):
    """The roster in a dict."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.rows: dict[str, UserRecord] = {}
        self.owners_with_images: set[str] = set()
        self.calls = 0
        self.last_id = 0
        self.images: FakeImageRepository | None = None
        """The images whose owners the roster must keep (FakeImageRepository links itself)."""

    def saved(self) -> Any:
        """This repository's state, for a unit of work's rollback."""
        return dict(self.rows), set(self.owners_with_images), self.last_id

    def restore(self, state: Any) -> None:
        """Go back to a state ``saved`` gave."""
        rows, owners, self.last_id = state
        self.rows, self.owners_with_images = dict(rows), set(owners)

    def _call(self, name: str) -> None:
        self.calls += 1
        self.journal.add(f"users.{name}")
        assert self.journal.open_contexts > 0, "repository used outside a unit of work"

    def authenticate_user(self, username: str) -> UserRecord | None:
        self._call("authenticate_user")
        return self.rows.get(username)

    def create_user(
        self, username: str, password_hash: str, class_key: str, *, now: datetime
    ) -> int:
        self._call("create_user")
        if username_key(username) in self.keys():
            raise ConstraintViolationError("A record with the same unique value already exists")
        self.last_id = user_id = max(self.last_id, *(r.id for r in self.rows.values()), 0) + 1
        self.rows[username] = UserRecord(
            id=user_id,
            username=username,
            password_hash=password_hash,
            class_key=class_key,
            created_at=now,
            updated_at=now,
        )
        return user_id

    def keys(self) -> set[str]:
        """The folded names taken (what the databases' unique name_key holds)."""
        return {username_key(name) for name in self.rows}

    def find_username(self, username: str) -> str | None:
        self._call("find_username")
        ordered = sorted(self.rows.values(), key=lambda record: record.id)
        found = [r.username for r in ordered if username_key(r.username) == username_key(username)]
        return found[0] if found else None

    def find_case_clashes(self) -> list[list[str]]:
        self._call("find_case_clashes")
        groups: dict[str, list[str]] = {}
        for record in sorted(self.rows.values(), key=lambda record: record.id):
            groups.setdefault(username_key(record.username), []).append(record.username)
        return [names for _, names in sorted(groups.items()) if len(names) > 1]

    def get_all_users(self, *, after_id: int = 0, limit: int) -> list[UserRecord]:
        self._call("get_all_users")
        ordered = sorted(self.rows.values(), key=lambda record: record.id)
        return [record for record in ordered if record.id > after_id][:limit]

    def update_password_hash(self, username: str, password_hash: str, *, now: datetime) -> bool:
        self._call("update_password_hash")
        record = self.rows.get(username)
        if record is None:
            return False
        self.rows[username] = record.model_copy(
            update={"password_hash": password_hash, "updated_at": now}
        )
        return True

    def delete_user(self, username: str) -> bool:
        self._call("delete_user")
        owns = self.images is not None and any(
            image.owner == username for image in self.images.rows.values()
        )
        if username in self.owners_with_images or owns:
            raise ConstraintViolationError("The change would break a reference between records")
        return self.rows.pop(username, None) is not None


class FakeProvider(ImageProviderInterface):
    """Returns fixed PNG bytes, or raises ``fail_with``; journals each call."""

    name = "fake"

    def __init__(self, journal: Journal, data: bytes = PNG_BYTES) -> None:
        self.journal = journal
        self.data = data
        self.fail_with: BaseException | None = None
        self.prompts: list[str] = []
        self.options: list[ImageOptions | None] = []
        self.edits: list[tuple[str, list[SourceImage], SourceImage | None]] = []

    def generate(
        self,
        prompt: str,
        n: int = 1,
        options: ImageOptions | None = None,
        progress: Progress | None = None,
    ) -> list[GeneratedImage]:
        # The provider must never be called with a database connection held.
        self.journal.add(f"provider(open_contexts={self.journal.open_contexts})")
        self.prompts.append(prompt)
        self.options.append(options)
        if self.fail_with is not None:
            raise self.fail_with
        if progress is not None:
            progress(1, 2)
            progress(2, 2)
        image = GeneratedImage(
            data=self.data,
            media_type=sniff_media_type(self.data) or "image/png",
            provider="fake",
            model="fake-model",
        )
        return [image] * n

    def edit(
        self,
        prompt: str,
        sources: Sequence[SourceImage],
        mask: SourceImage | None = None,
        n: int = 1,
        options: ImageOptions | None = None,
        progress: Progress | None = None,
    ) -> list[GeneratedImage]:
        self.edits.append((prompt, list(sources), mask))
        return self.generate(prompt, n, options, progress)


class FakeStore(ImageStoreInterface):
    """Files in a dict; create-only, as every store is."""

    def __init__(self, journal: Journal, *, local: bool = True) -> None:
        self.journal = journal
        self.files: dict[str, bytes] = {}
        self.fail_with: BaseException | None = None
        self.local = local

    def describe(self) -> str:
        return "/fake-store"

    def check(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    def save(self, filename: str, data: bytes) -> None:
        self.journal.add(f"store.save(open_contexts={self.journal.open_contexts})")
        if self.fail_with is not None:
            raise self.fail_with
        if filename in self.files:
            raise StoredFileExistsError(f"{filename} is stored already")
        self.files[filename] = data

    def delete(self, filename: str) -> None:
        self.journal.add("store.delete")
        self.files.pop(filename, None)

    def exists(self, filename: str) -> bool:
        try:
            return check_filename(filename) in self.files
        except RecordNotFoundError:
            return False

    def _stored(self, key: str) -> StoredFile:
        data = self.files[key]
        name = key.rsplit("/", 1)[-1]
        return StoredFile(name, len(data), f"/fake-store/{key}", lambda: iter((data,)))

    def locate(self, filename: str) -> StoredFile:
        if check_filename(filename) not in self.files:
            raise RecordNotFoundError(f"The image file {filename} is missing")
        return self._stored(filename)

    def thumbnail(self, filename: str, size: int) -> StoredFile | None:
        key = f".thumbnails/{thumbnail_name(filename, size)}"
        return self._stored(key) if key in self.files else None

    def save_thumbnail(self, filename: str, size: int, data: bytes) -> StoredFile:
        key = f".thumbnails/{thumbnail_name(filename, size)}"
        self.files[key] = data
        return self._stored(key)

    def delete_thumbnails(self, filename: str) -> None:
        stem = filename.rsplit(".", 1)[0]
        for key in list(self.files):
            name = key.removeprefix(".thumbnails/")
            if name != key and thumbnail_owner(name) == stem:
                del self.files[key]

    def list_thumbnails(self) -> Iterator[tuple[str, str]]:
        for key in sorted(self.files):
            name = key.removeprefix(".thumbnails/")
            owner = thumbnail_owner(name)
            if name != key and owner is not None:
                yield owner, name

    def list_filenames(self) -> Iterator[str]:
        yield from sorted(name for name in self.files if not name.startswith(".thumbnails/"))

    def list_leftovers(self) -> Iterator[str]:
        yield from ()

    def list_foreign(self) -> Iterator[str]:
        yield from ()

    def age(self, filename: str) -> float:
        return 3600.0 if filename in self.files else 0.0


class FakeInvalidationRepository(InvalidationRepositoryInterface):
    """Invalidations in a list of (id, kind, subject, at)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str, float]] = []

    def saved(self) -> Any:
        """This repository's state, for a unit of work's rollback."""
        return list(self.rows)

    def restore(self, state: Any) -> None:
        """Go back to a state ``saved`` gave."""
        self.rows = list(state)

    def record(self, kind: str, subject: str, *, now: float) -> None:
        self.rows.append((len(self.rows) + 1, kind, subject, now))

    def since(self, moment: float) -> list[tuple[int, str, str]]:
        return [(i, kind, subject) for i, kind, subject, at in self.rows if at >= moment]

    def purge(self, *, before: float) -> int:
        kept = [row for row in self.rows if row[3] >= before]
        purged, self.rows = len(self.rows) - len(kept), kept
        return purged


class FakeLimitRepository(LimitRepositoryInterface):
    """Rate-limit slots in a dict: bucket -> slot -> [hits, window start]."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[int, list[float]]] = {}

    def saved(self) -> Any:
        """This repository's state, for a unit of work's rollback."""
        return {b: {n: list(row) for n, row in slots.items()} for b, slots in self.rows.items()}

    def restore(self, state: Any) -> None:
        """Go back to a state ``saved`` gave."""
        self.rows = {b: {n: list(row) for n, row in slots.items()} for b, slots in state.items()}

    def total(self, bucket: str) -> int:
        """Every event counted in ``bucket`` (for assertions)."""
        return int(sum(row[0] for row in self.rows.get(bucket, {}).values()))

    def slots(self, bucket: str) -> list[LimitSlot]:
        return [LimitSlot(n, int(row[0]), row[1]) for n, row in self.rows.get(bucket, {}).items()]

    def take(
        self, bucket: str, slot: int, *, weight: int, capacity: int, now: float, window: float
    ) -> bool:
        row = self.rows.get(bucket, {}).get(slot)
        if row is None or row[1] <= now - window:
            row = [0, now]
        if row[0] + weight > capacity:
            return False
        row[0] += weight
        self.rows.setdefault(bucket, {})[slot] = row
        return True

    def give_back(self, bucket: str, weight: int) -> None:
        remaining = weight
        for row in sorted(self.rows.get(bucket, {}).values(), key=lambda r: -r[0]):
            taken = min(int(row[0]), remaining)
            row[0] -= taken
            remaining -= taken

    def clear(self, bucket: str) -> None:
        self.rows.pop(bucket, None)

    def purge(self, *, prefix: str, before: float) -> int:
        purged = 0
        for bucket in [b for b in self.rows if b.startswith(prefix)]:
            old = [n for n, row in self.rows[bucket].items() if row[1] < before]
            for n in old:
                del self.rows[bucket][n]
            purged += len(old)
            if not self.rows[bucket]:
                del self.rows[bucket]
        return purged
