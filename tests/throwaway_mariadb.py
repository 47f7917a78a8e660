"""A throwaway MariaDB server of the test's own: its own data directory, port and socket.

Tests that stop, kill or restart a database use this one and never the machine's shared
server: it is started from ``/usr/sbin/mariadbd`` with ``--no-defaults`` (no system config),
``--skip-grant-tables`` (root, no password, nothing to set up), and stopped by its own pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import free_port

MARIADBD = Path("/usr/sbin/mariadbd")


class ThrowawayMariaDB:
    """One ``mariadbd`` process under ``root``; ``start``, ``kill``, ``stop``, ``restart``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.datadir = root / "data"
        self.socket = root / "mariadb.sock"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def install(self) -> ThrowawayMariaDB:
        install_db = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        assert install_db, "mariadb-install-db is missing (Debian: mariadb-server)"
        subprocess.run(
            [
                install_db,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return self

    def start(self) -> ThrowawayMariaDB:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.process = subprocess.Popen(
            [
                str(MARIADBD),
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self.root / 'mariadbd.pid'}",
                f"--log-error={self.root / 'error.log'}",
                "--user=root",
                "--skip-grant-tables",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not self.answers():
            assert self.process.poll() is None, self.error_log()
            assert time.monotonic() < deadline, "the throwaway MariaDB did not start"
            time.sleep(0.1)
        return self

    def answers(self) -> bool:
        import mysql.connector

        try:
            mysql.connector.connect(
                host="127.0.0.1", port=self.port, user="root", connection_timeout=1
            ).close()
        except mysql.connector.Error:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL, as a crash would: no clean shutdown."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM: a clean shutdown."""
        self._end(signal.SIGTERM)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _end(self, sig: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, sig)  # this server's own pid, nothing found by name
            self.process.wait(60)

    def error_log(self) -> str:
        path = self.root / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def throwaway_mariadb(tmp_path_factory: pytest.TempPathFactory):
    """A started throwaway MariaDB, killed after the test (its files go with tmp_path)."""
    if not MARIADBD.exists():
        reason = f"{MARIADBD} is missing (Debian: mariadb-server)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    server = ThrowawayMariaDB(tmp_path_factory.mktemp("mariadb")).install().start()
    try:
        yield server
    finally:
        server.kill()
