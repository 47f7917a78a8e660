"""Login throttling and the per-user image limit, through the API.

That unknown users and wrong passwords cost the same is proven without a clock in
tests/integration/test_shared_limits.py; the timing figure is in benchmarks/.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import httpx
from fastapi.testclient import TestClient

from pixyproxy_cli.core.models import UserCreate
from pixyproxy_cli.data.init import create_database
from pixyproxy_cli.service.init import build_services
from pixyproxy_cli.web.app import create_app
from tests.fakes import FakeProvider, Journal
from tests.openai_server import picture

PASSWORD = "alice's long password"


def app_with(settings, hasher=None):
    database = create_database(settings)
    services = build_services(
        settings, provider=FakeProvider(Journal()), database=database, hasher=hasher
    )
    for name in ("alice", "bob"):
        services.users.add_user(UserCreate(username=name, password=PASSWORD, class_key="k"))
    return create_app(services), database


def test_failed_logins_are_throttled_per_user_and_client(sqlite_settings):
    settings = replace(sqlite_settings, login_max_failures=3, login_failure_window=60)
    app, database = app_with(settings)
    try:
        here = TestClient(app, client=("10.0.0.1", 1000))
        elsewhere = TestClient(app, client=("10.0.0.2", 1000))
        failures = [here.get("/image", auth=("alice", "wrong")).status_code for _ in range(3)]
        blocked = here.get("/image", auth=("alice", PASSWORD))
        other_user = here.get("/image", auth=("bob", PASSWORD))
        other_client = elsewhere.get("/image", auth=("alice", PASSWORD))
    finally:
        database.close()

    assert failures == [401, 401, 401]
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "too_many_requests"
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert other_user.status_code == 200
    assert other_client.status_code == 200


def test_the_throttle_lifts_after_the_window(sqlite_settings):
    settings = replace(sqlite_settings, login_max_failures=1, login_failure_window=0.3)
    app, database = app_with(settings)
    try:
        client = TestClient(app)
        assert client.get("/image", auth=("alice", "wrong")).status_code == 401
        assert client.get("/image", auth=("alice", PASSWORD)).status_code == 429
        time.sleep(0.4)
        assert client.get("/image", auth=("alice", PASSWORD)).status_code == 200
    finally:
        database.close()


def test_generating_is_limited_per_user(sqlite_settings):
    settings = replace(sqlite_settings, generate_rate_limit=2, generate_rate_window=60)
    app, database = app_with(settings)
    try:
        client = TestClient(app)

        def post(auth=None):
            return client.post("/image", json={"prompt": "a fox"}, auth=auth)

        alice = [post(("alice", PASSWORD)).status_code for _ in range(3)]
        bob = post(("bob", PASSWORD)).status_code
        anonymous = [post().status_code for _ in range(3)]
        refused = post(("alice", PASSWORD))
    finally:
        database.close()

    assert alice == [201, 201, 429]
    assert bob == 201
    assert anonymous == [201, 201, 429]
    assert refused.json()["message"] == "Too many images requested; try again later"
    assert int(refused.headers["retry-after"]) >= 1


def test_each_image_of_a_request_counts_against_the_limit(sqlite_settings):
    settings = replace(sqlite_settings, generate_rate_limit=4, generate_rate_window=60)
    app, database = app_with(settings)
    try:
        client = TestClient(app)
        three = client.post("/image", json={"prompt": "a fox", "n": 3})
        two = client.post("/image", json={"prompt": "a fox", "n": 2})
        one = client.post("/image", json={"prompt": "a fox"})
    finally:
        database.close()

    assert (three.status_code, two.status_code, one.status_code) == (201, 429, 201)


def test_an_edit_over_the_limit_is_refused_before_a_byte_of_its_body_is_read(sqlite_settings):
    settings = replace(sqlite_settings, generate_rate_limit=1, generate_rate_window=60)
    app, database = app_with(settings)
    pulled: list[int] = []

    async def upload():  # 100 MB, if anyone asks for it
        for _ in range(100):
            pulled.append(1)
            yield b"x" * 1_000_000

    async def requests():
        # httpx's ASGI transport hands the app the body only as the app asks for it.
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pixy") as client:
            first = await client.post("/image", json={"prompt": "a fox"})
            refused = await client.post(
                "/edits",
                content=upload(),
                headers={
                    "content-type": "multipart/form-data; boundary=x",
                    "content-length": str(100_000_000),
                },
            )
            return first, refused

    try:
        first, refused = asyncio.run(requests())
    finally:
        database.close()

    assert (first.status_code, refused.status_code) == (201, 429)
    assert refused.json()["message"] == "Too many images requested; try again later"
    assert pulled == []


def post_edit(client: TestClient, **fields) -> httpx.Response:
    """POST /edits of a small WebP with ``fields`` as the form's text fields."""
    source = ("fox.webp", picture("webp", (20, 20)), "image/webp")
    parts = [("image", source)] + [(k, (None, str(v))) for k, v in fields.items()]
    return client.post("/edits", files=parts)


def test_each_image_of_an_edit_counts_and_a_refused_edit_uses_nothing_up(sqlite_settings):
    settings = replace(sqlite_settings, generate_rate_limit=4, generate_rate_window=60)
    app, database = app_with(settings)
    try:
        client = TestClient(app)

        def edit(**fields):
            return post_edit(client, **fields).status_code

        three = edit(prompt="a fox", n=3)
        two = edit(prompt="a fox", n=2)
        bad = edit(prompt="a fox", moderation="low")  # not a field of the form
        one = edit(prompt="a fox")
        over = edit(prompt="a fox")
    finally:
        database.close()

    assert (three, two, bad, one, over) == (201, 429, 422, 201, 429)


def test_more_images_at_once_than_the_limit_is_422_not_a_retry_later(sqlite_settings):
    # A list of 12 prompts against a limit of 10 used to be 429 "retry after 60 s": a retry
    # that could never succeed. Each refusal counts nothing, so the whole limit is left after.
    settings = replace(sqlite_settings, generate_rate_limit=4, generate_rate_window=60)
    app, database = app_with(settings)
    try:
        client = TestClient(app)
        batch = client.post("/jobs", json={"requests": [{"prompt": "a fox"}] * 5})
        image = client.post("/image", json={"prompt": "a fox", "n": 5})
        edit = post_edit(client, prompt="a fox", n=5)
        whole_limit = client.post("/image", json={"prompt": "a fox", "n": 4})
    finally:
        database.close()

    message = (
        "5 images at once are more than this server allows: at most 4 every 60 s, so ask for 4 "
        "or fewer"
    )
    for refused in (batch, image, edit):
        assert refused.status_code == 422
        assert refused.json()["message"] == message
        assert "retry-after" not in refused.headers
    assert whole_limit.status_code == 201
