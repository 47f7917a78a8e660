"""A throwaway MariaDB Galera cluster of the test's own: three nodes on loopback ports.

Each node has its own data directory, socket, SQL port and Galera ports under one temporary
folder, and is stopped by its own pid: no test touches the machine's shared MariaDB. The
first node is bootstrapped (``--wsrep-new-cluster``); the others join it with a state
transfer by mariabackup (``--wsrep-sst-method=mariabackup``), as a real deployment would.

Needs Debian's galera-4, mariadb-backup and socat (``.ci/run`` installs them).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import free_port

MARIADBD = Path("/usr/sbin/mariadbd")
GALERA = Path("/usr/lib/galera/libgalera_smm.so")
SST_USER, SST_PASSWORD = "sst", "sst-password"


def missing() -> str | None:
    """What this machine lacks to run a cluster, or None."""
    for path in (MARIADBD, GALERA):
        if not path.exists():
            return f"{path} is missing (Debian: mariadb-server, galera-4)"
    for command in ("mariabackup", "socat", "mariadb-install-db"):
        if shutil.which(command) is None:
            return f"{command} is missing (Debian: mariadb-backup, socat, mariadb-server)"
    return None


@dataclass
class GaleraNode:
    """One node: its folder, ports and process."""

    root: Path
    port: int = field(default_factory=free_port)
    galera_port: int = field(default_factory=free_port)
    ist_port: int = field(default_factory=free_port)
    sst_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.root / "my.cnf"

    @property
    def socket(self) -> Path:
        return self.root / "mariadb.sock"

    def write_config(self, peers: list[GaleraNode]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "data").mkdir(exist_ok=True)
        addresses = ",".join(f"127.0.0.1:{peer.galera_port}" for peer in peers)
        self.config.write_text(
            "\n".join(
                [
                    "[mysqld]",
                    f"datadir={self.root / 'data'}",
                    f"socket={self.socket}",
                    f"port={self.port}",
                    "bind-address=127.0.0.1",
                    f"pid-file={self.root / 'mariadbd.pid'}",
                    f"log-error={self.root / 'error.log'}",
                    "user=root",
                    "innodb-buffer-pool-size=32M",
                    "binlog_format=ROW",
                    "default_storage_engine=InnoDB",
                    "innodb_autoinc_lock_mode=2",
                    "wsrep_on=ON",
                    f"wsrep_provider={GALERA}",
                    "wsrep_cluster_name=pixyproxy-test",
                    f"wsrep_cluster_address=gcomm://{addresses}",
                    f"wsrep_node_address=127.0.0.1:{self.galera_port}",
                    f"wsrep_node_incoming_address=127.0.0.1:{self.port}",
                    "wsrep_provider_options="
                    f'"gmcast.listen_addr=tcp://127.0.0.1:{self.galera_port};'
                    f'ist.recv_addr=127.0.0.1:{self.ist_port};gcache.size=16M"',
                    f"wsrep_sst_receive_address=127.0.0.1:{self.sst_port}",
                    "wsrep_sst_method=mariabackup",
                    f"wsrep_sst_auth={SST_USER}:{SST_PASSWORD}",
                    "",
                ]
            )
        )

    def start(self, *extra: str, timeout: float = 120) -> None:
        """Start the node and wait until it is synced with the cluster (or raise)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.process = subprocess.Popen(
            [str(MARIADBD), f"--defaults-file={self.config}", *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while self.status("wsrep_local_state_comment") != "Synced":
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Galera node did not sync:\n{self.error_log()}")
            time.sleep(0.2)

    def status(self, name: str) -> str | None:
        """A status variable, or None while the node does not answer."""
        try:
            rows = self.run(f"SHOW STATUS LIKE '{name}'")
        except Exception:  # noqa: BLE001 - not up yet
            return None
        return str(rows[0][1]) if rows else None

    def run(self, *statements: str, database: str | None = None) -> list[tuple[object, ...]]:
        """Run statements as root over the node's TCP port; the last one's rows."""
        import mysql.connector

        connection = mysql.connector.connect(
            host="127.0.0.1",
            port=self.port,
            user="root",
            password="",
            database=database,
            connection_timeout=5,
        )
        try:
            cursor = connection.cursor()
            rows: list[tuple[object, ...]] = []
            for statement in statements:
                cursor.execute(statement)
                rows = list(cursor.fetchall()) if cursor.with_rows else []
            connection.commit()
            return rows
        finally:
            connection.close()

    def kill(self) -> None:
        """kill -9: the node dies as a crashed machine would."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        """Shut the node down cleanly (by its own pid), or kill it after 60 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.kill()

    def error_log(self) -> str:
        path = self.root / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(no error log)"


class GaleraCluster:
    """Three nodes: ``start`` bootstraps the first and joins the others; ``stop`` stops all."""

    def __init__(self, root: Path, size: int = 3) -> None:
        self.nodes = [GaleraNode(root / f"node{number}") for number in range(1, size + 1)]

    def start(self) -> GaleraCluster:
        for node in self.nodes:
            node.write_config(self.nodes)
        first = self.nodes[0]
        subprocess.run(
            [
                shutil.which("mariadb-install-db") or "mariadb-install-db",
                f"--defaults-file={first.config}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        first.start("--wsrep-new-cluster")
        first.run(
            f"CREATE USER '{SST_USER}'@'localhost' IDENTIFIED BY '{SST_PASSWORD}'",
            "GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, SLAVE MONITOR "
            f"ON *.* TO '{SST_USER}'@'localhost'",
        )
        for node in self.nodes[1:]:  # one state transfer at a time: the donor serves one
            node.start()
        return self

    def size(self) -> int:
        """The cluster's size as the first answering node sees it."""
        for node in self.nodes:
            value = node.status("wsrep_cluster_size")
            if value is not None:
                return int(value)
        return 0

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
