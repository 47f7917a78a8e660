"""API tokens on SQLite and MariaDB: POST /token, Bearer wherever Basic, GET and DELETE
/token, expiry, and a revoke that every worker of a real `serve --workers 2` obeys at once."""

from __future__ import annotations

import hashlib
import os
import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pixyproxy_cli.core.models import User
from tests.conftest import settings_environment
from tests.helpers import add_user, running_server
from tests.web.conftest import PASSWORDS

REFUSED = "The API token is not valid (revoked, expired, or never issued): log in again"


def issue(api, user="alice", **body):
    response = api.post("/token", auth=api.auth(user), json=body or None)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_shown_once_and_works_wherever_basic_does(api):
    issued = issue(api, label="laptop")
    secret = api.post(
        "/image", json={"prompt": "mine", "private": True}, headers=bearer(issued["token"])
    )

    assert re.fullmatch(r"pxy_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", issued["token"])
    assert issued["id"] == issued["token"][4:20]
    assert issued["label"] == "laptop"
    expires = datetime.fromisoformat(issued["expires_at"])
    created = datetime.fromisoformat(issued["created_at"])
    assert expires - created == timedelta(days=90)
    assert secret.status_code == 201
    assert secret.json()["owner"] == "alice"
    guid = secret.json()["guid"]
    for path in (f"/image/{guid}", f"/image/{guid}/content", "/image?mine=true", "/usage"):
        assert api.get(path, headers=bearer(issued["token"])).status_code == 200, path
    listed = api.get("/token", headers=bearer(issued["token"])).json()
    assert [token["id"] for token in listed] == [issued["id"]]
    assert "token" not in listed[0]
    assert listed[0]["last_used_at"] is not None


def test_only_a_hash_of_the_token_is_stored(api):
    issued = issue(api)
    tokens = api.services.tokens
    with api.services.prompts.dependencies.uow() as db:
        db.begin_transaction()
        db.execute("SELECT token_hash FROM api_tokens")
        rows = db.fetchall()
        db.commit_transaction()

    assert rows == [{"token_hash": hashlib.sha256(issued["token"].encode()).hexdigest()}]
    assert tokens is api.services.tokens


def test_post_token_needs_a_password_not_a_token(api):
    issued = issue(api)

    anonymous = api.post("/token")
    with_token = api.post("/token", headers=bearer(issued["token"]))
    wrong = api.post("/token", auth=("alice", "not her password"))

    assert anonymous.status_code == with_token.status_code == wrong.status_code == 401
    assert anonymous.json()["message"] == "Send HTTP Basic credentials (user name and password)"


@pytest.mark.parametrize(
    "token",
    [
        "pxy_0123456789abcdef_" + "A" * 43,  # well formed, never issued
        "pxy_short",
        "not a token at all",
        "",
    ],
)
def test_a_token_that_was_never_issued_is_401(api, token):
    response = api.get("/image", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.json()["message"] == REFUSED


def test_a_revoked_token_is_refused_and_only_its_owner_may_revoke_it(api):
    issued = issue(api)
    other = issue(api, "bob")

    foreign = api.request("DELETE", f"/token/{issued['id']}", headers=bearer(other["token"]))
    revoked = api.request("DELETE", f"/token/{issued['id']}", headers=bearer(issued["token"]))
    after = api.get("/image?mine=true", headers=bearer(issued["token"]))

    assert foreign.status_code == 404
    assert foreign.json()["message"] == f"No API token with id {issued['id']}"
    assert revoked.status_code == 204
    assert (after.status_code, after.json()["message"]) == (401, REFUSED)
    assert api.get("/image?mine=true", headers=bearer(other["token"])).status_code == 200


def test_an_expired_token_is_refused(api, monkeypatch):
    tokens = api.services.tokens
    issued = issue(api)
    assert api.get("/image?mine=true", headers=bearer(issued["token"])).status_code == 200

    later = datetime.now(UTC) + timedelta(days=91)
    monkeypatch.setattr(tokens, "_clock", lambda: later)

    expired = api.get("/image?mine=true", headers=bearer(issued["token"]))
    assert (expired.status_code, expired.json()["message"]) == (401, REFUSED)


def test_removing_a_user_revokes_their_tokens(api):
    issued = issue(api)
    api.services.tokens.revoke_all("alice")

    assert api.get("/image?mine=true", headers=bearer(issued["token"])).status_code == 401
    assert not api.services.tokens._marks.has(issued["id"])


def test_a_label_must_be_printable(api):
    for label in ("", "   ", "a\x00b", "x" * 101):
        response = api.post("/token", auth=api.auth("alice"), json={"label": label})
        assert response.status_code == 422, label


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_a_revoke_is_obeyed_at_once_by_every_worker(backend, request, tmp_path):
    settings = request.getfixturevalue(f"{backend}_settings")
    env = {**os.environ, **settings_environment(settings)}
    env.pop("OPENAI_API_KEY", None)
    add_user(env, "alice", "alice's long password")
    log_path = tmp_path / "serve.log"
    with running_server(env, log_path, "--workers", "2") as (base_url, _):
        issued = httpx.post(
            f"{base_url}/token", auth=("alice", "alice's long password"), timeout=30
        ).json()
        headers = bearer(issued["token"])
        deadline = time.monotonic() + 60
        while len(_pids(log_path, 200)) < 2:  # both workers have checked (and kept) it
            assert time.monotonic() < deadline, log_path.read_text()
            assert httpx.get(f"{base_url}/image?mine=true", headers=headers).status_code == 200

        revoked = httpx.delete(f"{base_url}/token/{issued['id']}", headers=headers, timeout=30)
        mark = log_path.stat().st_size
        after = [httpx.get(f"{base_url}/image?mine=true", headers=headers) for _ in range(20)]

    assert revoked.status_code == 204
    assert {response.status_code for response in after} == {401}
    assert len(_pids(log_path, 401, since=mark)) == 2, "both workers refused it"


def _pids(log_path, status, *, since=0) -> set[str]:
    text = log_path.read_bytes()[since:].decode()
    return set(re.findall(rf"pid=(\d+) .*?path=/image query=mine=true status={status}\b", text))


def test_the_service_keeps_no_connection_for_a_known_token(api):
    """A token checked lately costs no query: the second use reads only the mark."""
    tokens = api.services.tokens
    issued = issue(api)
    alice = User(username="alice", class_key="k")

    assert tokens.peek(issued["token"]) is None  # not checked in this process yet
    assert tokens.authenticate(issued["token"]) == alice
    assert tokens.peek(issued["token"]) == alice


def cli_on(api):
    from typer.testing import CliRunner

    from pixyproxy_cli.commands.main import app

    env = settings_environment(api.services.settings)

    def run(*args, input=None):
        return CliRunner().invoke(app, list(args), env=env, input=input)

    return run


def test_a_new_password_revokes_every_token_and_sign_in_unless_kept(api):
    from pixyproxy_cli.web.routers.gallery import SIGN_IN_LABEL

    run = cli_on(api)
    laptop = issue(api, label="laptop")
    alice = api.services.users.authenticate("alice", PASSWORDS["alice"])
    browser = api.services.tokens.issue(alice, SIGN_IN_LABEL)  # a gallery sign-in
    bobs = issue(api, "bob")
    new = "alice's new long password"

    kept = run("user", "passwd", "alice", "--keep-tokens", "--password-stdin", input=new + "\n")
    still = api.get("/image?mine=true", headers=bearer(laptop["token"])).status_code
    changed = run("user", "passwd", "alice", "--password-stdin", input=new + "\n")

    assert (kept.exit_code, kept.stdout) == (0, "Changed the password of alice\n")
    assert still == 200
    assert (changed.exit_code, changed.stdout) == (
        0,
        "Changed the password of alice and revoked 2 API tokens\n",
    )
    for token in (laptop["token"], browser.token):
        refused = api.get("/image?mine=true", headers=bearer(token))
        assert (refused.status_code, refused.json()["message"]) == (401, REFUSED)
    assert api.get("/image?mine=true", headers=bearer(bobs["token"])).status_code == 200


def test_a_refused_removal_changes_nothing(api):
    run = cli_on(api)
    laptop = issue(api)
    made = api.post("/image", json={"prompt": "mine"}, headers=bearer(laptop["token"]))
    assert made.status_code == 201

    refused = run("user", "remove", "alice")
    after = api.get("/image?mine=true", headers=bearer(laptop["token"]))
    removed = run("user", "remove", "alice", "--delete-images", "--yes")
    gone = api.get("/image?mine=true", headers=bearer(laptop["token"]))

    assert refused.exit_code == 7
    assert after.status_code == 200  # the token too: a refused removal revokes nothing
    assert [image["guid"] for image in after.json()] == [made.json()["guid"]]
    assert (removed.exit_code, removed.stdout) == (0, "Removed user alice and 1 image\n")
    assert (gone.status_code, gone.json()["message"]) == (401, REFUSED)
    assert not api.services.tokens._marks.has(laptop["id"])
