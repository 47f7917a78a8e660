"""Jobs: lists of prompts queued in the database and run by workers, in any process.

``submit`` checks every request and queues them all (a *batch*) in one transaction, or none.
A worker claims one job at a time (``JobRepositoryInterface.claim``: a guarded UPDATE under a
lease), counts the send before the provider is called, and stores the images and the job's
end in one transaction (``ImageMaker``'s ``then``): however often a job is claimed, its
images are stored at most once, and a worker that lost its job (cancelled, or its lease
taken over) stores nothing. A job sent before without a stored result may have been billed:
it is sent again only with a notice that says so.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from pixyproxy_cli.core.exceptions import (
    InputValidationError,
    JobLostError,
    PixyProxyException,
    ProviderUnavailableError,
    RateLimitedError,
    RecordNotFoundError,
)
from pixyproxy_cli.core.image_options import ImageOptions
from pixyproxy_cli.core.jobs import MAX_ERROR_LENGTH, Job, JobRequest
from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.service.transaction import retried, transaction
from pixyproxy_cli.service.validation import validate_guid

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import ImagePublic
    from pixyproxy_cli.data.db.context import UnitOfWork
    from pixyproxy_cli.service.prompts.dependencies import PromptDependencies
    from pixyproxy_cli.service.prompts.making import ImageMaker
    from pixyproxy_cli.service.remote_batches import RemoteBatches

logger = logging.getLogger(__name__)

LEASE_MARGIN = 60.0
"""Seconds a lease lasts beyond the provider's own deadline for one request."""
MAX_ATTEMPTS = 5
"""Claims of one job before a provider that stays unavailable fails it."""
RATE_LIMIT_WAIT = 30.0
"""Seconds a job waits after a 429 that says nothing of when to try again."""
IDLE_POLL = 0.2
"""Seconds a worker waits when nothing is claimable yet (jobs due later, or held elsewhere)."""
SERVE_IDLE_POLL = 1.0
"""The same for ``serve``'s workers, which wait on every replica for jobs from any other
(jobs queued by their own process wake them at once)."""
ERROR_PAUSE = 5.0
"""Seconds a long-running worker waits after an error of its own (the database gone)."""


@dataclass(frozen=True)
class BatchProgress:
    """How many of a batch's jobs are in each state."""

    queued: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        """Every job of the batch."""
        return self.queued + self.running + self.done + self.failed + self.cancelled

    @property
    def open(self) -> int:
        """Jobs still to run or running."""
        return self.queued + self.running


@dataclass(frozen=True)
class PartialImage:
    """A running job's latest partial image: its number (from 1), bytes and media type."""

    number: int
    data: bytes
    media_type: str


class JobService:
    """Queues lists of prompts and runs them; see the module docstring."""

    def __init__(
        self,
        dependencies: PromptDependencies,
        *,
        provider_timeout: float,
        default_options: ImageOptions | None = None,
        clock: Callable[[], float] = time.time,
        batch_poll: float = 0.0,
        estimate: Callable[[Sequence[ImagePublic]], float | None] | None = None,
    ) -> None:
        self._dependencies = dependencies
        self._uow = dependencies.uow
        self.default_options = default_options or ImageOptions()
        """The options a request that names none of its own is made with (the settings')."""
        self._lease = provider_timeout + LEASE_MARGIN
        self._clock = clock
        self._batch_poll = batch_poll
        self._estimate = estimate
        # Set when this process queues jobs, so that its idle workers look at once.
        self._queued_here = threading.Event()

    # -- queueing ----------------------------------------------------------------------

    def submit(
        self,
        requests: Sequence[JobRequest],
        caller: Caller,
        *,
        lines: Sequence[int] | None = None,
        remote: str | None = None,
    ) -> str:
        """Queue ``requests`` as one batch, in one transaction; the batch's GUID.

        ``lines`` numbers them (a file's line numbers; default 1, 2, ...). Every request is
        checked first (its prompt, count and options, as a generation would check them);
        the first that fails raises InputValidationError naming its line, and nothing is
        queued. AuthenticationError for a private request made anonymously. ``remote``
        (a provider's name): the batch is for that provider's Batch API, and no live
        worker takes its jobs (``RemoteBatches.send``).
        """
        from pixyproxy_cli.data.db.jobs import NewJob

        if not requests:
            raise InputValidationError("there are no prompts to queue")
        numbers = list(lines) if lines is not None else list(range(1, len(requests) + 1))
        if len(numbers) != len(requests):
            raise InputValidationError("one line number per request")
        batch = str(uuid.uuid4())
        maker = self.maker(caller)
        owners = []
        for line, request in zip(numbers, requests, strict=True):
            try:
                options = ImageOptions(**request.options)
                maker.checked_request(
                    {"prompt": request.prompt, "private": request.private},
                    request.n,
                    options,
                    edit=False,
                )
            except TypeError as error:  # an options dict that is not ImageOptions' fields
                raise InputValidationError(f"line {line}: unknown option ({error})") from None
            except InputValidationError as error:
                raise InputValidationError(f"line {line}: {error.message}") from None
            owners.append(caller.owner_for(request.private))
        for attempt in retried(self._uow):
            with attempt as uow:
                now = self._clock()
                jobs = (
                    NewJob(str(uuid.uuid4()), batch, line, owner, request)
                    for line, owner, request in zip(numbers, owners, requests, strict=True)
                )  # made as they are inserted: a long list is not held twice
                uow.jobs.add(jobs, now=now, remote=remote is not None)
                if remote is not None:
                    uow.jobs.add_remote_batch(batch, remote, now=now)
        if remote is None:
            self._queued_here.set()
        return batch

    @cached_property
    def remote(self) -> RemoteBatches:
        """Batches sent to the provider's Batch API, and their collection."""
        from pixyproxy_cli.service.remote_batches import RemoteBatches

        return RemoteBatches(self, self._dependencies, clock=self._clock)

    def maker(self, caller: Caller) -> ImageMaker:
        """An ImageMaker for ``caller``: the rules and the making a generation has."""
        from pixyproxy_cli.service.prompts.making import ImageMaker
        from pixyproxy_cli.service.prompts.reading import ImageReader

        return ImageMaker(self._dependencies, caller, ImageReader(self._dependencies, caller))

    @staticmethod
    def request_for(
        prompt: str,
        options: ImageOptions,
        *,
        n: int = 1,
        private: bool = False,
        partials: bool = False,
    ) -> JobRequest:
        """A job's request: ``prompt`` with every option of ``options`` recorded.

        ``partials``: its partial images are kept for its events (``partial``).
        """
        # Requests with the same options share one validated dict (a list of 10,000 prompts
        # would otherwise hold 10,000 copies); prompt and n are checked by ``submit``.
        return _template(options, private, partials).model_copy(update={"prompt": prompt, "n": n})

    # -- running -----------------------------------------------------------------------

    def claim(self, worker: str, batch: str | None = None) -> Job | None:
        """The next claimable job (of ``batch``), now held by ``worker``; None when none is."""
        for attempt in retried(self._uow):
            with attempt as uow:
                job = uow.jobs.claim(worker, now=self._clock(), lease=self._lease, batch=batch)
        return job

    def run(self, job: Job, worker: str, notice: Callable[[str], None] | None = None) -> Job:
        """Run a job ``worker`` holds; the job as it is afterwards.

        Done (its images stored), failed (the error kept), or queued again: rate limited
        (due after the provider's ``Retry-After``) or the provider unavailable (until it
        has been claimed ``MAX_ATTEMPTS`` times). Cancelled meanwhile: nothing stored. An
        interruption (KeyboardInterrupt, a worker stopping) puts it back in the queue, its
        send counted, and propagates. ``notice`` is told when a job is sent again that may
        have been billed before.
        """
        from pixyproxy_cli.core.models import ImageDetailCreate

        maker = self.maker(Caller(viewer=job.owner))
        request = job.request

        before = job.sent - 1  # the claim counted this send

        def sending() -> None:
            if before and notice is not None:
                notice(
                    f"line {job.line} ({job.guid}) was sent {before} time(s) before without "
                    "a stored result, and may have been billed: sending it again"
                )

        made: list[str] = []

        def then(uow: UnitOfWork, guids: list[str]) -> None:
            if not uow.jobs.finish(job.id, worker, guids, now=self._clock()):
                raise JobLostError()
            made[:] = guids

        def keep_partial(received: int, expected: int, image: bytes | None = None) -> None:
            if image is None:
                return
            try:
                for attempt in retried(self._uow):
                    with attempt as uow:
                        uow.jobs.set_partial(job.id, worker, received, image, now=self._clock())
            except PixyProxyException as error:  # a watcher's loss: the job goes on
                logger.warning("job %s: partial image %d not kept: %r", job.guid, received, error)

        try:
            images = maker.generate_images(
                ImageDetailCreate(prompt=request.prompt, private=request.private),
                request.n,
                ImageOptions(**request.options),
                progress=keep_partial if request.partials else None,
                sending=sending,
                then=then,
            )
        except JobLostError:
            return self._reread(job)
        except RateLimitedError as error:  # refused before any work: not billed
            wait = error.retry_after if error.retry_after is not None else RATE_LIMIT_WAIT
            return self._release(job, worker, wait, sent=False)
        except ProviderUnavailableError as error:
            if job.attempts < MAX_ATTEMPTS:
                return self._release(job, worker, min(2.0**job.attempts, 60.0))
            return self._fail(job, worker, error.message)
        except PixyProxyException as error:
            return self._fail(job, worker, error.message)
        except BaseException:
            self._release(job, worker, 0.0)
            raise
        now = self._clock()
        return job.model_copy(
            update={"state": "done", "sent": 0, "images": made, "error": None,
                    "updated_at": now, "finished_at": now, "lease_until": None,
                    "made": tuple(images)}
        )  # fmt: skip

    def _release(self, job: Job, worker: str, wait: float, *, sent: bool = True) -> Job:
        now = self._clock()
        return self._end(
            job,
            lambda uow: uow.jobs.release(job.id, worker, now=now, not_before=now + wait, sent=sent),
            {"state": "queued", "sent": job.sent if sent else job.sent - 1, "worker": None,
             "not_before": now + wait, "updated_at": now},
        )  # fmt: skip

    def _fail(self, job: Job, worker: str, error: str) -> Job:
        now = self._clock()
        return self._end(
            job,
            lambda uow: uow.jobs.fail(job.id, worker, error, now=now),
            {"state": "failed", "error": error[:MAX_ERROR_LENGTH], "updated_at": now,
             "finished_at": now},
        )  # fmt: skip

    def _end(
        self, job: Job, change: Callable[[UnitOfWork], bool], update: dict[str, object]
    ) -> Job:
        """Let go of a held job by ``change``; the job with ``update``.

        As the database has it instead when the worker no longer held it.
        """
        for attempt in retried(self._uow):
            with attempt as uow:
                held = change(uow)
        if not held:
            return self._reread(job)
        return job.model_copy(update={**update, "lease_until": None})

    def _reread(self, job: Job) -> Job:
        """``job`` as the database has it now (whoever owns it)."""
        return self.get(job.guid, Caller(local_admin=True, sees_everything=True))

    def estimate(self, images: Sequence[ImagePublic]) -> float | None:
        """What ``images`` cost in USD by the configured prices, or None (no price)."""
        return None if self._estimate is None else self._estimate(images)

    def claimable(self, batch: str | None = None) -> bool:
        """Whether a job (of ``batch``) could be claimed now (a read, for idle workers)."""
        with transaction(self._uow) as uow:
            return uow.jobs.claimable(now=self._clock(), batch=batch)

    def work(
        self,
        batch: str | None,
        *,
        workers: int,
        stop: threading.Event,
        finished: Callable[[Job], None],
        started: Callable[[Job], None] | None = None,
        notice: Callable[[str], None] | None = None,
        forever: bool = False,
        idle: float = IDLE_POLL,
        failed: Callable[[Exception], None] | None = None,
    ) -> None:
        """Run the jobs of ``batch`` (every batch: None) on ``workers`` threads.

        Returns when ``stop`` is set (after the jobs in hand end) or, unless ``forever``,
        when the batch has nothing queued or running. ``finished`` is told of each job that
        ends (done, failed, cancelled), ``started`` of each job claimed. An idle worker
        looks again after ``idle`` seconds (at once when this process queues jobs), with a
        read. An error of a worker thread is raised here once the others have stopped;
        with ``failed``, an Exception is told to it instead and the worker goes on after
        ``ERROR_PAUSE`` seconds. Raises ConfigurationError, before any job is claimed, when
        the provider cannot be had.
        """
        self._dependencies.provider  # noqa: B018 - chosen and built now, not in a job
        name = f"{uuid.uuid4().hex[:12]}"
        errors: list[BaseException] = []

        def wait(seconds: float) -> None:
            if self._queued_here.wait(seconds):
                self._queued_here.clear()

        def step(worker: str) -> bool:
            """Run one job if one is claimable; False when the batch has none left."""
            job = self.claim(worker, batch)
            if job is None:
                if not forever and batch is not None and self.progress(batch).open == 0:
                    return False
                wait(idle)
                # A long-running worker reads until there is work rather than writing
                # (a claim) every time it looks.
                while forever and not stop.is_set() and not self.claimable(batch):
                    wait(idle)
                return True
            if started is not None:
                started(job)
            ended = self.run(job, worker, notice)
            if ended.finished:
                finished(ended)
            return True

        def loop(number: int) -> None:
            worker = f"{name}-{number}"
            try:
                while not stop.is_set():
                    try:
                        if not step(worker):
                            return
                    except Exception as error:
                        if failed is None:
                            raise
                        failed(error)
                        stop.wait(ERROR_PAUSE)
            except BaseException as error:  # noqa: BLE001 - handed to the caller below
                errors.append(error)
                stop.set()

        threads = [
            threading.Thread(target=loop, args=(n,), name=f"job-worker-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def background(
        self,
        workers: int,
        *,
        stop: threading.Event,
        finished: Callable[[Job], None],
        notice: Callable[[str], None] | None = None,
        failed: Callable[[Exception], None] | None = None,
        poll_failed: Callable[[Exception], None] | None = None,
        idle: float = IDLE_POLL,
    ) -> threading.Thread:
        """A thread (not started) that runs every batch's jobs on ``workers`` threads.

        It ends when ``stop`` is set, after the jobs in hand end; ``work`` says the rest.
        With a ``batch_poll`` and a provider with a Batch API, it also collects the
        unfinished batches sent there every ``batch_poll`` seconds; a look that fails is
        told to ``poll_failed`` (default: ``failed``) and the next goes on. Raises
        ConfigurationError here, not in the thread, when the provider cannot be had.
        """
        self._dependencies.provider  # noqa: B018 - chosen and built now, not in the thread

        def run() -> None:
            poller = None
            if self._batch_poll > 0 and self._dependencies.provider.batch_api:
                poller = threading.Thread(
                    target=self.remote.poll,
                    args=(stop, self._batch_poll, poll_failed or failed or _ignore),
                    name="batch-poller",
                    daemon=True,
                )
                poller.start()
            try:
                self.work(
                    None,
                    workers=workers,
                    stop=stop,
                    finished=finished,
                    notice=notice,
                    forever=True,
                    idle=idle,
                    failed=failed,
                )
            finally:
                stop.set()
                if poller is not None:
                    poller.join()

        return threading.Thread(target=run, name="job-workers", daemon=True)

    def start(
        self,
        workers: int,
        *,
        finished: Callable[[Job], None],
        failed: Callable[[Exception], None],
    ) -> Callable[[], None]:
        """Run every batch's jobs on ``workers`` threads in the background (``serve``).

        An error is told to ``failed`` and the worker goes on. Returns the function that
        stops them: it waits for the jobs in hand to end.
        """
        stop = threading.Event()
        runner = self.background(
            workers, stop=stop, finished=finished, failed=failed, idle=SERVE_IDLE_POLL
        )
        runner.start()

        def stop_workers() -> None:
            stop.set()
            self._queued_here.set()  # idle workers stop waiting
            runner.join()

        return stop_workers

    # -- reading and cancelling --------------------------------------------------------

    def progress(self, batch: str) -> BatchProgress:
        """How many of ``batch``'s jobs are in each state."""
        with transaction(self._uow) as uow:
            counts = uow.jobs.counts(batch)
        return BatchProgress(**counts)

    def partial(self, guid: str, caller: Caller) -> PartialImage | None:
        """The latest partial image of running job ``guid``, or None when it has none now.

        Raises RecordNotFoundError as ``get``.
        """
        from pixyproxy_cli.data.providers import sniff_media_type

        job = self.get(guid, caller)
        with transaction(self._uow) as uow:
            number, image = uow.jobs.partial(job.guid)
        media_type = None if image is None else sniff_media_type(image)
        if image is None or media_type is None:
            return None
        return PartialImage(number, image, media_type)

    def get(self, guid: str, caller: Caller) -> Job:
        """The job ``guid`` if ``caller`` may see it. Raises RecordNotFoundError otherwise."""
        guid = validate_guid(guid)
        with transaction(self._uow) as uow:
            job = uow.jobs.get(guid)
        if job is None or not _may_see(caller, job):
            raise RecordNotFoundError(f"No job with GUID {guid}")
        return job

    def batch_jobs(
        self, batch: str, caller: Caller, *, after_line: int = 0, limit: int = 1000
    ) -> list[Job]:
        """The jobs of ``batch`` that ``caller`` may see, by line."""
        batch = validate_guid(batch)
        with transaction(self._uow) as uow:
            jobs = uow.jobs.batch_jobs(batch, after_line=after_line, limit=limit)
        return [job for job in jobs if _may_see(caller, job)]

    def recent(self, caller: Caller, *, limit: int = 100) -> list[Job]:
        """The newest jobs ``caller`` may see, newest first."""
        with transaction(self._uow) as uow:
            return uow.jobs.recent(
                owner=caller.viewer, everyone=caller.sees_everything, limit=limit
            )

    def cancel(self, guids: Sequence[str], caller: Caller) -> int:
        """Cancel the queued or running jobs among ``guids`` that ``caller`` owns; how many.

        A running job's images are then not stored (its worker finds the job gone).
        """
        checked = [validate_guid(guid) for guid in guids]
        for attempt in retried(self._uow):
            with attempt as uow:
                cancelled = uow.jobs.cancel(
                    checked,
                    owner=caller.viewer,
                    everyone=caller.sees_everything,
                    now=self._clock(),
                )
        return cancelled


@functools.lru_cache(maxsize=256)
def _template(options: ImageOptions, private: bool, partials: bool) -> JobRequest:
    """A validated request with these options, to copy with a prompt and a count."""
    return JobRequest(prompt="-", private=private, options=asdict(options), partials=partials)


def _ignore(error: Exception) -> None:
    """A worker's error nobody asked to hear of (its poll goes on regardless)."""


def _may_see(caller: Caller, job: Job) -> bool:
    return caller.sees_everything or job.owner == caller.viewer
