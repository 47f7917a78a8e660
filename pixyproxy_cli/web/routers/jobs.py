"""The job resource: images made in the background, by the job workers of any replica.

``POST /jobs`` queues a list of requests (a batch) and ``POST /image`` with ``Prefer:
respond-async`` queues one; both answer 202 at once. ``GET /jobs/{guid}`` reads a job,
``GET /jobs/{guid}/events`` streams its changes as server-sent events, ``DELETE`` cancels
it. A job is its owner's, as a private image is: anyone else gets 404. The queue is the
database (``service/jobs.py``), so the worker that runs a job and the replica that answers
for it need not be the same.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from pixyproxy_cli.core.constants import GUID_PATTERN, MAX_JOBS_LISTED, MAX_JOBS_QUEUED
from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    ConstraintViolationError,
)
from pixyproxy_cli.core.jobs import Job, JobPublic, JobRequest
from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.init import Services
from pixyproxy_cli.service.interfaces import PromptServiceInterface
from pixyproxy_cli.service.jobs import JobService, PartialImage
from pixyproxy_cli.web.dependencies import ServicesDep, only_query_parameters
from pixyproxy_cli.web.errors import error_responses
from pixyproxy_cli.web.requests import (
    OPTIONAL_AUTH,
    ImageRequest,
    Prompts,
    charge_images,
    give_back_images,
)

router = APIRouter(prefix="/jobs", tags=["jobs"])
webhooks_router = APIRouter(tags=["jobs"])
"""``POST /webhooks/openai``: the provider's word that a batch has ended."""

EVENT_POLL = 0.25
"""Seconds between two looks at a job whose events are being streamed."""
KEEP_ALIVE = 15.0
"""Seconds of silence after which an event stream sends a comment (proxies close idle ones)."""
RECONNECT_MS = 2000
"""What an event stream tells an EventSource to wait before it reconnects."""

JobGuid = Annotated[str, Path(pattern=GUID_PATTERN, description="The job's GUID")]


class BatchRequest(BaseModel):
    """The body of POST /jobs: the requests to queue, each as POST /image's body."""

    model_config = ConfigDict(extra="forbid")

    requests: list[ImageRequest] = Field(
        min_length=1,
        max_length=MAX_JOBS_QUEUED,
        description=f"1 to {MAX_JOBS_QUEUED} requests, each one job; the body is at most "
        "1 MB in all (413).",
    )


class BatchAccepted(BaseModel):
    """A queued batch: its GUID and its jobs, by line."""

    batch: str
    jobs: list[JobPublic]


def caller_of(prompts: PromptServiceInterface) -> Caller:
    """Whose jobs a request may see and queue: the authenticated user, or anonymous."""
    return Caller(viewer=prompts.viewer)


def job_request(body: ImageRequest, services: Services) -> JobRequest:
    """A job's request for ``body``: the server's image options with the body's on top."""
    return JobService.request_for(
        body.prompt,
        body.options(services.image_options),
        n=body.n,
        private=body.private,
        partials=body.n == 1,  # a single image is streamed: its events show it coming
    )


def queue(
    prompts: PromptServiceInterface,
    services: Services,
    request: Request,
    bodies: list[ImageRequest],
) -> str:
    """Queue ``bodies`` as one batch, charged to the caller first; the batch's GUID.

    Every image counts against the caller's generation limit when it is queued, as a
    generation's do when it is asked for; a batch refused before it is queued gives them
    back. Raises TooManyRequestsError over the limit, and as ``JobService.submit``.
    """
    images = sum(body.n for body in bodies)
    charge_images(prompts, services, request, images)
    try:
        requests = [job_request(body, services) for body in bodies]
        return services.jobs.submit(requests, caller_of(prompts))
    except BaseException:
        give_back_images(prompts, services, request, images)
        raise


@router.post(
    "",
    status_code=202,
    response_model=BatchAccepted,
    summary="Queue a batch of image requests",
    description=(
        "Queues each request (the body of `POST /image`) as a job and answers at once with "
        "the batch and its jobs; `Location` lists them (`GET /jobs?batch=`). Every request "
        "is checked first: one that is not valid refuses the whole batch (422, naming its "
        "line). Every image counts against the caller's generation limit when queued: a "
        "batch of more images than the limit itself is 422 (429 only when waiting helps). The "
        "jobs run on the server's job workers (`JOB_WORKERS`) or `pixyproxy worker`."
    ),
    responses=error_responses(401, 413, 422, 429, 500, 503),
    openapi_extra=OPTIONAL_AUTH,
)
def queue_batch(
    body: BatchRequest,
    prompts: Prompts,
    services: ServicesDep,
    request: Request,
    response: Response,
) -> BatchAccepted:
    """POST /jobs."""
    batch = queue(prompts, services, request, body.requests)
    jobs = services.jobs.batch_jobs(batch, caller_of(prompts), limit=MAX_JOBS_QUEUED)
    response.headers["Location"] = f"{request.url_for('list_jobs').path}?batch={batch}"
    return BatchAccepted(batch=batch, jobs=[JobPublic(**job.public()) for job in jobs])


@router.get(
    "",
    response_model=list[JobPublic],
    summary="List jobs",
    description=(
        "With `batch`, that batch's jobs the caller may see, by line; without it, the "
        "authenticated caller's newest jobs, newest first (credentials required)."
    ),
    responses=error_responses(401, 422, 429, 500, 503),
    dependencies=[Depends(only_query_parameters("batch", "limit"))],
    openapi_extra=OPTIONAL_AUTH,
)
def list_jobs(
    prompts: Prompts,
    services: ServicesDep,
    batch: Annotated[
        str | None, Query(pattern=GUID_PATTERN, description="A batch's GUID (POST /jobs).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_JOBS_LISTED, description="At most this many.")] = 100,
) -> list[dict[str, Any]]:
    """GET /jobs."""
    caller = caller_of(prompts)
    if batch is not None:
        jobs = services.jobs.batch_jobs(batch, caller, limit=limit)
    elif caller.viewer is None:
        raise AuthenticationError("Authentication required to list your jobs (or name a batch)")
    else:
        jobs = services.jobs.recent(caller, limit=limit)
    return [job.public() for job in jobs]


@router.get(
    "/{guid}",
    response_model=JobPublic,
    summary="A job",
    description="The job's state and, once done, its images' GUIDs (`GET /image/{guid}`).",
    responses=error_responses(401, 404, 422, 429, 500, 503),
    openapi_extra=OPTIONAL_AUTH,
)
def get_job(guid: JobGuid, prompts: Prompts, services: ServicesDep) -> dict[str, Any]:
    """GET /jobs/{guid}."""
    return services.jobs.get(guid, caller_of(prompts)).public()


@router.delete(
    "/{guid}",
    status_code=204,
    summary="Cancel a job",
    description=(
        "Cancels a queued or running job of the authenticated caller (a running job's "
        "images are then not stored; it may have been billed). 409 when it has already "
        "ended."
    ),
    responses=error_responses(401, 404, 409, 422, 429, 500, 503),
    openapi_extra=OPTIONAL_AUTH,
)
def cancel_job(guid: JobGuid, prompts: Prompts, services: ServicesDep) -> Response:
    """DELETE /jobs/{guid}."""
    caller = caller_of(prompts)
    if caller.viewer is None:
        raise AuthenticationError("Authentication required to cancel a job")
    job = services.jobs.get(guid, caller)  # 404 before anything else
    if not services.jobs.cancel([job.guid], caller):
        ended = services.jobs.get(guid, caller)
        raise ConstraintViolationError(f"Job {guid} has already ended ({ended.state})")
    return Response(status_code=204)


@router.get(
    "/{guid}/events",
    summary="A job's progress, as server-sent events",
    description=(
        "A `text/event-stream`: an event `job` (data: the job, as `GET /jobs/{guid}`) now "
        "and whenever the job changes, the last one when it ends (done, failed or "
        "cancelled); then the stream closes. A job of one image is streamed from the "
        "provider: each partial image is an event `partial` (data: `job`, `number`, "
        "`image` as a data URL). An `EventSource` should close itself on the last `job` "
        "event, or it reconnects and is sent the ended job again."
    ),
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
        **error_responses(401, 404, 422, 429, 500, 503),
    },
    openapi_extra=OPTIONAL_AUTH,
    response_class=StreamingResponse,
)
async def job_events(guid: JobGuid, prompts: Prompts, services: ServicesDep) -> StreamingResponse:
    """GET /jobs/{guid}/events."""
    caller = caller_of(prompts)
    first = await run_in_threadpool(services.jobs.get, guid, caller)  # 404 as a status
    return StreamingResponse(
        _events(services.jobs, first, caller),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(jobs: JobService, job: Job, caller: Caller) -> AsyncIterator[str]:
    """The stream of ``job``'s changes, until it ends; a comment now and then meanwhile.

    A new partial image is an event ``partial`` of its own; any other change, ``job``.
    """
    yield f"retry: {RECONNECT_MS}\n\n"
    sent = 0
    yield _event("job", job.public(), sent)
    if job.partials and not job.finished:  # a watcher who came late sees the latest one
        partial = await run_in_threadpool(jobs.partial, job.guid, caller)
        if partial is not None:
            sent += 1
            yield _event("partial", _partial(job, partial), sent)
    quiet = 0.0
    while not job.finished:
        await asyncio.sleep(EVENT_POLL)
        now = await run_in_threadpool(jobs.get, job.guid, caller)
        if now.updated_at == job.updated_at and now.state == job.state:
            quiet += EVENT_POLL
            if quiet >= KEEP_ALIVE:
                quiet = 0.0
                yield ": still here\n\n"
            continue
        quiet, sent = 0.0, sent + 1
        if now.partials > job.partials and not now.finished:
            partial = await run_in_threadpool(jobs.partial, job.guid, caller)
            if partial is not None:
                yield _event("partial", _partial(now, partial), sent)
                job = now
                continue
        job = now
        yield _event("job", job.public(), sent)


def _partial(job: Job, partial: PartialImage) -> dict[str, object]:
    """A partial image as an event's data: its number and the image, base64 in a data URL."""
    encoded = base64.b64encode(partial.data).decode()
    return {
        "job": job.guid,
        "number": partial.number,
        "image": f"data:{partial.media_type};base64,{encoded}",
    }


def _event(kind: str, data: dict[str, object], number: int) -> str:
    return f"id: {number}\nevent: {kind}\ndata: {json.dumps(data)}\n\n"


class WebhookAnswer(BaseModel):
    """What a webhook led to: the event, and whether (and what) it collected."""

    event: str
    collected: bool
    batch: str | None = None
    stored: int | None = None
    failed: int | None = None


@webhooks_router.post(
    "/webhooks/openai",
    response_model=WebhookAnswer,
    summary="OpenAI's webhook: a batch has ended",
    description=(
        "Point an OpenAI webhook endpoint (batch events) here and set its signing secret "
        "as OPENAI_WEBHOOK_SECRET (or `pixyproxy key set webhook`): the signature "
        "(webhook-id, webhook-timestamp, webhook-signature; at most 5 minutes old) is "
        "checked before anything else (401 when it does not match), then the batch it "
        "names is collected as `pixyproxy jobs collect` would. Events of other batches are "
        "acknowledged and ignored. 404 when no secret is set."
    ),
    responses=error_responses(401, 404, 413, 422, 500, 502, 503),
)
async def openai_webhook(request: Request, services: ServicesDep) -> dict[str, object]:
    """POST /webhooks/openai."""
    secret = await run_in_threadpool(services.webhook_secret)
    if secret is None:  # before the body is read: nothing to check it with
        return await run_in_threadpool(services.jobs.remote.webhook, b"", {}, None)
    payload = await request.body()
    return await run_in_threadpool(
        services.jobs.remote.webhook, payload, dict(request.headers), secret
    )


def respond_async(prefer: str | None) -> bool:
    """Whether a ``Prefer`` header (RFC 7240) asks for ``respond-async``."""
    if not prefer:
        return False
    names = (part.split(";", 1)[0].split("=", 1)[0].strip().lower() for part in prefer.split(","))
    return "respond-async" in names
