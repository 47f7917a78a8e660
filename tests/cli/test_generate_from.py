"""``generate --from FILE`` and ``pixyproxy jobs``: lists of prompts as jobs, from the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from pixyproxy_cli.core.exceptions import InputValidationError
from pixyproxy_cli.data.providers.placeholder import PlaceholderProvider

runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def prompts(isolated_environment, monkeypatch):
    monkeypatch.setenv("IMAGE_SIZE", "64x64")
    path = isolated_environment / "prompts.txt"
    path.write_text(
        "a lighthouse at dawn\n"
        "\n"
        '{"prompt": "two red foxes", "n": 2, "format": "webp"}\n'
        "a quiet harbour\n",
        encoding="utf-8",
    )
    return path


def lines_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_a_file_of_prompts_is_queued_and_run_with_a_json_line_per_job(prompts):
    result = run("generate", "--from", str(prompts), "-j", "2", "--json")

    assert result.exit_code == 0, result.stderr
    ended = sorted(lines_of(result.stdout), key=lambda job: job["line"])
    assert [(job["line"], job["state"], job["prompt"]) for job in ended] == [
        (1, "done", "a lighthouse at dawn"),
        (3, "done", "two red foxes"),
        (4, "done", "a quiet harbour"),
    ]
    assert [len(job["images"]) for job in ended] == [1, 2, 1]
    batch = ended[0]["batch"]
    assert result.stderr.startswith(f"Queued 3 prompt(s) as batch {batch}\n")
    assert f"Batch {batch}: 3 done, in " in result.stderr
    listed = json.loads(run("list", "--json").stdout)
    assert len(listed) == 4
    webp = [image for image in listed if image["prompt"] == "two red foxes"]
    assert {image["media_type"] for image in webp} == {"image/webp"}
    jobs = json.loads(run("jobs", "list", "--batch", batch, "--json").stdout)
    assert [job["line"] for job in jobs] == [1, 3, 4]


def test_a_bad_line_queues_nothing_and_exits_2_naming_it(prompts, isolated_environment):
    bad = isolated_environment / "bad.txt"
    bad.write_text('fine\n{"prompt": "x", "size": "7x7"}\n', encoding="utf-8")

    result = run("generate", "--from", str(bad))
    unknown = run("generate", "--from", "-", input='{"prompt": "x", "colour": "red"}\n')

    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {bad}, line 2: size 7x7: width and height must be multiples of 16\n"
    )
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith(
        "Error: standard input, line 1: unknown field 'colour' (known: prompt, n, private, "
    )
    assert json.loads(run("jobs", "list", "--json").stdout) == []


def test_a_line_may_not_set_an_option_only_edits_take(prompts):
    result = run("generate", "--from", "-", input='{"prompt": "x", "input_fidelity": "high"}\n')

    assert result.exit_code == 2
    assert result.stderr == (
        "Error: standard input, line 1: unknown field 'input_fidelity' (known: prompt, n, "
        "private, size, quality, format, compression, background, moderation, complexity, "
        "frames, frame_ms)\n"
    )
    assert json.loads(run("jobs", "list", "--json").stdout) == []


def test_prompt_and_from_together_or_neither_are_refused(prompts):
    both = run("generate", "a fox", "--from", str(prompts))
    neither = run("generate")
    with_output = run("generate", "--from", str(prompts), "-o", "x.png")

    assert (both.exit_code, both.stderr) == (
        2,
        "Error: give a PROMPT or --from FILE, not both\n",
    )
    assert neither.exit_code == 2
    assert neither.stderr == (
        'Error: give a PROMPT ("-" reads it from standard input), or --from FILE\n'
    )
    assert with_output.exit_code == 2


def test_a_failed_line_leaves_the_others_done_and_exits_1_with_a_summary(prompts, monkeypatch):
    real = PlaceholderProvider.generate

    def refuse_the_harbour(self, prompt, *args, **kwargs):
        if "harbour" in prompt:
            raise InputValidationError("Your request was rejected by the safety system")
        return real(self, prompt, *args, **kwargs)

    monkeypatch.setattr(PlaceholderProvider, "generate", refuse_the_harbour)

    result = run("generate", "--from", str(prompts), "-j", "1")

    assert result.exit_code == 1
    assert ": 2 done, 1 failed, in " in result.stderr
    assert "line 4 failed: Your request was rejected by the safety system" in result.stderr


def test_an_interrupted_batch_resumes_and_says_what_may_have_been_billed(prompts, monkeypatch):
    real = PlaceholderProvider.generate
    interrupted = []

    def interrupt_once(self, prompt, *args, **kwargs):
        if "foxes" in prompt and not interrupted:
            interrupted.append(prompt)
            raise KeyboardInterrupt  # as Ctrl-C during the request (in the main thread)
        return real(self, prompt, *args, **kwargs)

    monkeypatch.setattr(PlaceholderProvider, "generate", interrupt_once)

    first = run("generate", "--from", str(prompts), "-j", "1", "--json")
    batch = lines_of(first.stdout)[0]["batch"]
    resumed = run("jobs", "resume", batch, "--json")

    assert first.exit_code != 0
    assert [job["line"] for job in lines_of(first.stdout)] == [1]
    assert resumed.exit_code == 0, resumed.stderr
    assert sorted(job["line"] for job in lines_of(resumed.stdout)) == [3, 4]
    assert "line 3 (" in resumed.stderr
    assert "may have been billed: sending it again" in resumed.stderr
    assert f"Batch {batch}: 3 done, in " in resumed.stderr


def test_jobs_cancel_a_batch_and_show_one(prompts, monkeypatch):
    from pixyproxy_cli.service.jobs import JobService

    monkeypatch.setattr(JobService, "work", lambda self, *args, **kwargs: None)  # queue only
    queued = run("generate", "--from", str(prompts))
    batch = queued.stderr.split("batch ")[1].split()[0]
    jobs = json.loads(run("jobs", "list", "--batch", batch, "--json").stdout)

    cancelled = run("jobs", "cancel", "--batch", batch)
    shown = json.loads(run("jobs", "show", jobs[0]["job"], "--json").stdout)
    again = run("jobs", "cancel", jobs[0]["job"])
    missing = run("jobs", "show", "0b4e28ba-2fa1-11d2-883f-0016d3cca427")

    assert queued.exit_code == 0, queued.stderr
    assert [job["state"] for job in jobs] == ["queued"] * 3
    assert cancelled.stderr == "Cancelled 3 job(s)\n"
    assert shown["state"] == "cancelled"
    assert again.stderr == "Cancelled 0 job(s)\n"
    assert missing.exit_code == 3
    assert missing.stderr == "Error: No job with GUID 0b4e28ba-2fa1-11d2-883f-0016d3cca427\n"


def test_the_summary_counts_the_tokens_and_prices_them(
    isolated_environment, fake_openai, monkeypatch
):
    from tests.openai_server import client_environment

    for name, value in client_environment(fake_openai, "sk-summary").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("IMAGE_PRICES", "gpt-image-2.5-sunburst=10:40")
    path = isolated_environment / "two.txt"
    path.write_text("one\n" + '{"prompt": "two", "n": 2}\n', encoding="utf-8")

    result = run("generate", "--from", str(path))

    assert result.exit_code == 0, result.stderr
    # 50 input tokens a request, 1,056 output tokens an image (the fake's usage).
    tokens = 2 * 50 + 3 * 1056
    cost = (2 * 50 * 10 + 3 * 1056 * 40) / 1_000_000
    assert ", in " in result.stderr
    assert result.stderr.rstrip().endswith(f" s ({tokens:,} tokens, ~${cost:,.4f} by IMAGE_PRICES)")
