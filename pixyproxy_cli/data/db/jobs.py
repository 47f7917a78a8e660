"""The job queue in the ``jobs`` table (migration 012): one SQL implementation, both dialects.

A claim is a guarded UPDATE: the row changes to ``running`` only if it is still claimable
(queued and due, or running with its lease run out), and the worker owns the job only when
the UPDATE says one row changed; every later step names the worker in its WHERE, so a worker
whose lease was taken over changes nothing. On MariaDB the candidates are read ``FOR UPDATE
SKIP LOCKED`` (workers on one node never wait for each other's rows; across Galera nodes,
the loser of a race gets a certification conflict and the claim runs again); on SQLite the
claim is one UPDATE whose subquery picks the job, so its transaction writes from the start
(the database's one writer, in turn).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pixyproxy_cli.core.constants import MAX_JOB_ERROR_LENGTH

if TYPE_CHECKING:
    from pixyproxy_cli.core.jobs import Job, JobRequest, RemoteBatch
    from pixyproxy_cli.data.db.context import DatabaseContext

CLAIMABLE = (
    "remote = 0 AND ((state = 'queued' AND not_before <= %(now)s)"
    " OR (state = 'running' AND lease_until < %(now)s))"
)
"""Jobs a live worker may take: not the Batch API's (``remote``), due, or their lease out."""
TAKE_ONE = (
    "UPDATE jobs SET state = 'running', worker = %(worker)s, lease_until = %(until)s, "
    "attempts = attempts + 1, sent = sent + 1, partials = 0, updated_at = %(now)s WHERE id ="
)
"""Claim a job: followed by its id, or by a subquery that finds the oldest claimable one."""
TAKE = " ".join((TAKE_ONE, "%(id)s AND", CLAIMABLE))
"""Claim one candidate (MariaDB): it changes only if it is still claimable when it runs."""
OWNED = "(owner = %(owner)s OR (owner IS NULL AND %(owner)s IS NULL))"
"""The jobs of ``owner``, None meaning the anonymous ones (NULL never equals NULL)."""
COLUMNS = (
    "id, guid, batch, line, owner, is_private, request, state, attempts, sent, not_before, "
    "lease_until, worker, error, images, created_at, updated_at, finished_at, remote, partials"
)
BATCH_COLUMNS = (
    "batch, provider, remote_id, input_file, status, output_file, error_file, total, "
    "completed, failed, error, created_at, updated_at, collected_at"
)


@dataclass(frozen=True)
class NewJob:
    """A job to queue: its GUID, batch and line, owner and request."""

    guid: str
    batch: str
    line: int
    owner: str | None
    request: JobRequest


class JobRepositoryInterface(ABC):
    """The job queue."""

    @abstractmethod
    def add(self, jobs: Iterable[NewJob], *, now: float, remote: bool = False) -> None:
        """Queue ``jobs``, due at once; ``remote``: for the provider's Batch API instead."""

    @abstractmethod
    def claim(
        self, worker: str, *, now: float, lease: float, batch: str | None = None
    ) -> Job | None:
        """Take the oldest claimable job (of ``batch``) for ``lease`` seconds, or None.

        The claim counts the send it is for (``sent``): a worker that dies after it may
        have sent it, and the job then says so.
        """

    @abstractmethod
    def claimable(self, *, now: float, batch: str | None = None) -> bool:
        """Whether a job (of ``batch``) could be claimed now: a read, for idle workers."""

    @abstractmethod
    def set_partial(
        self, job_id: int, worker: str, number: int, image: bytes, *, now: float
    ) -> bool:
        """Keep partial image ``number`` (from 1) of a held job, in place of the one before.

        False when ``worker`` no longer holds it.
        """

    @abstractmethod
    def partial(self, guid: str) -> tuple[int, bytes | None]:
        """How many partial images job ``guid`` has had, and the latest while it runs."""

    @abstractmethod
    def finish(self, job_id: int, worker: str, images: Sequence[str], *, now: float) -> bool:
        """End a held job as done with ``images``, its sends counted as stored (sent = 0).

        False when ``worker`` no longer holds it: the caller's transaction must then not
        commit the images.
        """

    @abstractmethod
    def fail(self, job_id: int, worker: str, error: str, *, now: float) -> bool:
        """End a held job as failed with ``error``; False when ``worker`` no longer holds it."""

    @abstractmethod
    def release(
        self, job_id: int, worker: str, *, now: float, not_before: float, sent: bool = True
    ) -> bool:
        """Put a held job back in the queue, due at ``not_before``.

        ``sent``: whether this claim's send may have reached the provider (else it is not
        counted: a 429, say, was refused before any work).
        """

    @abstractmethod
    def cancel(self, guids: Sequence[str], *, owner: str | None, everyone: bool, now: float) -> int:
        """Cancel the queued or running jobs among ``guids``; how many were cancelled.

        Only ``owner``'s jobs, or anyone's with ``everyone``. A running job's worker then
        fails to end it (its images are not stored).
        """

    @abstractmethod
    def get(self, guid: str) -> Job | None:
        """The job with this GUID, or None."""

    @abstractmethod
    def batch_jobs(self, batch: str, *, after_line: int = 0, limit: int) -> list[Job]:
        """A batch's jobs by line, after ``after_line``."""

    @abstractmethod
    def recent(self, *, owner: str | None, everyone: bool, limit: int) -> list[Job]:
        """The newest jobs (``owner``'s, or anyone's with ``everyone``), newest first."""

    @abstractmethod
    def counts(self, batch: str) -> dict[str, int]:
        """How many of a batch's jobs are in each state (states with none left out)."""

    # -- the provider's Batch API ---------------------------------------------------------

    @abstractmethod
    def add_remote_batch(self, batch: str, provider: str, *, now: float) -> None:
        """Record that ``batch`` (its jobs queued ``remote``) is being sent to ``provider``."""

    @abstractmethod
    def update_remote_batch(self, batch: str, changes: Mapping[str, Any], *, now: float) -> None:
        """Set ``changes`` (RemoteBatch fields but the batch and times) on ``batch``'s row."""

    @abstractmethod
    def remote_batch(self, batch: str) -> RemoteBatch | None:
        """The Batch API's record of ``batch``, or None."""

    @abstractmethod
    def remote_batches(self, *, uncollected: bool, limit: int) -> list[RemoteBatch]:
        """The newest batches sent to a Batch API (only those not yet collected)."""

    @abstractmethod
    def start_remote(self, batch: str, *, now: float) -> int:
        """Mark ``batch``'s queued remote jobs running (the provider has them); how many."""

    @abstractmethod
    def end_remote(
        self, guid: str, *, images: Sequence[str] | None, error: str | None, now: float
    ) -> bool:
        """End a running remote job: done with ``images``, or failed with ``error``.

        False when it is not running any more (collected already, or cancelled): the
        caller's transaction must then not commit the images.
        """


class SqlJobRepository(JobRepositoryInterface):
    """The queue in the ``jobs`` table; see the module docstring."""

    def __init__(self, db: DatabaseContext) -> None:
        self._db = db

    def add(self, jobs: Iterable[NewJob], *, now: float, remote: bool = False) -> None:
        """See JobRepositoryInterface.add."""
        for job in jobs:
            self._db.execute(
                "INSERT INTO jobs (guid, batch, line, owner, is_private, request, state, "
                "not_before, created_at, updated_at, remote) VALUES (%(guid)s, %(batch)s, "
                "%(line)s, %(owner)s, %(private)s, %(request)s, 'queued', %(now)s, %(now)s, "
                "%(now)s, %(remote)s)",
                {
                    "guid": job.guid,
                    "batch": job.batch,
                    "line": job.line,
                    "owner": job.owner,
                    "private": int(job.request.private),
                    "request": job.request.model_dump_json(),
                    "now": now,
                    "remote": int(remote),
                },
            )

    def claim(
        self, worker: str, *, now: float, lease: float, batch: str | None = None
    ) -> Job | None:
        """See JobRepositoryInterface.claim."""
        db = self._db
        params: dict[str, Any] = {
            "now": now,
            "batch": batch,
            "worker": worker,
            "until": now + lease,
        }
        where = _claimable(batch)
        if db.database.dialect != "mysql":
            # One statement that writes from its start: the transaction takes SQLite's write
            # lock first (waiting its turn), never a read lock it would have to upgrade.
            oldest = f"(SELECT id FROM jobs WHERE {where} ORDER BY id LIMIT 1)"  # noqa: S608
            db.execute(f"{TAKE_ONE} {oldest}", params)
            if db.rowcount != 1:
                return None
            return self._one("worker = %(worker)s AND state = 'running'", {"worker": worker})
        candidates = f"SELECT id FROM jobs WHERE {where} ORDER BY id LIMIT 8"  # noqa: S608
        db.execute(f"{candidates} FOR UPDATE SKIP LOCKED", params)
        for row in db.fetchall():
            db.execute(TAKE, {**params, "id": row["id"]})
            if db.rowcount == 1:
                return self._one("id = %(id)s", {"id": row["id"]})
        return None

    def claimable(self, *, now: float, batch: str | None = None) -> bool:
        """See JobRepositoryInterface.claimable."""
        where = _claimable(batch)
        self._db.execute(
            f"SELECT 1 AS due FROM jobs WHERE {where} LIMIT 1",  # noqa: S608
            {"now": now, "batch": batch},
        )
        return self._db.fetchone() is not None

    def set_partial(
        self, job_id: int, worker: str, number: int, image: bytes, *, now: float
    ) -> bool:
        """See JobRepositoryInterface.set_partial."""
        return self._held(
            job_id,
            worker,
            "partials = %(number)s, partial_image = %(image)s, updated_at = %(now)s",
            {"number": number, "image": image, "now": now},
        )

    def partial(self, guid: str) -> tuple[int, bytes | None]:
        """See JobRepositoryInterface.partial."""
        self._db.execute(
            "SELECT partials, partial_image FROM jobs WHERE guid = %(guid)s", {"guid": guid}
        )
        row = self._db.fetchone()
        if row is None:
            return 0, None
        image = row["partial_image"]
        return int(row["partials"]), None if image is None else bytes(image)

    def finish(self, job_id: int, worker: str, images: Sequence[str], *, now: float) -> bool:
        """See JobRepositoryInterface.finish."""
        return self._held(
            job_id,
            worker,
            "state = 'done', sent = 0, images = %(images)s, error = NULL, partial_image = NULL, "
            "lease_until = NULL, updated_at = %(now)s, finished_at = %(now)s",
            {"images": json.dumps(list(images)), "now": now},
        )

    def fail(self, job_id: int, worker: str, error: str, *, now: float) -> bool:
        """See JobRepositoryInterface.fail."""
        return self._held(
            job_id,
            worker,
            "state = 'failed', error = %(error)s, lease_until = NULL, partial_image = NULL, "
            "updated_at = %(now)s, finished_at = %(now)s",
            {"error": error[:MAX_JOB_ERROR_LENGTH], "now": now},
        )

    def release(
        self, job_id: int, worker: str, *, now: float, not_before: float, sent: bool = True
    ) -> bool:
        """See JobRepositoryInterface.release."""
        uncount = "" if sent else ", sent = sent - 1"
        return self._held(
            job_id,
            worker,
            "state = 'queued', worker = NULL, lease_until = NULL, not_before = %(not_before)s, "
            f"partial_image = NULL, updated_at = %(now)s{uncount}",
            {"not_before": not_before, "now": now},
        )

    def _held(self, job_id: int, worker: str, changes: str, params: Mapping[str, Any]) -> bool:
        self._db.execute(
            f"UPDATE jobs SET {changes} WHERE id = %(id)s AND worker = %(worker)s "  # noqa: S608
            "AND state = 'running'",
            {**params, "id": job_id, "worker": worker},
        )
        return self._db.rowcount == 1

    def cancel(self, guids: Sequence[str], *, owner: str | None, everyone: bool, now: float) -> int:
        """See JobRepositoryInterface.cancel."""
        cancelled = 0
        statement = (
            "UPDATE jobs SET state = 'cancelled', lease_until = NULL, partial_image = NULL, "
            "updated_at = %(now)s, finished_at = %(now)s "
            "WHERE guid = %(guid)s AND state IN ('queued', 'running')"
        )
        if not everyone:
            statement += f" AND {OWNED}"
        for guid in guids:
            self._db.execute(statement, {"guid": guid, "owner": owner, "now": now})
            cancelled += self._db.rowcount
        return cancelled

    def get(self, guid: str) -> Job | None:
        """See JobRepositoryInterface.get."""
        return self._one("guid = %(guid)s", {"guid": guid})

    def batch_jobs(self, batch: str, *, after_line: int = 0, limit: int) -> list[Job]:
        """See JobRepositoryInterface.batch_jobs."""
        self._db.execute(
            f"SELECT {COLUMNS} FROM jobs WHERE batch = %(batch)s AND line > %(after)s "  # noqa: S608
            "ORDER BY line LIMIT %(limit)s",
            {"batch": batch, "after": after_line, "limit": limit},
        )
        return [_job(row) for row in self._db.fetchall()]

    def recent(self, *, owner: str | None, everyone: bool, limit: int) -> list[Job]:
        """See JobRepositoryInterface.recent."""
        where = "" if everyone else f"WHERE {OWNED} "
        self._db.execute(
            f"SELECT {COLUMNS} FROM jobs {where}ORDER BY id DESC LIMIT %(limit)s",  # noqa: S608
            {"owner": owner, "limit": limit},
        )
        return [_job(row) for row in self._db.fetchall()]

    def counts(self, batch: str) -> dict[str, int]:
        """See JobRepositoryInterface.counts."""
        self._db.execute(
            "SELECT state, COUNT(*) AS n FROM jobs WHERE batch = %(batch)s GROUP BY state",
            {"batch": batch},
        )
        return {str(row["state"]): int(row["n"]) for row in self._db.fetchall()}

    def add_remote_batch(self, batch: str, provider: str, *, now: float) -> None:
        """See JobRepositoryInterface.add_remote_batch."""
        self._db.execute(
            "INSERT INTO remote_batches (batch, provider, status, created_at, updated_at) "
            "VALUES (%(batch)s, %(provider)s, 'sending', %(now)s, %(now)s)",
            {"batch": batch, "provider": provider, "now": now},
        )

    def update_remote_batch(self, batch: str, changes: Mapping[str, Any], *, now: float) -> None:
        """See JobRepositoryInterface.update_remote_batch."""
        allowed = set(BATCH_COLUMNS.split(", ")) - {"batch", "provider", "created_at"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"not a remote batch's field: {sorted(unknown)[0]}")
        sets = ", ".join(f"{name} = %({name})s" for name in changes)
        self._db.execute(
            f"UPDATE remote_batches SET {sets}, updated_at = %(now)s "  # noqa: S608
            "WHERE batch = %(batch)s",
            {**changes, "now": now, "batch": batch},
        )

    def remote_batch(self, batch: str) -> RemoteBatch | None:
        """See JobRepositoryInterface.remote_batch."""
        self._db.execute(
            f"SELECT {BATCH_COLUMNS} FROM remote_batches WHERE batch = %(batch)s",  # noqa: S608
            {"batch": batch},
        )
        row = self._db.fetchone()
        return None if row is None else _remote_batch(row)

    def remote_batches(self, *, uncollected: bool, limit: int) -> list[RemoteBatch]:
        """See JobRepositoryInterface.remote_batches."""
        where = "WHERE collected_at IS NULL " if uncollected else ""
        self._db.execute(
            f"SELECT {BATCH_COLUMNS} FROM remote_batches {where}"  # noqa: S608
            "ORDER BY id DESC LIMIT %(limit)s",
            {"limit": limit},
        )
        return [_remote_batch(row) for row in self._db.fetchall()]

    def start_remote(self, batch: str, *, now: float) -> int:
        """See JobRepositoryInterface.start_remote."""
        self._db.execute(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, sent = sent + 1, "
            "updated_at = %(now)s WHERE batch = %(batch)s AND remote = 1 AND state = 'queued'",
            {"batch": batch, "now": now},
        )
        return self._db.rowcount

    def end_remote(
        self, guid: str, *, images: Sequence[str] | None, error: str | None, now: float
    ) -> bool:
        """See JobRepositoryInterface.end_remote."""
        if images is not None:
            changes = "state = 'done', sent = 0, images = %(images)s, error = NULL"
        else:
            changes = "state = 'failed', error = %(error)s"
        self._db.execute(
            f"UPDATE jobs SET {changes}, updated_at = %(now)s, finished_at = %(now)s "  # noqa: S608
            "WHERE guid = %(guid)s AND remote = 1 AND state = 'running'",
            {
                "images": json.dumps(list(images or [])),
                "error": (error or "")[:MAX_JOB_ERROR_LENGTH],
                "now": now,
                "guid": guid,
            },
        )
        return self._db.rowcount == 1

    def _one(self, where: str, params: Mapping[str, Any]) -> Job | None:
        self._db.execute(f"SELECT {COLUMNS} FROM jobs WHERE {where}", dict(params))  # noqa: S608
        row = self._db.fetchone()
        return None if row is None else _job(row)


def _job(row: Mapping[str, Any]) -> Job:
    from pixyproxy_cli.core.jobs import Job, JobRequest

    images = row["images"]
    return Job(
        id=int(row["id"]),
        guid=str(row["guid"]),
        batch=str(row["batch"]),
        line=int(row["line"]),
        owner=row["owner"],
        request=JobRequest.model_validate_json(row["request"]),
        state=row["state"],
        attempts=int(row["attempts"]),
        sent=int(row["sent"]),
        error=row["error"],
        images=json.loads(images) if images else [],
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
        finished_at=None if row["finished_at"] is None else float(row["finished_at"]),
        not_before=float(row["not_before"]),
        lease_until=None if row["lease_until"] is None else float(row["lease_until"]),
        worker=row["worker"],
        remote=bool(row["remote"]),
        partials=int(row["partials"]),
    )


def _remote_batch(row: Mapping[str, Any]) -> RemoteBatch:
    from pixyproxy_cli.core.jobs import RemoteBatch

    return RemoteBatch.model_validate(dict(row))


def _claimable(batch: str | None) -> str:
    """The WHERE of jobs a live worker may take now (``CLAIMABLE``), of ``batch`` if named."""
    return CLAIMABLE + (" AND batch = %(batch)s" if batch else "")
