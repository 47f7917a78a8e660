"""``AdminService``: set-up and diagnosis for ``pixyproxy db init`` and ``pixyproxy doctor``.

Each check reports what it found and, when something is wrong, the fix. Checks never raise:
a failure becomes a ``Check`` with status ``fail``, so one broken part never hides the rest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pixyproxy_cli.core.exceptions import PixyProxyException
from pixyproxy_cli.core.settings import Settings
from pixyproxy_cli.data.credentials import describe_keyring
from pixyproxy_cli.data.database import Database
from pixyproxy_cli.data.providers import ImageProviderInterface
from pixyproxy_cli.data.storage import ImageStoreInterface
from pixyproxy_cli.service.public_prompts import PromptService

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """One finding of ``diagnose``: what was checked, how it stands, and the fix if any."""

    name: str
    status: Status
    detail: str
    fix: str | None = None


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
        prompts: PromptService,
        store: ImageStoreInterface,
        provider: ImageProviderInterface,
        provider_notice: str | None,
    ) -> None:
        self._settings = settings
        self._database = database
        self._prompts = prompts
        self._store = store
        self._provider = provider
        self._provider_notice = provider_notice

    def init_database(self) -> DatabaseStatus:
        """Create or migrate the schema now. Raises DBConnectionError, SchemaVersionError."""
        version = self._database.schema_version()
        return DatabaseStatus(
            backend=self._database.dialect,
            location=self._database.location,
            schema_version=version,
            driver=self._database.driver_name(),
        )

    def diagnose(self) -> list[Check]:
        """Every check, in the order a person would fix things."""
        checks = [self._check_database()]
        checks.extend(self._check_images(checks[0].status == "ok"))
        checks.append(self._check_provider())
        checks.append(self._check_keyring())
        return checks

    def _check_database(self) -> Check:
        name = f"database ({self._database.dialect})"
        try:
            status = self.init_database()
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

    def _check_images(self, database_ok: bool) -> list[Check]:
        root = Path(self._settings.image_dir)
        checks = [_directory_check(root)]
        if not database_ok:
            return checks
        try:
            rows = self._prompts.count_images()
            files = sum(1 for _ in self._store.list_filenames())
        except PixyProxyException as error:
            return [*checks, Check("images", "fail", str(error))]
        detail = f"{rows} row(s), {files} file(s)"
        if rows != files:
            return [
                *checks,
                Check(
                    "images",
                    "warn",
                    f"{detail}: rows and files do not match",
                    "an interrupted generate can leave an orphan file; a removed file "
                    "leaves a row whose content is gone",
                ),
            ]
        return [*checks, Check("images", "ok", detail)]

    def _check_provider(self) -> Check:
        model = getattr(self._provider, "model", None) or "placeholder-v1"
        detail = f"{self._provider.name}, model {model}"
        base_url = getattr(self._provider, "base_url", None)
        if base_url:
            detail += f", at {base_url}"
        if self._provider_notice:
            return Check(
                "image provider",
                "warn",
                detail,
                "set OPENAI_API_KEY to generate real images",
            )
        return Check("image provider", "ok", detail)

    def _check_keyring(self) -> Check:
        try:
            status = describe_keyring()
        except Exception as error:  # noqa: BLE001 - a broken keyring install must not stop doctor
            return Check("keyring", "fail", f"keyring failed to load: {error}")
        if status.problem:
            return Check("keyring", "warn", f"{status.backend}: {status.problem}", status.fix)
        return Check("keyring", "ok", status.backend)


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
