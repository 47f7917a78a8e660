"""Hostile input against the API: bad prompts, huge bodies, path tricks, SQL in strings."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from pixyproxy_cli.core.models import ImageDetail
from pixyproxy_cli.data.db.context import DatabaseContext

SECRET = b"this file is outside the image directory"


@pytest.fixture
def outside_secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_bytes(SECRET)
    return path


def assert_refused(response, statuses=(404, 422)):
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"] == "application/json"
    assert SECRET not in response.content
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "body",
    [
        b'{"prompt": "\xff\xfe bad utf-8"}',
        b"\xc3\x28\xa0\xa1",
        b'{"prompt": "\\ud800 lone surrogate"}',
        b'{"prompt": "nul \\u0000 byte"}',
        b'{"prompt": "   \\t\\n  "}',
        b'{"prompt": ""}',
        b"[]",
        b"null",
    ],
)
def test_bad_prompts_are_422_and_never_reach_the_provider(api, body):
    response = api.post("/image", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"
    assert api.provider.prompts == []


def test_a_prompt_over_the_configured_maximum_is_422(backend_settings):
    from tests.web.conftest import make_api

    api, database = make_api(replace(backend_settings, max_prompt_length=50))
    try:
        with api.client:
            response = api.post("/image", json={"prompt": "x" * 51})
            accepted = api.post("/image", json={"prompt": "x" * 50})
    finally:
        database.close()

    assert response.status_code == 422
    assert response.json()["message"] == "prompt is 51 characters; the maximum is 50"
    assert accepted.status_code == 201
    assert api.provider.prompts == ["x" * 50]


@pytest.mark.parametrize("declared", [True, False])
def test_a_ten_megabyte_body_is_refused_with_413(api, declared):
    body = b'{"prompt": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    if declared:
        response = api.post("/image", content=body, headers={"content-type": "application/json"})
    else:
        chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
        response = api.post("/image", content=chunks, headers={"content-type": "application/json"})

    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"
    assert api.provider.prompts == []


@pytest.mark.parametrize(
    "path",
    [
        "/image/../../etc/passwd",
        "/image/..%2f..%2fetc%2fpasswd/content",
        "/image/%2e%2e/content",
        "/image/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/image//etc/passwd/content",
        "/image/%2Fetc%2Fpasswd/content",
        "/image/" + "a" * 10_000,
        "/image/" + "a" * 10_000 + "/content",
        "/image/00000000-0000-0000-0000-000000000000%00/content",
    ],
)
def test_path_tricks_are_404_or_422_never_a_file_or_a_500(api, path):
    assert_refused(api.get(path))


def test_a_row_whose_filename_leads_outside_is_never_served(api, outside_secret):
    guid = str(uuid.uuid4())
    relative = os.path.relpath(outside_secret, api.services.settings.image_dir)
    bad = ImageDetail.model_construct(
        prompt="planted",
        private=False,
        guid=guid,
        filename=relative,
        owner=None,
        provider="fake",
        model="m",
        media_type="image/png",
    )
    with DatabaseContext(api.services.database) as db:
        db.begin_transaction()
        db.images.create_image(bad, now=datetime.now(UTC))
        db.commit_transaction()
    api.services.settings.image_dir.mkdir(parents=True, exist_ok=True)

    for absolute in (False, True):
        if absolute:
            with DatabaseContext(api.services.database) as db:
                db.begin_transaction()
                db.execute(
                    "UPDATE images SET filename = %(f)s WHERE guid = %(g)s",
                    {"f": str(outside_secret), "g": guid},
                )
                db.commit_transaction()
        response = api.get(f"/image/{guid}/content")
        assert_refused(response, statuses=(404,))


def test_a_symlink_leading_out_is_never_followed(api, outside_secret):
    made = api.post("/image", json={"prompt": "linked"}).json()
    stored = api.services.settings.image_dir / f"{made['guid']}.png"
    stored.unlink()
    stored.symlink_to(outside_secret)

    assert_refused(api.get(f"/image/{made['guid']}/content"), statuses=(404,))


@pytest.mark.parametrize(
    "prompt",
    [
        "'; DROP TABLE images; --",
        "Robert'); DELETE FROM roster WHERE ('1'='1",
        "%(guid)s :guid ? %s {0}",
        "\\'; SELECT SLEEP(5); --",
    ],
)
def test_sql_in_prompts_is_stored_literally(api, prompt):
    made = api.post("/image", json={"prompt": prompt})

    assert made.status_code == 201
    assert api.get(f"/image/{made.json()['guid']}").json()["prompt"] == prompt
    assert [item["prompt"] for item in api.get("/image").json()] == [prompt]
