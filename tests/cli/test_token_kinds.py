"""The kinds of tokens the API reports (text and image input, image and text output): kept
with each image, shown with its details, summed by ``usage`` and priced per kind."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from pixyproxy_cli.core.constants import DEFAULT_IMAGE_MODEL
from tests.cli.conftest import run_cli
from tests.openai_server import (
    INPUT_TOKENS,
    OUTPUT_IMAGE_TOKENS_PER_IMAGE,
    OUTPUT_TEXT_TOKENS_PER_IMAGE,
    OUTPUT_TOKENS_PER_IMAGE,
    picture,
)

runner = CliRunner()


def run(env: dict[str, str], *args: str):
    result = run_cli(env, *args)
    assert result.exit_code == 0, result.stderr
    return result


def details(text_tokens: int, image_tokens: int) -> dict[str, int]:
    return {"text_tokens": text_tokens, "image_tokens": image_tokens}


def test_an_images_details_carry_the_kinds_of_its_tokens(openai_env):
    made = json.loads(run(openai_env, "generate", "a fox", "--json").stdout)
    shown = json.loads(run(openai_env, "show", made["guid"], "--json").stdout)
    listed = json.loads(run(openai_env, "list", "--json").stdout)
    text = run(openai_env, "show", made["guid"]).stdout

    expected = {
        "input_tokens": INPUT_TOKENS,
        "output_tokens": OUTPUT_TOKENS_PER_IMAGE,
        "input_tokens_details": details(INPUT_TOKENS, 0),
        "output_tokens_details": details(
            OUTPUT_TEXT_TOKENS_PER_IMAGE, OUTPUT_IMAGE_TOKENS_PER_IMAGE
        ),
    }
    assert made["usage"] == shown["usage"] == listed[0]["usage"] == expected
    assert (
        f"{INPUT_TOKENS:,} input ({INPUT_TOKENS:,} text, 0 image), "
        f"{OUTPUT_TOKENS_PER_IMAGE:,} output ({OUTPUT_IMAGE_TOKENS_PER_IMAGE:,} image, "
        f"{OUTPUT_TEXT_TOKENS_PER_IMAGE:,} text)"
    ) in text


def test_a_requests_kinds_are_shared_among_its_images_as_its_totals_are(openai_env):
    made = json.loads(run(openai_env, "generate", "three foxes", "-n", "3", "--json").stdout)

    inputs = [image["usage"]["input_tokens_details"]["text_tokens"] for image in made]
    outputs = [image["usage"]["output_tokens_details"]["image_tokens"] for image in made]
    assert inputs == [18, 16, 16]
    assert sum(inputs) == INPUT_TOKENS
    assert outputs == [OUTPUT_IMAGE_TOKENS_PER_IMAGE] * 3


def test_an_edits_sources_are_image_input_tokens(openai_env, tmp_path):
    source = tmp_path / "photo.png"
    source.write_bytes(picture("png", (32, 32)))

    made = json.loads(run(openai_env, "edit", "night", "-i", str(source), "--json").stdout)

    assert made["usage"]["input_tokens_details"] == details(INPUT_TOKENS, 100)
    assert made["usage"]["input_tokens"] == INPUT_TOKENS + 100


def test_the_placeholder_reports_no_tokens_of_any_kind():
    made = json.loads(runner.invoke(app, ["generate", "offline", "--json"]).stdout)

    assert made["usage"] is None


def test_usage_sums_each_kind_and_prices_each_kind_it_is_given(openai_env, tmp_path):
    source = tmp_path / "photo.png"
    source.write_bytes(picture("png", (32, 32)))
    run(openai_env, "generate", "two foxes", "-n", "2")
    run(openai_env, "edit", "night", "-i", str(source))
    prices = {
        "two rates": ("5:40", (5, 5, 40, 40)),
        "three rates": ("5:8:40", (5, 8, 40, 40)),
        "four rates": ("5:8:40:10", (5, 8, 40, 10)),
    }

    costs = {}
    for name, (rates, _) in prices.items():
        env = {**openai_env, "IMAGE_PRICES": f"{DEFAULT_IMAGE_MODEL}={rates}"}
        [line] = json.loads(run(env, "usage", "--by", "model", "--json").stdout)
        costs[name] = line.pop("cost")

    text_in, image_in = 2 * INPUT_TOKENS, 100
    image_out, text_out = 3 * OUTPUT_IMAGE_TOKENS_PER_IMAGE, 3 * OUTPUT_TEXT_TOKENS_PER_IMAGE
    assert line == {
        "key": DEFAULT_IMAGE_MODEL,
        "images": 3,
        "input_tokens": text_in + image_in,
        "output_tokens": image_out + text_out,
        "input_text_tokens": text_in,
        "input_image_tokens": image_in,
        "output_image_tokens": image_out,
        "output_text_tokens": text_out,
    }
    for name, (_, (rate_text_in, rate_image_in, rate_image_out, rate_text_out)) in prices.items():
        expected = (
            text_in * rate_text_in
            + image_in * rate_image_in
            + image_out * rate_image_out
            + text_out * rate_text_out
        ) / 1_000_000
        assert costs[name] == pytest.approx(expected), name


def test_tokens_of_no_known_kind_are_priced_only_by_two_rates(openai_env, data_dir):
    import sqlite3

    run(openai_env, "generate", "a fox")
    with sqlite3.connect(data_dir / "pixyproxy.db") as connection:  # as an older version kept it
        connection.execute(
            "UPDATE images SET input_text_tokens = NULL, input_image_tokens = NULL, "
            "output_text_tokens = NULL, output_image_tokens = NULL"
        )

    two = {**openai_env, "IMAGE_PRICES": f"{DEFAULT_IMAGE_MODEL}=5:40"}
    three = {**openai_env, "IMAGE_PRICES": f"{DEFAULT_IMAGE_MODEL}=5:8:40"}
    [priced] = json.loads(run(two, "usage", "--by", "model", "--json").stdout)
    [unpriced] = json.loads(run(three, "usage", "--by", "model", "--json").stdout)
    shown = json.loads(run(openai_env, "list", "--json").stdout)

    assert priced["cost"] == pytest.approx(
        (INPUT_TOKENS * 5 + OUTPUT_TOKENS_PER_IMAGE * 40) / 1_000_000
    )
    assert (priced["input_text_tokens"], priced["output_image_tokens"]) == (0, 0)
    assert unpriced["cost"] is None  # which rate applies is not known
    assert shown[0]["usage"] == {
        "input_tokens": INPUT_TOKENS,
        "output_tokens": OUTPUT_TOKENS_PER_IMAGE,
        "input_tokens_details": None,
        "output_tokens_details": None,
    }


@pytest.mark.parametrize(
    ("prices", "said"),
    [
        ("m=1", "'m=1' is not MODEL=INPUT:OUTPUT"),
        ("m=1:2:3:4:5", "'m=1:2:3:4:5' is not MODEL=INPUT:OUTPUT"),
        ("m=1:x:3", "'m=1:x:3' is not MODEL=INPUT:OUTPUT"),
        ("m=1:-2:3", "'m=1:-2:3' has a negative price"),
    ],
)
def test_prices_of_two_three_or_four_rates_only(prices, said):
    result = runner.invoke(app, ["usage"], env={"IMAGE_PRICES": prices})

    assert result.exit_code == 1
    assert said in result.stderr


def test_the_kinds_move_through_export_and_import(openai_env, tmp_path):
    made = json.loads(run(openai_env, "generate", "a fox", "--json").stdout)
    run(openai_env, "export", str(tmp_path / "move"))
    target = {**openai_env, "PIXYPROXY_DATA_DIR": str(tmp_path / "other")}

    run(target, "import", str(tmp_path / "move"))

    [moved] = json.loads(run(target, "list", "--json").stdout)
    assert moved["usage"] == made["usage"]
    [line] = json.loads(run(target, "usage", "--by", "model", "--json").stdout)
    assert line["output_image_tokens"] == OUTPUT_IMAGE_TOKENS_PER_IMAGE


@pytest.fixture
def data_dir(isolated_environment):
    return isolated_environment / "data"
