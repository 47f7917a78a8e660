"""Batches for the provider's Batch API: sent whole, collected once they have ended.

``send`` queues a list of requests as ``remote`` jobs (no live worker takes them) with a
record of the batch, then uploads them to the provider as one batch (half the price of live
calls, done within 24 hours) and marks the jobs running. ``collect`` asks the provider how
each batch stands and, once one has ended, stores each line's images in the transaction
that ends its job: a guarded UPDATE that only a running job passes, so collecting a batch
twice, or two collectors at once, store every image exactly once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from pixyproxy_cli.core.exceptions import (
    JobLostError,
    PixyProxyException,
    RecordNotFoundError,
)
from pixyproxy_cli.core.image_options import ImageOptions
from pixyproxy_cli.core.jobs import Job, JobRequest, RemoteBatch
from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.transaction import keyset_pages, retried, transaction
from pixyproxy_cli.service.validation import validate_guid

if TYPE_CHECKING:
    from pixyproxy_cli.data.db.context import UnitOfWork
    from pixyproxy_cli.data.providers import BatchOutcome, RemoteBatchState
    from pixyproxy_cli.service.jobs import JobService
    from pixyproxy_cli.service.prompts.dependencies import PromptDependencies

PAGE = 1000
"""Jobs read at a time from a batch."""
SEND_GRACE = 900.0
"""Seconds after which a send that never recorded its batch is taken to have stopped (a
send is two requests of at most OPENAI_TIMEOUT each)."""


@dataclass(frozen=True)
class Collected:
    """What one ``collect`` did to a batch: its record now, and the jobs it ended."""

    batch: RemoteBatch
    stored: int = 0
    """Jobs whose images it stored."""
    failed: int = 0
    """Jobs it ended as failed (the line's error, or no result in an ended batch)."""


class RemoteBatches:
    """Sends batches to the provider's Batch API and collects them; see the module."""

    def __init__(
        self,
        jobs: JobService,
        dependencies: PromptDependencies,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._jobs = jobs
        self._uow = dependencies.uow
        self._provider = dependencies.provider
        self._clock = clock

    def send(
        self,
        requests: Sequence[JobRequest],
        caller: Caller,
        *,
        lines: Sequence[int] | None = None,
    ) -> RemoteBatch:
        """Queue ``requests`` (checked as ``JobService.submit`` checks them) and send them.

        Returns the batch's record. When the provider refuses or cannot be reached, the
        jobs fail with its error and the error is raised (the GenerationError family;
        ConfigurationError for a provider without a Batch API, before anything is queued).
        """
        from pixyproxy_cli.data.providers import BatchLine

        if not self._provider.batch_api:
            raise self._provider.no_batch_api()
        batch = self._jobs.submit(requests, caller, lines=lines, remote=self._provider.name)
        sent = [
            BatchLine(
                job.guid, job.request.prompt, job.request.n, ImageOptions(**job.request.options)
            )
            for job in self._batch_jobs(batch)
        ]
        try:
            state = self._provider.send_batch(sent, batch)
        except PixyProxyException as error:
            self._end_unsent(batch, error.message)
            raise
        self._taken(batch, state)
        return self.get(batch)

    def get(self, batch: str) -> RemoteBatch:
        """The record of ``batch``. Raises RecordNotFoundError when it was not sent."""
        batch = validate_guid(batch)
        with transaction(self._uow) as uow:
            found = uow.jobs.remote_batch(batch)
        if found is None:
            raise RecordNotFoundError(f"No batch {batch} was sent to a Batch API")
        return found

    def recent(self, *, uncollected: bool = False, limit: int = 100) -> list[RemoteBatch]:
        """The newest batches sent (only those not collected yet, with ``uncollected``)."""
        with transaction(self._uow) as uow:
            return uow.jobs.remote_batches(uncollected=uncollected, limit=limit)

    def collect(self, batch: str | None = None) -> list[Collected]:
        """Collect ``batch``, or every batch not collected yet; what each came to.

        A batch the provider is still working on is only brought up to date. Raises
        RecordNotFoundError for a batch that was not sent, and the GenerationError family
        when the provider cannot be asked (nothing is stored then).
        """
        targets = [self.get(batch)] if batch is not None else self.recent(uncollected=True)
        return [self._collect(target) for target in targets]

    def cancel(self, batch: str, caller: Caller) -> int:
        """Ask the provider to stop ``batch``; cancel the open jobs ``caller`` owns: how many.

        What the provider finished before it stopped is still collected for jobs that were
        not cancelled. Raises as ``collect``.
        """
        record = self.get(batch)
        if record.remote_id is not None and not record.collected_at:
            state = self._provider.cancel_batch(record.remote_id)
            self._save(batch, _fields(state))
        return self._jobs.cancel([job.guid for job in self._batch_jobs(batch)], caller)

    def webhook(
        self, payload: bytes, headers: Mapping[str, str], secret: str | None
    ) -> dict[str, object]:
        """Collect the batch a provider's webhook says has ended; what was done.

        The signature is checked (with ``secret``) before anything else. An event of a
        batch that is not ours, or not of a batch, is acknowledged and ignored. Raises
        RecordNotFoundError when no secret is set (webhooks are off), AuthenticationError
        for a bad signature, and as ``collect``.
        """
        if not secret:
            raise RecordNotFoundError("Webhooks are off here: OPENAI_WEBHOOK_SECRET is not set")
        kind, remote_id = self._provider.batch_event(payload, headers, secret)
        if not kind.startswith("batch."):
            return {"event": kind, "collected": False}
        ours = [r for r in self.recent(uncollected=True, limit=1000) if r.remote_id == remote_id]
        if not ours:
            return {"event": kind, "collected": False}
        (collected,) = self.collect(ours[0].batch)
        return {
            "event": kind,
            "collected": True,
            "batch": collected.batch.batch,
            "stored": collected.stored,
            "failed": collected.failed,
        }

    def poll(
        self, stop: threading.Event, every: float, failed: Callable[[Exception], None]
    ) -> None:
        """Collect every unfinished batch each ``every`` seconds until ``stop`` is set.

        An error is told to ``failed`` and the next look goes on (for workers that run
        without webhooks).
        """
        while not stop.wait(every):
            if not self.recent(uncollected=True, limit=1):
                continue
            try:
                self.collect()
            except Exception as error:  # noqa: BLE001 - told, and tried again next time
                failed(error)

    def _collect(self, record: RemoteBatch) -> Collected:
        if record.remote_id is None:  # its sender stopped before it heard of the batch
            found = self._recover(record)
            if found is None:
                return Collected(self.get(record.batch))
            state = found
        else:
            state = self._provider.batch_state(record.remote_id)
            self._save(record.batch, _fields(state))
        if not state.ended:
            return Collected(self.get(record.batch))
        outcomes = {outcome.key: outcome for outcome in self._provider.batch_outcomes(state)}
        stored = failed = 0
        for job in self._batch_jobs(record.batch):
            if job.state != "running":
                continue  # collected before, or cancelled: nothing to store
            outcome = outcomes.get(job.guid)
            if outcome is not None and outcome.images:
                stored += self._store(job, outcome)
            else:
                failed += self._fail(job, _why(state, outcome))
        self._save(record.batch, {"collected_at": self._clock()})
        return Collected(self.get(record.batch), stored=stored, failed=failed)

    def _recover(self, record: RemoteBatch) -> RemoteBatchState | None:
        """The provider's batch of a send that never finished, once it may have finished.

        After ``SEND_GRACE``: the batch found by its label, its jobs marked running; or, if
        the provider has none, the jobs failed. None while the send may still be going on,
        and when no batch was found.
        """
        if self._clock() - record.created_at < SEND_GRACE:
            return None
        found = self._provider.find_batch(record.batch)
        if found is None:
            self._end_unsent(record.batch, "the sender stopped before the provider took it")
            return None
        self._taken(record.batch, found)
        return found

    def _taken(self, batch: str, state: RemoteBatchState) -> None:
        """The provider has ``batch``: its record says as ``state`` does, its jobs run."""
        for attempt in retried(self._uow):
            with attempt as uow:
                now = self._clock()
                uow.jobs.update_remote_batch(batch, _fields(state), now=now)
                uow.jobs.start_remote(batch, now=now)

    def _store(self, job: Job, outcome: BatchOutcome) -> int:
        """Store ``outcome``'s images as ``job``'s, with its end; 1, or 0 when it ended first."""
        assert outcome.images is not None

        def then(uow: UnitOfWork, guids: list[str]) -> None:
            if not uow.jobs.end_remote(job.guid, images=guids, error=None, now=self._clock()):
                raise JobLostError()

        request = job.request
        maker = self._jobs.maker(Caller(viewer=job.owner))
        try:
            maker.store_made(request.prompt, request.private, job.owner, outcome.images, then)
        except JobLostError:
            return 0
        return 1

    def _fail(self, job: Job, error: str) -> int:
        for attempt in retried(self._uow):
            with attempt as uow:
                ended = uow.jobs.end_remote(job.guid, images=None, error=error, now=self._clock())
        return int(ended)

    def _end_unsent(self, batch: str, error: str) -> None:
        """The provider did not take ``batch``: its record and its jobs say why."""
        for attempt in retried(self._uow):
            with attempt as uow:
                now = self._clock()
                uow.jobs.update_remote_batch(batch, {"status": "failed", "error": error}, now=now)
                uow.jobs.start_remote(batch, now=now)
        for job in self._batch_jobs(batch):
            self._fail(job, f"not sent: {error}")
        self._save(batch, {"collected_at": self._clock()})

    def _save(self, batch: str, changes: dict[str, object]) -> None:
        for attempt in retried(self._uow):
            with attempt as uow:
                uow.jobs.update_remote_batch(batch, changes, now=self._clock())

    def _batch_jobs(self, batch: str) -> Iterator[Job]:
        """Every job of ``batch``, by line, a page at a time."""
        pages = keyset_pages(
            self._uow,
            lambda uow, after, limit: uow.jobs.batch_jobs(batch, after_line=after, limit=limit),
            lambda job: job.line,
            PAGE,
        )
        for page in pages:
            yield from page


def _fields(state: RemoteBatchState) -> dict[str, object]:
    """A provider's report of a batch as the fields of its record (the same names)."""
    return asdict(state)


def _why(state: RemoteBatchState, outcome: BatchOutcome | None) -> str:
    """Why a line of an ended batch has no images."""
    if outcome is not None and outcome.error:
        return outcome.error
    reason = f": {state.error}" if state.error else ""
    return f"the batch ended ({state.status}) without a result for this line{reason}"
