"""The OpenAI path: the real openai SDK against an OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from pixyproxy_cli.core.constants import DEFAULT_IMAGE_MODEL
from pixyproxy_cli.core.exceptions import GenerationError
from tests.openai_server import (
    CURRENT_MODELS,
    PNG,
    RETIRED_MODELS,
    Answer,
    client_environment,
    error_answer,
    image_answer,
    picture,
    provider_for,
)

API_KEY = "sk-test-0123456789-do-not-print"
runner = CliRunner()


@pytest.fixture
def openai_env(fake_openai) -> dict[str, str]:
    return client_environment(fake_openai, API_KEY)


def generate(env: dict[str, str], *args: str):
    result = runner.invoke(
        app, ["generate", "a lighthouse at dawn", *args], env=env, catch_exceptions=False
    )
    assert API_KEY not in result.stdout + result.stderr
    return result


def assert_nothing_stored(data_dir: Path, env: dict[str, str]) -> None:
    listed = runner.invoke(app, ["list", "--json"], env=env)
    assert listed.stdout == "[]\n"
    images = data_dir / "images"
    assert not images.exists() or list(images.iterdir()) == []


@pytest.fixture
def data_dir(isolated_environment) -> Path:
    return isolated_environment / "data"


def test_generate_with_openai_stores_the_returned_image(fake_openai, openai_env):
    result = generate(openai_env, "--json", "--size", "1536x1024", "--quality", "high")

    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # no placeholder notice
    details = json.loads(result.stdout)
    assert (details["provider"], details["model"], details["placeholder"]) == (
        "openai",
        DEFAULT_IMAGE_MODEL,
        False,
    )
    assert Path(details["file"]).read_bytes() == picture("png", (1536, 1024))
    assert (details["width"], details["height"], details["format"]) == (1536, 1024, "png")
    [request] = fake_openai.requests
    assert request["path"] == "/v1/images/generations"
    assert request["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert request["body"] == {
        "model": DEFAULT_IMAGE_MODEL,
        "prompt": "a lighthouse at dawn",
        "n": 1,
        "size": "1536x1024",
        "quality": "high",
    }


def test_the_model_is_a_setting_and_a_flag(fake_openai, openai_env):
    generate({**openai_env, "OPENAI_IMAGE_MODEL": "gpt-image-1-mini"})
    generate(openai_env, "--model", "gpt-image-2")

    assert [r["body"]["model"] for r in fake_openai.requests] == ["gpt-image-1-mini", "gpt-image-2"]


def test_the_default_model_is_one_the_installed_sdk_lists_as_current():
    assert DEFAULT_IMAGE_MODEL in CURRENT_MODELS
    assert {"gpt-image-1", "dall-e-2", "dall-e-3"} <= RETIRED_MODELS


UNAVAILABLE = (
    "Error: The OpenAI model '{model}' is not available to this API key (retired, misspelt, "
    "or not enabled for the organisation); set OPENAI_IMAGE_MODEL or use --model\n"
)


SHUT_DOWN = (
    "Error: The OpenAI model '{model}' was shut down on {day}: {advice} (set "
    "OPENAI_IMAGE_MODEL or use --model)\n"
)


@pytest.mark.parametrize(
    ("model", "said"),
    [
        (
            "gpt-image-1",
            SHUT_DOWN.format(
                model="gpt-image-1",
                day="2026-10-23",
                advice="use gpt-image-2.5-sunburst or gpt-image-2.5-flare instead",
            ),
        ),
        (
            "dall-e-3",
            SHUT_DOWN.format(
                model="dall-e-3", day="2026-05-12", advice="use a GPT image model instead"
            ),
        ),
        ("gpt-imag-2", UNAVAILABLE.format(model="gpt-imag-2")),
    ],
)
def test_a_retired_or_unknown_model_says_how_to_choose_another(
    fake_openai, openai_env, data_dir, model, said
):
    result = generate(openai_env, "--model", model)

    assert result.exit_code == 6
    assert result.stderr == said
    assert_nothing_stored(data_dir, openai_env)


FAILURES = [
    (
        error_answer(400, "Your request was rejected by the safety system.", "moderation_blocked"),
        "The prompt was rejected by the provider's safety system; rephrase it",
    ),
    (
        error_answer(401, f"Incorrect API key provided: {API_KEY[:8]}***", "invalid_api_key"),
        "OpenAI rejected the API key: invalid API key (check OPENAI_API_KEY)",
    ),
    (
        error_answer(429, "You exceeded your current quota.", "insufficient_quota"),
        "OpenAI quota exceeded; check the account's billing",
    ),
    (error_answer(500, "The server had an error."), "OpenAI failed with HTTP 500; try again later"),
    (
        error_answer(400, "Invalid value for size: '7x7'.", "invalid_value"),
        "OpenAI refused the request (HTTP 400): Invalid value for size: '7x7'.",
    ),
    (
        Answer(200, {"created": 1, "data": [{"b64_json": None}]}),
        "OpenAI answered without image data",
    ),
    (
        Answer(200, {"created": 1, "data": [{"b64_json": base64.b64encode(b"<html>").decode()}]}),
        "OpenAI answered with data that is not a PNG, JPEG, WebP, GIF or SVG image",
    ),
]


@pytest.mark.parametrize(("answer", "message"), FAILURES, ids=lambda v: getattr(v, "status", ""))
def test_provider_failures_exit_6_with_a_clear_line_and_leave_nothing(
    fake_openai, openai_env, data_dir, answer, message
):
    fake_openai.script(answer)

    result = generate(openai_env)

    assert result.exit_code == 6
    assert result.stderr == f"Error: {message}\n"
    assert_nothing_stored(data_dir, openai_env)


@pytest.mark.parametrize(
    ("headers", "when"),
    [
        ({"retry-after-ms": "20500", "retry-after": "21"}, "in 21 s"),
        ({"retry-after": "7"}, "in 7 s"),
        ({}, "later"),
    ],
)
def test_a_rate_limit_says_how_long_to_wait_and_exits_9(
    fake_openai, openai_env, data_dir, headers, when
):
    fake_openai.script(
        error_answer(
            429, "Rate limit reached for images per minute.", "rate_limit_exceeded", headers
        )
    )

    result = generate(openai_env)

    assert result.exit_code == 9
    assert result.stderr == f"Error: Rate limited by OpenAI; try again {when}\n"
    assert_nothing_stored(data_dir, openai_env)


def test_a_429_is_retried_after_the_wait_it_asks_then_succeeds(fake_openai, openai_env, data_dir):
    fake_openai.script(
        error_answer(429, "Slow down.", "rate_limit_exceeded", {"retry-after-ms": "20"}),
        image_answer(),
    )

    result = generate({**openai_env, "OPENAI_MAX_RETRIES": "1"}, "--json")

    assert result.exit_code == 0, result.stderr
    assert len(fake_openai.requests) == 2
    assert Path(json.loads(result.stdout)["file"]).read_bytes() == PNG


def test_a_5xx_is_retried_then_succeeds(fake_openai, openai_env):
    fake_openai.script(error_answer(503, "The engine is overloaded."), image_answer())

    result = generate({**openai_env, "OPENAI_MAX_RETRIES": "1"}, "--json")

    assert result.exit_code == 0, result.stderr
    assert len(fake_openai.requests) == 2


def test_a_timeout_is_never_retried_since_the_image_may_be_billed(
    fake_openai, openai_env, data_dir
):
    fake_openai.script(Answer(delay=30), Answer(delay=30), Answer(delay=30))

    result = generate({**openai_env, "OPENAI_TIMEOUT": "0.5", "OPENAI_MAX_RETRIES": "2"})

    assert result.exit_code == 6
    assert "did not answer within 0.5 s" in result.stderr
    assert len(fake_openai.requests) == 1
    assert_nothing_stored(data_dir, openai_env)


def test_no_wait_goes_past_the_deadline(fake_openai, openai_env):
    slow_down = error_answer(429, "Slow down.", "rate_limit_exceeded", {"retry-after-ms": "5000"})
    fake_openai.script(slow_down, image_answer())

    result = generate({**openai_env, "OPENAI_TIMEOUT": "2", "OPENAI_MAX_RETRIES": "3"})

    assert result.exit_code == 9  # a 5 s wait does not fit in a 2 s deadline: said at once
    assert result.stderr == "Error: Rate limited by OpenAI; try again in 5 s\n"
    assert len(fake_openai.requests) == 1


def test_a_spent_quota_is_not_retried(fake_openai, openai_env):
    quota = error_answer(429, "You exceeded your current quota.", "insufficient_quota")
    fake_openai.script(quota, image_answer())

    result = generate({**openai_env, "OPENAI_MAX_RETRIES": "3"})

    assert result.exit_code == 6
    assert len(fake_openai.requests) == 1


def test_a_hang_past_the_timeout_is_provider_unreachable(fake_openai, openai_env, data_dir):
    fake_openai.script(Answer(delay=30))
    started = time.monotonic()

    result = generate({**openai_env, "OPENAI_TIMEOUT": "0.5"})

    assert time.monotonic() - started < 10
    assert result.exit_code == 6
    assert result.stderr == (
        f"Error: {fake_openai.base_url} did not answer within 0.5 s; try again later "
        "(OPENAI_TIMEOUT sets the limit)\n"
    )
    assert_nothing_stored(data_dir, openai_env)


def test_an_unreachable_provider(openai_env, data_dir):
    env = {**openai_env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}

    result = generate(env)

    assert result.exit_code == 6
    assert result.stderr == (
        "Error: Could not reach http://127.0.0.1:9/v1; check the network (and OPENAI_BASE_URL)\n"
    )
    assert_nothing_stored(data_dir, env)


def test_rate_limit_error_carries_retry_after(fake_openai):
    fake_openai.script(error_answer(429, "Slow down.", "rate_limit_exceeded", {"retry-after": "7"}))
    provider = provider_for(fake_openai, API_KEY)

    with pytest.raises(GenerationError) as caught:
        provider.generate("a fox")

    assert caught.value.retry_after == 7.0
    assert fake_openai.requests[0]["body"] == {
        "model": DEFAULT_IMAGE_MODEL,
        "prompt": "a fox",
        "n": 1,
    }


def test_provider_placeholder_wins_over_a_key(fake_openai, openai_env):
    result = generate(openai_env, "--provider", "placeholder", "--json")

    assert result.exit_code == 0
    assert json.loads(result.stdout)["placeholder"] is True
    assert result.stderr == ""
    assert fake_openai.requests == []


def doctor_provider_check(env: dict[str, str]) -> dict:
    result = runner.invoke(app, ["doctor", "--json"], env=env)
    assert API_KEY not in result.stdout + result.stderr
    return {check["name"]: check for check in json.loads(result.stdout)}["image provider"]


def test_doctor_asks_the_api_whether_the_model_is_available(fake_openai, openai_env):
    check = doctor_provider_check(openai_env)

    assert check["status"] == "ok"
    assert check["detail"] == (
        f"openai, model {DEFAULT_IMAGE_MODEL}, at {fake_openai.base_url}: "
        f"the API answers and offers {DEFAULT_IMAGE_MODEL}"
    )
    [request] = fake_openai.requests
    assert (request["method"], request["path"]) == ("GET", f"/v1/models/{DEFAULT_IMAGE_MODEL}")


def test_doctor_fails_for_a_retired_model(fake_openai, openai_env):
    check = doctor_provider_check({**openai_env, "OPENAI_IMAGE_MODEL": "gpt-image-1"})

    assert check["status"] == "fail"
    assert "The OpenAI model 'gpt-image-1' was shut down on 2026-10-23" in check["detail"]
    assert check["fix"] == "check OPENAI_API_KEY, OPENAI_BASE_URL and OPENAI_IMAGE_MODEL"


def test_doctor_fails_when_the_api_does_not_answer(openai_env):
    env = {**openai_env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}

    result = runner.invoke(app, ["doctor"], env=env)

    assert result.exit_code == 1
    assert (
        "FAIL  image provider: openai, model gpt-image-2.5-sunburst, at http://127.0.0.1:9/v1: "
        "Could not reach http://127.0.0.1:9/v1" in result.stdout
    )


# -- models ------------------------------------------------------------------------------


def test_models_lists_the_image_models_of_the_key_with_the_default_marked(fake_openai, openai_env):
    from tests.openai_server import OTHER_MODELS

    fake_openai.shutdown_dates["gpt-image-1-mini"] = "2027-03-01"  # as the API may announce
    text = runner.invoke(app, ["models"], env=openai_env)
    listed = json.loads(runner.invoke(app, ["models", "--json"], env=openai_env).stdout)

    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert f"{DEFAULT_IMAGE_MODEL}  (default)" in lines
    assert "gpt-image-1-mini  (shuts down 2027-03-01)" in lines
    assert [entry["id"] for entry in listed] == sorted(CURRENT_MODELS)
    assert not OTHER_MODELS & {entry["id"] for entry in listed}
    assert [entry for entry in listed if entry["default"]] == [
        {
            "id": DEFAULT_IMAGE_MODEL,
            "default": True,
            "available": True,
            "shutdown_date": None,
            "advice": None,
        }
    ]
    assert [r["path"] for r in fake_openai.requests] == ["/v1/models", "/v1/models"]


def test_models_shows_a_shut_down_default_with_its_date_and_what_to_use(fake_openai, openai_env):
    fake_openai.models |= {"gpt-image-1", "dall-e-3"}  # a list that still names them
    env = {**openai_env, "OPENAI_IMAGE_MODEL": "gpt-image-1"}

    result = runner.invoke(app, ["models"], env=env)
    listed = json.loads(runner.invoke(app, ["models", "--json"], env=env).stdout)

    assert result.exit_code == 0
    assert (
        "gpt-image-1  (default, shut down 2026-10-23: use gpt-image-2.5-sunburst or "
        "gpt-image-2.5-flare instead)" in result.stdout.splitlines()
    )
    assert "dall-e-3" not in result.stdout  # shut down, and not the default: left out
    assert [entry for entry in listed if entry["default"]] == [
        {
            "id": "gpt-image-1",
            "default": True,
            "available": False,
            "shutdown_date": "2026-10-23",
            "advice": "use gpt-image-2.5-sunburst or gpt-image-2.5-flare instead",
        }
    ]


def test_a_default_the_key_lacks_is_not_available(fake_openai, openai_env):
    fake_openai.models.discard("gpt-image-2")
    env = {**openai_env, "OPENAI_IMAGE_MODEL": "gpt-image-2"}

    result = runner.invoke(app, ["models"], env=env)

    assert "gpt-image-2  (default, not available to this key)" in result.stdout.splitlines()


def test_models_without_a_key_says_so_and_lists_nothing():
    result = runner.invoke(app, ["models", "--json"])

    assert result.exit_code == 0
    assert result.stdout == "[]\n"
    assert result.stderr == (
        "Notice: OPENAI_API_KEY is not set: no image model is available (the offline "
        "placeholder renders images instead)\n"
    )


def test_models_when_the_api_does_not_answer(openai_env):
    env = {**openai_env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}

    result = runner.invoke(app, ["models"], env=env)

    assert result.exit_code == 6
    assert result.stderr == (
        "Error: Could not reach http://127.0.0.1:9/v1; check the network (and OPENAI_BASE_URL)\n"
    )


# -- formats and options -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_format", "extension", "media_type"),
    [("png", ".png", "image/png"), ("webp", ".webp", "image/webp"), ("jpeg", ".jpg", "image/jpeg")],
)
def test_the_format_reaches_the_api_and_the_stored_file(
    fake_openai, openai_env, image_format, extension, media_type
):
    result = generate(openai_env, "--format", image_format, "--size", "48x32", "--json")

    assert result.exit_code == 0, result.stderr
    details = json.loads(result.stdout)
    assert details["media_type"] == media_type
    assert details["file"].endswith(extension)
    assert details["format"] == image_format
    size = (details["width"], details["height"])
    assert Path(details["file"]).read_bytes() == picture(image_format, size)
    sent = fake_openai.requests[0]["body"]
    assert sent.get("output_format", "png") == image_format


def test_every_option_is_sent_as_the_sdk_names_it(fake_openai, openai_env):
    result = generate(
        openai_env,
        "--format",
        "webp",
        "--compression",
        "80",
        "--background",
        "transparent",
        "--moderation",
        "low",
    )

    assert result.exit_code == 0, result.stderr
    assert fake_openai.requests[0]["body"] == {
        "model": DEFAULT_IMAGE_MODEL,
        "prompt": "a lighthouse at dawn",
        "n": 1,
        "output_format": "webp",
        "output_compression": 80,
        "background": "transparent",
        "moderation": "low",
    }


def test_options_come_from_settings_too(fake_openai, openai_env):
    env = {**openai_env, "IMAGE_FORMAT": "jpeg", "IMAGE_COMPRESSION": "55"}

    assert generate(env).exit_code == 0

    body = fake_openai.requests[0]["body"]
    assert (body["output_format"], body["output_compression"]) == ("jpeg", 55)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--compression", "50"], "--compression: compression applies to webp and jpeg, not png"),
        (["--format", "bmp"], "Invalid value for '--format': 'bmp' is not a format"),
        (["--background", "clear"], "Invalid value for '--background': 'clear' is not a"),
        (["--moderation", "none"], "Invalid value for '--moderation': 'none' is not a"),
        (["--format", "jpeg", "--compression", "101"], "Invalid value for '--compression'"),
    ],
)
def test_malformed_options_are_exit_2_before_any_call(fake_openai, openai_env, args, message):
    result = generate(openai_env, *args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert fake_openai.requests == []


@pytest.mark.parametrize(("image_format", "magic"), [("webp", b"RIFF"), ("jpeg", b"\xff\xd8\xff")])
def test_the_placeholder_renders_every_format(image_format, magic):
    result = runner.invoke(
        app, ["generate", "a fox", "--format", image_format, "--size", "48x32", "--json"]
    )

    assert result.exit_code == 0, result.stderr
    details = json.loads(result.stdout)
    assert (details["format"], details["width"], details["height"]) == (image_format, 48, 32)
    assert details["media_type"] == f"image/{image_format}"
    assert Path(details["file"]).read_bytes().startswith(magic)


# -- several images ------------------------------------------------------------------------


def test_n_images_are_one_request_with_their_own_guids_rows_and_files(
    fake_openai, openai_env, data_dir
):
    result = generate(openai_env, "-n", "3", "--json")

    assert result.exit_code == 0, result.stderr
    made = json.loads(result.stdout)
    assert isinstance(made, list)
    assert len({image["guid"] for image in made}) == 3
    assert [request["body"]["n"] for request in fake_openai.requests] == [3]
    assert len({Path(image["file"]).read_bytes() for image in made}) == 3
    listed = json.loads(runner.invoke(app, ["list", "--json"], env=openai_env).stdout)
    assert [image["guid"] for image in listed] == [image["guid"] for image in made]


def test_json_is_an_array_whenever_n_is_given(fake_openai, openai_env):
    one = json.loads(generate(openai_env, "-n", "1", "--json").stdout)
    plain = json.loads(generate(openai_env, "--json").stdout)

    assert isinstance(one, list)
    assert len(one) == 1
    assert isinstance(plain, dict)


def test_a_batch_whose_answer_is_broken_stores_nothing(fake_openai, openai_env, data_dir):
    good = base64.b64encode(PNG).decode()
    fake_openai.script(
        Answer(200, {"created": 1, "data": [{"b64_json": good}, {"b64_json": None}]})
    )

    result = generate(openai_env, "-n", "2")

    assert result.exit_code == 6
    assert result.stderr == "Error: OpenAI answered without image data\n"
    assert_nothing_stored(data_dir, openai_env)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-n", "0"], "Invalid value for '-n' / '--count'"),
        (["-n", "11"], "Invalid value for '-n' / '--count'"),
        (
            ["-n", "2", "-o", "x.png"],
            "Error: --output FILE takes one image; name a directory, use -n 1, or fetch each GUID",
        ),
    ],
)
def test_bad_counts_are_exit_2_before_any_request(fake_openai, openai_env, args, message):
    result = generate(openai_env, *args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert fake_openai.requests == []


def test_the_placeholder_honours_n():
    result = runner.invoke(app, ["generate", "a fox", "-n", "2", "--json"])

    made = json.loads(result.stdout)
    assert result.exit_code == 0
    assert len(made) == 2
    assert Path(made[0]["file"]).read_bytes() != Path(made[1]["file"]).read_bytes()


def test_the_tokens_the_api_reports_are_recorded_on_each_image(fake_openai, openai_env, data_dir):
    import sqlite3

    from tests.openai_server import INPUT_TOKENS, OUTPUT_TOKENS_PER_IMAGE

    made = json.loads(generate(openai_env, "-n", "3", "--json").stdout)
    placeholder = runner.invoke(app, ["generate", "offline", "--provider", "placeholder"])
    assert placeholder.exit_code == 0

    with sqlite3.connect(data_dir / "pixyproxy.db") as connection:
        rows = connection.execute(
            "SELECT guid, input_tokens, output_tokens FROM images ORDER BY id"
        ).fetchall()
    assert [row[0] for row in rows[:3]] == [image["guid"] for image in made]
    # One request's tokens, shared among its images (the remainder on the first).
    assert [row[1] for row in rows[:3]] == [18, 16, 16]
    assert sum(row[1] for row in rows[:3]) == INPUT_TOKENS
    assert [row[2] for row in rows[:3]] == [OUTPUT_TOKENS_PER_IMAGE] * 3
    assert rows[3][1:] == (None, None)  # the placeholder reports none


# -- usage --------------------------------------------------------------------------------


def test_usage_sums_tokens_by_model_and_prices_them_when_asked(fake_openai, openai_env):
    from tests.openai_server import (
        INPUT_TOKENS,
        OUTPUT_IMAGE_TOKENS_PER_IMAGE,
        OUTPUT_TEXT_TOKENS_PER_IMAGE,
        OUTPUT_TOKENS_PER_IMAGE,
    )

    generate(openai_env, "-n", "2")
    runner.invoke(app, ["generate", "offline", "--provider", "placeholder"], env=openai_env)
    env = {**openai_env, "IMAGE_PRICES": f"{DEFAULT_IMAGE_MODEL}=5:40"}

    by_model = json.loads(runner.invoke(app, ["usage", "--by", "model", "--json"], env=env).stdout)
    text = runner.invoke(app, ["usage", "--by", "model"], env={**env, "TTY_COMPATIBLE": "1"})
    piped = runner.invoke(app, ["usage", "--by", "model"], env=env)
    future = runner.invoke(app, ["usage", "--since", "2999-01-01", "--json"], env=env)

    output_tokens = 2 * OUTPUT_TOKENS_PER_IMAGE
    assert by_model == [
        {
            "key": DEFAULT_IMAGE_MODEL,
            "images": 2,
            "input_tokens": INPUT_TOKENS,
            "output_tokens": output_tokens,
            "input_text_tokens": INPUT_TOKENS,
            "input_image_tokens": 0,
            "output_image_tokens": 2 * OUTPUT_IMAGE_TOKENS_PER_IMAGE,
            "output_text_tokens": 2 * OUTPUT_TEXT_TOKENS_PER_IMAGE,
            "cost": (INPUT_TOKENS * 5 + output_tokens * 40) / 1_000_000,
        },
        {
            "key": "placeholder-v1",
            "images": 1,
            "input_tokens": 0,
            "output_tokens": 0,
            "input_text_tokens": 0,
            "input_image_tokens": 0,
            "output_image_tokens": 0,
            "output_text_tokens": 0,
            "cost": None,
        },
    ]
    assert text.exit_code == 0
    assert text.stdout.splitlines()[0].split() == [
        "MODEL",
        "IMAGES",
        "INPUT",
        "IMAGE-IN",
        "OUTPUT",
        "COST",
    ]
    assert "$0.0847" in text.stdout
    assert piped.stdout.splitlines() == [
        f"{DEFAULT_IMAGE_MODEL}\t2\t{INPUT_TOKENS}\t0\t{output_tokens}\t0.084730",
        "placeholder-v1\t1\t0\t0\t0\t-",
    ]
    assert future.stdout == "[]\n"


def test_malformed_prices_name_the_setting():
    result = runner.invoke(app, ["usage"], env={"IMAGE_PRICES": "gpt-image-2=cheap"})

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: IMAGE_PRICES: 'gpt-image-2=cheap' is not MODEL=INPUT:OUTPUT (USD per million "
        "tokens; or TEXT_IN:IMAGE_IN:OUTPUT, or TEXT_IN:IMAGE_IN:IMAGE_OUT:TEXT_OUT)\n"
    )


def test_usage_offers_exactly_the_groupings_the_service_knows():
    from pixyproxy_cli.service.usage import GROUPINGS

    shown = runner.invoke(app, ["usage", "--help"], env={"COLUMNS": "200"}).stdout

    assert f"--by <{'|'.join(GROUPINGS)}>" in shown
    assert GROUPINGS == ("day", "model", "user")


# -- streaming -------------------------------------------------------------------------


def test_a_watched_single_image_is_streamed_and_each_partial_image_reported(fake_openai):
    provider = provider_for(fake_openai, API_KEY)
    seen: list[tuple[int, int, bytes | None]] = []

    [image] = provider.generate(
        "a fox", 1, progress=lambda k, n, image=None: seen.append((k, n, image))
    )

    # Each partial image is handed on with its bytes (the fake's are the final image's).
    assert seen == [(1, 2, PNG), (2, 2, PNG)]
    assert image.data == PNG  # only the final image is kept
    assert (image.input_tokens, image.output_tokens) == (50, 1056)
    body = fake_openai.requests[0]["body"]
    assert (body["stream"], body["partial_images"]) == (True, 2)


def test_several_images_are_never_streamed(fake_openai):
    provider = provider_for(fake_openai, API_KEY)
    seen: list[tuple[int, int]] = []

    images = provider.generate("a fox", 3, progress=lambda k, n, image=None: seen.append((k, n)))

    assert len(images) == 3
    assert seen == []
    assert "stream" not in fake_openai.requests[0]["body"]


def test_a_streamed_edit_reports_progress_too(fake_openai):
    from pixyproxy_cli.data.providers import SourceImage

    provider = provider_for(fake_openai, API_KEY)
    seen: list[tuple[int, int]] = []
    source = SourceImage("source-1.png", picture("png", (24, 24)), "image/png")

    [image] = provider.edit(
        "a fox", [source], progress=lambda k, n, image=None: seen.append((k, n))
    )

    assert seen == [(1, 2), (2, 2)]
    assert image.data.startswith(b"\x89PNG")
    body = fake_openai.requests[0]["body"]
    assert (body["stream"], body["partial_images"]) == (True, 2)


def test_a_stream_that_ends_without_the_image_is_a_generation_error(fake_openai):
    provider = provider_for(fake_openai, API_KEY)
    fake_openai.script(Answer(200, {"created": 0, "data": [], "usage": None}))

    with pytest.raises(GenerationError, match="stream ended without the final image"):
        provider.generate("a fox", 1, progress=lambda k, n, image=None: None)


def test_a_moderation_error_inside_a_stream_is_a_rejected_prompt(fake_openai):
    from pixyproxy_cli.core.exceptions import ContentRejectedError

    error = {
        "message": "Your request was rejected by the safety system.",
        "type": "image_generation_user_error",
        "code": "moderation_blocked",
        "param": None,
    }
    fake_openai.script(Answer(200, {}, events=[{"error": error}]))
    provider = provider_for(fake_openai, API_KEY)

    with pytest.raises(ContentRejectedError, match="rejected by the provider's safety system"):
        provider.generate("a fox", 1, progress=lambda k, n, image=None: None)


def test_another_error_inside_a_stream_passes_the_apis_message_on(fake_openai):
    error = {"message": "The server had an error.", "type": "server_error", "code": None}
    fake_openai.script(Answer(200, {}, events=[{"error": error}]))
    provider = provider_for(fake_openai, API_KEY)

    with pytest.raises(GenerationError, match="^OpenAI failed: The server had an error.$"):
        provider.generate("a fox", 1, progress=lambda k, n, image=None: None)


def test_an_sdk_that_refuses_a_keyword_is_a_bug_not_a_provider_failure(
    fake_openai, openai_env, data_dir, monkeypatch
):
    from openai.resources.images import Images

    def too_old(self, *, prompt, model, n):  # an SDK before output_format, say
        return None

    monkeypatch.setattr(Images, "generate", too_old)

    result = generate(openai_env, "--format", "webp")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: unexpected TypeError: ")
    assert "this is a bug in pixyproxy, please report it" in result.stderr
    assert fake_openai.requests == []
    assert_nothing_stored(data_dir, openai_env)


# -- the rule table, held to the installed SDK ------------------------------------------


def test_the_rule_table_is_what_the_installed_sdk_documents():
    from pixyproxy_cli.core import image_options as table
    from tests import openai_server as sdk

    assert table.CUSTOM_SIZE_MODELS == sdk.CUSTOM_SIZE_MODELS
    assert table.EXTRA_QUALITY_MODELS == sdk.EXTRA_QUALITY_MODELS
    assert table.STANDARD_SIZE_MODELS | table.CUSTOM_SIZE_MODELS == sdk.CURRENT_MODELS
    assert not table.STANDARD_SIZE_MODELS & table.CUSTOM_SIZE_MODELS
    assert set(table.STANDARD_SIZES) == sdk.STANDARD_SIZES
    assert (table.MAX_SIZE, table.SIZE_STEP, table.MAX_ASPECT) == (
        sdk.MAX_SIZE,
        sdk.SIZE_STEP,
        sdk.MAX_ASPECT,
    )
    assert set(table.TRANSPARENT_FORMATS) == sdk.TRANSPARENT_FORMATS
    assert set(table.EXTRA_QUALITIES) == sdk.QUALITIES - {"auto", "low", "medium", "high"}
    assert set(table.IMAGE_QUALITIES) == sdk.QUALITIES


@pytest.mark.parametrize(
    ("model", "args", "refused"),
    [
        (
            "gpt-image-2",
            ["--quality", "xhigh"],
            "--quality: quality xhigh: only the gpt-image-2.5 models take it, not gpt-image-2",
        ),
        ("gpt-image-2.5-sunburst", ["--quality", "xhigh"], None),
        (
            "gpt-image-1.5",
            ["--size", "1536x864"],
            "--size: size 1536x864: gpt-image-1.5 takes 1024x1024, 1536x1024, 1024x1536 or "
            "auto (other sizes: gpt-image-2 and the gpt-image-2.5 models)",
        ),
        ("gpt-image-1.5", ["--size", "1536x1024"], None),
        ("gpt-image-2", ["--size", "1536x864"], None),
        (
            "gpt-image-2.5-flare",
            ["--background", "transparent", "--format", "jpeg"],
            "--background: background transparent needs format png or webp, not jpeg",
        ),
        ("gpt-image-2.5-flare", ["--background", "transparent", "--format", "webp"], None),
        (
            "gpt-image-2.5-flare",
            ["--compression", "50"],
            "--compression: compression applies to webp and jpeg, not png",
        ),
        ("gpt-image-2.5-flare", ["--compression", "50", "--format", "jpeg"], None),
    ],
)
def test_each_rule_on_both_sides_of_its_edge(
    fake_openai, openai_env, data_dir, model, args, refused
):
    result = generate(openai_env, "--model", model, *args)

    if refused is None:
        assert result.exit_code == 0, result.stderr
        assert len(fake_openai.requests) == 1  # and the strict fake took it
    else:
        assert (result.exit_code, result.stderr) == (2, f"Error: {refused}\n")
        assert fake_openai.requests == []
        assert_nothing_stored(data_dir, openai_env)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"model": "gpt-image-2", "quality": "max"}, "quality"),
        ({"model": "gpt-image-1.5", "size": "1536x864"}, "size"),
        ({"model": "gpt-image-2", "size": "1000x1000"}, "size"),
        ({"model": "gpt-image-2", "size": "3840x1264"}, "size"),
        ({"model": "gpt-image-2", "size": "4096x2160"}, "size"),
        (
            {"model": "gpt-image-2", "background": "transparent", "output_format": "jpeg"},
            "background",
        ),
    ],
)
def test_the_fake_refuses_what_the_sdk_says_the_api_refuses(fake_openai, fields, param):
    import openai

    client = openai.OpenAI(api_key=API_KEY, base_url=fake_openai.base_url, max_retries=0)

    with pytest.raises(openai.BadRequestError) as refused:
        client.images.generate(prompt="a fox", **fields)

    assert refused.value.status_code == 400
    assert refused.value.param == param
    assert refused.value.code == "invalid_value"


def test_a_complexity_is_sent_only_when_asked_and_checked_as_a_flag(fake_openai, openai_env):
    assert generate(openai_env).exit_code == 0
    asked = generate(openai_env, "--complexity", "high")
    from_setting = generate({**openai_env, "IMAGE_COMPLEXITY": "low"})
    refused = generate(openai_env, "--complexity", "extreme")

    bodies = [request["body"] for request in fake_openai.requests]
    assert "complexity" not in bodies[0]  # auto: the model's own default
    assert (asked.exit_code, bodies[1]["complexity"]) == (0, "high")
    assert (from_setting.exit_code, bodies[2]["complexity"]) == (0, "low")
    assert refused.exit_code == 2
    assert "'extreme' is not a complexity: use one of auto, low, medium, high" in refused.stderr
    assert len(bodies) == 3
