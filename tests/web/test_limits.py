"""Login throttling, the per-user image limit, and login timing, through the API."""

from __future__ import annotations

import statistics
import time

from fastapi.testclient import TestClient

from pixyproxy_cli.core.models import UserCreate
from pixyproxy_cli.data.init import create_database
from pixyproxy_cli.service.init import build_services
from pixyproxy_cli.service.passwords import PasswordHasher
from pixyproxy_cli.web.app import create_app
from tests.fakes import FakeProvider, Journal

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
    settings = sqlite_settings.model_copy(
        update={"login_max_failures": 3, "login_failure_window": 60}
    )
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
    settings = sqlite_settings.model_copy(
        update={"login_max_failures": 1, "login_failure_window": 0.3}
    )
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
    settings = sqlite_settings.model_copy(
        update={"generate_rate_limit": 2, "generate_rate_window": 60}
    )
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


def test_unknown_user_and_wrong_password_take_the_same_time(sqlite_settings):
    """Medians within 10%, with the real argon2 parameters (verification dominates)."""
    settings = sqlite_settings.model_copy(update={"login_max_failures": 0})
    app, database = app_with(settings, hasher=PasswordHasher(time_cost=3, memory_cost=65536))
    try:
        client = TestClient(app)
        timings: dict[str, list[float]] = {"unknown": [], "wrong": []}
        for _ in range(15):  # interleaved, so drift in machine load hits both alike
            for kind, auth in (("unknown", ("nobody", PASSWORD)), ("wrong", ("alice", "nope"))):
                started = time.perf_counter()
                response = client.get("/image", auth=auth)
                timings[kind].append(time.perf_counter() - started)
                assert response.status_code == 401
                assert response.json()["message"] == "Invalid username or password"
    finally:
        database.close()

    unknown, wrong = (statistics.median(timings[k]) for k in ("unknown", "wrong"))
    print(
        f"login medians: unknown user {unknown * 1000:.1f} ms, wrong password {wrong * 1000:.1f} ms"
    )
    assert abs(unknown - wrong) / wrong < 0.10, (unknown, wrong)
