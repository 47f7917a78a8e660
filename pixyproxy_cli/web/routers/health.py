"""``GET /healthz``, ``GET /readyz`` and ``GET /metrics``: for a load balancer and Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from pixyproxy_cli.web.dependencies import ServicesDep

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    summary="Whether this process is alive",
    description="Always 200 while the process answers: it asks nothing of the database.",
)
async def healthz() -> dict[str, str]:
    """GET /healthz."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Whether this replica can serve: its database and image store answer",
    description=(
        "200 when both answer, else 503 (a balancer sends it no traffic meanwhile); the body "
        "says `ok` or what is wrong for each."
    ),
    responses={503: {"description": "The database or the image store does not answer"}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    """GET /readyz."""
    checks = await run_in_threadpool(services.readiness)
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(checks, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process",
    description=(
        "Requests by route and status, latencies, images made, errors by code, the "
        "database pool's use and retried transactions, in Prometheus' text format."
    ),
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(request: Request) -> Response:
    """GET /metrics."""
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(request.app.state.metrics.text(), media_type=CONTENT_TYPE_LATEST)
