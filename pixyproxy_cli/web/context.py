"""Request ids: ``host-datetime-threadid``, made unique with a per-process sequence number.

The specification's id is host, date-time and thread id; two requests on one thread in the
same microsecond, or two async requests on the event loop's one thread, would share it, so a
process-wide counter is appended. The id lives in a ContextVar for the whole request, so every
log line it causes (in the event loop or in a worker thread) can carry it.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
from contextvars import ContextVar
from datetime import UTC, datetime

request_id_var: ContextVar[str] = ContextVar("pixyproxy_request_id", default="-")

_HOST = socket.gethostname().split(".")[0] or "localhost"
_sequence = itertools.count(1)


def new_request_id() -> str:
    """A new id: ``host-YYYYmmddTHHMMSS.ffffff-threadid-pid.sequence``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
    return f"{_HOST}-{stamp}-{threading.get_ident()}-{os.getpid()}.{next(_sequence)}"


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (the current request's id, or ``-``) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate the record; never drops it."""
        record.request_id = request_id_var.get()
        return True
