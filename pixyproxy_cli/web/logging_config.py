"""Logging for ``pixyproxy serve``: every line carries the request id that caused it.

Errors that repeat without end (asyncio's "socket.accept() out of system resource" when the
process has no file left: 243,603 tracebacks, 125 MB, in 20 s) are let through once per
``REPEAT_INTERVAL`` for each kind; the next one says how many were left out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

REPEAT_INTERVAL = 10.0
"""Seconds during which a repeated error of one kind is logged once."""


class RepeatFilter(logging.Filter):
    """Lets one record of each kind through per interval, and counts the others.

    A kind is the logger, the message's first line (asyncio's later lines name a handle
    and its time) and the exception type; the next record of a kind let through says how
    many were left out before it.
    """

    def __init__(
        self, interval: float = REPEAT_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is logged; annotates it with the count left out before it."""
        error = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        kind = (record.name, str(record.msg).split("\n", 1)[0], error)
        now = self._clock()
        with self._lock:
            since, left_out = self._seen.get(kind, (now - self.interval, 0))
            if now - since < self.interval:
                self._seen[kind] = (since, left_out + 1)
                return False
            self._seen[kind] = (now, 0)
            if len(self._seen) > 1000:  # kinds are few; never let them grow without bound
                self._seen = {kind: (now, 0)}
        if left_out:
            record.msg = f"{record.msg} ({left_out} more like this in the last {now - since:.0f} s)"
        return True


LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
ACCESS_FORMAT = "%(asctime)s %(levelname)s %(name)s pid=%(process)d %(message)s"


def logging_config(level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn and pixyproxy, to stderr."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "pixyproxy_cli.web.context.RequestIdFilter"},
            "repeats": {"()": "pixyproxy_cli.web.logging_config.RepeatFilter"},
        },
        "formatters": {
            "line": {"format": LINE_FORMAT},
            # The access line names its request id itself, and the worker (pid) that answered.
            "access": {"format": ACCESS_FORMAT},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "line",
                "filters": ["request_id"],
            },
            "access": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "access",
            },
        },
        "loggers": {
            "pixyproxy.access": {"handlers": ["access"], "level": level, "propagate": False},
            "pixyproxy_cli": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level, "filters": ["repeats"]},
            # The event loop's own errors (a failed accept), each kind once per interval.
            "asyncio": {
                "handlers": ["stderr"],
                "level": "WARNING",
                "propagate": False,
                "filters": ["repeats"],
            },
            # Our own access line replaces uvicorn's: it has the request id and duration.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
