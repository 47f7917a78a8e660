"""What ``GET /metrics`` tells Prometheus about one ``serve`` (all its worker processes).

Requests by route (the path template, never the path: a GUID is not a label) and status,
their latencies, images made, errors answered by code (the provider's among them), the
connection pool's use, and the units of work run again after a lost race. prometheus-client
writes the text format; each app has a registry of its own (tests build many apps).

With ``serve --workers N``, the counters and latencies are the sum of every worker's,
whichever worker answers the scrape: ``shared_by_workers`` gives the workers a folder of
their own, where prometheus-client's multiprocess mode keeps each worker's values (memory-
mapped files; one machine's workers only: each replica is scraped on its own). The pool's
connections and the retried units of work stay the answering worker's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from pixyproxy_cli.core.exceptions import ConfigurationError
from pixyproxy_cli.service import transaction

if TYPE_CHECKING:
    from pixyproxy_cli.service.init import Services

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's variable: where each process keeps its values, read when it is imported."""


@contextlib.contextmanager
def shared_by_workers(workers: int) -> Iterator[None]:
    """Within: worker processes started now count into one set of metrics.

    With more than one worker and no PROMETHEUS_MULTIPROC_DIR of the operator's, a new
    folder is made for this ``serve`` alone, named in the environment the workers inherit,
    and removed afterwards (an operator's own folder is used and left alone). Raises
    ConfigurationError, before any worker starts, when the operator's is not a folder.
    """
    given = os.environ.get(MULTIPROCESS_DIR)
    if given and not os.path.isdir(given):
        raise ConfigurationError(
            f"{MULTIPROCESS_DIR}={given} is not a folder: create it (empty), or unset it "
            "(serve --workers N then makes one of its own)"
        )
    if workers <= 1 or given:
        yield
        return
    folder = tempfile.mkdtemp(prefix="pixyproxy-metrics-")
    os.environ[MULTIPROCESS_DIR] = folder
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS_DIR, None)
        shutil.rmtree(folder, ignore_errors=True)


LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
"""Seconds: from a cached read (milliseconds) to a generation (tens of seconds)."""


class _PoolAndRetries(Collector):
    """Read at each scrape: the pool's connections and the retried units of work."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def collect(self) -> Iterator[Any]:
        pool = self._services.database.pool
        connections = GaugeMetricFamily(
            "pixyproxy_db_pool_connections",
            "Database connections of this process, by state",
            labels=["state"],
        )
        connections.add_metric(["borrowed"], pool.borrowed_count)
        connections.add_metric(["idle"], pool.idle_count)
        connections.add_metric(["size"], pool.size)
        yield connections
        retries = CounterMetricFamily(
            "pixyproxy_transaction_retries",
            "Units of work run again after a deadlock or certification conflict",
        )
        retries.add_metric([], transaction.retries())
        yield retries


class Metrics:
    """The instruments of one app, and the text of a scrape."""

    def __init__(self, services: Services) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "pixyproxy_http_requests",
            "HTTP requests answered, by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "pixyproxy_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.images = Counter(
            "pixyproxy_images_made",
            "Images generated or edited and stored",
            ["kind"],
            registry=self.registry,
        )
        self.errors = Counter(
            "pixyproxy_errors",
            "Errors answered, by code (generation_failed, rate_limited...: the provider's)",
            ["code"],
            registry=self.registry,
        )
        self.registry.register(_PoolAndRetries(services))
        self._scraped = self.registry
        if _multiprocess():
            from prometheus_client import multiprocess

            # Every worker's values from their files, and this worker's pool: the metrics
            # above must not be registered here too (prometheus-client's documented rule).
            self._scraped = CollectorRegistry()
            multiprocess.MultiProcessCollector(self._scraped)  # type: ignore[no-untyped-call]
            self._scraped.register(_PoolAndRetries(services))

    def record(self, scope: dict[str, Any], status: int, started: float) -> None:
        """Count one answered request (its route template, once routing has matched it)."""
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope.get("method", "-")
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(time.perf_counter() - started)
        state = scope.get("state") or {}
        if "images_made" in state:
            kind, count = state["images_made"]
            self.images.labels(kind).inc(count)
        if "error" in state:
            self.errors.labels(state["error"]).inc()

    def text(self) -> bytes:
        """The scrape, in Prometheus' text format."""
        from prometheus_client import generate_latest

        return generate_latest(self._scraped)


def _multiprocess() -> bool:
    """Whether this process keeps its values in the shared folder (decided at import)."""
    from prometheus_client import values

    return os.environ.get(MULTIPROCESS_DIR) is not None and (
        values.ValueClass is not values.MutexValue
    )
