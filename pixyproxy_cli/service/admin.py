"""``AdminService``: set-up and diagnosis for ``pixyproxy db init`` and ``pixyproxy doctor``.

Each check reports what it found and, when something is wrong, the fix. Checks never raise:
a failure becomes a ``Check`` with status ``fail``, so one broken part never hides the rest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pixyproxy_cli.core.exceptions import (
    ConfigurationError,
    DatabaseMissingError,
    ForeignDatabaseError,
    PixyProxyException,
)
from pixyproxy_cli.core.image_options import looks_like_guid
from pixyproxy_cli.core.iterables import batches
from pixyproxy_cli.core.search import MIN_INDEXED_LENGTH
from pixyproxy_cli.core.settings import Settings
from pixyproxy_cli.data.db.database import Database
from pixyproxy_cli.data.files.storage import ImageStoreInterface
from pixyproxy_cli.data.init import ChosenProvider
from pixyproxy_cli.data.keyring_stores.credentials import describe_keyring
from pixyproxy_cli.service.interfaces import UserServiceInterface
from pixyproxy_cli.service.transaction import UnitOfWorkFactory, keyset_pages, transaction

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """One finding of ``diagnose``: what was checked, how it stands, and the fix if any."""

    name: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass
class Consistency:
    """How rows and files agree: what is missing on either side, and what was removed."""

    rows: int = 0
    files: int = 0
    rows_without_files: list[str] = field(default_factory=list)
    orphan_files: list[str] = field(default_factory=list)
    foreign_files: list[str] = field(default_factory=list)
    recent_unmatched: int = 0
    removed: list[str] = field(default_factory=list)
    thumbnails: int = 0
    orphan_thumbnails: list[str] = field(default_factory=list)
    """Cached thumbnails of images that no row names any more (``--fix`` removes them)."""

    @property
    def consistent(self) -> bool:
        """No row lacks its file and no (old enough) file lacks its row."""
        return not self.rows_without_files and not (set(self.orphan_files) - set(self.removed))


@dataclass(frozen=True)
class DatabaseStatus:
    """Where the database is and which schema version it has."""

    backend: str
    location: str
    schema_version: int
    driver: str


class AdminService:
    """Database set-up and the checks behind ``pixyproxy doctor``."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        users: UserServiceInterface,
        uow: UnitOfWorkFactory,
        store: ImageStoreInterface,
        provider: ChosenProvider,
    ) -> None:
        self._settings = settings
        self._database = database
        self._users = users
        self._uow = uow
        self._store = store
        self._provider = provider
        """Chosen and built when ``doctor`` checks it: ``db init`` never needs one."""

    def init_database(self) -> DatabaseStatus:
        """Create or migrate the schema now, as far as the database's provision allows.

        With Provision.NOTHING (``doctor``) it only reads the version. Raises
        DBConnectionError (DatabaseMissingError when there is nothing to read),
        SchemaVersionError.
        """
        version = self._database.schema_version()
        return DatabaseStatus(
            backend=self._database.dialect,
            location=self._database.location,
            schema_version=version,
            driver=self._database.driver_name(),
        )

    def check_consistency(self, *, fix: bool = False, min_age: float = 60.0) -> Consistency:
        """Find rows without files and files without rows; ``fix`` removes the orphan files.

        An orphan is a file whose name pixyproxy makes (a GUID and a known extension, or its
        temporary-file prefix) that no row names. Any other file is foreign: reported, never
        touched. Only files older than ``min_age`` seconds count as orphans: a younger one may
        belong to a ``generate`` whose row is being inserted right now. Memory stays bounded:
        rows and files are walked in chunks. Raises PixyProxyException for database failures.
        """
        report = Consistency()
        pages = keyset_pages(
            self._uow,
            lambda uow, after, limit: uow.images.get_image_files_page(after_id=after, limit=limit),
            lambda row: row[0],
            CHUNK,
        )
        for page in pages:
            report.rows += len(page)
            missing = set(self._store.missing([stored.filename for _, stored in page]))
            report.rows_without_files.extend(
                stored.guid for _, stored in page if stored.filename in missing
            )
        for batch in batches(self._store.list_filenames(), CHUNK):
            report.files += len(batch)
            with transaction(self._uow) as uow:
                known = uow.images.find_filenames(batch)
            for name in batch:
                if name not in known:
                    self._classify_orphan(report, name, min_age)
        for name in list(self._store.list_leftovers()):
            self._classify_orphan(report, name, min_age)
        report.foreign_files = sorted(self._store.list_foreign())
        for thumbnails in batches(self._store.list_thumbnails(), CHUNK):
            report.thumbnails += len(thumbnails)
            stems = [stem for stem, _ in thumbnails if looks_like_guid(stem)]
            with transaction(self._uow) as uow:
                present = {stored.guid for stored in uow.images.get_image_files(stems)}
            report.orphan_thumbnails.extend(
                name for stem, name in thumbnails if stem not in present
            )
        if fix:
            for name in report.orphan_files:
                self._store.delete(name)
                report.removed.append(name)
            for name in report.orphan_thumbnails:
                # Named as the image's file would be: every size of it goes.
                self._store.delete_thumbnails(name.rsplit("-", 1)[0] + ".webp")
        return report

    def _classify_orphan(self, report: Consistency, name: str, min_age: float) -> None:
        if self._store.age(name) >= min_age:
            report.orphan_files.append(name)
        else:
            report.recent_unmatched += 1

    def diagnose(self, *, fix: bool = False, min_age: float = 60.0) -> list[Check]:
        """Every check, in the order a person would fix things; ``fix`` repairs what it can."""
        checks = [self._check_database()]
        if checks[0].status == "ok":
            checks.append(self._check_rows())
            checks.append(self._check_user_names())
        checks.extend(self._check_images(checks[0].status == "ok", fix=fix, min_age=min_age))
        if checks[0].status != "fail":
            search = self._check_search()
            if search is not None:
                checks.append(search)
        checks.append(self._check_provider())
        checks.append(self._check_keyring())
        checks.append(self._check_secrets())
        return checks

    def _check_database(self) -> Check:
        name = f"database ({self._database.dialect})"
        try:
            status = self.init_database()
        except DatabaseMissingError as error:
            return Check(name, "warn", error.message, "pixyproxy db init creates it")
        except ForeignDatabaseError as error:
            where = "DB_NAME" if self._database.dialect == "mysql" else "SQLITE_PATH"
            return Check(name, "fail", error.message, f"point {where} elsewhere")
        except PixyProxyException as error:
            fix = (
                "start the server or correct DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME"
                if self._database.dialect == "mysql"
                else "check that the directory of SQLITE_PATH / PIXYPROXY_DATA_DIR is writable"
            )
            return Check(name, "fail", f"{self._database.location}: {error}", fix)
        detail = (
            f"{status.location}, schema version {status.schema_version}, driver {status.driver}"
        )
        if self._database.dialect == "mysql" and "pure Python" in status.driver:
            return Check(
                name,
                "warn",
                detail,
                "the C extension makes fetching rows ~5x faster: reinstall "
                "mysql-connector-python for this platform",
            )
        return Check(name, "ok", detail)

    def find_unreadable_rows(self) -> list[tuple[str, str]]:
        """(GUID, what is wrong) of every image row that cannot be read back (by id).

        Walks the table in chunks. Raises PixyProxyException for database failures.
        """
        found: list[tuple[str, str]] = []
        after_id: int | None = 0
        while after_id is not None:
            with transaction(self._uow) as uow:
                page, after_id = uow.images.find_unreadable_images(after_id=after_id, limit=CHUNK)
            found.extend(page)
        return found

    def _check_rows(self) -> Check:
        """Whether every image row reads back (one that does not breaks every listing)."""
        try:
            unreadable = self.find_unreadable_rows()
        except PixyProxyException as error:
            return Check(ROWS_CHECK, "fail", str(error))
        if not unreadable:
            return Check(ROWS_CHECK, "ok", "every image row reads back")
        shown = "; ".join(f"{guid}: {problem}" for guid, problem in unreadable[:5])
        more = f" (and {len(unreadable) - 5} more)" if len(unreadable) > 5 else ""
        return Check(
            ROWS_CHECK,
            "fail",
            f"{len(unreadable)} image row(s) cannot be read, and listings fail: {shown}{more}",
            "correct those columns in the images table (UTC, YYYY-MM-DD HH:MM:SS.ffffff), "
            "or delete the rows",
        )

    def _check_user_names(self) -> Check:
        """Whether any user names differ only in case (possible before schema version 9)."""
        try:
            clashes = self._users.case_clashes()
        except PixyProxyException as error:
            return Check(USERS_CHECK, "fail", str(error))
        if not clashes:
            return Check(USERS_CHECK, "ok", "unique regardless of case")
        groups = "; ".join(" and ".join(names) for names in clashes)
        return Check(
            USERS_CHECK,
            "warn",
            f"{len(clashes)} name(s) are held by more than one user in different cases, "
            f"made before names were unique regardless of case: {groups}",
            "keep the first of each; for the others: pixyproxy user remove NAME "
            "(with --delete-images, or after moving their images); no new clash can be made",
        )

    def _check_search(self) -> Check | None:
        """Whether the database's full-text index answers every search the rule sends it.

        None when there is no database yet (the database check says so already).
        """
        try:
            with transaction(self._uow) as uow:
                shortest = uow.images.shortest_indexed_word()
        except DatabaseMissingError:
            return None
        except PixyProxyException as error:
            return Check(SEARCH_CHECK, "fail", str(error))
        if shortest is None:
            return Check(SEARCH_CHECK, "ok", "SQLite FTS5 (images_fts), kept in step by triggers")
        return search_index_check(shortest)

    def _check_images(self, database_ok: bool, *, fix: bool, min_age: float) -> list[Check]:
        checks = [self._check_store()]
        if not database_ok:
            return checks
        try:
            report = self.check_consistency(fix=fix, min_age=min_age)
        except PixyProxyException as error:
            return [*checks, Check("images", "fail", str(error))]
        detail = f"{report.rows} row(s), {report.files} file(s)"
        if report.thumbnails:
            detail += f", {report.thumbnails} thumbnail(s)"
        problems = []
        if report.orphan_thumbnails:
            verb = "removed" if fix else "found"
            problems.append(
                f"{verb} {len(report.orphan_thumbnails)} thumbnail(s) of images no row names: "
                + _sample(report.orphan_thumbnails)
            )
        if report.rows_without_files:
            problems.append(
                f"{len(report.rows_without_files)} row(s) without a file: "
                + _sample(report.rows_without_files)
            )
        if report.removed:
            problems.append(
                f"removed {len(report.removed)} orphan file(s): " + _sample(report.removed)
            )
        elif report.orphan_files:
            problems.append(
                f"{len(report.orphan_files)} orphan file(s) without a row: "
                + _sample(report.orphan_files)
            )
        if report.recent_unmatched:
            problems.append(f"{report.recent_unmatched} file(s) too recent to judge")
        if report.foreign_files:
            problems.append(
                f"{len(report.foreign_files)} file(s) not made by pixyproxy, left alone: "
                + _sample(report.foreign_files)
            )
        if not problems:
            return [*checks, Check("images", "ok", detail)]
        fixes = []
        if report.orphan_files and not report.removed:
            fixes.append("pixyproxy doctor --fix removes the orphan files")
        if report.orphan_thumbnails and not fix:
            fixes.append("pixyproxy doctor --fix removes the orphan thumbnails")
        if report.rows_without_files:
            fixes.append("the images of rows without a file cannot be served: generate them again")
        if report.foreign_files:
            where = "IMAGE_DIR" if self._store.local else self._store.describe()
            fixes.append(f"keep other files out of {where} (pixyproxy never removes them)")
        status: Status = "warn" if (report.rows_without_files or fixes) else "ok"
        return [
            *checks,
            Check("images", status, f"{detail}; " + "; ".join(problems), "; ".join(fixes) or None),
        ]

    def _check_store(self) -> Check:
        """The image folder (created on first use), or the object store's bucket."""
        if self._store.local:
            return _directory_check(Path(self._settings.image_dir))
        where = self._store.describe()
        if self._settings.aws_endpoint_url:
            where += f" at {self._settings.aws_endpoint_url}"
        try:
            self._store.check()
        except PixyProxyException as error:
            return Check(
                "image store",
                "fail",
                error.message,
                "check IMAGE_STORE, AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or pixyproxy key set s3), and that the bucket exists",
            )
        return Check("image store", "ok", where)

    def _check_provider(self) -> Check:
        try:
            provider = self._provider()
            notice = self._provider.notice
        except ConfigurationError as error:  # asked for, and not to be had: the message says why
            return Check("image provider", "fail", error.message)
        model = getattr(provider, "model", None) or "placeholder-v1"
        detail = f"{provider.name}, model {model}"
        base_url = getattr(provider, "base_url", None)
        if base_url:
            detail += f", at {base_url}"
        if notice:
            return Check(
                "image provider",
                "warn",
                detail,
                "set OPENAI_API_KEY (or pixyproxy key set openai) to generate real images",
            )
        try:
            confirmed = provider.check(timeout=PROVIDER_CHECK_TIMEOUT)
        except PixyProxyException as error:
            return Check(
                "image provider",
                "fail",
                f"{detail}: {error.message}",
                "check OPENAI_API_KEY, OPENAI_BASE_URL and OPENAI_IMAGE_MODEL",
            )
        return Check("image provider", "ok", f"{detail}: {confirmed}")

    def _check_keyring(self) -> Check:
        try:
            status = describe_keyring()
        except Exception as error:  # noqa: BLE001 - a broken keyring install must not stop doctor
            return Check("keyring", "fail", f"keyring failed to load: {error}")
        if status.problem or status.warning:
            detail = f"{status.backend}: {status.problem or status.warning}"
            return Check("keyring", "warn", detail, status.fix)
        return Check("keyring", "ok", status.backend)

    def _check_secrets(self) -> Check:
        """Where the OpenAI API key and the database password come from."""
        from pixyproxy_cli.service.config import ConfigService

        sources = ConfigService().secret_sources()
        detail = "; ".join(f"{key}: {source}" for key, source in sources.items())
        return Check("secrets", "ok", detail or "the settings could not be read")


SEARCH_CHECK = "search index"


ROWS_CHECK = "image rows"
USERS_CHECK = "user names"


def search_index_check(min_token_size: int) -> Check:
    """The search check of a MariaDB whose InnoDB indexes words of ``min_token_size`` on.

    The search rule (core/search.py) sends the index words of 3 letters or more; a server
    that indexes only longer ones finds nothing for the shorter of those.
    """
    if min_token_size <= MIN_INDEXED_LENGTH:
        return Check(
            SEARCH_CHECK, "ok", f"InnoDB FULLTEXT (innodb_ft_min_token_size {min_token_size})"
        )
    return Check(
        SEARCH_CHECK,
        "warn",
        f"innodb_ft_min_token_size is {min_token_size}: searches for words of "
        f"{MIN_INDEXED_LENGTH} to {min_token_size - 1} letters find nothing",
        f"set innodb_ft_min_token_size={MIN_INDEXED_LENGTH} in the MariaDB server's "
        "configuration, restart it, and rebuild the index (OPTIMIZE TABLE images)",
    )


CHUNK = 500
SAMPLE = 5
PROVIDER_CHECK_TIMEOUT = 5.0
"""Seconds doctor waits for the provider's one check request."""


def _sample(names: list[str]) -> str:
    shown = ", ".join(names[:SAMPLE])
    return shown + (f" and {len(names) - SAMPLE} more" if len(names) > SAMPLE else "")


def _directory_check(root: Path) -> Check:
    if root.is_dir():
        if os.access(root, os.W_OK | os.X_OK):
            return Check("image directory", "ok", str(root))
        return Check(
            "image directory",
            "fail",
            f"{root} is not writable",
            "fix its permissions, or point IMAGE_DIR elsewhere",
        )
    if root.exists():
        return Check("image directory", "fail", f"{root} is not a directory", "set IMAGE_DIR")
    parent = next((p for p in root.parents if p.exists()), None)
    if parent is not None and os.access(parent, os.W_OK | os.X_OK):
        return Check("image directory", "ok", f"{root} (created on first generate)")
    return Check(
        "image directory",
        "fail",
        f"{root} does not exist and cannot be created",
        "create it, or point IMAGE_DIR elsewhere",
    )
