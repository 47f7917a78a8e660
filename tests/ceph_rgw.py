"""A throwaway S3 server of the test's own: Ceph's radosgw on a one-monitor, one-OSD cluster.

Everything lives under one temporary folder (configuration, monitor store, sockets, logs) and
listens on free loopback ports; each daemon runs in the foreground as a child of the test and
is stopped by its own pid. The OSD keeps its objects in memory (``memstore``): nothing to
format, nothing left on disk. radosgw (``beast``) is the only real S3 implementation Debian
offers: it checks SigV4 signatures (presigned URLs included) and honours conditional writes
(``If-None-Match: *`` answers 412 when the key exists), which the object store relies on.

Needs Debian's ceph-mon, ceph-osd and radosgw (``.ci/run`` installs them).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.helpers import free_port

DAEMONS = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph")
REGION = "us-east-1"


def missing() -> str | None:
    """What this machine lacks to run the gateway, or None."""
    for command in DAEMONS:
        if shutil.which(command) is None:
            return f"{command} is missing (Debian: ceph-mon, ceph-osd, radosgw)"
    return None


@dataclass
class CephGateway:
    """One monitor, one in-memory OSD and one radosgw, with one S3 user and its keys."""

    root: Path
    mon_port: int = field(default_factory=free_port)
    mon_v1_port: int = field(default_factory=free_port)
    port: int = field(default_factory=free_port)
    access_key: str = field(default_factory=lambda: "PIXY" + secrets.token_hex(8).upper())
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(30))
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.root / "ceph.conf"

    def env(self, bucket: str, prefix: str = "images") -> dict[str, str]:
        """The settings that point pixyproxy at ``bucket`` on this gateway."""
        return {
            "IMAGE_STORE": f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def write_config(self) -> None:
        root = self.root
        for folder in ("run", "log", "mon", "osd/osd.0", "rgw"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        fsid = str(uuid.uuid4())
        self.config.write_text(
            f"""[global]
fsid = {fsid}
mon host = [v2:127.0.0.1:{self.mon_port},v1:127.0.0.1:{self.mon_v1_port}]
mon initial members = a
# A test bed on loopback: no cephx keys to hand around, plain (crc) messenger modes.
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
ms bind ipv6 = false
# One OSD: one copy of everything, few placement groups, and no warnings about either.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon data avail warn = 1
mon data avail crit = 0
run dir = {root}/run
admin socket = {root}/run/$name.asok
log file = {root}/log/$name.log
pid file = {root}/run/$name.pid
mon data = {root}/mon/$name
osd data = {root}/osd/$name
osd objectstore = memstore
memstore device bytes = 1073741824
client mount timeout = 30
rados mon op timeout = 30
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:{self.port}
rgw data = {root}/rgw
rgw dns name = 127.0.0.1
""",
            encoding="utf-8",
        )
        self._run(
            "monmaptool", "--create", "--fsid", fsid, "--addv", "a",
            f"[v2:127.0.0.1:{self.mon_port},v1:127.0.0.1:{self.mon_v1_port}]",
            str(root / "monmap"),
        )  # fmt: skip
        self._run("ceph-mon", "-c", str(self.config), "--mkfs", "-i", "a", "--monmap",
                  str(root / "monmap"))  # fmt: skip

    def _run(self, *command: str, timeout: float = 60) -> str:
        done = subprocess.run(
            [
                *command,
                *(["-c", str(self.config)] if command[0] in ("ceph", "radosgw-admin") else []),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr or done.stdout}")
        return done.stdout

    def _daemon(self, *command: str) -> None:
        log = (self.root / "log" / f"{command[0]}.out").open("ab")
        self.processes.append(
            subprocess.Popen(
                [*command, "-f", "-c", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def start(self, timeout: float = 120) -> CephGateway:
        """Start the monitor, the OSD and the gateway; make the S3 user. Raises RuntimeError."""
        self.write_config()
        self._daemon("ceph-mon", "-i", "a")
        osd_id = str(uuid.uuid4())
        self._run("ceph", "osd", "new", osd_id, "0")
        self._run("ceph-osd", "-c", str(self.config), "-i", "0", "--mkfs", "--osd-uuid", osd_id)
        self._daemon("ceph-osd", "-i", "0")
        self._run("ceph", "osd", "crush", "add", "osd.0", "1.0", "host=localhost", "root=default")
        self._daemon("radosgw", "-n", "client.rgw")
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                if httpx.get(self.endpoint, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"radosgw did not answer within {timeout:g} s:\n{self.log()}")
            time.sleep(0.2)
        self._run(
            "radosgw-admin", "user", "create", "--uid=pixyproxy", "--display-name=pixyproxy",
            f"--access-key={self.access_key}", f"--secret={self.secret_key}",
        )  # fmt: skip
        return self

    def _check_alive(self) -> None:
        for process in self.processes:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{process.args[0]} exited ({process.returncode}):\n{self.log()}"
                )

    def create_bucket(self, name: str) -> None:
        """Create a bucket with a signed request (a presigned PUT of the bucket itself)."""
        from datetime import timedelta

        import obstore
        from obstore.store import S3Store

        store = S3Store(
            name,
            endpoint=self.endpoint,
            access_key_id=self.access_key,
            secret_access_key=self.secret_key,
            region=REGION,
            client_options={"allow_http": True},
            virtual_hosted_style_request=False,
        )
        url = obstore.sign(store, "PUT", "", timedelta(seconds=60))
        answer = httpx.put(url, timeout=30)
        if answer.status_code != 200:
            raise RuntimeError(f"creating bucket {name}: {answer.status_code} {answer.text}")

    def usage(self) -> dict[str, object]:
        """radosgw-admin's view of the user's buckets (for assertions that count objects)."""
        return json.loads(self._run("radosgw-admin", "bucket", "stats", "--uid=pixyproxy"))

    def log(self) -> str:
        lines = []
        for path in sorted((self.root / "log").glob("*")):
            text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            lines.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(lines)

    def stop(self) -> None:
        """Stop every daemon this gateway started, by pid (gateway first, monitor last)."""
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
