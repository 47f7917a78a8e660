"""``pixyproxy jobs``: lists of prompts queued as jobs; and the runner ``generate --from`` uses.

A list of prompts is queued whole (one batch), then run by ``-j N`` workers of this process;
Ctrl-C stops claiming and leaves the rest queued, and ``pixyproxy jobs resume BATCH`` goes on.
With a server, the list is queued there (``POST /jobs``) and watched while its workers run it.
"""

import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pixyproxy_cli.commands import output
from pixyproxy_cli.commands.help import ExamplesCommand
from pixyproxy_cli.commands.options import JsonOutput, workers_option
from pixyproxy_cli.commands.state import state
from pixyproxy_cli.core.exceptions import InputValidationError

if TYPE_CHECKING:
    from pixyproxy_cli.core.jobs import Job
    from pixyproxy_cli.core.prompt_file import PromptLine
    from pixyproxy_cli.service.access import Caller
    from pixyproxy_cli.service.jobs import JobService
    from pixyproxy_cli.service.remote_jobs import RemoteJobs

app = typer.Typer(
    help="Jobs: lists of prompts (generate --from FILE), queued in the database.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

Workers = Annotated[int, workers_option("Requests to run at once")]
BatchArgument = Annotated[str, typer.Argument(metavar="BATCH", help="The batch's GUID.")]
REMOTE_POLL = 1.0
"""Seconds between two looks at a batch that a server runs."""
UNSTARTED_NOTICE = 30.0
"""Seconds after which a server's batch of which no job has started is remarked on."""


def read_prompt_source(source: str) -> tuple[str, str]:
    """The text of ``source`` (a file, or ``-`` for stdin), and its name for messages.

    Raises InputValidationError when it cannot be read.
    """
    if source == "-":
        return sys.stdin.read(), "standard input"
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as error:
        raise InputValidationError(f"cannot read {path}: {error}") from None


def read_prompt_file(source: str) -> tuple[list["PromptLine"], str]:
    """The checked lines of ``source`` (a file, or ``-``), and its name for messages.

    Raises InputValidationError naming the first line that is not valid: nothing is queued.
    """
    from pixyproxy_cli.core.prompt_file import read_prompt_lines

    text, name = read_prompt_source(source)
    return read_prompt_lines(text, name), name


def run_prompt_file_here(
    jobs: tuple["JobService", "Caller"],
    lines: list["PromptLine"],
    name: str,
    *,
    n: int | None,
    private: bool,
    batch_api: bool,
    workers: int,
    as_json: bool,
    notice: str | None,
) -> None:
    """``generate --from`` on this machine: queue the lines as one batch, then run it here.

    Each line's own fields win over the flags (the settings the job service was opened
    with, ``n``, ``private``). With ``batch_api`` the batch is sent to the provider's Batch
    API instead of being run by workers of this process. Raises InputValidationError naming
    the line when any line is not valid: nothing is queued.
    """
    service, caller = jobs
    options = service.default_options
    requests = []
    for line in lines:
        count, hidden = line.count_and_privacy(n, private)
        requests.append(
            service.request_for(
                line.prompt, options.overridden(line.options), n=count, private=hidden
            )
        )
    numbers = [line.line for line in lines]
    try:
        if batch_api:
            batch = service.remote.send(requests, caller, lines=numbers).batch
        else:
            batch = service.submit(requests, caller, lines=numbers)
    except InputValidationError as error:  # "line N: ...": say which file
        raise InputValidationError(f"{name}, {error.message}") from None
    if batch_api:
        sent = service.remote.get(batch)
        if as_json:
            output.print_json(sent.public())
        output.status(
            f"Sent {len(lines)} prompt(s) as batch {batch} to {sent.provider} "
            f"({sent.remote_id}); pixyproxy jobs collect {batch} stores the images once it has "
            "ended (within 24 hours)"
        )
        return
    output.status(f"Queued {len(lines)} prompt(s) as batch {batch}")
    if notice and not output.verbose():
        output.notice(notice)
    run_batch(service, caller, batch, workers=workers, as_json=as_json)


def watch_remote_batch(
    jobs: "RemoteJobs",
    batch: str,
    numbers: list[int],
    *,
    as_json: bool,
    every: float = REMOTE_POLL,
    unstarted_notice: float = UNSTARTED_NOTICE,
) -> None:
    """See a batch queued on a server through: its jobs as they end, then how it went.

    The server's job workers run it; this asks how it stands every ``every`` seconds.
    ``numbers`` are the file's line numbers of the batch's jobs, for the messages. When no
    job has started after ``unstarted_notice`` seconds, a notice says what runs jobs on a
    server. Exits 1 when a job failed, 130 on Ctrl-C (the server goes on with the batch).
    """
    total = len(numbers)
    ended: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    remarked = False

    def tally() -> str:
        failed = sum(job["state"] == "failed" for job in ended.values())
        return f"{failed} failed, {total - len(ended)} left on the server"

    try:
        with output.progress_bar(f"batch {batch[:8]}", total, tally) as advance:
            while len(ended) < total:
                listed = jobs.listed(batch, total)
                if (
                    not remarked
                    and time.monotonic() - started >= unstarted_notice
                    and all(job["state"] == "queued" for job in listed)
                ):
                    remarked = True
                    output.notice(
                        f"no job of batch {batch} has started yet: the server's job workers "
                        "run them (serve's JOB_WORKERS, or pixyproxy worker beside it); Ctrl-C "
                        "stops watching, the jobs stay queued"
                    )
                for job in listed:
                    if job["finished_at"] is None or job["job"] in ended:
                        continue
                    ended[job["job"]] = job
                    if as_json:
                        output.print_json_line(job)
                    if advance is not None:
                        advance(1)
                if len(ended) < total:
                    time.sleep(every)
    except KeyboardInterrupt:
        output.notice(
            f"Stopped watching; the server goes on with batch {batch}: pixyproxy jobs list "
            f"--batch {batch}"
        )
        raise typer.Exit(130) from None
    states = [job["state"] for job in ended.values()]
    parts = [f"{states.count('done')} done"]
    parts += [f"{states.count(kind)} {kind}" for kind in ("failed", "cancelled") if kind in states]
    output.status(f"Batch {batch}: {', '.join(parts)}, in {time.monotonic() - started:.1f} s")
    failures = sorted(
        (job for job in ended.values() if job["state"] == "failed"), key=lambda job: job["line"]
    )
    for job in failures[:20]:
        place = job["line"]  # its place in the list sent; the file's line where known
        line = numbers[place - 1] if 1 <= place <= len(numbers) else place
        output.warning(f"line {line} failed: {job['error']}")
    if failures:
        raise typer.Exit(1)


def run_batch(
    service: "JobService", caller: "Caller", batch: str, *, workers: int, as_json: bool
) -> None:
    """Run ``batch`` on ``workers`` threads until nothing is left, then say how it went.

    ``as_json`` prints one JSON line per job as it ends; on a terminal a progress bar runs
    on stderr (nothing extra in a pipe). Exits 1 when a job failed, 130 on Ctrl-C (the rest
    stay queued).
    """
    progress = service.progress(batch)
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[Job] = []
    started = time.monotonic()
    running = 0
    spent = _Spent()

    def finished(job: "Job") -> None:
        nonlocal running
        estimate = service.estimate(job.made) if job.made else 0.0
        with lock:
            running -= 1
            spent.add(job, estimate)
            if job.state == "failed":
                failures.append(job)
            if as_json:
                output.print_json_line(job.public())
            if advance is not None:
                advance(1)

    def begun(job: "Job") -> None:
        nonlocal running
        with lock:
            running += 1

    errors: list[BaseException] = []

    def work() -> None:
        try:
            service.work(
                batch,
                workers=workers,
                stop=stop,
                finished=finished,
                started=begun,
                notice=output.notice,
            )
        except BaseException as error:  # noqa: BLE001 - raised in the main thread below
            errors.append(error)

    done_before = progress.done + progress.failed + progress.cancelled

    def tally() -> str:
        return ", ".join([f"{len(failures)} failed", f"{running} running", *spent.words()])

    with output.progress_bar(f"batch {batch[:8]}", progress.total, tally) as advance:
        if advance is not None and done_before:
            advance(done_before)
        runner = threading.Thread(target=work, name="batch", daemon=True)
        interrupted = _until_done(
            runner,
            stop,
            lambda: (
                f"Stopping: {running} request(s) still running finish first (Ctrl-C "
                "again leaves them to be sent again later); the rest stay queued: "
                f"pixyproxy jobs resume {batch}"
            ),
        )
        if interrupted:
            _summary(service.progress(batch), batch, failures, time.monotonic() - started, spent)
            raise typer.Exit(130)
    if errors:
        raise errors[0]
    _summary(service.progress(batch), batch, failures, time.monotonic() - started, spent)
    if failures:
        raise typer.Exit(1)


def _until_done(runner: threading.Thread, stop: threading.Event, saying: Any) -> bool:
    """Start ``runner`` and wait for it; whether Ctrl-C interrupted it.

    On Ctrl-C: set ``stop``, say ``saying()``, and wait for the work in hand.
    """
    runner.start()
    try:
        while runner.is_alive():
            runner.join(0.2)
    except KeyboardInterrupt:
        stop.set()
        output.notice(saying())
        runner.join()
        return True
    return False


class _Spent:
    """The tokens this run's jobs used, and their estimated cost while every one has one."""

    def __init__(self) -> None:
        self.tokens = 0
        self.cost: float | None = 0.0

    def add(self, job: "Job", estimate: float | None) -> None:
        for image in job.made:
            if image.usage is not None:
                self.tokens += image.usage.input_tokens + image.usage.output_tokens
        if self.cost is not None:
            self.cost = None if estimate is None else self.cost + estimate

    def words(self) -> list[str]:
        """``12,345 tokens`` and ``~$0.42 by IMAGE_PRICES``, as far as they are known."""
        if not self.tokens:
            return []
        cost = [] if not self.cost else [f"~${self.cost:,.4f} by IMAGE_PRICES"]
        return [f"{self.tokens:,} tokens", *cost]


def _summary(
    progress: Any, batch: str, failures: list["Job"], seconds: float, spent: _Spent
) -> None:
    parts = [f"{progress.done} done"]
    if progress.failed:
        parts.append(f"{progress.failed} failed")
    if progress.cancelled:
        parts.append(f"{progress.cancelled} cancelled")
    if progress.open:
        parts.append(f"{progress.open} left (pixyproxy jobs resume {batch})")
    used = ", ".join(spent.words())
    output.status(
        f"Batch {batch}: {', '.join(parts)}, in {seconds:.1f} s" + (f" ({used})" if used else "")
    )
    for job in sorted(failures, key=lambda job: job.line)[:20]:
        output.warning(f"line {job.line} failed: {job.error}")


@app.command("resume", cls=ExamplesCommand)
def resume(
    ctx: typer.Context, batch: BatchArgument, workers: Workers = 4, as_json: JsonOutput = False
) -> None:
    """Run what is left of a batch: its queued jobs (and any whose worker died).

    A job interrupted after it was sent may have been billed already: it is sent again,
    and a notice says so.

    Examples:

        pixyproxy jobs resume 1b4e28ba-2fa1-11d2-883f-0016d3cca427 -j 8
    """
    service, caller = state(ctx).backend().jobs({})
    service.batch_jobs(batch, caller, limit=1)  # refuses a malformed GUID
    run_batch(service, caller, batch, workers=workers, as_json=as_json)


@app.command("list", cls=ExamplesCommand)
def list_jobs(
    ctx: typer.Context,
    batch: Annotated[
        str | None, typer.Option("--batch", "-b", help="Only this batch's jobs, by line.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 100,
    as_json: JsonOutput = False,
) -> None:
    """List jobs: the newest first, or one batch's by line.

    Examples:

        pixyproxy jobs list

        pixyproxy jobs list --batch 1b4e28ba-2fa1-11d2-883f-0016d3cca427 --json
    """
    jobs = state(ctx).backend().listed_jobs(batch, limit)
    if as_json:
        output.print_json(jobs)
        return
    output.print_lines(
        f"{job['job']}  {job['batch'][:8]}:{job['line']:<5} {job['state']:<9} {job['prompt'][:60]}"
        for job in jobs
    )


@app.command("show", cls=ExamplesCommand)
def show(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(metavar="JOB", help="The job's GUID.")],
    as_json: JsonOutput = False,
) -> None:
    """Show one job: its request, state, images or error.

    Examples:

        pixyproxy jobs show 1b4e28ba-2fa1-11d2-883f-0016d3cca427
    """
    found = state(ctx).backend().job(job)
    if as_json:
        output.print_json(found)
        return
    output.print_fields(
        {key.replace("_", " ").capitalize(): _text(value) for key, value in found.items()}
    )


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(value) or "-"
    return "-" if value is None else str(value)


@app.command("cancel", cls=ExamplesCommand)
def cancel(
    ctx: typer.Context,
    jobs: Annotated[
        list[str] | None, typer.Argument(metavar="[JOB]...", help="Jobs' GUIDs.")
    ] = None,
    batch: Annotated[
        str | None, typer.Option("--batch", "-b", help="Every open job of this batch.")
    ] = None,
    as_json: JsonOutput = False,
) -> None:
    """Cancel queued or running jobs: a running one's images are not stored.

    Examples:

        pixyproxy jobs cancel 1b4e28ba-2fa1-11d2-883f-0016d3cca427

        pixyproxy jobs cancel --batch 0b4e28ba-2fa1-11d2-883f-0016d3cca427
    """
    if not jobs and batch is None:
        raise InputValidationError("name the jobs to cancel, or --batch BATCH")
    cancelled = state(ctx).backend().cancel_jobs(list(jobs or []), batch)
    if as_json:
        output.print_json({"cancelled": cancelled})
        return
    output.status(f"Cancelled {cancelled} job(s)")


@app.command("collect", cls=ExamplesCommand)
def collect(
    ctx: typer.Context,
    batch: Annotated[
        str | None,
        typer.Argument(metavar="[BATCH]", help="A batch sent with --batch (default: every one)."),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Ask again until every batch has ended.")
    ] = False,
    every: Annotated[
        float, typer.Option(min=1, max=3600, help="With --wait: seconds between two asks.")
    ] = 60.0,
    as_json: JsonOutput = False,
) -> None:
    """Store the images of batches sent to the Batch API (generate --from FILE --batch).

    Asks the provider how each batch stands; one that has ended has its output downloaded
    and each line's images stored with its job, exactly once (collecting again stores
    nothing twice). Lines the provider refused, or left undone, fail. Exits 1 when any
    line failed.

    Examples:

        pixyproxy jobs collect

        pixyproxy jobs collect 1b4e28ba-2fa1-11d2-883f-0016d3cca427 --wait --every 300

        pixyproxy jobs collect --json | jq -c 'select(.failed_jobs > 0)'
    """
    service, _ = state(ctx).backend().jobs({})
    failed = 0
    while True:
        results = service.remote.collect(batch)
        for result in results:
            failed += result.failed
            record = result.batch
            if as_json:
                output.print_json_line(
                    {**record.public(), "stored": result.stored, "failed_jobs": result.failed}
                )
            else:
                output.status(
                    f"Batch {record.batch}: {record.status} ({record.completed} of "
                    f"{record.total} made); {result.stored} job(s) stored, {result.failed} failed"
                )
        if not wait or all(result.batch.collected_at is not None for result in results):
            break
        time.sleep(every)
    if not results and not as_json:
        output.status("No batch is waiting to be collected")
    if failed:
        raise typer.Exit(1)


@app.command("batches", cls=ExamplesCommand)
def batches(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 100,
    as_json: JsonOutput = False,
) -> None:
    """List the batches sent to the Batch API, the newest first, as last seen there.

    Examples:

        pixyproxy jobs batches

        pixyproxy jobs batches --json | jq -r '.[] | select(.collected_at == null) | .batch'
    """
    service, _ = state(ctx).backend().jobs({})
    records = service.remote.recent(limit=limit)
    if as_json:
        output.print_json([record.public() for record in records])
        return
    output.print_lines(
        f"{record.batch}  {record.status:<11} {record.completed:>5}/{record.total:<5} "
        f"{'collected' if record.collected_at else '-':<9}  {record.remote_id or '-'}"
        for record in records
    )


def worker(
    ctx: typer.Context,
    workers: Workers = 4,
    as_json: JsonOutput = False,
) -> None:
    """Run queued jobs of every batch, until stopped (Ctrl-C, or SIGTERM).

    Any number of workers, on any machine that shares the database, may run at once: each
    job is claimed by one. A job whose worker died is claimed again when its lease runs out.

    Examples:

        pixyproxy worker -j 8

        pixyproxy worker --json | jq -c 'select(.state == "failed")'
    """
    import signal

    service, _ = state(ctx).backend().jobs({})
    stop = threading.Event()

    def finished(job: "Job") -> None:
        if as_json:
            output.print_json_line(job.public())
        else:
            what = f"{len(job.images)} image(s)" if job.state == "done" else job.error
            output.status(
                f"{job.guid} (batch {job.batch[:8]}, line {job.line}): {job.state}, {what}"
            )

    def poll_failed(error: Exception) -> None:
        # The worker goes on; the batches wait for the next look (or `jobs collect`).
        output.warning(f"collecting the Batch API's batches failed, trying again later: {error}")

    runner = service.background(  # refuses a provider that cannot be had, before any job
        workers, stop=stop, finished=finished, notice=output.notice, poll_failed=poll_failed
    )
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    output.status(f"Running jobs on {workers} worker(s); Ctrl-C stops")
    try:
        _until_done(runner, stop, lambda: "Stopping: the jobs in hand finish first")
    finally:
        signal.signal(signal.SIGTERM, previous)
