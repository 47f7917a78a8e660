"""POST /edits: sources by GUID and by upload, in order, with the visibility rules of
reads, checked before the provider is called; the OpenAPI document says what it answers."""

from __future__ import annotations

import re

import pytest

from tests.fakes import PNG_BYTES
from tests.helpers import png_claiming
from tests.openai_server import picture

MISSING = "0b4e28ba-2fa1-11d2-883f-0016d3cca427"


def make(api, prompt="a lighthouse", *, private=False, user=None) -> dict:
    response = api.post(
        "/image", json={"prompt": prompt, "private": private}, auth=api.auth(user) if user else None
    )
    assert response.status_code == 201, response.text
    return response.json()


def edit(api, parts, user=None, **fields):
    """POST /edits with ``parts``: GUID strings and (name, bytes, type) uploads, in order."""
    files = [
        ("image", (None, part.encode())) if isinstance(part, str) else ("image", part)
        for part in parts
    ]
    files += [
        (name, (None, str(value).lower() if isinstance(value, bool) else str(value)))
        for name, value in fields.items()
        if name != "mask"
    ]
    if "mask" in fields:
        files.append(("mask", fields["mask"]))
    return api.post("/edits", files=files, auth=api.auth(user) if user else None)


UPLOAD = ("fox.webp", picture("webp", (20, 20)), "image/webp")


def test_sources_keep_their_order_and_uploads_are_null_parents(api):
    stored = make(api)

    response = edit(api, [UPLOAD, stored["guid"]], prompt="a fox at the lighthouse", n=2)

    assert response.status_code == 201, response.text
    images = response.json()
    assert [image["parents"] for image in images] == [[None, stored["guid"]]] * 2
    assert [image["prompt"] for image in images] == ["a fox at the lighthouse"] * 2
    [(_, sources, mask)] = api.provider.edits
    assert [s.media_type for s in sources] == ["image/webp", "image/png"]
    assert sources[0].data == UPLOAD[1]
    assert sources[1].data == PNG_BYTES  # the stored file
    assert mask is None
    details = api.get(f"/image/{images[0]['guid']}").json()
    assert details["parents"] == [None, stored["guid"]]


def test_a_mask_and_the_options_reach_the_provider(api):
    mask = ("mask.png", picture("png", (20, 20)), "image/png")

    response = edit(api, [UPLOAD], prompt="x", mask=mask, size="512x512", format="png")

    assert response.status_code == 201, response.text
    [(_, _, sent_mask)] = api.provider.edits
    assert sent_mask is not None
    assert sent_mask.data == mask[1]
    assert api.provider.options[-1].size == "512x512"


def test_private_sources_follow_the_visibility_rules_of_reads(api):
    secret = make(api, "alice's secret", private=True, user="alice")

    as_owner = edit(api, [secret["guid"]], user="alice", prompt="more secret")
    as_other = edit(api, [secret["guid"]], user="bob", prompt="peek")
    anonymous = edit(api, [secret["guid"]], prompt="peek")
    missing = edit(api, [MISSING], user="bob", prompt="peek")

    assert as_owner.status_code == 201
    [edited] = as_owner.json()
    assert (edited["private"], edited["owner"]) == (True, "alice")
    assert as_other.status_code == anonymous.status_code == missing.status_code == 404
    assert as_other.json()["message"] == missing.json()["message"].replace(MISSING, secret["guid"])
    assert len(api.provider.edits) == 1


@pytest.mark.parametrize(
    ("parts", "fields", "message"),
    [
        ([], {"prompt": "x"}, "an edit takes 1 to 16 source images, not 0"),
        ([UPLOAD] * 17, {"prompt": "x"}, "an edit takes 1 to 16 source images, not 17"),
        ([UPLOAD] * 18, {"prompt": "x"}, "the form could not be read: Too many files"),
        (
            [("a.txt", b"hello", "text/plain")],
            {"prompt": "x"},
            "a.txt is not a PNG, JPEG or WebP image",
        ),
        ([UPLOAD], {"prompt": "x", "moderation": "low"}, "unknown field: moderation"),
        ([UPLOAD], {"prompt": "x", "n": 11}, "n"),
        ([UPLOAD], {"prompt": "  "}, "prompt must not be empty"),
        (
            [UPLOAD],
            {"prompt": "x", "mask": ("m.jpg", picture("jpeg"), "image/jpeg")},
            "m.jpg is not a PNG image",
        ),
        (["not-a-guid"], {"prompt": "x"}, "image is not a PNG, JPEG or WebP image"),
    ],
)
def test_bad_forms_are_422_before_any_call(api, parts, fields, message):
    response = edit(api, parts, **fields)

    assert response.status_code in (400, 422), response.text
    assert message in response.text
    assert api.provider.edits == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("prompt", (None, b"another")), "prompt is given more than once: send it once"),
        (("n", (None, b"2")), "n is given more than once: send it once"),
        (
            ("mask", ("m2.png", picture("png", (20, 20)), "image/png")),
            "mask is given more than once: send it once",
        ),
    ],
    ids=["prompt", "n", "mask"],
)
def test_a_field_given_twice_is_refused_not_one_of_them_picked(api, extra, message):
    mask = ("m.png", picture("png", (20, 20)), "image/png")
    files = [("image", UPLOAD), ("prompt", (None, b"x")), ("n", (None, b"1")), ("mask", mask)]
    response = api.post("/edits", files=[*files, extra])

    assert response.status_code == 422, response.text
    assert response.json()["message"] == message
    assert api.provider.edits == []


def test_not_a_form_is_422(api):
    response = api.post("/edits", json={"prompt": "x"})

    assert response.status_code == 422
    assert response.json()["message"] == "send the edit as multipart/form-data"


def test_uploads_must_declare_their_length_and_stay_under_the_limit(api):
    from pixyproxy_cli.web.app import MAX_EDIT_BODY_BYTES

    def chunks():
        yield b"--x\r\n"

    unsized = api.post(
        "/edits",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    too_large = api.post(
        "/edits",
        content=b"",
        headers={
            "content-type": "multipart/form-data; boundary=x",
            "content-length": str(MAX_EDIT_BODY_BYTES + 1),
        },
    )

    assert unsized.status_code == 411
    assert too_large.status_code == 413
    assert f"larger than {MAX_EDIT_BODY_BYTES:,} bytes" in too_large.json()["message"]


def test_each_status_the_edit_route_answers_is_documented(api):
    secret = make(api, "s", private=True, user="alice")
    edit(api, [UPLOAD], prompt="x")
    edit(api, [secret["guid"]], prompt="x")
    edit(api, [UPLOAD], prompt="")
    edit(api, [UPLOAD], prompt="x", private=True)
    api.post("/edits", json={})

    document = api.get("/openapi.json").json()
    operation = document["paths"]["/edits"]["post"]
    statuses = [status for _, path, status in api.seen if path == "/edits"]
    assert {201, 401, 404, 422} <= set(statuses)
    for status in statuses:
        assert str(status) in operation["responses"], status
    schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["prompt", "image"]
    assert "moderation" not in schema["properties"]
    assert re.fullmatch(r"\^.*\$", schema["properties"]["image"]["items"]["anyOf"][0]["pattern"])


@pytest.mark.parametrize("side", [5000, 30000])
def test_an_upload_of_too_many_pixels_is_422_naming_the_limit(api, side):
    bomb = ("bomb.png", png_claiming(side, side), "image/png")

    response = edit(api, [bomb], prompt="x", size="auto")

    assert response.status_code == 422
    assert "an image may have at most 16,777,216 (4096x4096)" in response.json()["message"]
    assert api.provider.edits == []


def test_a_stored_source_is_read_through_its_header_too(sqlite_api):
    api = sqlite_api
    made = make(api)
    stored = api.services.settings.image_dir / f"{made['guid']}.png"
    stored.write_bytes(b"<html>an older import stored this as is</html>")

    response = edit(api, [made["guid"]], prompt="x")

    assert response.status_code == 500  # the store's fault, not the request's
    assert response.json()["message"] == "The image file could not be stored or read"
    assert api.provider.edits == []


@pytest.mark.parametrize("kind", ["png", "jpeg", "webp"])
def test_a_file_part_without_a_filename_is_a_file_all_the_same(api, kind):
    # What schemathesis (and some clients) send for a binary item of the array.
    made = make(api)
    data = picture(kind, (20, 20))
    files = [
        ("image", (None, data)),
        ("image", (None, made["guid"].encode())),
        ("prompt", (None, b"x")),
    ]

    response = api.post("/edits", files=files)

    assert response.status_code == 201, response.text
    assert response.json()[0]["parents"] == [None, made["guid"]]
    [(_, sources, _)] = api.provider.edits
    assert sources[0].data == data
    assert sources[0].media_type == f"image/{kind}"


def test_the_edit_form_schema_admits_no_other_field(api):
    schema = api.get("/openapi.json").json()["paths"]["/edits"]["post"]["requestBody"]
    form = schema["content"]["multipart/form-data"]["schema"]

    assert form["additionalProperties"] is False
    assert edit(api, [UPLOAD], prompt="x", colour="red").status_code == 422


def test_an_input_fidelity_reaches_the_provider_and_follows_the_model(api):
    api.provider.model = "gpt-image-1.5"
    taken = edit(api, [UPLOAD], prompt="x", input_fidelity="high")
    api.provider.model = "gpt-image-2"
    refused = edit(api, [UPLOAD], prompt="x", input_fidelity="high")

    assert taken.status_code == 201, taken.text
    assert api.provider.options[-1].input_fidelity == "high"
    assert refused.status_code == 422
    assert refused.json()["message"] == "input fidelity high: gpt-image-2 takes none: omit it"
