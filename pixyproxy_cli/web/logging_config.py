"""Logging for ``pixyproxy serve``: every line carries the request id that caused it."""

from __future__ import annotations

from typing import Any

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
ACCESS_FORMAT = "%(asctime)s %(levelname)s %(name)s pid=%(process)d %(message)s"


def logging_config(level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn and pixyproxy, to stderr."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "pixyproxy_cli.web.context.RequestIdFilter"}},
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
            "uvicorn.error": {"level": level},
            # Our own access line replaces uvicorn's: it has the request id and duration.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
