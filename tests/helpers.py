"""Small helpers shared by the tests."""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

EXECUTABLE = Path(sys.executable).parent / "pixyproxy"


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb:
    a few hundred bytes, gigabytes once decoded). Its pixel data is a few rows only."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    pixels = zlib.compress(b"\0" * (width + 1) * 4)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (so connecting to it is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_server(
    env: dict[str, str],
    log_path: Path,
    *args: str,
    tls: ssl.SSLContext | None = None,
    open_files: int | None = None,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """A real ``pixyproxy serve ARGS`` on a free port, its output in ``log_path``; stopped after.

    With ``tls`` (the context that trusts its certificate, given in ARGS) it is https; with
    ``open_files``, the process may have at most that many (``ulimit -n``).
    """
    port = free_port()
    command = [str(EXECUTABLE), "serve", "--port", str(port), *args]
    if open_files is not None:
        command = ["bash", "-c", f'ulimit -n {open_files}; exec "$@"', "serve", *command]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base_url}/openapi.json", timeout=1, verify=tls or True)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"serve did not start:\n{log_path.read_text()}") from None
                time.sleep(0.1)
        yield base_url, process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def add_user(env: dict[str, str], name: str, password: str) -> None:
    """``pixyproxy user add NAME`` with the installed command, the password on stdin."""
    subprocess.run(
        [str(EXECUTABLE), "user", "add", name, "--class-key", "k", "--password-stdin"],
        input=password,
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )


def concurrently(base_url: str, workers: int, requests: list[tuple]) -> list[httpx.Response]:
    """Send requests from ``workers`` threads, each with its own client (httpx's connection
    pool is not meant to be shared by threads racing on it)."""
    local = threading.local()
    clients: list[httpx.Client] = []

    def send(request: tuple) -> httpx.Response:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base_url, timeout=60)
            clients.append(local.client)
        method, path, body = request
        return local.client.request(method, path, json=body)

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(send, requests))
    finally:
        for client in clients:
            client.close()
