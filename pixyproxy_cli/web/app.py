"""The FastAPI application: services built at start-up, one router per resource.

``create_app()`` is also the factory uvicorn imports in every worker process
(``pixyproxy_cli.web.app:create_app``); settings come from the environment and ``.env``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from pixyproxy_cli import __version__
from pixyproxy_cli.core.constants import MAX_EDIT_SOURCE_BYTES, MAX_EDIT_SOURCES, MAX_MASK_BYTES
from pixyproxy_cli.core.jobs import Job
from pixyproxy_cli.service.init import Services, open_services
from pixyproxy_cli.web.errors import install_exception_handlers
from pixyproxy_cli.web.metrics import Metrics
from pixyproxy_cli.web.middleware import (
    BodySizeLimitMiddleware,
    HeaderLimitMiddleware,
    HeadMiddleware,
    RequestLogMiddleware,
)
from pixyproxy_cli.web.pages import STATIC_DIR
from pixyproxy_cli.web.routers import gallery, health, images, jobs, tokens, usage

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
"""A prompt is at most 32,000 characters (~128 KB of UTF-8); nothing else we accept as JSON
is larger."""
MAX_EDIT_BODY_BYTES = MAX_EDIT_SOURCES * MAX_EDIT_SOURCE_BYTES + MAX_MASK_BYTES + MAX_BODY_BYTES
"""An edit's form: every source at its largest, the mask, and the fields."""

DESCRIPTION = """
Generate images from text prompts and read them back.

**Authentication.** Every path accepts optional HTTP Basic credentials of a roster user
(`pixyproxy user add`). Without them a caller sees and makes public images only. With them,
the caller also sees their own private images, and may:

* `POST /image` with `"private": true` (credentials **required**; 401 without);
* `GET /image?mine=true` or `?private=true` (credentials **required**).

`POST /edits` makes images from stored images (by GUID) and uploaded files.

Another user's private image answers 404, exactly as a GUID that does not exist.

Errors have the body `{"error", "message", "request_id"}`; every response carries
`X-Request-ID`.
"""


def create_app(services: Services | None = None) -> FastAPI:
    """Build the application; ``services`` default to ones opened from the settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or open_services()
        app.state.services.prompts.dependencies.make_provider()  # now, not in a request
        app.state.metrics = Metrics(app.state.services)
        settings = app.state.services.settings
        _configure_protocol(settings.http_header_timeout, settings.http_body_timeout)
        # Revokes and deletes made by any worker of any replica reach this one's caches.
        stop_polling = app.state.services.invalidations.start()
        stop_jobs = _start_job_workers(app.state.services)
        try:
            yield
        finally:
            stop_jobs()  # the jobs in hand end first: nothing billed is left unstored
            stop_polling()
            if owned:
                app.state.services.close()

    # FastAPIOffline serves /docs and /redoc with their assets from the installed package,
    # so the documentation works on a machine with no internet (FastAPI's use a CDN).
    app = FastAPIOffline(
        title="pixyproxy",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    if services is not None:
        app.state.services = services
        app.state.metrics = Metrics(services)
    install_exception_handlers(app)
    app.include_router(health.router)
    app.include_router(images.router)
    app.include_router(images.edits_router)
    app.include_router(jobs.router)
    app.include_router(jobs.webhooks_router)
    app.include_router(usage.router)
    app.include_router(tokens.router)
    app.include_router(tokens.user_router)
    # The gallery's pages (not part of the API's schema) and their stylesheet and script.
    app.include_router(gallery.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The last added runs first: every request is logged, then its headers are counted.
    app.add_middleware(
        BodySizeLimitMiddleware,
        limit=MAX_BODY_BYTES,
        uploads={"/edits": MAX_EDIT_BODY_BYTES},
    )
    app.add_middleware(HeadMiddleware)
    app.add_middleware(HeaderLimitMiddleware)
    app.add_middleware(RequestLogMiddleware)
    return app


def _start_job_workers(services: Services) -> Callable[[], None]:
    """Start ``JOB_WORKERS`` job threads in this process; the function that stops them."""
    count = services.settings.job_workers
    if count == 0:
        return lambda: None

    def finished(job: Job) -> None:
        logger.info("job %s %s (line %d of batch %s)", job.guid, job.state, job.line, job.batch)

    def failed(error: Exception) -> None:
        logger.warning("a job worker failed, and goes on in a moment: %r", error)

    return services.jobs.start(count, finished=finished, failed=failed)


def _configure_protocol(header_timeout: float, body_timeout: float) -> None:
    """Hand the settings to ``serve``'s protocol, in this worker process (uvicorn builds it)."""
    try:
        from pixyproxy_cli.web.protocol import GuardedH11Protocol
    except ImportError:  # an ASGI server other than uvicorn: its own limits apply
        return
    GuardedH11Protocol.header_timeout = header_timeout
    GuardedH11Protocol.body_timeout = body_timeout
