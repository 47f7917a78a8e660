"""``pixyproxy edit``: sources by GUID or file, lineage, checks before any call, and the real
SDK's multipart request against the fake server (which checks it as the API does)."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from tests.helpers import png_claiming
from tests.openai_server import client_environment, picture

runner = CliRunner()
API_KEY = "sk-edit-test-key-not-to-print"


def run(*args: str, env: dict[str, str] | None = None):
    result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
    assert API_KEY not in result.stdout + result.stderr
    return result


def made(*args: str, env: dict[str, str] | None = None):
    result = run(*args, "--json", env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def stored() -> dict:
    return made("generate", "a lighthouse at dawn", "--size", "64x48")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(picture("jpeg", (40, 30)))
    return path


def test_an_edit_of_a_stored_image_records_its_parent(stored):
    edited = made("edit", "the same at night", "-i", stored["guid"], "--size", "auto")

    assert edited["parents"] == [stored["guid"]]
    assert edited["prompt"] == "the same at night"
    assert (edited["width"], edited["height"]) == (64, 48)  # auto: the source's size
    assert Path(edited["file"]).read_bytes() != Path(stored["file"]).read_bytes()
    shown = run("show", edited["guid"])
    assert f"Edited from  {stored['guid']}\n" in shown.stdout
    assert "Size         64x48\n" in shown.stdout
    assert json.loads(run("show", edited["guid"], "--json").stdout) == {
        key: value for key, value in edited.items() if key != "file"
    }


def test_local_files_and_guids_mix_and_local_ones_are_null_parents(stored, photo):
    [first, second] = made("edit", "both", "-i", str(photo), "-i", stored["guid"], "-n", "2")

    assert first["parents"] == second["parents"] == [None, stored["guid"]]
    assert first["guid"] != second["guid"]
    assert (first["width"], first["height"]) == (40, 30)  # size auto: the first source's
    listed = {item["guid"]: item for item in json.loads(run("list", "--json").stdout)}
    assert listed[first["guid"]]["parents"] == [None, stored["guid"]]
    assert "Edited from  (a local file), " in run("show", first["guid"]).stdout


@pytest.mark.parametrize("image_format", ["webp", "jpeg"])
def test_an_edit_takes_the_image_options(photo, image_format, tmp_path):
    target = tmp_path / f"out.{image_format}"
    edited = made(
        "edit",
        "x",
        "-i",
        str(photo),
        "--format",
        image_format,
        "--size",
        "32x16",
        "-o",
        str(target),
    )

    assert (edited["format"], edited["width"], edited["height"]) == (image_format, 32, 16)
    assert target.read_bytes() == Path(edited["file"]).read_bytes()


def stored_count() -> int:
    return len(json.loads(run("list", "--json").stdout))


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (
            lambda d: ["-i", str(d / "missing.png")],
            "--image: {d}/missing.png: no such file, and not a GUID",
        ),
        (lambda d: ["-i", str(d)], "--image: {d} is not a file"),
        (lambda d: ["-i", str(d / "notes.txt")], "notes.txt is not a PNG, JPEG or WebP image"),
        (lambda d: ["-i", str(d / "empty.png")], "--image: {d}/empty.png is empty"),
        (
            lambda d: ["-i", str(d / "huge.png")],
            "--image: {d}/huge.png is 50 MB; each source must be under 50 MB",
        ),
        (
            lambda d: ["-i", str(d / "photo.jpg")] * 17,
            "--image: an edit takes 1 to 16 source images, not 17",
        ),
        (
            lambda d: ["-i", str(d / "photo.jpg"), "--mask", str(d / "photo.jpg")],
            "photo.jpg is not a PNG image",  # the mask, a JPEG
        ),
        (
            lambda d: ["-i", str(d / "photo.jpg"), "--mask", str(d / "big-mask.png")],
            "--mask: {d}/big-mask.png is 4 MB; the mask must be under 4 MB",
        ),
        (lambda d: [], "Missing option '--image' / '-i'"),
    ],
)
def test_bad_sources_are_exit_2_before_any_call(tmp_path, photo, make_args, message, fake_openai):
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    with (tmp_path / "huge.png").open("wb") as huge:  # sparse: costs no disk
        huge.truncate(50_000_000)
    with (tmp_path / "big-mask.png").open("wb") as big:
        big.truncate(4_000_000)
    env = {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": fake_openai.base_url}

    result = run("edit", "x", *make_args(tmp_path), env=env)

    assert result.exit_code == 2, result.stderr
    expected = message.format(d=tmp_path)
    assert expected in result.stderr
    assert fake_openai.requests == []
    assert stored_count() == 0


def test_an_unknown_guid_is_not_found(fake_openai):
    result = run("edit", "x", "-i", "0b4e28ba-2fa1-11d2-883f-0016d3cca427")

    assert result.exit_code == 3
    assert result.stderr.endswith(
        "Error: No image with GUID 0b4e28ba-2fa1-11d2-883f-0016d3cca427\n"
    )


# -- the real SDK against the fake server ----------------------------------------------


@pytest.fixture
def openai_env(fake_openai) -> dict[str, str]:
    return client_environment(fake_openai, API_KEY)


def test_the_sdk_sends_every_source_and_the_mask_as_multipart(fake_openai, openai_env, tmp_path):
    stored = made("generate", "a garden", "--size", "48x48", env=openai_env)
    mask = tmp_path / "mask.png"
    mask.write_bytes(picture("png", (48, 48)))
    photo = tmp_path / "fox.webp"
    photo.write_bytes(picture("webp", (20, 20)))

    edited = made(
        "edit",
        "a fox in the garden",
        "-i",
        stored["guid"],
        "-i",
        str(photo),
        "--mask",
        str(mask),
        "--size",
        "auto",
        "-n",
        "2",
        env=openai_env,
    )

    request = fake_openai.requests[-1]
    assert request["path"] == "/v1/images/edits"
    assert request["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    files = request["body"].pop("files")
    assert [(f["field"], f["type"]) for f in files] == [
        ("image", "image/png"),
        ("image", "image/webp"),
        ("mask", "image/png"),
    ]
    assert files[0]["size"] == Path(stored["file"]).stat().st_size
    assert request["body"] == {
        "model": "gpt-image-2.5-sunburst",
        "prompt": "a fox in the garden",
        "n": 2,
    }  # no moderation: the edit endpoint takes none
    assert [image["parents"] for image in edited] == [[stored["guid"], None]] * 2
    assert [(i["width"], i["height"], i["provider"]) for i in edited] == [(48, 48, "openai")] * 2
    # The request's usage (text and the sources' image tokens) is shared among its images.
    assert [image["usage"] for image in edited] == [
        {
            "input_tokens": 125,
            "output_tokens": 1056,
            "input_tokens_details": {"text_tokens": 25, "image_tokens": 100},
            "output_tokens_details": {"text_tokens": 56, "image_tokens": 1000},
        }
    ] * 2


def test_a_mask_of_another_size_is_refused_before_any_call(
    fake_openai, openai_env, photo, tmp_path
):
    mask = tmp_path / "mask.png"
    mask.write_bytes(picture("png", (10, 10)))

    result = run("edit", "x", "-i", str(photo), "--mask", str(mask), env=openai_env)

    assert result.exit_code == 2
    assert result.stderr == (
        "Error: mask.png is 10x10 pixels; a mask must have the size of the first source (40x30)\n"
    )
    assert fake_openai.requests == []
    assert stored_count() == 0


@pytest.mark.parametrize("side", [5000, 30000])
def test_a_source_of_too_many_pixels_is_refused_from_its_header(
    fake_openai, openai_env, tmp_path, side
):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(side, side))  # a few hundred bytes, gigabytes decoded

    result = run("edit", "x", "-i", str(bomb), "--size", "auto", env=openai_env)

    assert result.exit_code == 2
    has = f"is {side}x{side} pixels;" if side == 5000 else "has too many pixels;"
    assert result.stderr == (
        f"Error: bomb.png {has} an image may have at most 16,777,216 (4096x4096)\n"
    )
    assert fake_openai.requests == []
    assert stored_count() == 0


def test_an_edit_sends_no_size_unless_one_is_asked_for(fake_openai, openai_env, tmp_path):
    wide = tmp_path / "wide.png"
    wide.write_bytes(picture("png", (1536, 1024)))

    made("edit", "the same at night", "-i", str(wide), env=openai_env)
    made("edit", "the same at night", "-i", str(wide), "--size", "1024x1024", env=openai_env)

    first, second = (request["body"] for request in fake_openai.requests)
    assert "size" not in first  # the API's default, auto: the source's proportions
    assert second["size"] == "1024x1024"


def test_the_offline_edit_keeps_the_sources_size_by_default(tmp_path):
    wide = tmp_path / "wide.png"
    wide.write_bytes(picture("png", (96, 64)))

    edited = made("edit", "the same at night", "-i", str(wide))

    assert (edited["width"], edited["height"]) == (96, 64)


@pytest.mark.parametrize(
    ("model", "fidelity", "refused"),
    [
        ("gpt-image-1.5", "high", None),
        ("gpt-image-1.5", "low", None),
        ("gpt-image-1-mini", "low", None),
        (
            "gpt-image-1-mini",
            "high",
            "--input-fidelity: input fidelity high: gpt-image-1-mini takes only low",
        ),
        (
            "gpt-image-2",
            "low",
            "--input-fidelity: input fidelity low: gpt-image-2 takes none: omit it",
        ),
        ("gpt-image-2", "auto", None),
    ],
)
def test_an_input_fidelity_only_where_the_model_takes_it(
    fake_openai, openai_env, photo, model, fidelity, refused
):
    result = run(
        "edit",
        "x",
        "-i",
        str(photo),
        "--model",
        model,
        "--input-fidelity",
        fidelity,
        env=openai_env,
    )

    if refused is None:
        assert result.exit_code == 0, result.stderr
        [request] = fake_openai.requests
        assert request["body"].get("input_fidelity") == (None if fidelity == "auto" else fidelity)
    else:
        assert (result.exit_code, result.stderr) == (2, f"Error: {refused}\n")
        assert fake_openai.requests == []


def test_the_input_fidelity_table_is_what_the_installed_sdk_documents():
    from pixyproxy_cli.core.image_options import INPUT_FIDELITIES, INPUT_FIDELITY_MODELS
    from tests import openai_server as sdk

    table = {model: set(values) for model, values in INPUT_FIDELITY_MODELS.items()}
    assert table == sdk.INPUT_FIDELITY_MODELS
    hints = typing.get_type_hints(sdk.image_edit_params.ImageEditParamsBase)
    literal = typing.get_args(hints["input_fidelity"])[0]
    assert set(INPUT_FIDELITIES) - {"auto"} == set(typing.get_args(literal))
