"""GIF and SVG through the REST API: the same rules as the CLI (422), and their files served
as every stored file is: sandboxed, never sniffed, an SVG its own thumbnail."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pixyproxy_cli.data.providers.placeholder import render_svg
from tests.openai_server import animation, picture
from tests.web.conftest import make_api
from tests.web.test_edits import edit

SVG = render_svg("a kite", 64, 48)
GIF = animation((40, 20), 4, 100)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"format": "gif", "frames": 12, "frame_ms": 100}, None),
        ({"frames": 12}, "frames apply to gif only, not png"),
        ({"format": "jpeg", "frame_ms": 100}, "frame-ms applies to gif only, not jpeg"),
        ({"format": "svg", "n": 2}, "svg is made one image at a time: ask for 1, not 2"),
        ({"format": "svg", "n": 1}, None),
        ({"format": "gif", "compression": 50}, "compression applies to webp and jpeg, not gif"),
        (
            {"format": "svg", "background": "transparent"},
            "background transparent needs format png or webp, not svg",
        ),
    ],
)
def test_the_gif_and_svg_rules_hold_for_the_api(api, body, said):
    response = api.post("/image", json={"prompt": "a cat waving", **body})

    if said is None:
        assert response.status_code == 201, response.text
        options = api.provider.options[-1]
        assert (options.format, options.frames, options.frame_ms) == (
            body["format"],
            body.get("frames"),
            body.get("frame_ms"),
        )
    else:
        assert (response.status_code, response.json()["message"]) == (422, said)
        assert api.provider.prompts == []


@pytest.mark.parametrize("frames", [1, 17, "9", 9.5])
def test_a_frame_count_out_of_range_or_of_another_type_is_422(api, frames):
    response = api.post("/image", json={"prompt": "x", "format": "gif", "frames": frames})

    assert response.status_code == 422
    assert api.provider.prompts == []


def test_the_servers_gif_settings_apply_to_gifs_only(sqlite_settings):
    settings = replace(sqlite_settings, image_frames=5, image_frame_ms=300)
    built, database = make_api(settings)
    with built.client:
        png = built.post("/image", json={"prompt": "a fox"})
        gif = built.post("/image", json={"prompt": "a fox", "format": "gif"})
        own = built.post("/image", json={"prompt": "a fox", "format": "gif", "frames": 3})
    database.close()

    assert (png.status_code, gif.status_code, own.status_code) == (201, 201, 201)
    sent = [(o.format, o.frames, o.frame_ms) for o in built.provider.options]
    assert sent == [("png", None, None), ("gif", 5, 300), ("gif", 3, 300)]


def test_a_masked_edit_to_a_gif_is_422(api):
    upload = ("fox.png", picture("png", (20, 20)), "image/png")

    response = edit(api, [upload], prompt="wave", mask=upload, format="gif")

    assert response.status_code == 422
    assert response.json()["message"] == (
        "gif output takes no mask: drop the mask, or choose another format"
    )
    assert api.provider.edits == []


def test_an_svg_is_served_sandboxed_and_is_its_own_thumbnail(api):
    api.provider.data = SVG
    made = api.post("/image", json={"prompt": "a kite", "format": "svg"}).json()

    content = api.get(f"/image/{made['guid']}/content")
    thumbnail = api.get(f"/image/{made['guid']}/thumbnail?size=128")

    assert (made["format"], made["width"], made["height"]) == ("svg", 64, 48)
    for response in (content, thumbnail):
        assert response.status_code == 200
        assert response.content == SVG
        assert response.headers["content-type"] == "image/svg+xml"
        assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_a_gif_is_served_whole_and_its_thumbnail_is_a_still_webp(api):
    api.provider.data = GIF
    made = api.post("/image", json={"prompt": "a cat", "format": "gif"}).json()

    content = api.get(f"/image/{made['guid']}/content")
    thumbnail = api.get(f"/image/{made['guid']}/thumbnail?size=128")

    assert (content.headers["content-type"], content.content) == ("image/gif", GIF)
    assert thumbnail.headers["content-type"] == "image/webp"
    assert thumbnail.content.startswith(b"RIFF")


def test_the_schema_says_the_gif_rules(api):
    schema = api.get("/openapi.json").json()
    request = schema["components"]["schemas"]["ImageRequest"]
    form = schema["paths"]["/edits"]["post"]["requestBody"]["content"]["multipart/form-data"]

    assert set(request["properties"]["format"]["anyOf"][0]["enum"]) == {
        "png",
        "webp",
        "jpeg",
        "gif",
        "svg",
    }
    for rules in (request["dependentSchemas"], form["schema"]["dependentSchemas"]):
        assert rules["frames"]["properties"]["format"] == {"enum": ["gif"]}
        assert rules["frame_ms"]["properties"]["format"] == {"enum": ["gif"]}


def test_the_schema_says_an_svg_is_one_image_a_request(api):
    request = api.get("/openapi.json").json()["components"]["schemas"]["ImageRequest"]

    assert request["dependentSchemas"]["n"] == {
        "anyOf": [
            {"properties": {"n": {"const": 1}}},
            {"properties": {"format": {"not": {"enum": ["svg"]}}}},
        ]
    }
