"""The REST API through FastAPI's TestClient: endpoints, errors, authentication, OpenAPI."""

from __future__ import annotations

import json
import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from pixyproxy_cli.core.exceptions import (
    ConstraintViolationError,
    ContentRejectedError,
    DBConnectionError,
    GenerationError,
    RateLimitedError,
)
from tests.fakes import PNG_BYTES

MISSING = "0b4e28ba-2fa1-11d2-883f-0016d3cca427"
REQUEST_ID = re.compile(r"^[\w.-]+-\d{8}T\d{6}\.\d{6}-\d+-\d+\.\d+$")


def assert_error(response, status: int, error: str, message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "request_id"}
    assert body["error"] == error
    assert body["request_id"] == response.headers["x-request-id"]
    if message is not None:
        assert body["message"] == message
    assert "Traceback" not in response.text
    return body


def make(api, prompt: str = "a lighthouse at dawn", private: bool = False, user=None):
    response = api.post(
        "/image", json={"prompt": prompt, "private": private}, auth=api.auth(user) if user else None
    )
    assert response.status_code == 201, response.text
    return response.json()


# -- the four endpoints -------------------------------------------------------------------


def test_post_creates_an_image_with_location(api):
    response = api.post("/image", json={"prompt": "a lighthouse at dawn 🌅"})

    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/image/{body['guid']}"
    assert body["prompt"] == "a lighthouse at dawn 🌅"
    assert body["private"] is False
    assert set(body) == {
        "guid",
        "prompt",
        "private",
        "owner",
        "provider",
        "model",
        "media_type",
        "width",
        "height",
        "parents",
        "usage",
        "created_at",
        "updated_at",
        "format",
        "placeholder",
    }
    assert (body["format"], body["parents"], body["usage"]) == ("png", None, None)
    assert api.provider.prompts == ["a lighthouse at dawn 🌅"]


def test_get_details_and_list(api):
    first = make(api, "one")
    second = make(api, "two")

    assert api.get(f"/image/{first['guid']}").json() == first
    listed = api.get("/image")
    assert listed.headers["content-type"] == "application/json"
    assert listed.json() == [first, second]
    assert api.get("/image", params={"limit": 1}).json() == [first]
    assert api.get("/image", params={"after": first["guid"]}).json() == [second]
    assert api.get("/image", params={"after": second["guid"]}).json() == []


def test_an_empty_list_is_valid_json(api):
    response = api.get("/image")

    assert (response.status_code, response.json()) == (200, [])


def test_content_is_the_stored_file_with_caching_headers(api):
    made = make(api)

    response = api.get(f"/image/{made['guid']}/content")

    assert response.status_code == 200
    assert response.content == PNG_BYTES
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert response.headers["cache-control"] == "public, no-cache"
    assert response.headers["etag"] == f'"{made["guid"]}-{len(PNG_BYTES)}"'
    modified = parsedate_to_datetime(response.headers["last-modified"])
    assert modified == datetime.fromisoformat(made["updated_at"]).replace(microsecond=0)
    again = api.get(
        f"/image/{made['guid']}/content", headers={"If-None-Match": response.headers["etag"]}
    )
    assert (again.status_code, again.content) == (304, b"")


def test_private_content_is_never_cached_by_shared_caches(api):
    made = make(api, private=True, user="alice")

    response = api.get(f"/image/{made['guid']}/content", auth=api.auth("alice"))

    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"


def test_content_whose_file_is_gone_is_a_json_404(api):
    made = make(api)
    Path(api.services.prompts.get_image_file(made["guid"]).path).unlink()

    response = api.get(f"/image/{made['guid']}/content")

    assert_error(response, 404, "not_found", f"The file of image {made['guid']} is missing")


# -- errors -------------------------------------------------------------------------------


def test_unknown_and_malformed_guids(api):
    assert_error(api.get(f"/image/{MISSING}"), 404, "not_found", f"No image with GUID {MISSING}")
    assert_error(api.get(f"/image/{MISSING}/content"), 404, "not_found")
    assert_error(
        api.get("/image/not-a-guid"),
        422,
        "validation_error",
        "GUID must look like 1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    )
    assert_error(api.get("/image", params={"after": "zzz"}), 422, "validation_error")
    assert_error(api.get("/image", params={"limit": 0}), 422, "validation_error")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"prompt": ""}, "prompt must not be empty"),
        ({"prompt": "   "}, "prompt must not be empty"),
        ({"prompt": "a\u0000b"}, "prompt must not contain NUL characters"),
        ({}, "prompt: Field required"),
        ({"prompt": "ok", "colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"prompt": 42}, "prompt: Input should be a valid string"),
    ],
)
def test_invalid_bodies_are_422_and_never_reach_the_provider(api, body, message):
    response = api.post("/image", json=body)

    assert_error(response, 422, "validation_error", message)
    assert api.provider.prompts == []


JSON_TYPE = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("content", "headers", "message"),
    [
        (
            b"{not json",
            JSON_TYPE,
            "The request body is not valid JSON: Expecting property name enclosed in double "
            "quotes (at character 1)",
        ),
        (b'["a fox"]', JSON_TYPE, "The request body must be a JSON object"),
        (
            b'"a fox"',
            {"content-type": "application/merge-patch+json"},
            "The request body must be a JSON object",
        ),
        (
            b"",
            JSON_TYPE,
            "The request body is missing: send a JSON object, with Content-Type: application/json",
        ),
        # curl -d sends a form's type: the commonest mistake, named.
        (
            b'{"prompt": "a fox"}',
            {"content-type": "application/x-www-form-urlencoded"},
            "The request body must be JSON, with Content-Type: application/json (it was sent "
            "as application/x-www-form-urlencoded)",
        ),
        (
            b'{"prompt": "a fox"}',
            {},
            "The request body must be JSON, with Content-Type: application/json (it was sent "
            "without a Content-Type)",
        ),
    ],
    ids=["malformed", "array", "string", "empty", "form type", "no type"],
)
def test_a_body_that_is_not_a_json_object_says_what_is_wrong(api, content, headers, message):
    response = api.post("/image", content=content, headers=headers)

    assert_error(response, 422, "validation_error", message)
    assert api.provider.prompts == []


def test_a_body_over_the_limit_is_413_at_once(api):
    response = api.post("/image", content=b"x" * (2 * 1024 * 1024))

    assert_error(
        response, 413, "request_too_large", "The request body is larger than 1,048,576 bytes"
    )
    assert api.provider.prompts == []


@pytest.mark.parametrize(
    ("error", "status", "code", "retry_after"),
    [
        (GenerationError("The image provider failed"), 502, "provider_error", None),
        (ContentRejectedError(), 422, "prompt_rejected", None),
        (RateLimitedError(retry_after=16.2), 429, "rate_limited", "17"),
        (DBConnectionError("Cannot use the database"), 503, "db_unavailable", "5"),
        (ConstraintViolationError(), 409, "constraint_violation", None),
    ],
)
def test_service_errors_map_to_statuses(api, error, status, code, retry_after):
    api.provider.fail_with = error

    response = api.post("/image", json={"prompt": "a fox"})

    assert_error(response, status, code, error.message)
    assert response.headers.get("retry-after") == retry_after


def test_an_unexpected_error_is_a_500_without_a_traceback(sqlite_api, monkeypatch):
    def explode(guid):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(sqlite_api.services.prompts, "get_image_by_guid", explode)

    response = sqlite_api.get(f"/image/{MISSING}")

    body = assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.text
    assert body["message"] == "An unexpected error occurred; quote the request id to report it"


def test_unknown_paths_and_methods_answer_in_the_same_shape(api):
    assert_error(api.get("/nothing-here"), 404, "not_found")
    assert_error(api.request("DELETE", "/image"), 405, "http_405")


# -- authentication and private images ------------------------------------------------------


def test_private_post_needs_credentials(api):
    response = api.post("/image", json={"prompt": "secret", "private": True})

    assert_error(response, 401, "authentication_failed", "Log in to create private images")
    assert response.headers["www-authenticate"] == 'Basic realm="pixyproxy"'
    assert api.provider.prompts == []


def test_wrong_credentials_are_401_whoever_is_named(api):
    for auth in (("alice", "wrong password"), ("ghost", "x")):
        response = api.get("/image", auth=auth)
        assert_error(response, 401, "authentication_failed", "Invalid username or password")
        assert response.headers["www-authenticate"] == 'Basic realm="pixyproxy"'


def test_private_images_are_the_owners_only(api):
    public = make(api, "public")
    private = make(api, "alice's secret", private=True, user="alice")
    guid = private["guid"]

    assert private["owner"] == "alice"
    assert api.get(f"/image/{guid}", auth=api.auth("alice")).json() == private
    assert [i["guid"] for i in api.get("/image", auth=api.auth("alice")).json()] == [
        public["guid"],
        guid,
    ]
    for auth in (None, api.auth("bob")):
        for path in (f"/image/{guid}", f"/image/{guid}/content"):
            hidden = api.get(path, auth=auth)
            absent = api.get(path.replace(guid, MISSING), auth=auth)
            assert hidden.status_code == absent.status_code == 404
            assert hidden.json()["message"] == absent.json()["message"].replace(MISSING, guid)
        assert [i["guid"] for i in api.get("/image", auth=auth).json()] == [public["guid"]]


def test_mine_and_private_filters_need_credentials(api):
    make(api, "public")
    private = make(api, "secret", private=True, user="alice")

    assert_error(api.get("/image", params={"private": True}), 401, "authentication_failed")
    assert_error(api.get("/image", params={"mine": True}), 401, "authentication_failed")
    mine = api.get("/image", params={"private": True}, auth=api.auth("alice")).json()
    assert [i["guid"] for i in mine] == [private["guid"]]


# -- request ids, logging, OpenAPI ---------------------------------------------------------


def test_every_response_has_a_distinct_request_id_and_is_logged(api, caplog):
    caplog.set_level("INFO", logger="pixyproxy.access")

    responses = [api.get(f"/image/{MISSING}") for _ in range(5)] + [api.get("/image")]

    ids = [response.headers["x-request-id"] for response in responses]
    assert len(set(ids)) == len(ids)
    assert all(REQUEST_ID.match(request_id) for request_id in ids)
    lines = [record.getMessage() for record in caplog.records]
    for request_id, response in zip(ids, responses, strict=True):
        [line] = [line for line in lines if f"request_id={request_id} " in line]
        assert f"status={response.status_code} " in line
        assert re.search(r"method=GET path=/image\S* status=\d+ duration_ms=[\d.]+ client=", line)


def test_log_lines_caused_by_a_request_carry_its_id(sqlite_api, monkeypatch, caplog):
    from pixyproxy_cli.web.context import RequestIdFilter

    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level("ERROR", logger="pixyproxy_cli")
    monkeypatch.setattr(sqlite_api.services.prompts, "get_image_by_guid", lambda guid: 1 / 0)

    response = sqlite_api.get(f"/image/{MISSING}")

    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert errors
    assert {r.request_id for r in errors} == {response.headers["x-request-id"]}


def test_the_openapi_document_is_valid_and_says_which_paths_are_private(api):
    from openapi_spec_validator import validate

    document = api.get("/openapi.json").json()

    validate(document)
    assert set(document["paths"]) == {
        "/edits",
        "/image",
        "/image/{guid}",
        "/image/{guid}/content",
        "/image/{guid}/thumbnail",
        "/jobs",
        "/jobs/{guid}",
        "/jobs/{guid}/events",
        "/webhooks/openai",
        "/usage",
        "/token",
        "/token/{token_id}",
        "/user",
        "/models",
        "/healthz",
        "/readyz",
        "/metrics",
    }
    assert {"HTTPBasic", "HTTPBearer"} <= set(document["components"]["securitySchemes"])
    assert '"private": true' in document["paths"]["/image"]["post"]["description"]
    assert api.get("/docs").status_code == 200


def test_documented_responses_cover_every_status_the_api_returns(api, monkeypatch):
    """Drive each route through its outcomes, then compare with the OpenAPI document."""
    made = make(api)
    private = make(api, "secret", private=True, user="alice")
    guid = made["guid"]
    api.get("/image")
    api.get("/image", params={"limit": 0})
    api.get("/image", params={"private": True})
    api.get("/image", params={"after": MISSING})
    api.get(f"/image/{guid}")
    api.get("/image/bad")
    api.get(f"/image/{MISSING}")
    api.get(f"/image/{guid}/content")
    api.get(f"/image/{guid}/content", headers={"If-None-Match": f'"{guid}-{len(PNG_BYTES)}"'})
    api.get(f"/image/{private['guid']}/content")
    api.get("/image/bad/content")
    api.get("/image", auth=("bob", "wrong"))
    api.post("/image", json={"prompt": ""})
    api.post("/image", json={"prompt": "x", "private": True})
    api.post("/image", content=b"x" * (2 * 1024 * 1024))
    for error in (
        GenerationError(),
        RateLimitedError(),
        DBConnectionError(),
        ContentRejectedError(),
    ):
        api.provider.fail_with = error
        api.post("/image", json={"prompt": "x"})

    document = api.get("/openapi.json").json()
    routes = {
        "/image": re.compile(r"^/image$"),
        "/image/{guid}": re.compile(r"^/image/[^/]+$"),
        "/image/{guid}/content": re.compile(r"^/image/[^/]+/content$"),
    }
    checked = 0
    for method, path, status in api.seen:
        template = next((t for t, pattern in routes.items() if pattern.match(path)), None)
        if template is None:
            continue
        documented = document["paths"][template][method.lower()]["responses"]
        assert str(status) in documented, (method, template, status)
        checked += 1
    assert checked >= 20
    statuses = {status for _, _, status in api.seen}
    assert {200, 201, 304, 401, 404, 413, 422, 502, 503} <= statuses


def test_json_bodies_are_utf8(api):
    made = make(api, "naïve café 🌅")

    raw = api.get(f"/image/{made['guid']}").content

    assert '"prompt":"naïve café 🌅"'.encode() in raw


def test_the_listing_is_sent_a_database_page_per_chunk(sqlite_api, monkeypatch):
    # Starlette runs a sync body iterator in the thread pool, one hop per chunk: a chunk per
    # image made 100,000 images take 16 s instead of 0.3 s.
    import anyio

    made = [make(sqlite_api, f"prompt {n}") for n in range(5)]
    monkeypatch.setattr(sqlite_api.services.prompts._reader, "_chunk_size", 2)
    messages: list[dict] = []

    async def call_app() -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/image",
            "raw_path": b"/image",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }

        requests = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict:
            if requests:
                return requests.pop()
            await anyio.sleep_forever()  # the client never disconnects
            raise AssertionError("unreachable")

        async def send(message: dict) -> None:
            messages.append(message)

        await sqlite_api.client.app(scope, receive, send)

    anyio.run(call_app)

    chunks = [m["body"] for m in messages if m["type"] == "http.response.body" and m.get("body")]
    assert messages[0]["status"] == 200
    assert len(chunks) == 4  # pages of 2, 2 and 1 image, then the closing bracket
    assert json.loads(b"".join(chunks)) == made


@pytest.mark.parametrize(
    ("size", "said", "in_pattern"),
    [
        ("3840x2160", None, True),
        ("2160x3840", None, True),
        ("3840x1280", None, True),  # 3:1 exactly
        ("16x16", None, True),
        ("5000x5000", "size 5000x5000 is larger than the API makes: at most 3840x2160", False),
        ("3856x2160", "size 3856x2160 is larger than the API makes", False),
        ("2176x2176", "size 2176x2176 is larger than the API makes", True),
        ("1000x1000", "size 1000x1000: width and height must be multiples of 16", False),
        ("3840x1264", "size 3840x1264: the aspect ratio must be between 1:3 and 3:1", True),
        ("huge", "'huge' is not a size", False),
    ],
)
def test_a_size_is_one_rule_on_both_sides_of_each_edge(api, size, said, in_pattern):
    response = api.post("/image", json={"prompt": "a fox", "size": size})

    if said is None:
        assert response.status_code == 201, response.text
    else:
        assert response.status_code == 422
        assert said in response.json()["message"]
        assert len(response.json()["message"]) < 200  # the rule's words, not the pattern
        assert api.provider.prompts == []
    # The schema says what a pattern can (multiples of 16 up to 3840); the rest is the same
    # function's, applied to the cases schemathesis generates (tests/web/test_fuzz.py).
    schema = api.get("/openapi.json").json()["components"]["schemas"]["ImageRequest"]
    pattern = schema["properties"]["size"]["anyOf"][0]["pattern"]
    assert (re.search(pattern, size) is not None) == in_pattern


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (
            {"quality": "xhigh"},
            "quality xhigh: only the gpt-image-2.5 models take it, not gpt-image-2",
        ),
        (
            {"background": "transparent", "format": "jpeg"},
            "background transparent needs format png or webp, not jpeg",
        ),
        ({"quality": "high"}, None),
        ({"background": "transparent", "format": "png"}, None),
    ],
)
def test_the_model_rules_hold_for_the_api_too(api, body, said):
    api.provider.model = "gpt-image-2"  # the server's configured model

    response = api.post("/image", json={"prompt": "a fox", **body})

    if said is None:
        assert response.status_code == 201, response.text
    else:
        assert (response.status_code, response.json()["message"]) == (422, said)
        assert api.provider.prompts == []


def test_a_complexity_reaches_the_provider_and_a_bad_one_is_422(api):
    made = api.post("/image", json={"prompt": "a fox", "complexity": "medium"})
    bad = api.post("/image", json={"prompt": "a fox", "complexity": "extreme"})

    assert made.status_code == 201
    assert api.provider.options[-1].complexity == "medium"
    assert bad.status_code == 422
