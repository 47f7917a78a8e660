"""Remote mode's jobs: a pixyproxy server's queue, over its REST API (``/jobs``).

The same reads and cancels as this machine's queue (``JobService``), as the server's token
user sees them: jobs come back as their public details (``JobPublic``), exactly what local
mode prints. The server applies every rule; this side checks a GUID's form to fail fast with
the local words.
"""

from __future__ import annotations

from typing import Any

from pixyproxy_cli.core.constants import MAX_JOBS_LISTED, MAX_JOBS_QUEUED
from pixyproxy_cli.core.exceptions import (
    ConstraintViolationError,
    InputValidationError,
    RecordNotFoundError,
    RemoteServerError,
)
from pixyproxy_cli.data.remote.client import RemoteClient
from pixyproxy_cli.service.validation import validate_guid


class RemoteJobs:
    """A server's jobs, as the client's token user (or anonymously)."""

    def __init__(self, client: RemoteClient) -> None:
        self._client = client

    def close(self) -> None:
        """Close the connection to the server."""
        self._client.close()

    def listed(self, batch: str | None, limit: int) -> list[dict[str, Any]]:
        """A batch's jobs by line, or (``batch`` None) the user's newest first.

        Raises InputValidationError for a malformed GUID or a limit over the server's,
        AuthenticationError for the newest jobs without a login.
        """
        if limit > MAX_JOBS_LISTED:
            raise InputValidationError(
                f"a server lists at most {MAX_JOBS_LISTED:,} jobs at once: --limit "
                f"{MAX_JOBS_LISTED} or fewer (or use --local on the machine with the database)"
            )
        params: dict[str, Any] = {"limit": limit}
        if batch is not None:
            params["batch"] = validate_guid(batch)
        answer = self._client.request("GET", "/jobs", params=params).json()
        if not isinstance(answer, list):
            raise RemoteServerError(f"{self._client.server} did not answer with a list of jobs")
        return answer

    def submit(self, requests: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
        """Queue ``requests`` (each a ``POST /image`` body) as one batch: its GUID and jobs.

        The server checks every request first and queues all or none. Raises
        InputValidationError for more than ``MAX_JOBS_QUEUED`` (before any request) or a
        request the server refuses (its message names the request's place, from 1),
        TooManyRequestsError over the server's generation limit.
        """
        if len(requests) > MAX_JOBS_QUEUED:
            raise InputValidationError(
                f"a server queues at most {MAX_JOBS_QUEUED} prompts in one list, not "
                f"{len(requests):,}: split the file, or use --local on the machine with the "
                "database"
            )
        try:
            answer = self._client.request("POST", "/jobs", json={"requests": requests}).json()
        except InputValidationError as error:
            raise InputValidationError(f"the server refused the list: {error.message}") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("jobs"), list):
            raise RemoteServerError(f"{self._client.server} did not answer with a batch")
        return str(answer["batch"]), answer["jobs"]

    def get(self, guid: str) -> dict[str, Any]:
        """One job. Raises RecordNotFoundError when the user may not see it."""
        answer = self._client.request("GET", f"/jobs/{validate_guid(guid)}").json()
        if not isinstance(answer, dict):
            raise RemoteServerError(f"{self._client.server} did not answer with a job")
        return answer

    def cancel(self, guids: list[str]) -> int:
        """Cancel the user's open jobs among ``guids``; how many were cancelled.

        As on this machine, a job that has ended, or is not the user's, is left as it is
        and not counted. Raises AuthenticationError without a login.
        """
        checked = [validate_guid(guid) for guid in guids]
        cancelled = 0
        for guid in dict.fromkeys(checked):
            try:
                self._client.request("DELETE", f"/jobs/{guid}")
            except (RecordNotFoundError, ConstraintViolationError):
                continue
            cancelled += 1
        return cancelled
