"""Faults on the way to disk: a process killed between file and row, and a full disk.

Afterwards there is never a row without its file, and doctor --fix clears any file without
its row; running it again changes nothing.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from tests.conftest import settings_environment
from tests.helpers import EXECUTABLE

runner = CliRunner()


def installed(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXECUTABLE), *args], env=env, capture_output=True, text=True, timeout=120
    )


def consistency(env: dict[str, str]) -> dict:
    doctor = json.loads(installed(env, "doctor", "--json", "--min-age", "0").stdout)
    return {check["name"]: check for check in doctor}["images"]


class WriteLock:
    """Holds the images table so that an INSERT into it waits."""

    def __init__(self, settings, mysql_server) -> None:
        self.settings = settings
        self.mysql_server = mysql_server
        self.connection = None

    def __enter__(self) -> WriteLock:
        if self.settings.db_backend == "sqlite":
            self.connection = sqlite3.connect(self.settings.sqlite_path, isolation_level=None)
            self.connection.execute("BEGIN IMMEDIATE")
        else:
            self.connection = self.mysql_server.connect(self.settings.db_name)
            self.connection.cursor().execute("LOCK TABLES images WRITE")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.settings.db_backend == "sqlite":
            self.connection.execute("ROLLBACK")
        else:
            self.connection.cursor().execute("UNLOCK TABLES")
        self.connection.close()


def test_a_generate_killed_between_file_and_row_leaves_only_an_orphan_that_fix_removes(
    backend_settings, request
):
    mysql_server = (
        request.getfixturevalue("mysql_server") if backend_settings.db_backend == "mysql" else None
    )
    env = {**os.environ, **settings_environment(backend_settings), "DB_POOL_TIMEOUT": "60"}
    env.pop("OPENAI_API_KEY", None)
    assert installed(env, "db", "init").returncode == 0
    images = backend_settings.image_dir

    with WriteLock(backend_settings, mysql_server):
        process = subprocess.Popen(
            [str(EXECUTABLE), "generate", "doomed"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not (images.exists() and any(images.glob("*.png"))):
            assert process.poll() is None, "generate ended before writing its file"
            assert time.monotonic() < deadline, "generate never wrote its file"
            time.sleep(0.02)
        time.sleep(0.2)  # it is now waiting for the lock to insert its row
        process.send_signal(signal.SIGKILL)
        process.wait()
    time.sleep(0.5)  # MariaDB notices the dead connection and rolls its work back

    [orphan] = [p.name for p in images.glob("*.png")]
    assert json.loads(installed(env, "list", "--json").stdout) == []
    found = consistency(env)
    assert found["status"] == "warn"
    assert f"1 orphan file(s) without a row: {orphan}" in found["detail"]
    assert found["fix"] == "pixyproxy doctor --fix removes the orphan files"

    fixed = installed(env, "doctor", "--fix", "--min-age", "0")
    assert f"removed 1 orphan file(s): {orphan}" in fixed.stdout
    assert list(images.iterdir()) == []
    again = consistency(env)
    assert (again["status"], again["detail"]) == ("ok", "0 row(s), 0 file(s)")


def test_young_unmatched_files_are_left_alone(sqlite_settings):
    env = {**settings_environment(sqlite_settings)}
    assert runner.invoke(app, ["db", "init"], env=env).exit_code == 0
    sqlite_settings.image_dir.mkdir(parents=True)
    fresh = sqlite_settings.image_dir / f"{uuid.uuid4()}.png"
    fresh.write_bytes(b"in flight")

    result = runner.invoke(app, ["doctor", "--fix"], env=env)

    assert "1 file(s) too recent to judge" in result.stdout
    assert fresh.exists()


def test_leftover_temporary_files_are_orphans_too(sqlite_settings):
    env = {**settings_environment(sqlite_settings)}
    assert runner.invoke(app, ["db", "init"], env=env).exit_code == 0
    sqlite_settings.image_dir.mkdir(parents=True)
    leftover = sqlite_settings.image_dir / ".incoming-abc123"
    leftover.write_bytes(b"half a file")
    old = time.time() - 3600
    os.utime(leftover, (old, old))

    result = runner.invoke(app, ["doctor", "--fix"], env=env)

    assert "removed 1 orphan file(s): .incoming-abc123" in result.stdout
    assert not leftover.exists()


def test_fix_never_touches_files_pixyproxy_did_not_make(sqlite_settings):
    env = {**settings_environment(sqlite_settings)}
    assert runner.invoke(app, ["db", "init"], env=env).exit_code == 0
    images = sqlite_settings.image_dir
    images.mkdir(parents=True)
    orphan = f"{uuid.uuid4()}.png"
    for name in ("holiday.jpg", "notes.txt", orphan):
        (images / name).write_bytes(b"x")
        old = time.time() - 3600
        os.utime(images / name, (old, old))

    result = runner.invoke(app, ["doctor", "--fix"], env=env)

    assert sorted(p.name for p in images.iterdir()) == ["holiday.jpg", "notes.txt"]
    assert f"removed 1 orphan file(s): {orphan}" in result.stdout
    assert "2 file(s) not made by pixyproxy, left alone: holiday.jpg, notes.txt" in result.stdout
    assert "fix: keep other files out of IMAGE_DIR (pixyproxy never removes them)" in result.stdout
    assert result.exit_code == 0


# -- a full disk ----------------------------------------------------------------------------


def assert_nothing_left(images: Path, env: dict[str, str]) -> None:
    assert runner.invoke(app, ["list", "--json"], env=env).stdout == "[]\n"
    assert [p.name for p in images.iterdir() if p.name != "filler"] == []


def test_enospc_while_writing_is_one_clear_line_and_leaves_nothing(sqlite_settings, monkeypatch):
    env = settings_environment(sqlite_settings)
    sqlite_settings.image_dir.mkdir(parents=True)
    real_fsync = os.fsync

    def full(fd):
        if os.fstat(fd).st_size > 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)

    result = runner.invoke(app, ["generate", "a fox"], env=env)

    monkeypatch.undo()
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith("Error: Cannot write ")
    assert result.stderr.splitlines()[-1].endswith(": the disk is full")
    assert_nothing_left(sqlite_settings.image_dir, env)


@contextlib.contextmanager
def own_tmpfs(mountpoint: Path, size: str, why: str = ""):
    """A tmpfs of ``size`` of this test's own at ``mountpoint``; skipped where not allowed."""
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}){why}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs, nearly full; skipped where mounting is not allowed."""
    with own_tmpfs(tmp_path / "tiny", "256k", "; ENOSPC is simulated") as mountpoint:
        filler = mountpoint / "filler"
        with filler.open("wb") as handle:
            with contextlib.suppress(OSError):  # filling it up is the point
                handle.write(b"\0" * (256 * 1024 - 4096))
        yield mountpoint


def test_a_really_full_disk_for_the_cli_and_the_api(sqlite_settings, tiny_disk):
    settings = replace(sqlite_settings, image_dir=tiny_disk)
    env = {**settings_environment(settings), "IMAGE_DIR": str(tiny_disk)}

    # The placeholder's 1024x1024 PNG is about 10 KB: more than the 4 KiB the disk has left.
    result = runner.invoke(app, ["generate", "a fox", "--size", "1024x1024"], env=env)

    assert result.exit_code == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"Error: Cannot write {tiny_disk}/")
    assert last.endswith(".png: the disk is full")
    assert_nothing_left(tiny_disk, env)

    from fastapi.testclient import TestClient

    from pixyproxy_cli.data.init import create_database
    from pixyproxy_cli.service.init import build_services
    from pixyproxy_cli.web.app import create_app

    database = create_database(settings)
    try:
        services = build_services(settings, database=database)
        with TestClient(create_app(services)) as client:
            response = client.post("/image", json={"prompt": "a fox"})
    finally:
        database.close()
    assert response.status_code == 507
    assert response.json()["message"] == "There is no space left to store the image"
    assert str(tiny_disk) not in response.text
    assert_nothing_left(tiny_disk, env)


@pytest.fixture
def tiny_mount(tmp_path):
    """An empty 1 MiB tmpfs of this test's own; skipped where mounting is not allowed."""
    with own_tmpfs(tmp_path / "small", "1m") as mountpoint:
        yield mountpoint


def fill(mountpoint: Path) -> None:
    """Fill what is left of the file system, so that the next page SQLite needs has no room."""
    with contextlib.suppress(OSError), (mountpoint / "filler").open("wb") as handle:
        while True:
            handle.write(b"\0" * 4096)
            handle.flush()


def test_a_full_disk_under_the_sqlite_database_is_507_and_exit_1(sqlite_settings, tiny_mount):
    from fastapi.testclient import TestClient

    from pixyproxy_cli.data.init import create_database
    from pixyproxy_cli.service.init import build_services
    from pixyproxy_cli.web.app import create_app

    settings = replace(sqlite_settings, sqlite_path=tiny_mount / "pixyproxy.db")
    env = {**settings_environment(settings), "SQLITE_PATH": str(settings.sqlite_path)}
    long_prompt = "a fox " * 5000  # a row that needs new pages
    database = create_database(settings)
    try:
        services = build_services(settings, database=database)
        with TestClient(create_app(services)) as client:
            first = client.post("/image", json={"prompt": "before"})  # the server is running
            fill(tiny_mount)
            served = [client.post("/image", json={"prompt": long_prompt}) for _ in range(3)]
            cli = runner.invoke(app, ["generate", long_prompt], env=env)
    finally:
        database.close()

    assert first.status_code == 201
    assert [response.status_code for response in served] == [507, 507, 507]
    assert served[0].json()["message"] == "There is no space left to store the image"
    assert str(tiny_mount) not in served[0].text
    assert cli.exit_code == 1
    assert cli.stderr.splitlines()[-1].endswith(": the disk is full")
    (tiny_mount / "filler").unlink()
    listed = json.loads(runner.invoke(app, ["list", "--json"], env=env).stdout)
    assert [image["prompt"] for image in listed] == ["before"]
    assert len(list(settings.image_dir.iterdir())) == 1  # no file left by a refused write
