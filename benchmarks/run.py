"""Run every pixyproxy benchmark and print each figure beside its baseline from the same run.

    .venv/bin/python benchmarks/run.py            # the full run (about five minutes)
    .venv/bin/python benchmarks/run.py --quick    # smaller sizes, for a smoke test

Machines here are noisy, so absolute times mean little: every figure is compared with a
baseline measured in the same run, interleaved where it can be, and the ratio is what the
target applies to. Needs a MySQL-protocol server (TEST_MYSQL_* or root@127.0.0.1:3306) and
``wrk`` (Debian: apt-get install wrk). Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PIXYPROXY = str(BIN / "pixyproxy")
MYSQL = {
    "host": os.environ.get("TEST_MYSQL_HOST", "127.0.0.1"),
    "port": int(os.environ.get("TEST_MYSQL_PORT", "3306")),
    "user": os.environ.get("TEST_MYSQL_USER", "root"),
    "password": os.environ.get("TEST_MYSQL_PASSWORD", ""),
}


@dataclass
class Row:
    name: str
    figure: str
    baseline: str
    ratio: float | None
    target: str
    ok: bool | None

    def cells(self) -> list[str]:
        ratio = "-" if self.ratio is None else f"{self.ratio:.2f}"
        verdict = {True: "met", False: "MISSED", None: "-"}[self.ok]
        return [self.name, self.figure, self.baseline, ratio, self.target, verdict]


def print_table(rows: list[Row]) -> None:
    header = ["benchmark", "pixyproxy", "baseline", "ratio", "target", "result"]
    table = [header] + [row.cells() for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for index, line in enumerate(table):
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) + " |")
        if index == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


# -- processes ---------------------------------------------------------------------------


def timed_run(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall time (s) and peak RSS (KiB) of one run, output discarded."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command} failed: {process.stderr.read().decode()[-2000:]}")
    process.stderr.close()
    return elapsed, usage.ru_maxrss


def interleaved_medians(*commands: list[str], env: dict[str, str], runs: int) -> list[float]:
    """Median wall times of the commands, run in turn (after one warm-up each)."""
    times: list[list[float]] = [[] for _ in commands]
    for command in commands:
        timed_run(command, env)
    for _ in range(runs):
        for command, samples in zip(commands, times, strict=True):
            samples.append(timed_run(command, env)[0])
    return [statistics.median(samples) for samples in times]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def server(command: list[str], env: dict[str, str], port: int, cwd: Path | None = None):
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=cwd)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(
                        f"{command} did not start: {log.read().decode()[-2000:]}"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(15)
        log.close()


@dataclass
class WrkResult:
    requests_per_second: float
    p99_ms: float
    errors: int
    megabytes_per_second: float


def wrk(url: str, seconds: int, connections: int = 32, header: str | None = None) -> WrkResult:
    extra = ["-H", header] if header else []
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *extra, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99_value, p99_unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()
    p99 = float(p99_value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99_unit]
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(n) for n in match.groups())
    transfer_value, transfer_unit = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", output).groups()
    scale = {"B": 1 / 2**20, "KB": 1 / 1024, "MB": 1.0, "GB": 1024.0}[transfer_unit]
    return WrkResult(rps, p99, errors, float(transfer_value) * scale)


# -- data --------------------------------------------------------------------------------


def mysql_connection(database: str | None = None):
    import mysql.connector

    return mysql.connector.connect(
        **MYSQL, database=database, charset="utf8mb4", collation="utf8mb4_unicode_ci"
    )


def seed_rows(execute_many: Callable[[str, list[tuple]], None], count: int, style: str) -> None:
    """Insert ``count`` public image rows (files are not needed for listing)."""
    stamp = "2026-11-26 08:00:00.000000"
    marker = "%s" if style == "mysql" else "?"
    sql = (
        "INSERT INTO images (guid, filename, prompt, provider, model, media_type, created_at, "
        "updated_at, width, height, input_tokens, output_tokens) "
        f"VALUES ({', '.join([marker] * 12)})"
    )
    batch: list[tuple] = []
    for n in range(count):
        guid = str(uuid.uuid4())
        batch.append(
            (
                guid,
                f"{guid}.png",
                f"a lighthouse at dawn, study {n}",
                "placeholder",
                "placeholder-v1",
                "image/png",
                stamp,
                stamp,
                1024,
                1024,
                50,
                1056,
            )
        )
        if len(batch) == 5000:
            execute_many(sql, batch)
            batch = []
    if batch:
        execute_many(sql, batch)


def mysql_env(name: str) -> dict[str, str]:
    """The environment that selects the MariaDB database ``name``."""
    return {
        **os.environ,
        "DB_BACKEND": "mysql",
        "DB_HOST": MYSQL["host"],
        "DB_PORT": str(MYSQL["port"]),
        "DB_USER": MYSQL["user"],
        "DB_PASSWORD": MYSQL["password"],
        "DB_NAME": name,
    }


@contextlib.contextmanager
def mysql_database(rows: int) -> Iterator[dict[str, str]]:
    """A fresh MariaDB database with ``rows`` images; yields the environment that selects it."""
    name = f"pixyproxy_bench_{uuid.uuid4().hex[:8]}"
    env = mysql_env(name)
    subprocess.run([PIXYPROXY, "db", "init"], env=env, check=True, capture_output=True)
    connection = mysql_connection(name)
    try:
        cursor = connection.cursor()

        def execute_many(sql: str, batch: list[tuple]) -> None:
            cursor.executemany(sql, batch)
            connection.commit()

        seed_rows(execute_many, rows, "mysql")
        yield env
    finally:
        connection.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        connection.close()


def add_rows(env: dict[str, str], rows: int) -> None:
    connection = mysql_connection(env["DB_NAME"])
    cursor = connection.cursor()

    def execute_many(sql: str, batch: list[tuple]) -> None:
        cursor.executemany(sql, batch)
        connection.commit()

    seed_rows(execute_many, rows, "mysql")
    connection.close()


# -- the benchmarks ----------------------------------------------------------------------


def bench_help(runs: int, work: Path) -> Row:
    env = {**os.environ, "PIXYPROXY_DATA_DIR": str(work / "help")}
    ours, bare = interleaved_medians(
        [PIXYPROXY, "--help"],
        [sys.executable, str(HERE / "baselines.py"), "typer", "--help"],
        env=env,
        runs=runs,
    )
    ratio = ours / bare
    return Row(
        "`pixyproxy --help` wall time",
        f"{ours * 1000:.0f} ms",
        f"bare 5-command Typer `--help` {bare * 1000:.0f} ms",
        ratio,
        "<= 1.0",
        ratio <= 1.0,
    )


def ten_sqlite_rows(data: Path, env: dict[str, str]) -> None:
    """A SQLite database in ``data`` with ten images' rows (made by ``db init``)."""
    subprocess.run([PIXYPROXY, "db", "init"], env=env, check=True, capture_output=True)
    import sqlite3

    connection = sqlite3.connect(data / "pixyproxy.db")
    seed_rows(
        lambda sql, batch: (connection.executemany(sql, batch), connection.commit()), 10, "sqlite"
    )
    connection.close()


def bench_startup_against(before: str, runs: int, work: Path) -> list[Row]:
    """`--help` and `list --json` (10 rows) beside the same commands of an earlier checkout.

    ``before`` is that checkout's installed ``pixyproxy`` (its own virtualenv). Both read the
    same SQLite database; a third run adds a config file of five settings to this one.
    """
    data = work / "against"
    config = work / "against-config"
    env = {**os.environ, "PIXYPROXY_DATA_DIR": str(data), "DB_BACKEND": "sqlite"}
    env["PIXYPROXY_CONFIG_DIR"] = str(config)
    env.pop("DB_HOST", None)
    ten_sqlite_rows(data, env)
    rows = []
    for label, args in (("`--help`", ["--help"]), ("`list --json`, 10 rows", ["list", "--json"])):
        ours, earlier = interleaved_medians([PIXYPROXY, *args], [before, *args], env=env, runs=runs)
        rows.append(
            Row(
                f"{label} wall time, against an earlier checkout",
                f"{ours * 1000:.0f} ms",
                f"{before}: {earlier * 1000:.0f} ms",
                ours / earlier,
                "<= 1.05",
                ours / earlier <= 1.05,
            )
        )
    settings = {
        "IMAGE_SIZE": "1536x1024",
        "IMAGE_QUALITY": "high",
        "IMAGE_FORMAT": "webp",
        "OPENAI_IMAGE_MODEL": "gpt-image-2",
        "DB_POOL_SIZE": "4",
    }
    with_config = {**env, "PIXYPROXY_CONFIG_DIR": str(work / "with-config")}
    for key, value in settings.items():
        subprocess.run(
            [PIXYPROXY, "config", "set", key, value],
            env=with_config,
            check=True,
            capture_output=True,
        )
    listing = [PIXYPROXY, "list", "--json"]
    configured_times, plain_times = [], []
    timed_run(listing, with_config)
    for _ in range(runs):  # interleaved, as interleaved_medians does (each its own env)
        configured_times.append(timed_run(listing, with_config)[0])
        plain_times.append(timed_run(listing, env)[0])
    configured, plain = statistics.median(configured_times), statistics.median(plain_times)
    rows.append(
        Row(
            "`list --json` with a config file of 5 settings",
            f"{configured * 1000:.0f} ms",
            f"no config file {plain * 1000:.0f} ms",
            configured / plain,
            "<= 1.05",
            configured / plain <= 1.05,
        )
    )
    return rows


def instructions(command: list[str], env: dict[str, str]) -> int:
    """The instructions one run executes, counted by valgrind's callgrind.

    Unlike wall time, the count does not depend on what else the machine is doing: the same
    command gives the same count to within 0.1%, so a ratio of counts resolves a 10% target
    that wall times on a shared machine (20% apart from run to run) cannot.
    """
    completed = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", completed.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count: {completed.stderr[-2000:]}")
    return int(found.group(1))


def bench_list_small(runs: int, work: Path) -> list[Row]:
    data = work / "small"
    env = {**os.environ, "PIXYPROXY_DATA_DIR": str(data), "DB_BACKEND": "sqlite"}
    env.pop("DB_HOST", None)
    ten_sqlite_rows(data, env)
    bare_app = [sys.executable, str(HERE / "baselines.py"), "typer"]
    ours, bare_list, bare_help = interleaved_medians(
        [PIXYPROXY, "list", "--json"],
        # The target's baseline: a bare Typer app running its own no-op `list --json` with
        # the same options (Typer builds pydantic adapters for any command it runs).
        [*bare_app, "list", "--json"],
        [*bare_app, "--help"],
        env=env,
        runs=runs,
    )
    ratio = ours / bare_list
    rows = [
        Row(
            "`list --json`, 10 rows, SQLite",
            f"{ours * 1000:.0f} ms",
            f"bare Typer no-op `list --json` {bare_list * 1000:.0f} ms (its `--help`: "
            f"{bare_help * 1000:.0f} ms)",
            ratio,
            "<= 1.1",
            ratio <= 1.1,
        )
    ]
    if shutil.which("valgrind"):
        # The timed runs above compiled all bytecode, so no count includes compiling.
        counted = [
            instructions(command, env)
            for command in ([PIXYPROXY, "list", "--json"], [*bare_app, "list", "--json"])
        ]
        ratio = counted[0] / counted[1]
        rows.append(
            Row(
                "the same, in instructions (callgrind)",
                f"{counted[0] / 1e6:.1f} M",
                f"bare Typer no-op `list --json` {counted[1] / 1e6:.1f} M",
                ratio,
                "<= 1.1",
                ratio <= 1.1,
            )
        )
    else:
        print(
            "valgrind is missing (apt-get install valgrind): no instruction counts", file=sys.stderr
        )
    return rows


def bench_list_large(rows: int, runs: int) -> list[Row]:
    with mysql_database(rows) as env:
        from pixyproxy_cli.data.db.public_json import PUBLIC_JSON_COLUMNS

        # Exactly the columns the listing reads, so that the ratio is our cost over the
        # driver's and the wire's, whatever the details hold.
        select = f"SELECT {', '.join(PUBLIC_JSON_COLUMNS)} FROM images ORDER BY id"
        client = [
            shutil.which("mysql") or "mysql",
            "--batch",
            "-h",
            MYSQL["host"],
            "-P",
            str(MYSQL["port"]),
            "-u",
            MYSQL["user"],
            env["DB_NAME"],
            "-e",
            select,
        ]
        if MYSQL["password"]:
            client.insert(-2, f"-p{MYSQL['password']}")
        ours, baseline = interleaved_medians(
            [PIXYPROXY, "list", "--json"], client, env=env, runs=runs
        )
        _, rss_small = timed_run([PIXYPROXY, "list", "--json"], env)
        add_rows(env, rows * 9)
        _, rss_large = timed_run([PIXYPROXY, "list", "--json"], env)
    ratio = ours / baseline
    rss_ratio = rss_large / rss_small
    return [
        Row(
            f"`list --json`, {rows:,} rows, MariaDB",
            f"{ours:.2f} s",
            f"`mysql --batch` same rows {baseline:.2f} s",
            ratio,
            "<= 2.0",
            ratio <= 2.0,
        ),
        Row(
            f"peak RSS, `list --json` {rows * 10:,} vs {rows:,} rows",
            f"{rss_large / 1024:.0f} MiB",
            f"{rss_small / 1024:.0f} MiB",
            rss_ratio,
            "<= 1.2",
            rss_ratio <= 1.2,
        ),
    ]


SEARCH_VOCABULARY = 1000
SEARCH_WORDS_PER_PROMPT = 8


def search_prompts(count: int, seed: int = 14) -> Iterator[str]:
    """Prompts of 8 words from a vocabulary of 1,000 made-up ones, in a repeatable order.

    Each word is in about 0.8% of the prompts, and a given pair of words in about 64 of a
    million: a search that a full-text index answers from two short lists, and that a
    LIKE scan has to look for across most of the table.
    """
    import random

    generator = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po"]
    vocabulary = [
        syllables[n // 100] + syllables[n // 10 % 10] + syllables[n % 10] + "n"
        for n in range(SEARCH_VOCABULARY)
    ]
    for _ in range(count):
        yield " ".join(generator.sample(vocabulary, SEARCH_WORDS_PER_PROMPT))


def bench_search(rows: int, runs: int, work: Path) -> list[Row]:
    """A two-word search's first page of 20 (newest first) vs LIKE over the same rows."""
    return [search_row(backend, rows, runs, work) for backend in ("sqlite", "mysql")]


SEARCH_LIKE = (
    "SELECT id FROM images WHERE (is_private = 0) AND prompt LIKE {a} AND prompt LIKE {b} "
    "ORDER BY id DESC LIMIT 20"
)


def search_row(backend: str, rows: int, runs: int, work: Path) -> Row:
    """One backend's search figure; the two words are in about 64 of a million prompts."""
    from pixyproxy_cli.core.filters import image_filters

    filters = image_filters(search="kalomin nerusan", order="newest")
    with search_database(backend, rows, work) as (services, execute):

        def ours() -> int:
            pages = services.prompts.get_all_images_json_pages(limit=20, filters=filters)
            return sum(len(page) for page in pages)

        def baseline() -> int:
            return len(execute(SEARCH_LIKE, ("%kalomin%", "%nerusan%")))

        found = ours()
        assert found == baseline(), (found, baseline())
        ours_times: list[float] = []
        baseline_times: list[float] = []
        for _ in range(runs):
            for action, times in ((ours, ours_times), (baseline, baseline_times)):
                started = time.perf_counter()
                action()
                times.append(time.perf_counter() - started)
    mine, theirs = statistics.median(ours_times), statistics.median(baseline_times)
    speedup = theirs / mine
    name = "SQLite FTS5" if backend == "sqlite" else "MariaDB FULLTEXT"
    return Row(
        f"search, 2 words, first {found} of {rows:,}, {name}",
        f"{mine * 1000:.2f} ms",
        f"LIKE '%word%' x2 {theirs * 1000:.1f} ms",
        speedup,
        ">= 20 (x faster)",
        speedup >= 20,
    )


@contextlib.contextmanager
def search_database(backend: str, rows: int, work: Path) -> Iterator[tuple[Any, Callable]]:
    """A database of ``backend`` with ``rows`` searchable images (schema by pixyproxy), the
    services over it, and a function that runs raw SQL with two parameters."""
    from pixyproxy_cli.core.settings import load_settings
    from pixyproxy_cli.service.init import open_services

    name = f"pixyproxy_bench_{uuid.uuid4().hex[:8]}"
    overrides: dict[str, Any] = {"data_dir": work / f"search-{backend}"}
    if backend == "mysql":
        overrides.update(
            db_backend="mysql",
            db_host=MYSQL["host"],
            db_port=MYSQL["port"],
            db_user=MYSQL["user"],
            db_password=MYSQL["password"] or None,
            db_name=name,
        )
        subprocess.run(
            [PIXYPROXY, "db", "init"], env=mysql_env(name), check=True, capture_output=True
        )
    else:
        overrides["db_backend"] = "sqlite"
    load_settings(overrides)  # fails early on a bad override
    services = open_services(overrides)
    stamp = "2026-11-26 08:00:00.000000"
    insert = (
        "INSERT INTO images (guid, filename, prompt, provider, model, media_type, created_at, "
        "updated_at) VALUES ({m}, {m}, {m}, 'placeholder', 'placeholder-v1', 'image/png', "
        f"'{stamp}', '{stamp}')"
    )
    if backend == "mysql":
        connection = mysql_connection(name)
        marker = "%s"
    else:
        import sqlite3

        with services.prompts.dependencies.uow() as db:  # the schema, by pixyproxy
            db.begin_transaction()
            db.commit_transaction()
        connection = sqlite3.connect(services.settings.sqlite_path)
        marker = "?"
    try:
        cursor = connection.cursor()
        batch: list[tuple] = []
        for prompt in search_prompts(rows):
            guid = str(uuid.uuid4())
            batch.append((guid, f"{guid}.png", prompt))
            if len(batch) == 10_000:
                cursor.executemany(insert.format(m=marker), batch)
                connection.commit()
                batch = []
        if batch:
            cursor.executemany(insert.format(m=marker), batch)
            connection.commit()
        if backend == "sqlite":
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE TABLE images")
            cursor.fetchall()

        def execute(sql: str, params: tuple) -> list[Any]:
            cursor.execute(sql.format(a=marker, b=marker), params)
            return cursor.fetchall()

        yield services, execute
    finally:
        if backend == "mysql":
            connection.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        connection.close()
        services.close()


def bench_thumbnail(seconds: int, work: Path, rounds: int) -> list[Row]:
    """A cached thumbnail vs a bare FileResponse of the same bytes; the first one vs cached."""
    env = {
        **os.environ,
        "DB_BACKEND": "sqlite",
        "PIXYPROXY_DATA_DIR": str(work / "thumbnails"),
        "GENERATE_RATE_LIMIT": "0",
    }
    env.pop("OPENAI_API_KEY", None)
    made = json.loads(
        subprocess.run(
            [PIXYPROXY, "generate", "a thumbnail", "--size", "1024x1024", "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    guid = made["guid"]
    ours_port, file_port = free_port(), free_port()
    ours_command = [PIXYPROXY, "serve", "--port", str(ours_port), "--log-level", "warning"]
    path = f"/image/{guid}/thumbnail?size=256"
    thumbnail = work / "thumbnails" / "images" / ".thumbnails" / f"{guid}-256.webp"
    with server(ours_command, env, ours_port):
        url = f"http://127.0.0.1:{ours_port}{path}"
        first_times, cached_times = [], []
        for _ in range(15):
            thumbnail.unlink(missing_ok=True)
            started = time.perf_counter()
            _http_get(url)
            first_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            _http_get(url)
            cached_times.append(time.perf_counter() - started)
        copy = work / "thumbnail-copy.webp"
        copy.write_bytes(thumbnail.read_bytes())
        base_env = {**env, "BASELINE_FILE": str(copy)}
        file_app = [
            sys.executable, "-m", "uvicorn", "--factory", "--log-level", "warning",
            "--no-access-log", "--port", str(file_port), "baselines:make_file_app",
        ]  # fmt: skip
        with server(file_app, base_env, file_port, HERE):
            baseline_url = f"http://127.0.0.1:{file_port}/image/{guid}/content"
            wrk(url, 2)
            wrk(baseline_url, 2)
            ours_rounds, base_rounds = [], []
            for _ in range(rounds):
                ours_rounds.append(wrk(url, seconds))
                base_rounds.append(wrk(baseline_url, seconds))
    ours = median_round(ours_rounds, "requests_per_second")
    base = median_round(base_rounds, "requests_per_second")
    served = ours.requests_per_second / base.requests_per_second
    first, cached = statistics.median(first_times), statistics.median(cached_times)
    made_ratio = first / cached
    return [
        Row(
            "cached thumbnail (256, WebP), 1 worker, 32 connections",
            f"{ours.requests_per_second:,.0f} req/s ({ours.errors} errors)",
            f"bare Starlette FileResponse, same bytes, {base.requests_per_second:,.0f} req/s",
            served,
            ">= 0.9",
            served >= 0.9 and ours.errors == 0,
        ),
        Row(
            "first thumbnail of a 1024x1024 PNG (made, cached, sent)",
            f"{first * 1000:.1f} ms",
            f"the cached one {cached * 1000:.1f} ms",
            made_ratio,
            "<= 5",
            made_ratio <= 5,
        ),
    ]


def _http_get(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as answer:
        return bytes(answer.read())


def bench_remote_list(rows: int, runs: int, work: Path) -> list[Row]:
    """Remote `list --json` (through a local `serve`) vs local `list --json`, same rows."""
    with mysql_database(rows) as env:
        env = {**env, "PIXYPROXY_DATA_DIR": str(work / "remote-list")}
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        client_env = {**env, "PIXYPROXY_CONFIG_DIR": str(work / "remote-client")}
        remote = [PIXYPROXY, "--server", url, "list", "--json"]
        local = [PIXYPROXY, "--local", "list", "--json"]
        serve = [PIXYPROXY, "serve", "--port", str(port), "--log-level", "warning"]
        with server(serve, env, port):
            ours, baseline = interleaved_medians(remote, local, env=client_env, runs=runs)
            _, rss_small = timed_run(remote, client_env)
            add_rows(env, rows * 9)
            _, rss_large = timed_run(remote, client_env)
    ratio = ours / baseline
    rss_ratio = rss_large / rss_small
    return [
        Row(
            f"remote `list --json`, {rows:,} rows (serve on loopback, MariaDB)",
            f"{ours:.2f} s",
            f"local `list --json` same rows {baseline:.2f} s",
            ratio,
            "<= 2.5",
            ratio <= 2.5,
        ),
        Row(
            f"peak RSS, remote `list --json` {rows * 10:,} vs {rows:,} rows",
            f"{rss_large / 1024:.0f} MiB",
            f"{rss_small / 1024:.0f} MiB",
            rss_ratio,
            "<= 1.2",
            rss_ratio <= 1.2,
        ),
    ]


def synthetic_export(directory: Path, count: int) -> None:
    """An export of ``count`` small public images, as ``pixyproxy export`` writes one."""
    import hashlib

    from pixyproxy_cli.data.providers.placeholder import render_png

    data = render_png("a lighthouse at dawn", 16, 16)
    digest = hashlib.sha256(data).hexdigest()
    (directory / "images").mkdir(parents=True)
    with (directory / "images.jsonl").open("w") as lines:
        for n in range(count):
            guid = str(uuid.uuid4())
            (directory / "images" / f"{guid}.png").write_bytes(data)
            record = {
                "guid": guid,
                "prompt": f"a lighthouse at dawn, study {n}",
                "private": False,
                "owner": None,
                "provider": "placeholder",
                "model": "placeholder-v1",
                "media_type": "image/png",
                "created_at": "2026-11-26T08:00:00Z",
                "updated_at": "2026-11-26T08:00:00Z",
                "file": f"images/{guid}.png",
                "size": len(data),
                "sha256": digest,
            }
            lines.write(json.dumps(record) + "\n")
    manifest = {"format": "pixyproxy-export", "version": 1, "images": count, "exported_at": ""}
    (directory / "manifest.json").write_text(json.dumps(manifest))


def bench_import(small: int, work: Path) -> Row:
    """Peak RSS of `import` of 10x the images against `small` of them (bounded memory)."""
    results = {}
    for count in (small, small * 10):
        source = work / f"export-{count}"
        synthetic_export(source, count)
        env = {**os.environ, "DB_BACKEND": "sqlite", "PIXYPROXY_DATA_DIR": str(work / f"i{count}")}
        results[count] = timed_run([PIXYPROXY, "import", str(source)], env)
        shutil.rmtree(source)
    (_, rss_small), (seconds, rss_large) = results[small], results[small * 10]
    ratio = rss_large / rss_small
    return Row(
        f"peak RSS, `import` of {small * 10:,} vs {small:,} images, SQLite",
        f"{rss_large / 1024:.0f} MiB ({small * 10 / seconds:,.0f} images/s)",
        f"{rss_small / 1024:.0f} MiB",
        ratio,
        "<= 1.2",
        ratio <= 1.2,
    )


def _http_json(url: str, auth: tuple[str, str], method: str = "GET") -> Any:
    """One request's JSON answer, with HTTP Basic credentials (urllib: no extra dependency)."""
    import urllib.request

    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    secret = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    request.add_header("Authorization", f"Basic {secret}")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def median_round(results: list[WrkResult], key: str) -> WrkResult:
    """The round whose ``key`` is the median (errors summed over all rounds)."""
    ordered = sorted(results, key=lambda result: getattr(result, key))
    middle = ordered[len(ordered) // 2]
    return WrkResult(
        middle.requests_per_second,
        middle.p99_ms,
        sum(result.errors for result in results),
        middle.megabytes_per_second,
    )


def served_image(
    database: dict[str, str], data: Path, image_size: str
) -> tuple[dict[str, str], dict[str, Any]]:
    """The settings of a benchmark's ``serve`` over ``database`` (no generation limit, a
    pool of 32) and one image made with them, offline (no API key), to read back."""
    env = {
        **database,
        "PIXYPROXY_DATA_DIR": str(data),
        "GENERATE_RATE_LIMIT": "0",
        "DB_POOL_SIZE": "32",
        "IMAGE_SIZE": image_size,
    }
    made = json.loads(
        subprocess.run(
            [PIXYPROXY, "generate", "benchmark", "--json"],
            env={name: value for name, value in env.items() if name != "OPENAI_API_KEY"},
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    return env, made


def bench_http(seconds: int, work: Path, rounds: int) -> list[Row]:
    rows: list[Row] = []
    with mysql_database(1000) as database:
        env, made = served_image(database, work / "http", "64x64")
        guid = made["guid"]
        password = "a password for the benchmark"
        subprocess.run(
            [PIXYPROXY, "user", "add", "bench", "--class-key", "k", "--password-stdin"],
            env=env,
            input=password,
            text=True,
            check=True,
            capture_output=True,
        )
        # A 1 MB image file behind a real row, for the content benchmark.
        big = Path(made["file"])
        big.write_bytes(big.read_bytes() + os.urandom(1024 * 1024 - big.stat().st_size))

        ours_port, lookup_port, file_port = free_port(), free_port(), free_port()
        base_env = {**env, "BASELINE_FILE": str(big)}

        def uvicorn(app: str, port: int) -> list[str]:
            return [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "--log-level",
                "warning",
                "--no-access-log",
                "--port",
                str(port),
                app,
            ]

        ours_command = [PIXYPROXY, "serve", "--port", str(ours_port), "--log-level", "warning"]
        with (
            server(ours_command, env, ours_port),
            server(uvicorn("baselines:make_lookup_app", lookup_port), base_env, lookup_port, HERE),
            server(uvicorn("baselines:make_file_app", file_port), base_env, file_port, HERE),
        ):
            details = f"/image/{guid}"
            content = f"/image/{guid}/content"
            token = _http_json(
                f"http://127.0.0.1:{ours_port}/token", ("bench", password), method="POST"
            )["token"]
            bearer = f"Authorization: Bearer {token}"
            basic = (
                "Authorization: Basic " + base64.b64encode(f"bench:{password}".encode()).decode()
            )
            for port in (ours_port, lookup_port):  # warm-up: connections, caches
                wrk(f"http://127.0.0.1:{port}{details}", 2)
            wrk(f"http://127.0.0.1:{ours_port}{details}", 2, header=bearer)
            # Alternate the two sides, several rounds, and keep each side's median round:
            # the machine's load drifts, and each side should see the same drift.
            ours_rounds, base_rounds, ours_files, base_files = [], [], [], []
            token_rounds, anonymous_rounds = [], []
            for _ in range(rounds):
                anonymous_rounds.append(wrk(f"http://127.0.0.1:{ours_port}{details}", seconds))
                token_rounds.append(
                    wrk(f"http://127.0.0.1:{ours_port}{details}", seconds, header=bearer)
                )
            basic_round = wrk(f"http://127.0.0.1:{ours_port}{details}", seconds, 4, basic)
            for _ in range(rounds):
                ours_rounds.append(wrk(f"http://127.0.0.1:{ours_port}{details}", seconds))
                base_rounds.append(wrk(f"http://127.0.0.1:{lookup_port}{details}", seconds))
                ours_files.append(wrk(f"http://127.0.0.1:{ours_port}{content}", seconds))
                base_files.append(wrk(f"http://127.0.0.1:{file_port}{content}", seconds))
        ours = median_round(ours_rounds, "requests_per_second")
        base = median_round(base_rounds, "requests_per_second")
        ours_file = median_round(ours_files, "megabytes_per_second")
        base_file = median_round(base_files, "megabytes_per_second")
        with_token = median_round(token_rounds, "requests_per_second")
        anonymous = median_round(anonymous_rounds, "requests_per_second")
    ratio = ours.requests_per_second / base.requests_per_second
    ok = ratio >= 2.0 and ours.p99_ms <= 50 and ours.errors == 0
    rows.append(
        Row(
            "`GET /image/{guid}`, 1 worker, 32 connections",
            f"{ours.requests_per_second:,.0f} req/s, p99 {ours.p99_ms:.1f} ms, "
            f"{ours.errors} errors",
            f"minimal FastAPI + pooled mysql-connector {base.requests_per_second:,.0f} req/s "
            f"(p99 {base.p99_ms:.1f} ms)",
            ratio,
            ">= 2.0, p99 <= 50 ms, 0 errors",
            ok,
        )
    )
    ratio = with_token.requests_per_second / anonymous.requests_per_second
    rows.append(
        Row(
            "`GET /image/{guid}` with `Authorization: Bearer` (API token)",
            f"{with_token.requests_per_second:,.0f} req/s, p99 {with_token.p99_ms:.1f} ms, "
            f"{with_token.errors} errors",
            f"anonymous {anonymous.requests_per_second:,.0f} req/s",
            ratio,
            ">= 0.8",
            ratio >= 0.8 and with_token.errors == 0,
        )
    )
    rows.append(
        Row(
            "(reference) the same with HTTP Basic (argon2 per request), 4 connections",
            f"{basic_round.requests_per_second:,.1f} req/s, p99 {basic_round.p99_ms:.0f} ms",
            f"anonymous {anonymous.requests_per_second:,.0f} req/s",
            basic_round.requests_per_second / anonymous.requests_per_second,
            "-",
            None,
        )
    )
    ratio = ours_file.megabytes_per_second / base_file.megabytes_per_second
    rows.append(
        Row(
            "`GET /image/{guid}/content`, 1 MB file",
            f"{ours_file.megabytes_per_second:,.0f} MB/s ({ours_file.errors} errors)",
            f"bare Starlette FileResponse {base_file.megabytes_per_second:,.0f} MB/s",
            ratio,
            ">= 0.9",
            ratio >= 0.9 and ours_file.errors == 0,
        )
    )
    return rows


def bench_generate(images: int, work: Path) -> list[Row]:
    sys.path.insert(0, str(HERE.parent))
    from pixyproxy_cli.core.models import ImageDetailCreate
    from pixyproxy_cli.core.settings import load_settings
    from pixyproxy_cli.data.init import create_database
    from pixyproxy_cli.data.providers import GeneratedImage, ImageProviderInterface
    from pixyproxy_cli.data.providers.placeholder import render_png
    from pixyproxy_cli.service.init import build_services

    png = render_png("benchmark", 256, 256)

    class FakeProvider(ImageProviderInterface):
        name = "fake"

        def __init__(self, latency: float) -> None:
            self.latency = latency

        def generate(
            self, prompt: str, n: int = 1, options: Any = None, progress: Any = None
        ) -> list[GeneratedImage]:
            if self.latency:
                time.sleep(self.latency)
            return [
                GeneratedImage(data=png, media_type="image/png", provider="fake", model="m")
            ] * n

        def edit(self, prompt: str, sources: Any, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    def services_with(provider: FakeProvider, name: str) -> tuple[Any, Any]:
        settings = load_settings(
            {"db_backend": "sqlite", "data_dir": work / name, "db_pool_size": 8}, environ={}
        )
        database = create_database(settings)
        services = build_services(settings, provider=provider, database=database)
        services.prompts.generate_image(request)  # warm-up: schema, first connection
        return services, database

    request = ImageDetailCreate(prompt="a lighthouse at dawn")
    provider = FakeProvider(0.0)
    services, database = services_with(provider, "generate")

    def provider_alone() -> float:
        started = time.perf_counter()
        provider.generate(request.prompt)
        return time.perf_counter() - started

    def timed(action: Callable[[], object]) -> float:
        started = time.perf_counter()
        action()
        return time.perf_counter() - started

    alone = [provider_alone() for _ in range(images)]
    whole = [timed(lambda: services.prompts.generate_image(request)) for _ in range(images)]
    overhead_ms = (statistics.median(whole) - statistics.median(alone)) * 1000
    # -n 4: one provider call for four images; the overhead per image beyond that call.
    four_alone = [timed(lambda: provider.generate(request.prompt, 4)) for _ in range(images // 4)]
    four_whole = [
        timed(lambda: services.prompts.generate_images(request, 4)) for _ in range(images // 4)
    ]
    four_ms = (statistics.median(four_whole) - statistics.median(four_alone)) * 1000 / 4
    single = statistics.median(whole)
    rounds = max(3, images // 8)
    concurrent = statistics.median(
        timed(lambda: eight_at_once(lambda: services.prompts.generate_image(request)))
        for _ in range(rounds)
    )
    database.close()

    # What the disk allows: a write, fsync and rename of the same bytes, alone and 8 at once.
    floor_dir = work / "fsync-floor"
    floor_dir.mkdir()
    floor_single = statistics.median(
        timed(lambda: durable_write(floor_dir, png)) for _ in range(50)
    )
    floor_eight = statistics.median(
        timed(lambda: eight_at_once(lambda: durable_write(floor_dir, png))) for _ in range(rounds)
    )
    # The target: with provider latency, as in real use, do 8 concurrent generates overlap?
    # Per image, 8 at once against one alone (8 at once: 8 images in the time of ~1).
    slow, slow_database = services_with(FakeProvider(0.1), "generate-slow")
    slow_single = statistics.median(
        timed(lambda: slow.prompts.generate_image(request)) for _ in range(5)
    )
    slow_eight = statistics.median(
        timed(lambda: eight_at_once(lambda: slow.prompts.generate_image(request))) for _ in range(5)
    )
    slow_database.close()
    per_image = slow_eight / slow_single  # each of the 8 waited slow_eight; alone, slow_single
    return [
        Row(
            "`generate` overhead, zero-latency provider, SQLite",
            f"{overhead_ms:.1f} ms/image",
            f"provider call alone {statistics.median(alone) * 1000:.3f} ms",
            None,
            "<= 15 ms",
            overhead_ms <= 15,
        ),
        Row(
            "`generate -n 4` overhead per image, zero-latency provider, SQLite",
            f"{four_ms:.1f} ms/image",
            f"provider call for 4 alone {statistics.median(four_alone) * 1000:.3f} ms",
            None,
            "<= 15 ms",
            four_ms <= 15,
        ),
        Row(
            "8 concurrent `generate`s, provider 100 ms, each image's wait vs one alone",
            f"{slow_eight * 1000:.0f} ms for 8 at once",
            f"one alone {slow_single * 1000:.0f} ms",
            per_image,
            "<= 1.5",
            per_image <= 1.5,
        ),
        Row(
            "(reference) 8 concurrent `generate`s vs one, zero-latency provider",
            f"{concurrent * 1000:.1f} ms for 8 ({concurrent / 8 / single:.2f}x one per image)",
            f"one image {single * 1000:.2f} ms",
            concurrent / single,
            "-",
            None,
        ),
        Row(
            "(reference) the disk's floor: 8 concurrent bare write+fsync+rename vs one",
            f"{floor_eight * 1000:.2f} ms for 8",
            f"one {floor_single * 1000:.2f} ms",
            floor_eight / floor_single,
            "-",
            None,
        ),
    ]


def interleaved_refusals(
    actions: dict[str, Callable[[], object]], refused: type[BaseException], rounds: int
) -> dict[str, float]:
    """The median time of each action (each expected to raise ``refused``), interleaved."""
    timings: dict[str, list[float]] = {kind: [] for kind in actions}
    for _ in range(rounds):
        for kind, action in actions.items():
            started = time.perf_counter()
            with contextlib.suppress(refused):
                action()
            timings[kind].append(time.perf_counter() - started)
    return {kind: statistics.median(values) for kind, values in timings.items()}


def same_cost_row(name: str, figure: float, baseline: str, base: float, digits: int) -> Row:
    """A row whose target is a ratio of 0.9-1.1: two paths that must cost the same."""
    ratio = figure / base
    return Row(
        name,
        f"{figure * 1000:.{digits}f} ms",
        f"{baseline} {base * 1000:.{digits}f} ms",
        ratio,
        "0.9-1.1",
        0.9 <= ratio <= 1.1,
    )


def _post_burst(urls: list[str], count: int) -> tuple[float, float]:
    """``count`` concurrent anonymous POST /image spread over ``urls``: (2xx share, p99 ms)."""
    import asyncio

    import httpx

    async def burst() -> list[tuple[int, float]]:
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:

            async def post(number: int) -> tuple[int, float]:
                started = time.perf_counter()
                try:
                    answer = await client.post(
                        f"{urls[number % len(urls)]}/image", json={"prompt": f"burst {number}"}
                    )
                    status = answer.status_code
                except httpx.HTTPError:
                    status = 0
                return status, (time.perf_counter() - started) * 1000

            return list(await asyncio.gather(*(post(n) for n in range(count))))

    answers = asyncio.run(burst())
    share = sum(1 for status, _ in answers if 200 <= status < 300) / len(answers)
    latencies = sorted(ms for _, ms in answers)
    return share, latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]


def bench_cluster(bursts: int, work: Path) -> list[Row]:
    """300 concurrent POSTs through three replicas on a three-node Galera cluster, limits on
    (anonymous: one counter row), beside one replica on one node of the same cluster."""
    sys.path.insert(0, str(HERE.parent))
    from tests.galera_cluster import GaleraCluster, missing

    reason = missing()
    if reason is not None:
        return [Row("cluster", "-", reason, None, "-", None)]
    cluster = GaleraCluster(work / "galera")
    env = {
        **os.environ,
        "DB_BACKEND": "mysql",
        "DB_USER": "root",
        "DB_NAME": "pixyproxy_bench",
        "DB_SYNC_WAIT": "1",
        "IMAGE_PROVIDER": "placeholder",
        "IMAGE_SIZE": "64x64",
        "GENERATE_RATE_LIMIT": "1000000",  # on, and never reached: every request writes it
        "GENERATE_RATE_WINDOW": "3600",
    }
    env.pop("OPENAI_API_KEY", None)
    try:
        cluster.start()
        nodes = cluster.nodes
        first = {**env, "DB_HOST": f"127.0.0.1:{nodes[0].port}", "PIXYPROXY_DATA_DIR": str(work)}
        subprocess.run([PIXYPROXY, "db", "init"], env=first, check=True, capture_output=True)
        ports = [free_port() for _ in nodes]
        with contextlib.ExitStack() as stack:
            for number, port in enumerate(ports):
                hosts = ",".join(f"127.0.0.1:{nodes[(number + k) % 3].port}" for k in range(3))
                replica_env = {
                    **env,
                    "DB_HOST": hosts,
                    "PIXYPROXY_DATA_DIR": str(work / f"replica{number}"),
                }
                command = [PIXYPROXY, "serve", "--port", str(port), "--log-level", "warning"]
                stack.enter_context(server(command, replica_env, port))
            urls = [f"http://127.0.0.1:{port}" for port in ports]
            three = [_post_burst(urls, 300) for _ in range(bursts)]
            one = [_post_burst(urls[:1], 300) for _ in range(bursts)]
    finally:
        cluster.stop()
    share3 = min(share for share, _ in three)
    p99_3 = statistics.median(p99 for _, p99 in three)
    share1 = min(share for share, _ in one)
    p99_1 = statistics.median(p99 for _, p99 in one)
    return [
        Row(
            "300 concurrent POST /image, limits on, 3 replicas on 3 Galera nodes",
            f"2xx {share3:.1%}, p99 {p99_3:,.0f} ms (worst of {bursts}, median p99)",
            f"1 replica on 1 node: 2xx {share1:.1%}, p99 {p99_1:,.0f} ms",
            p99_3 / p99_1,
            "2xx 100%",
            share3 == 1.0,
        )
    ]


def bench_object_store(seconds: int, work: Path, rounds: int) -> list[Row]:
    """GET .../content of a 1 MB image through ``serve``, from S3 and from a local folder,
    each beside a bare GET of the same bytes: radosgw answering a presigned URL itself, and
    a bare Starlette FileResponse of the same file."""
    sys.path.insert(0, str(HERE.parent))
    from pixyproxy_cli.data.files.object_store import BucketAddress, S3ImageStore, S3Settings
    from tests.ceph_rgw import REGION, CephGateway, missing

    reason = missing()
    if reason is not None:
        return [Row("object store", "-", reason, None, "-", None)]
    gateway = CephGateway(work / "ceph")
    base = {
        **os.environ,
        "IMAGE_PROVIDER": "placeholder",
        "IMAGE_SIZE": "64x64",
        "GENERATE_RATE_LIMIT": "0",
    }
    base.pop("OPENAI_API_KEY", None)
    padding = os.urandom(1024 * 1024)
    try:
        gateway.start()
        gateway.create_bucket("bench")
        s3_env = {**base, **gateway.env("bench"), "PIXYPROXY_DATA_DIR": str(work / "s3")}
        local_env = {**base, "PIXYPROXY_DATA_DIR": str(work / "local")}
        guids = {}
        for name, env in (("s3", s3_env), ("local", local_env)):
            made = subprocess.run(
                [PIXYPROXY, "generate", "a 1 MB image", "--json"],
                env=env, check=True, capture_output=True, text=True,
            )  # fmt: skip
            guids[name] = json.loads(made.stdout)["guid"]
        # The same 1 MB of bytes on both sides (writes are create-only: delete, then put).
        store = S3ImageStore(
            S3Settings(
                BucketAddress("bench", "images"), gateway.endpoint, REGION,
                gateway.access_key, lambda: gateway.secret_key,
            )
        )  # fmt: skip
        s3_name = f"{guids['s3']}.png"
        data = store.read(s3_name) + padding
        store.delete(s3_name)
        store.save(s3_name, data)
        local_file = work / "local" / "images" / f"{guids['local']}.png"
        local_file.unlink()
        local_file.write_bytes(data)
        presigned = store.locate(s3_name).url(3600)
        assert presigned is not None
        s3_port, local_port, file_port = free_port(), free_port(), free_port()
        quiet = ["--log-level", "warning"]
        with (
            server([PIXYPROXY, "serve", "--port", str(s3_port), *quiet], s3_env, s3_port),
            server([PIXYPROXY, "serve", "--port", str(local_port), *quiet], local_env, local_port),
            server(
                [sys.executable, "-m", "uvicorn", "--factory", "--log-level", "warning",
                 "--no-access-log", "--port", str(file_port), "baselines:make_file_app"],
                {**base, "BASELINE_FILE": str(local_file)}, file_port, HERE,
            ),
        ):  # fmt: skip
            urls = {
                "s3": f"http://127.0.0.1:{s3_port}/image/{guids['s3']}/content",
                "rgw": presigned,
                "local": f"http://127.0.0.1:{local_port}/image/{guids['local']}/content",
                "file": f"http://127.0.0.1:{file_port}/image/x/content",
            }
            for url in urls.values():  # warm-up, and a check that every side answers
                assert _http_get(url) == data
            measured: dict[str, list[WrkResult]] = {name: [] for name in urls}
            for _ in range(rounds):
                for name, url in urls.items():
                    measured[name].append(wrk(url, seconds, connections=8))
    finally:
        gateway.stop()
    best = {
        name: median_round(results, "megabytes_per_second") for name, results in measured.items()
    }
    rows = []
    for ours, bare, label, baseline in (
        ("s3", "rgw", "from S3 (radosgw), streamed through serve", "radosgw itself, presigned GET"),
        ("local", "file", "from a local folder", "bare Starlette FileResponse"),
    ):
        ratio = best[ours].megabytes_per_second / best[bare].megabytes_per_second
        rows.append(
            Row(
                f"`GET /image/{{guid}}/content`, 1 MB, {label}, 8 connections",
                f"{best[ours].megabytes_per_second:,.0f} MB/s, p99 {best[ours].p99_ms:.0f} ms "
                f"({best[ours].errors} errors)",
                f"{baseline} {best[bare].megabytes_per_second:,.0f} MB/s",
                ratio,
                "-",
                None,
            )
        )
    return rows


def _jobs_child(
    count: int, latency: float, workers: int, work: Path, backend: str, mode: str = "jobs"
) -> tuple[float, int]:
    """One jobs_child.py run: (wall seconds, peak RSS in MiB of that process)."""
    data = work / f"jobs-{backend}-{count}-{mode}-{uuid.uuid4().hex[:6]}"
    env = dict(os.environ)
    env.pop("OPENAI_API_KEY", None)
    if backend == "mysql":
        env.update(mysql_env(f"pixyproxy_jobs_{uuid.uuid4().hex[:8]}"))
    command = [sys.executable, str(HERE / "jobs_child.py"), str(count), str(latency),
               str(workers), str(data), backend, mode]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    out, err = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
    if status != 0:
        raise RuntimeError(f"jobs_child failed: {err.decode()[-2000:]}")
    result = json.loads(out)
    if backend == "mysql":
        connection = mysql_connection()
        try:
            connection.cursor().execute(f"DROP DATABASE IF EXISTS `{env['DB_NAME']}`")
        finally:
            connection.close()
    assert result["done"] == count, result
    return float(result["wall"]), usage.ru_maxrss // 1024


def bench_jobs(quick: bool, work: Path) -> list[Row]:
    """A list of prompts as jobs: wall time beside the ideal, memory from 1x to 10x the
    prompts, and the queue's cost per job beside plain generate calls, on both backends."""
    rows = []
    count, latency, workers = (200, 1.0, 16) if quick else (1_000, 1.0, 16)
    wall, _ = _jobs_child(count, latency, workers, work, "sqlite")
    ideal = count * latency / workers
    rows.append(
        Row(
            f"{count:,} prompts, provider latency {latency:g} s, -j {workers} (SQLite)",
            f"{wall:,.1f} s",
            f"ideal {count:,} x {latency:g} s / {workers} = {ideal:,.1f} s",
            wall / ideal,
            "<= 1.15",
            wall / ideal <= 1.15,
        )
    )
    small, large = (500, 5_000) if quick else (1_000, 10_000)
    _, rss_small = _jobs_child(small, 0.0, workers, work, "sqlite")
    _, rss_large = _jobs_child(large, 0.0, workers, work, "sqlite")
    rows.append(
        Row(
            f"peak RSS, {large:,} prompts, zero latency, -j {workers}",
            f"{rss_large} MiB",
            f"{small:,} prompts: {rss_small} MiB",
            rss_large / rss_small,
            "<= 1.2",
            rss_large / rss_small <= 1.2,
        )
    )
    jobs_count = 200 if quick else 500
    for backend in ("sqlite", "mysql"):
        queued, _ = _jobs_child(jobs_count, 0.0, 1, work, backend)
        direct, _ = _jobs_child(jobs_count, 0.0, 1, work, backend, "direct")
        overhead_ms = (queued - direct) / jobs_count * 1000
        rows.append(
            Row(
                f"queue overhead per job, zero-latency provider, 1 worker ({backend})",
                f"{queued / jobs_count * 1000:.1f} ms a job, +{overhead_ms:.1f} ms",
                f"plain generate_images {direct / jobs_count * 1000:.1f} ms an image",
                queued / direct,
                "+<= 5 ms",
                overhead_ms <= 5,
            )
        )
    return rows


def bench_async_serve(seconds: int, work: Path, rounds: int) -> list[Row]:
    """``GET /image/{guid}`` on a server idle, then while it holds 200 open async jobs whose
    provider takes 5 s (the OpenAI-compatible fake of the tests, on loopback)."""
    import urllib.request

    sys.path.insert(0, str(HERE.parent))
    from tests.openai_server import FakeOpenAI

    fake = FakeOpenAI().start()
    fake.latency = 5.0
    jobs_count, job_workers = 200, 16
    try:
        with mysql_database(1000) as database:
            env, made = served_image(database, work / "async", "1024x1024")
            env.update(
                OPENAI_API_KEY="sk-async-bench",
                OPENAI_BASE_URL=fake.base_url,
                OPENAI_MAX_RETRIES="0",
                JOB_WORKERS=str(job_workers),
            )
            port = free_port()
            command = [PIXYPROXY, "serve", "--port", str(port), "--log-level", "warning"]
            url = f"http://127.0.0.1:{port}/image/{made['guid']}"
            with server(command, env, port):
                wrk(url, 2)  # warm-up
                idle = [wrk(url, seconds) for _ in range(rounds)]
                locations = []
                for number in range(jobs_count):
                    request = urllib.request.Request(
                        f"http://127.0.0.1:{port}/image",
                        data=json.dumps({"prompt": f"async {number}"}).encode(),
                        headers={"Content-Type": "application/json", "Prefer": "respond-async"},
                        method="POST",
                    )
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        assert answer.status == 202
                        locations.append(answer.headers["Location"])
                busy = [wrk(url, seconds) for _ in range(rounds)]
                states = []
                for location in locations:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{location}") as answer:
                        states.append(json.loads(answer.read())["state"])
    finally:
        fake.stop()
    still_open = sum(state in ("queued", "running") for state in states)
    idle_round = median_round(idle, "requests_per_second")
    busy_round = median_round(busy, "requests_per_second")
    ratio = busy_round.requests_per_second / idle_round.requests_per_second
    return [
        Row(
            f"`GET /image/{{guid}}` with {jobs_count} open async jobs, 5 s provider, "
            f"{job_workers} job workers (MariaDB)",
            f"{busy_round.requests_per_second:,.0f} req/s, p99 {busy_round.p99_ms:.1f} ms, "
            f"{busy_round.errors} errors; {still_open} jobs still open after",
            f"the same server idle {idle_round.requests_per_second:,.0f} req/s",
            ratio,
            ">= 0.8",
            ratio >= 0.8 and busy_round.errors == 0 and still_open > 0,
        )
    ]


def bench_login(rounds: int, work: Path) -> Row:
    """Unknown user vs wrong password, real argon2 parameters, interleaved in one run.

    The suite proves the property without a clock (both cost exactly one verification,
    tests/integration/test_shared_limits.py); this is the figure behind it.
    """
    sys.path.insert(0, str(HERE.parent))
    from pixyproxy_cli.core.exceptions import AuthenticationError
    from pixyproxy_cli.core.models import UserCreate
    from pixyproxy_cli.core.settings import load_settings
    from pixyproxy_cli.data.init import create_database
    from pixyproxy_cli.service.init import build_services
    from pixyproxy_cli.service.passwords import PasswordHasher

    settings = load_settings(
        {"db_backend": "sqlite", "data_dir": work / "login", "login_max_failures": 0},
        environ={},
    )
    database = create_database(settings)
    services = build_services(settings, database=database, hasher=PasswordHasher())
    services.users.add_user(UserCreate(username="alice", password="a long password", class_key="k"))
    try:
        for name in ("nobody", "alice"):  # warm up: the dummy hash is made on first use
            with contextlib.suppress(AuthenticationError):
                services.users.authenticate(name, "warm-up")
        medians = interleaved_refusals(
            {
                "unknown": lambda: services.users.authenticate("nobody", "not the password"),
                "wrong": lambda: services.users.authenticate("alice", "not the password"),
            },
            AuthenticationError,
            rounds,
        )
    finally:
        database.close()
    return same_cost_row(
        "login: unknown user vs wrong password",
        medians["unknown"],
        "wrong password",
        medians["wrong"],
        1,
    )


def bench_oracle(rounds: int, work: Path) -> Row:
    """On MariaDB: another user's private image vs a GUID never stored, as bob asks for each.

    The suite proves that both do the same work (tests/unit/test_prompt_service.py: the
    same calls, one query finding no row); this is the figure behind it. Alice's image is
    in the cache, as it is on a server where she just looked at it.
    """
    sys.path.insert(0, str(HERE.parent))
    from pixyproxy_cli.core.exceptions import RecordNotFoundError
    from pixyproxy_cli.core.models import ImageDetailCreate, User, UserCreate
    from pixyproxy_cli.core.settings import load_settings
    from pixyproxy_cli.data.init import create_database
    from pixyproxy_cli.service.init import build_services

    with mysql_database(1_000) as env:
        settings = load_settings(
            {
                "db_backend": "mysql",
                "db_host": env["DB_HOST"],
                "db_port": int(env["DB_PORT"]),
                "db_user": env["DB_USER"],
                "db_password": env["DB_PASSWORD"] or None,
                "db_name": env["DB_NAME"],
                "data_dir": work / "oracle",
            },
            environ={},
        )
        database = create_database(settings)
        services = build_services(settings, database=database)
        try:
            for name in ("alice", "bob"):
                services.users.add_user(
                    UserCreate(username=name, password="a long password", class_key="k")
                )
            alice = services.prompts_for(User(username="alice", class_key="k"))
            secret = alice.generate_image(ImageDetailCreate(prompt="secret", private=True))
            alice.get_image_by_guid(secret.guid)  # cached, as after her own look
            bob = services.prompts_for(User(username="bob", class_key="k"))
            unknown = str(uuid.uuid4())
            medians = interleaved_refusals(
                {
                    "theirs": lambda: bob.get_image_by_guid(secret.guid),
                    "unknown": lambda: bob.get_image_by_guid(unknown),
                },
                RecordNotFoundError,
                rounds,
            )
        finally:
            database.close()
    return same_cost_row(
        "404: another's private image vs unknown GUID (MariaDB)",
        medians["theirs"],
        "unknown GUID",
        medians["unknown"],
        3,
    )


def eight_at_once(action: Callable[[], object]) -> None:
    """Run ``action`` in eight threads started together; return when all are done."""
    threads = [threading.Thread(target=action) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def durable_write(directory: Path, data: bytes) -> None:
    """What the image store does for one file, without pixyproxy: write, fsync, rename."""
    fd, temp = tempfile.mkstemp(dir=directory)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, directory / f"{uuid.uuid4()}.png")
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, shorter runs")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=(
            "run only these (help, list-small, list-large, http, generate, login, oracle, search, "
            "import, remote, thumbnail, against, cluster, object-store, jobs, async-serve); "
            "repeatable"
        ),
    )
    parser.add_argument(
        "--before",
        metavar="PIXYPROXY",
        help=(
            "the pixyproxy executable of an earlier checkout (its own virtualenv): adds the "
            "'against' rows, start-up beside it"
        ),
    )
    args = parser.parse_args()
    # An installed pixyproxy runs from compiled bytecode (pip compiles it); a checkout in a
    # shell with PYTHONDONTWRITEBYTECODE would recompile every module on every run instead.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    runs = 5 if args.quick else 15
    rows_large = 10_000 if args.quick else 100_000
    seconds = 3 if args.quick else 5
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pixyproxy-bench-") as tmp:
        work = Path(tmp)
        results: list[Row] = []
        for label, bench in [
            ("help", lambda: [bench_help(runs, work)]),
            ("list-small", lambda: bench_list_small(runs, work)),
            ("list-large", lambda: bench_list_large(rows_large, 3 if args.quick else 5)),
            ("http", lambda: bench_http(seconds, work, 1 if args.quick else 3)),
            ("generate", lambda: bench_generate(20 if args.quick else 100, work)),
            ("login", lambda: [bench_login(5 if args.quick else 15, work)]),
            ("oracle", lambda: [bench_oracle(500 if args.quick else 3_000, work)]),
            ("search", lambda: bench_search(100_000 if args.quick else 1_000_000, 15, work)),
            ("import", lambda: [bench_import(500 if args.quick else 2_000, work)]),
            ("remote", lambda: bench_remote_list(rows_large, 3 if args.quick else 5, work)),
            ("thumbnail", lambda: bench_thumbnail(seconds, work, 1 if args.quick else 3)),
            ("against", lambda: bench_startup_against(args.before, runs * 2, work)),
            ("cluster", lambda: bench_cluster(2 if args.quick else 3, work)),
            ("object-store", lambda: bench_object_store(seconds, work, 1 if args.quick else 3)),
            ("jobs", lambda: bench_jobs(args.quick, work)),
            ("async-serve", lambda: bench_async_serve(seconds, work, 1 if args.quick else 3)),
        ]:
            if args.only and label not in args.only:
                continue
            if label == "against" and not args.before:
                continue
            print(f"running: {label} ...", file=sys.stderr, flush=True)
            results.extend(bench())
    print()
    print_table(results)
    print(
        f"\nmachine: {os.cpu_count()} cores; python {sys.version.split()[0]}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    return 0 if all(row.ok is not False for row in results) else 1


if __name__ == "__main__":
    sys.exit(main())
