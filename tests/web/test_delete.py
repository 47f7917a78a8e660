"""DELETE /image/{guid} on SQLite and MariaDB: who may, 204, and never served again."""

from __future__ import annotations

import os
import re
import time
from dataclasses import replace

import httpx
import pytest

from pixyproxy_cli.core.models import User
from pixyproxy_cli.service.cache import ImageCache
from pixyproxy_cli.service.private_prompts import PrivatePromptService
from tests.conftest import settings_environment
from tests.helpers import add_user, running_server

MISSING = "0b4e28ba-2fa1-11d2-883f-0016d3cca427"


def make(api, prompt, *, user=None, private=False):
    response = api.post(
        "/image",
        json={"prompt": prompt, "private": private},
        auth=api.auth(user) if user else None,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_the_owner_deletes_an_image_and_it_is_gone_everywhere(api):
    image = make(api, "mine", user="alice", private=True)
    assert api.get(f"/image/{image['guid']}", auth=api.auth("alice")).status_code == 200
    assert api.get(f"/image/{image['guid']}/content", auth=api.auth("alice")).status_code == 200

    deleted = api.request("DELETE", f"/image/{image['guid']}", auth=api.auth("alice"))

    assert (deleted.status_code, deleted.content) == (204, b"")
    for path in (f"/image/{image['guid']}", f"/image/{image['guid']}/content"):
        gone = api.get(path, auth=api.auth("alice"))
        assert gone.status_code == 404
        assert gone.json()["message"] == f"No image with GUID {image['guid']}"
    assert api.get("/image", auth=api.auth("alice")).json() == []
    assert list(api.services.settings.image_dir.iterdir()) == []
    again = api.request("DELETE", f"/image/{image['guid']}", auth=api.auth("alice"))
    assert again.status_code == 404


def test_another_users_private_image_is_404_exactly_as_a_missing_one(api):
    image = make(api, "secret", user="alice", private=True)

    refused = api.request("DELETE", f"/image/{image['guid']}", auth=api.auth("bob"))
    absent = api.request("DELETE", f"/image/{MISSING}", auth=api.auth("bob"))

    assert refused.status_code == absent.status_code == 404
    assert refused.json()["message"] == absent.json()["message"].replace(MISSING, image["guid"])
    assert api.get(f"/image/{image['guid']}", auth=api.auth("alice")).status_code == 200


def test_another_users_public_image_is_403_and_anonymous_is_401(api):
    image = make(api, "shared", user="alice")

    other = api.request("DELETE", f"/image/{image['guid']}", auth=api.auth("bob"))
    anonymous = api.request("DELETE", f"/image/{image['guid']}")

    assert other.status_code == 403
    assert other.json() == {
        "error": "forbidden",
        "message": f"Image {image['guid']} belongs to alice: only its owner may delete it",
        "request_id": other.headers["x-request-id"],
    }
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    assert (
        anonymous.json()["message"] == f"Log in as the owner of image {image['guid']} to delete it"
    )
    assert api.get(f"/image/{image['guid']}").status_code == 200


def test_an_image_without_owner_cannot_be_deleted_over_http(api):
    image = make(api, "anyone's")

    refused = api.request("DELETE", f"/image/{image['guid']}", auth=api.auth("alice"))
    anonymous = api.request("DELETE", f"/image/{image['guid']}")

    assert refused.status_code == 403
    assert "only the local admin may delete it" in refused.json()["message"]
    assert anonymous.status_code == 401
    assert api.get(f"/image/{image['guid']}").status_code == 200


def test_an_anonymous_delete_is_401_whatever_the_guid_names(api):
    secret = make(api, "secret", user="alice", private=True)

    for guid in (secret["guid"], MISSING):
        anonymous = api.request("DELETE", f"/image/{guid}")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Basic")
        assert anonymous.json()["message"] == f"Log in as the owner of image {guid} to delete it"


def test_a_malformed_guid_is_422(api):
    assert api.request("DELETE", "/image/not-a-guid", auth=api.auth("alice")).status_code == 422


def test_a_delete_by_another_process_is_seen_by_this_ones_cache(api):
    image = make(api, "cached", user="alice")
    for _ in range(2):  # the second read is answered from the worker's cache
        assert api.get(f"/image/{image['guid']}").status_code == 200
        assert api.get(f"/image/{image['guid']}/content").status_code == 200

    # Another worker, or the CLI: the same database and files, a cache of its own.
    elsewhere = replace(api.services.prompts.dependencies, cache=ImageCache())
    alice = User(username="alice", class_key="k")
    PrivatePromptService(elsewhere, alice).delete_images([image["guid"]])

    assert api.get(f"/image/{image['guid']}").status_code == 404
    assert api.get(f"/image/{image['guid']}/content").status_code == 404


def test_public_content_is_revalidated_by_caches_since_it_can_be_deleted(api):
    image = make(api, "public")

    response = api.get(f"/image/{image['guid']}/content")

    assert response.headers["cache-control"] == "public, no-cache"
    etag = response.headers["etag"]
    assert (
        api.get(f"/image/{image['guid']}/content", headers={"If-None-Match": etag}).status_code
        == 304
    )


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_with_two_workers_neither_serves_an_image_after_its_delete(backend, request, tmp_path):
    settings = request.getfixturevalue(f"{backend}_settings")
    env = {**os.environ, **settings_environment(settings), "IMAGE_SIZE": "64x64"}
    env.pop("OPENAI_API_KEY", None)
    add_user(env, "alice", "alice's long password")
    auth = ("alice", "alice's long password")
    log_path = tmp_path / "serve.log"
    with running_server(env, log_path, "--workers", "2") as (base_url, _):
        created = httpx.post(f"{base_url}/image", json={"prompt": "both"}, auth=auth, timeout=30)
        guid = created.json()["guid"]
        paths = [f"/image/{guid}", f"/image/{guid}/content"]

        # Warm both workers' caches: fresh connections until each pid has answered both.
        deadline = time.monotonic() + 60
        while len(_pids_answering(log_path, paths)) < 2:
            assert time.monotonic() < deadline, log_path.read_text()
            for path in paths:
                assert httpx.get(base_url + path, timeout=10).status_code == 200

        deleted = httpx.delete(f"{base_url}/image/{guid}", auth=auth, timeout=30)
        mark = log_path.stat().st_size
        after = [httpx.get(base_url + path, timeout=10) for _ in range(20) for path in paths]
        answered_after = _pids_answering(log_path, paths, since=mark, status=404)

    assert deleted.status_code == 204
    assert {response.status_code for response in after} == {404}
    assert len(answered_after) == 2, "both workers answered after the delete"


def _pids_answering(log_path, paths, *, since=0, status=200) -> set[str]:
    """The worker pids whose access lines show ``status`` for every one of ``paths``."""
    text = log_path.read_bytes()[since:].decode()
    seen: dict[str, set[str]] = {}
    for pid, path in re.findall(rf"pid=(\d+) .*?path=(\S+) status={status}\b", text):
        seen.setdefault(pid, set()).add(path)
    return {pid for pid, answered in seen.items() if answered >= set(paths)}
