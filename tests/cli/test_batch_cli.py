"""``generate --from FILE --batch``, ``jobs collect`` and ``jobs batches``: the Batch API from
the CLI, the real SDK against the fake's files and batches."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from tests.openai_server import client_environment

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def prompts(isolated_environment, fake_openai, monkeypatch):
    for name, value in client_environment(fake_openai, "sk-batch-cli").items():
        monkeypatch.setenv(name, value)
    path = isolated_environment / "prompts.txt"
    path.write_text(
        'a lighthouse at dawn\n{"prompt": "two red foxes", "n": 2}\na quiet harbour\n',
        encoding="utf-8",
    )
    return path


def test_a_list_sent_as_a_batch_is_collected_once_it_has_ended(prompts):
    sent = run("generate", "--from", str(prompts), "--batch", "--json")

    assert sent.exit_code == 0, sent.stderr
    record = json.loads(sent.stdout)
    batch = record["batch"]
    assert (record["status"], record["provider"]) == ("validating", "openai")
    assert sent.stderr == (
        f"Sent 3 prompt(s) as batch {batch} to openai ({record['remote_id']}); "
        f"pixyproxy jobs collect {batch} stores the images once it has ended (within 24 "
        "hours)\n"
    )
    jobs = json.loads(run("jobs", "list", "--batch", batch, "--json").stdout)
    assert {job["state"] for job in jobs} == {"running"}

    collected = run("jobs", "collect", batch, "--wait", "--every", "1", "--json")

    assert collected.exit_code == 0, collected.stderr
    steps = [json.loads(line) for line in collected.stdout.splitlines()]
    assert [step["status"] for step in steps] == ["in_progress", "finalizing", "completed"]
    assert (steps[-1]["stored"], steps[-1]["failed_jobs"], steps[-1]["completed"]) == (3, 0, 3)
    assert len(json.loads(run("list", "--json").stdout)) == 4
    again = run("jobs", "collect", batch)
    assert again.exit_code == 0
    assert again.stderr == (f"Batch {batch}: completed (3 of 3 made); 0 job(s) stored, 0 failed\n")
    assert len(json.loads(run("list", "--json").stdout)) == 4  # nothing twice
    assert run("jobs", "collect").stderr == "No batch is waiting to be collected\n"
    (listed,) = json.loads(run("jobs", "batches", "--json").stdout)
    assert (listed["batch"], listed["status"]) == (batch, "completed")
    assert listed["collected_at"] is not None


def test_a_refused_line_fails_alone_and_collect_exits_1(prompts, fake_openai):
    fake_openai.batch_api.refuse = {"a quiet harbour"}
    batch = json.loads(run("generate", "--from", str(prompts), "--batch", "--json").stdout)["batch"]
    for _ in range(2):
        assert run("jobs", "collect", batch).exit_code == 0

    collected = run("jobs", "collect", batch)

    assert collected.exit_code == 1
    assert collected.stderr == (
        f"Batch {batch}: completed (2 of 3 made); 2 job(s) stored, 1 failed\n"
    )
    failed = json.loads(run("jobs", "list", "--batch", batch, "--json").stdout)[-1]
    assert (failed["state"], failed["error"]) == (
        "failed",
        "Your request was rejected by the safety system.",
    )


def test_cancelling_a_sent_batch_asks_the_provider_to_stop(prompts, fake_openai):
    batch = json.loads(run("generate", "--from", str(prompts), "--batch", "--json").stdout)["batch"]

    cancelled = run("jobs", "cancel", "--batch", batch)

    assert (cancelled.exit_code, cancelled.stderr) == (0, "Cancelled 3 job(s)\n")
    assert [r["path"] for r in fake_openai.requests if r["path"].endswith("/cancel")] == [
        f"/v1/batches/{json.loads(run('jobs', 'batches', '--json').stdout)[0]['remote_id']}/cancel"
    ]
    collected = run("jobs", "collect", batch, "--json")
    assert json.loads(collected.stdout)["status"] == "cancelled"
    assert run("list", "--json").stdout == "[]\n"


def test_batch_needs_a_list_and_a_provider_with_a_batch_api(isolated_environment, monkeypatch):
    path = isolated_environment / "prompts.txt"
    path.write_text("one\n", encoding="utf-8")

    alone = run("generate", "a prompt", "--batch")
    assert (alone.exit_code, alone.stderr) == (
        2,
        "Error: --batch sends a list of prompts: give --from FILE\n",
    )
    offline = run("generate", "--from", str(path), "--batch")
    assert offline.exit_code == 1
    assert "The placeholder provider has no Batch API" in offline.stderr
    assert run("jobs", "list", "--json").stdout == "[]\n"  # nothing was queued
