"""Animated GIF and SVG: the rules the SDK gives them, held by the CLI and by the strict fake,
and the files stored, listed, fetched, edited from and moved as any other image's."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from tests.cli.conftest import OPENAI_TEST_KEY, run_cli
from tests.openai_server import picture

runner = CliRunner()


run = run_cli


def generate(env: dict[str, str], *args: str):
    return run(env, "generate", "a cat waving", *args)


def frames_of(path: Path) -> tuple[int, list[int]]:
    """A GIF file's frame count and each frame's delay in ms."""
    from PIL import Image

    with Image.open(path) as image:
        delays = []
        for index in range(image.n_frames):
            image.seek(index)
            delays.append(image.info["duration"])
        return image.n_frames, delays


def test_the_format_table_is_what_the_installed_sdk_documents():
    from pixyproxy_cli.core import image_options as table
    from tests import openai_server as sdk

    assert set(table.IMAGE_FORMATS) == sdk.OUTPUT_FORMATS
    assert (table.MIN_FRAMES, table.MAX_FRAMES) == sdk.FRAMES
    assert table.MAX_FRAME_MS == sdk.MAX_FRAME_MS
    assert set(table.ANIMATED_FORMATS) == set(sdk.FORMAT_ONLY.values())
    assert set(table.SINGLE_IMAGE_FORMATS) == sdk.SINGLE_IMAGE_FORMATS
    streamless = {name for name, features in sdk.UNSUPPORTED.items() if "streaming" in features}
    assert set(table.UNSTREAMED_FORMATS) == streamless
    assert set(table.UNMASKED_FORMATS) == {
        name for name, features in sdk.UNSUPPORTED.items() if "masks" in features
    }
    # Neither takes a compression: the compression rule's formats leave both out.
    assert not set(table.COMPRESSED_FORMATS) & set(sdk.UNSUPPORTED)


def test_a_gif_is_made_stored_and_listed_with_its_frames(fake_openai, openai_env):
    made = generate(openai_env, "--format", "gif", "--frames", "12", "--frame-ms", "100", "--json")

    assert made.exit_code == 0, made.stderr
    details = json.loads(made.stdout)
    assert (details["format"], details["media_type"]) == ("gif", "image/gif")
    assert (details["width"], details["height"]) == (16, 16)
    assert details["file"].endswith(".gif")
    assert frames_of(Path(details["file"])) == (12, [100] * 12)
    [request] = fake_openai.requests
    assert request["body"]["output_format"] == "gif"
    assert (request["body"]["frame_count"], request["body"]["frame_duration_ms"]) == (12, 100)
    listed = json.loads(run(openai_env, "list", "--json").stdout)
    assert [image["format"] for image in listed] == ["gif"]
    fetched = run(openai_env, "fetch", details["guid"], "-o", "cat.gif")
    assert fetched.exit_code == 0, fetched.stderr
    assert Path("cat.gif").read_bytes() == Path(details["file"]).read_bytes()


def test_gif_settings_apply_to_gifs_only(fake_openai, openai_env):
    env = {**openai_env, "IMAGE_FRAMES": "4", "IMAGE_FRAME_MS": "300"}

    png = generate(env)
    gif = generate(env, "--format", "gif", "--json")

    assert (png.exit_code, gif.exit_code) == (0, 0), png.stderr + gif.stderr
    first, second = (request["body"] for request in fake_openai.requests)
    assert "frame_count" not in first
    assert "frame_duration_ms" not in first
    assert (second["frame_count"], second["frame_duration_ms"]) == (4, 300)
    assert frames_of(Path(json.loads(gif.stdout)["file"])) == (4, [300] * 4)


def test_an_svg_is_one_drawing_stored_as_svg(fake_openai, openai_env):
    made = generate(openai_env, "--format", "svg", "--size", "1536x1024", "--json")

    assert made.exit_code == 0, made.stderr
    details = json.loads(made.stdout)
    assert (details["format"], details["media_type"]) == ("svg", "image/svg+xml")
    assert (details["width"], details["height"]) == (1536, 1024)
    assert Path(details["file"]).read_bytes().startswith(b"<svg ")
    shown = run(openai_env, "show", details["guid"], "--json")
    assert json.loads(shown.stdout)["format"] == "svg"


@pytest.mark.parametrize(
    ("args", "refused"),
    [
        (["--frames", "12"], "--frames: frames apply to gif only, not png"),
        (["--format", "gif", "--frames", "12"], None),
        (["--format", "gif", "--frames", "2"], None),
        (["--format", "gif", "--frames", "16"], None),
        (
            ["--format", "gif", "--frames", "1"],
            "Invalid value for '--frames': Input should be greater than or equal to 2",
        ),
        (
            ["--format", "gif", "--frames", "17"],
            "Invalid value for '--frames': Input should be less than or equal to 16",
        ),
        (["--format", "webp", "--frame-ms", "100"], "--frame-ms: frame-ms applies to gif only"),
        (["--format", "gif", "--frame-ms", "655350"], None),
        (["--format", "gif", "--frame-ms", "655351"], "Invalid value for '--frame-ms'"),
        (["--format", "gif", "--frame-ms", "0"], "Invalid value for '--frame-ms'"),
        (["--format", "svg", "-n", "2"], "svg is made one image at a time: ask for 1, not 2"),
        (["--format", "svg", "-n", "1"], None),
        (["--format", "gif", "-n", "2"], None),
        (
            ["--format", "gif", "--compression", "50"],
            "--compression: compression applies to webp and jpeg, not gif",
        ),
        (
            ["--format", "svg", "--compression", "50"],
            "--compression: compression applies to webp and jpeg, not svg",
        ),
        (
            ["--format", "svg", "--background", "transparent"],
            "--background: background transparent needs format png or webp, not svg",
        ),
        (
            ["--format", "gif", "--background", "transparent"],
            "--background: background transparent needs format png or webp, not gif",
        ),
        (["--format", "gif", "--background", "opaque"], None),
    ],
)
def test_each_gif_and_svg_rule_on_both_sides_of_its_edge(fake_openai, openai_env, args, refused):
    result = generate(openai_env, *args)

    if refused is None:
        assert result.exit_code == 0, result.stderr
        assert len(fake_openai.requests) == 1  # and the strict fake took it
    else:
        assert result.exit_code == 2
        assert refused in result.stderr
        assert fake_openai.requests == []
        assert run(openai_env, "list", "--json").stdout == "[]\n"


def test_an_edit_to_a_gif_takes_no_mask(fake_openai, openai_env, tmp_path):
    source, mask = tmp_path / "photo.png", tmp_path / "mask.png"
    source.write_bytes(picture("png", (32, 32)))
    mask.write_bytes(picture("png", (32, 32)))

    masked = run(
        openai_env, "edit", "wave", "-i", str(source), "--mask", str(mask), "--format", "gif"
    )
    unmasked = run(openai_env, "edit", "wave", "-i", str(source), "--format", "gif", "--json")

    assert (masked.exit_code, masked.stderr) == (
        2,
        "Error: gif output takes no mask: drop the mask, or choose another format\n",
    )
    assert unmasked.exit_code == 0, unmasked.stderr
    assert json.loads(unmasked.stdout)["format"] == "gif"
    [request] = fake_openai.requests
    assert request["body"]["output_format"] == "gif"


def test_a_stored_gif_or_svg_is_not_an_edit_source(fake_openai, openai_env):
    for image_format in ("gif", "svg"):
        guid = json.loads(generate(openai_env, "--format", image_format, "--json").stdout)["guid"]

        refused = run(openai_env, "edit", "night", "-i", guid)

        kind = image_format.upper()
        assert (refused.exit_code, refused.stderr) == (
            2,
            f"Error: Image {guid} is a {kind} image: an edit starts from PNG, JPEG or WebP "
            "images\n",
        )
    assert len(fake_openai.requests) == 2


def test_a_key_without_the_preview_gets_one_clear_error(fake_openai, openai_env):
    fake_openai.previews = set()

    refused = {f: generate(openai_env, "--format", f) for f in ("gif", "svg")}

    assert refused["gif"].exit_code == 6
    assert refused["gif"].stderr == (
        "Error: This API key may not make GIF images with gpt-image-2.5-sunburst: GIF output "
        "needs access to the GIF preview for the model (OpenAI said: Your project does not have "
        "access to gif output with gpt-image-2.5-sunburst.); choose another --format, or ask "
        "OpenAI for access\n"
    )
    assert refused["svg"].exit_code == 6
    assert refused["svg"].stderr.startswith(
        "Error: This API key may not make SVG images with gpt-image-2.5-sunburst: SVG output "
        "needs a supported image model and project access"
    )
    assert run(openai_env, "list", "--json").stdout == "[]\n"


def test_gif_and_svg_are_never_streamed(fake_openai):
    from pixyproxy_cli.core.image_options import ImageOptions
    from tests.openai_server import provider_for

    provider = provider_for(fake_openai, OPENAI_TEST_KEY)
    seen: list[tuple[int, int]] = []

    for image_format in ("gif", "svg", "png"):
        provider.generate("a fox", 1, ImageOptions(format=image_format), lambda *p: seen.append(p))

    streamed = [request["body"].get("stream", False) for request in fake_openai.requests]
    assert streamed == [False, False, True]
    assert seen  # the PNG's partial images


@pytest.mark.parametrize("image_format", ["gif", "svg"])
def test_the_placeholder_draws_gif_and_svg(image_format):
    made = runner.invoke(
        app,
        ["generate", "a kite", "--format", image_format, "--size", "64x32", "--json"]
        + (["--frames", "3", "--frame-ms", "50"] if image_format == "gif" else []),
    )

    assert made.exit_code == 0, made.stderr
    details = json.loads(made.stdout)
    assert (details["format"], details["width"], details["height"]) == (image_format, 64, 32)
    assert details["placeholder"] is True
    path = Path(details["file"])
    if image_format == "gif":
        assert frames_of(path) == (3, [50] * 3)
    else:
        text = path.read_text()
        assert "a kite" in text
        assert "offline placeholder" in text


def test_gif_and_svg_move_through_export_and_import(tmp_path):
    made = [
        json.loads(runner.invoke(app, ["generate", f"a {f}", "--format", f, "--json"]).stdout)
        for f in ("gif", "svg")
    ]
    exported = runner.invoke(app, ["export", str(tmp_path / "move")])
    assert exported.exit_code == 0, exported.stderr

    target = {"PIXYPROXY_DATA_DIR": str(tmp_path / "other")}
    imported = runner.invoke(app, ["import", str(tmp_path / "move")], env=target)

    assert imported.exit_code == 0, imported.stderr
    listed = json.loads(runner.invoke(app, ["list", "--json"], env=target).stdout)
    assert {(i["guid"], i["format"], i["width"]) for i in listed} == {
        (i["guid"], i["format"], i["width"]) for i in made
    }


@pytest.mark.parametrize(
    "text",
    [
        b"<!DOCTYPE html><html><body><svg xmlns='http://www.w3.org/2000/svg'/></body></html>",
        b"<svg width='10' height='10'><script>alert(1)</script></svg>",  # no SVG namespace
        b"<?xml version='1.0'?><!DOCTYPE svg [<!ENTITY a 'aaaaaaaaaa'>]>"
        b"<svg xmlns='http://www.w3.org/2000/svg' width='1' height='1'>&a;</svg>",
        b"<svg xmlns='http://www.w3.org/2000/svg'><rect/></svg>",  # no size at all
        b"<svg xmlns='http://www.w3.org/2000/svg' width='50%' height='2em'/>",
        b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'",  # cut short
    ],
)
def test_what_is_not_an_svg_we_keep_is_refused_from_its_bytes(text):
    from pixyproxy_cli.core.exceptions import InputValidationError
    from pixyproxy_cli.data.files.imaging import read_header
    from pixyproxy_cli.data.providers import sniff_media_type

    assert sniff_media_type(text) is None
    with pytest.raises(InputValidationError, match="is not a PNG, JPEG, WebP, GIF or SVG image"):
        read_header(text, "upload")


def test_an_svg_states_its_size_by_width_and_height_or_its_view_box():
    from pixyproxy_cli.data.files.imaging import read_header

    sized = b"<svg xmlns='http://www.w3.org/2000/svg' width='100.5px' height='20'/>"
    boxed = b"\xef\xbb\xbf<!-- a --><svg xmlns='http://www.w3.org/2000/svg' viewBox='0,0 64 48'/>"
    huge = b"<svg xmlns='http://www.w3.org/2000/svg' width='5000' height='5000'/>"

    assert (read_header(sized, "a").width, read_header(sized, "a").height) == (101, 20)
    assert (read_header(boxed, "b").media_type, read_header(boxed, "b").width) == (
        "image/svg+xml",
        64,
    )
    with pytest.raises(Exception, match="is 5000x5000 pixels"):
        read_header(huge, "c")


def test_a_gif_thumbnail_is_its_first_frame():
    from PIL import Image

    from pixyproxy_cli.data.files.imaging import make_thumbnail
    from tests.openai_server import animation

    thumbnail = make_thumbnail(animation((64, 32), 5, 100), 128, "a gif")

    with Image.open(io.BytesIO(thumbnail)) as image:
        assert (image.format, image.size, getattr(image, "n_frames", 1)) == ("WEBP", (64, 32), 1)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"output_format": "png", "frame_count": 5}, "frame_count"),
        ({"output_format": "gif", "frame_count": 1}, "frame_count"),
        ({"output_format": "gif", "frame_count": 17}, "frame_count"),
        ({"output_format": "gif", "frame_count": 2}, None),
        ({"output_format": "gif", "frame_count": 16}, None),
        ({"output_format": "webp", "frame_duration_ms": 100}, "frame_duration_ms"),
        # Past the cap the API encodes the cap: it does not refuse.
        ({"output_format": "gif", "frame_duration_ms": 700_000}, None),
        ({"output_format": "svg", "n": 2}, "n"),
        ({"output_format": "svg", "n": 1}, None),
        ({"output_format": "gif", "n": 3}, None),
        ({"output_format": "gif", "output_compression": 50}, "output_compression"),
        ({"output_format": "svg", "output_compression": 50}, "output_compression"),
        ({"output_format": "gif", "stream": True}, "stream"),
        ({"output_format": "svg", "stream": True, "partial_images": 2}, "partial_images"),
        ({"output_format": "png", "svg": {"model": "gpt-5.1"}}, "svg"),
        ({"output_format": "gif", "background": "transparent"}, "background"),
    ],
)
def test_the_fake_holds_the_gif_and_svg_rules_the_sdk_gives(fake_openai, fields, param):
    import openai

    client = openai.OpenAI(api_key=OPENAI_TEST_KEY, base_url=fake_openai.base_url, max_retries=0)

    if param is None:
        answer = client.images.generate(prompt="a fox", model="gpt-image-2", **fields)
        expected = fields.get("n", 1)
        assert len(answer.data) == expected
        return
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.generate(prompt="a fox", model="gpt-image-2", **fields)
    assert (refused.value.status_code, refused.value.param) == (400, param)


def test_the_fake_refuses_a_masked_gif_edit(fake_openai):
    import openai

    client = openai.OpenAI(api_key=OPENAI_TEST_KEY, base_url=fake_openai.base_url, max_retries=0)
    image = ("a.png", picture("png", (16, 16)), "image/png")

    with pytest.raises(openai.BadRequestError) as refused:
        client.images.edit(
            prompt="wave", image=[image], mask=image, output_format="gif", model="gpt-image-2"
        )
    unmasked = client.images.edit(
        prompt="wave", image=[image], output_format="gif", model="gpt-image-2"
    )

    assert (refused.value.status_code, refused.value.param) == (400, "mask")
    assert unmasked.data
    assert unmasked.data[0].b64_json
