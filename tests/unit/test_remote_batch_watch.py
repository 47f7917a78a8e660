"""``generate --from`` with a server: the batch is watched as the server runs it."""

from __future__ import annotations

import json

import pytest
import typer

from pixyproxy_cli.commands.jobs import watch_remote_batch

BATCH = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"


def job(line: int, state: str, error: str | None = None) -> dict:
    ended = state in ("done", "failed", "cancelled")
    return {
        "job": f"00000000-0000-0000-0000-00000000000{line}",
        "batch": BATCH,
        "line": line,
        "state": state,
        "error": error,
        "finished_at": "2026-12-07T00:00:00Z" if ended else None,
    }


class FakeRemoteJobs:
    """A server's answers to GET /jobs?batch=, one list per look."""

    def __init__(self, *looks: list[dict] | BaseException) -> None:
        self.looks = list(looks)
        self.asked = 0

    def listed(self, batch: str | None, limit: int) -> list[dict]:
        assert (batch, limit) == (BATCH, 3)
        look = self.looks[min(self.asked, len(self.looks) - 1)]
        self.asked += 1
        if isinstance(look, BaseException):
            raise look
        return look


def test_each_job_is_printed_once_as_it_ends_and_a_failure_names_its_line_in_the_file(capsys):
    jobs = FakeRemoteJobs(
        [job(1, "running"), job(2, "queued"), job(3, "queued")],
        [job(1, "done"), job(2, "running"), job(3, "queued")],
        [job(1, "done"), job(2, "failed", "refused"), job(3, "done")],
    )

    with pytest.raises(typer.Exit) as exited:
        watch_remote_batch(jobs, BATCH, [2, 5, 7], as_json=True, every=0)

    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert exited.value.exit_code == 1
    assert [(item["line"], item["state"]) for item in printed] == [
        (1, "done"),
        (2, "failed"),
        (3, "done"),
    ]
    assert jobs.asked == 3


def test_the_summary_and_warnings_name_the_files_lines(capsys):
    jobs = FakeRemoteJobs([job(1, "done"), job(2, "failed", "refused"), job(3, "cancelled")])

    with pytest.raises(typer.Exit):
        watch_remote_batch(jobs, BATCH, [2, 5, 7], as_json=False, every=0)

    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(f"Batch {BATCH}: 1 done, 1 failed, 1 cancelled, in ")
    assert lines[1:] == ["Warning: line 5 failed: refused"]


def test_a_batch_that_all_went_well_exits_0(capsys):
    jobs = FakeRemoteJobs([job(1, "done"), job(2, "done"), job(3, "done")])

    watch_remote_batch(jobs, BATCH, [1, 2, 3], as_json=False, every=0)

    assert capsys.readouterr().err.startswith(f"Batch {BATCH}: 3 done, in ")


def test_ctrl_c_stops_watching_and_says_the_server_goes_on(capsys):
    jobs = FakeRemoteJobs([job(1, "done"), job(2, "queued"), job(3, "queued")], KeyboardInterrupt())

    with pytest.raises(typer.Exit) as exited:
        watch_remote_batch(jobs, BATCH, [1, 2, 3], as_json=False, every=0)

    assert exited.value.exit_code == 130
    assert capsys.readouterr().err == (
        f"Notice: Stopped watching; the server goes on with batch {BATCH}: pixyproxy jobs list "
        f"--batch {BATCH}\n"
    )


def test_a_batch_no_worker_takes_is_remarked_on_once(capsys):
    queued = [job(1, "queued"), job(2, "queued"), job(3, "queued")]
    jobs = FakeRemoteJobs(queued, queued, [job(1, "done"), job(2, "done"), job(3, "done")])

    watch_remote_batch(jobs, BATCH, [1, 2, 3], as_json=False, every=0, unstarted_notice=0)

    said = capsys.readouterr().err.splitlines()
    assert said[0] == (
        f"Notice: no job of batch {BATCH} has started yet: the server's job workers run them "
        "(serve's JOB_WORKERS, or pixyproxy worker beside it); Ctrl-C stops watching, the "
        "jobs stay queued"
    )
    assert said[1].startswith(f"Batch {BATCH}: 3 done, in ")
    assert len(said) == 2
