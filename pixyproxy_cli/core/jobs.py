"""Jobs: requests to make images, queued in the database, run by any worker.

A job is one line of a list of prompts (a *batch*): its request (prompt, count, options),
its owner and visibility, and its state. Each job's images are stored at most once, in the
same transaction that ends it; ``sent`` counts the times it went to the provider without its
images being stored (a crash, an interruption), so a job that may have been billed already
is never sent again without saying so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pixyproxy_cli.core.constants import MAX_JOB_ERROR_LENGTH
from pixyproxy_cli.core.models import ImagePublic

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
JOB_STATES: tuple[JobState, ...] = ("queued", "running", "done", "failed", "cancelled")
FINISHED_STATES: frozenset[str] = frozenset({"done", "failed", "cancelled"})
"""States a job never leaves."""
MAX_ERROR_LENGTH = MAX_JOB_ERROR_LENGTH


class JobRequest(BaseModel):
    """What a job asks for: one prompt, ``n`` images, with these options (all of them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str
    n: int = Field(default=1, ge=1, le=10)
    private: bool = False
    options: dict[str, Any] = Field(default_factory=dict)
    """The image options as they were when the job was queued (``ImageOptions`` fields)."""
    partials: bool = False
    """Stream the request and keep its partial images for the job's events (the API's
    async jobs of one image)."""


class Job(BaseModel):
    """A queued request and what became of it."""

    model_config = ConfigDict(frozen=True)

    id: int
    guid: str
    batch: str
    line: int
    owner: str | None
    request: JobRequest
    state: JobState
    attempts: int = 0
    sent: int = 0
    error: str | None = None
    images: list[str] = Field(default_factory=list)
    created_at: float
    updated_at: float
    finished_at: float | None = None
    not_before: float = 0.0
    lease_until: float | None = None
    worker: str | None = None
    remote: bool = False
    """Sent through the provider's Batch API (no live worker claims it)."""
    partials: int = 0
    """Partial images received while it runs (a streamed request's)."""
    made: tuple[ImagePublic, ...] = ()
    """The images the run that just ended it made, usage included (never stored: empty
    when the job is read from the database)."""

    @property
    def finished(self) -> bool:
        """Whether the job is done, failed or cancelled (it never changes again)."""
        return self.state in FINISHED_STATES

    def public(self) -> dict[str, Any]:
        """The job as ``--json`` and the API show it: no internal id, no worker or lease."""
        return JobPublic(
            job=self.guid,
            batch=self.batch,
            line=self.line,
            state=self.state,
            prompt=self.request.prompt,
            n=self.request.n,
            private=self.request.private,
            owner=self.owner,
            images=list(self.images),
            error=self.error,
            attempts=self.attempts,
            sent=self.sent,
            created_at=_moment(self.created_at),
            updated_at=_moment(self.updated_at),
            finished_at=None if self.finished_at is None else _moment(self.finished_at),
        ).model_dump()


class JobPublic(BaseModel):
    """A job as the CLI's ``--json`` and the REST API show it."""

    job: str = Field(description="The job's GUID (GET /jobs/{guid}).")
    batch: str = Field(description="The GUID of the batch it was queued with.")
    line: int = Field(description="Its place in the batch, from 1.")
    state: JobState = Field(description="queued, running, done, failed or cancelled.")
    prompt: str
    n: int
    private: bool
    owner: str | None
    images: list[str] = Field(description="The GUIDs of the images it made (when done).")
    error: str | None = Field(description="Why it failed.")
    attempts: int = Field(description="Times a worker claimed it.")
    sent: int = Field(
        description="Times it went to the provider without its images being stored: "
        "above 0, it may have been billed already."
    )
    created_at: str
    updated_at: str
    finished_at: str | None


class RemoteBatch(BaseModel):
    """A batch of jobs sent to the provider's Batch API, as last seen there."""

    model_config = ConfigDict(frozen=True)

    batch: str
    provider: str
    remote_id: str | None
    """The provider's id for it; None until the provider has taken it."""
    status: str
    """``sending``, then the provider's word (validating, in_progress, finalizing,
    completed, failed, expired, cancelling, cancelled)."""
    input_file: str | None = None
    output_file: str | None = None
    error_file: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    error: str | None = None
    created_at: float
    updated_at: float
    collected_at: float | None = None

    def public(self) -> dict[str, Any]:
        """The batch as ``--json`` shows it."""
        return {
            "batch": self.batch,
            "provider": self.provider,
            "remote_id": self.remote_id,
            "status": self.status,
            "total": self.total,
            "completed": self.completed,
            "failed": self.failed,
            "error": self.error,
            "created_at": _moment(self.created_at),
            "updated_at": _moment(self.updated_at),
            "collected_at": None if self.collected_at is None else _moment(self.collected_at),
        }


def _moment(seconds: float) -> str:
    """Epoch seconds as UTC ISO 8601 with a Z, as every other JSON time of pixyproxy."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
