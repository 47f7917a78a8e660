"""Jobs over HTTP on SQLite and MariaDB: 202 and Location, reading, events, cancelling, owners.

The app runs its own job workers (``JOB_WORKERS``), as ``serve`` does; a gated provider
holds a job in the middle of its run where a test needs it to.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator

import pytest

from tests.fakes import PNG_BYTES, FakeProvider, Journal
from tests.web.conftest import Api, make_api

WAIT = 30.0


class GatedProvider(FakeProvider):
    """A fake provider that, once ``hold`` is set, waits for ``release`` in each call."""

    def __init__(self) -> None:
        super().__init__(Journal())
        self.hold = False
        self.inside = threading.Event()
        self.release = threading.Event()

    def generate(self, prompt, n=1, options=None, progress=None):
        if self.hold:
            if progress is not None:  # a streamed request: one partial image, then a wait
                progress(1, 2, PNG_BYTES)
            self.inside.set()
            assert self.release.wait(WAIT), "the test never released the provider"
        return super().generate(prompt, n, options, None)


@pytest.fixture
def gated() -> GatedProvider:
    return GatedProvider()


@pytest.fixture
def jobs_api(backend_settings, gated) -> Iterator[Api]:
    built, database = make_api(backend_settings, gated, job_workers=2)
    with built.client:
        yield built
    database.close()


@pytest.fixture
def idle_api(backend_settings) -> Iterator[Api]:
    """An app without job workers: what it queues stays queued."""
    built, database = make_api(backend_settings)
    with built.client:
        yield built
    database.close()


def queue_one(api: Api, prompt: str, user: str | None = "alice") -> str:
    """Queue ``prompt`` as ``user`` (POST /image, Prefer: respond-async); the job's URL."""
    response = api.post(
        "/image",
        json={"prompt": prompt},
        headers={"Prefer": "respond-async"},
        auth=api.auth(user) if user else None,
    )
    assert response.status_code == 202, response.text
    return response.headers["location"]


def wait_for(api: Api, location: str, state: str, **kwargs) -> dict:
    deadline = time.monotonic() + WAIT
    while True:
        job = api.get(location, **kwargs).json()
        if job["state"] == state:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.02)


def test_respond_async_answers_202_with_the_job_and_the_job_makes_the_image(jobs_api):
    response = jobs_api.post(
        "/image",
        json={"prompt": "a lighthouse, later", "private": True},
        headers={"Prefer": "respond-async, wait=5"},
        auth=jobs_api.auth("alice"),
    )

    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/jobs/{job['job']}"
    assert response.headers["preference-applied"] == "respond-async"
    assert (job["prompt"], job["private"], job["owner"]) == ("a lighthouse, later", True, "alice")
    assert job["state"] in ("queued", "running", "done")
    done = wait_for(jobs_api, response.headers["location"], "done", auth=jobs_api.auth("alice"))
    (guid,) = done["images"]
    image = jobs_api.get(f"/image/{guid}", auth=jobs_api.auth("alice")).json()
    assert (image["prompt"], image["private"]) == ("a lighthouse, later", True)
    assert jobs_api.get(f"/image/{guid}").status_code == 404  # private, as asked


def test_without_prefer_post_image_still_answers_with_the_image(jobs_api):
    response = jobs_api.post("/image", json={"prompt": "now"}, headers={"Prefer": "return=minimal"})

    assert response.status_code == 201
    assert response.json()["prompt"] == "now"


def test_a_batch_is_queued_whole_and_each_line_becomes_its_images(jobs_api):
    response = jobs_api.post(
        "/jobs",
        json={"requests": [{"prompt": "one"}, {"prompt": "two", "n": 2}, {"prompt": "three"}]},
        auth=jobs_api.auth("bob"),
    )

    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == f"/jobs?batch={body['batch']}"
    assert [(job["line"], job["prompt"], job["n"]) for job in body["jobs"]] == [
        (1, "one", 1),
        (2, "two", 2),
        (3, "three", 1),
    ]
    for job in body["jobs"]:
        wait_for(jobs_api, f"/jobs/{job['job']}", "done", auth=jobs_api.auth("bob"))
    listed = jobs_api.get(response.headers["location"], auth=jobs_api.auth("bob")).json()
    assert [len(job["images"]) for job in listed] == [1, 2, 1]
    mine = jobs_api.get("/image?mine=true", auth=jobs_api.auth("bob")).json()
    assert sorted(image["prompt"] for image in mine) == ["one", "three", "two", "two"]
    assert [job["job"] for job in jobs_api.get("/jobs", auth=jobs_api.auth("bob")).json()] == [
        job["job"] for job in reversed(body["jobs"])
    ]


def test_a_bad_line_refuses_the_batch_and_queues_nothing(idle_api):
    response = idle_api.post(
        "/jobs",
        json={"requests": [{"prompt": "fine"}, {"prompt": "   "}]},
        auth=idle_api.auth("alice"),
    )

    assert response.status_code == 422
    assert response.json()["message"].startswith("line 2: ")
    assert idle_api.get("/jobs", auth=idle_api.auth("alice")).json() == []


def test_a_job_is_its_owners_only(idle_api):
    location = queue_one(idle_api, "alice's")
    batch = idle_api.get(location, auth=idle_api.auth("alice")).json()["batch"]

    for auth in (idle_api.auth("bob"), None):
        assert idle_api.get(location, auth=auth).status_code == 404
        assert idle_api.get(f"{location}/events", auth=auth).status_code == 404
        assert idle_api.get(f"/jobs?batch={batch}", auth=auth).json() == []
    assert idle_api.request("DELETE", location, auth=idle_api.auth("bob")).status_code == 404
    assert idle_api.request("DELETE", location).status_code == 401
    assert idle_api.get("/jobs").status_code == 401  # whose? name a batch, or sign in
    assert idle_api.get(location, auth=idle_api.auth("alice")).json()["state"] == "queued"


def test_a_queued_job_is_cancelled_once_then_409(idle_api):
    location = queue_one(idle_api, "never mind")

    assert idle_api.request("DELETE", location, auth=idle_api.auth("alice")).status_code == 204
    again = idle_api.request("DELETE", location, auth=idle_api.auth("alice"))
    assert again.status_code == 409
    guid = location.rsplit("/", 1)[1]
    assert again.json()["message"] == f"Job {guid} has already ended (cancelled)"
    job = idle_api.get(location, auth=idle_api.auth("alice")).json()
    assert (job["state"], job["images"]) == ("cancelled", [])


def test_a_job_cancelled_while_it_runs_stores_nothing(jobs_api, gated):
    gated.hold = True
    location = queue_one(jobs_api, "stopped midway")
    assert gated.inside.wait(WAIT)

    assert jobs_api.request("DELETE", location, auth=jobs_api.auth("alice")).status_code == 204
    gated.release.set()
    # The worker's end of the job finds it cancelled: its images are not stored.
    deadline = time.monotonic() + WAIT
    while jobs_api.services.jobs.claimable() or _running(jobs_api):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert jobs_api.get(location, auth=jobs_api.auth("alice")).json()["state"] == "cancelled"
    assert jobs_api.get("/image?mine=true", auth=jobs_api.auth("alice")).json() == []


def _running(api: Api) -> bool:
    from pixyproxy_cli.service.access import Caller

    everyone = Caller(local_admin=True, sees_everything=True)
    return any(job.state == "running" for job in api.services.jobs.recent(everyone))


def test_the_limit_counts_queued_images_and_a_refused_batch_queues_nothing(backend_settings, gated):
    built, database = make_api(backend_settings, gated, generate_rate_limit=3)
    try:
        with built.client:
            ok = built.post(
                "/jobs", json={"requests": [{"prompt": "a", "n": 2}]}, auth=built.auth("alice")
            )
            over = built.post(
                "/jobs",
                json={"requests": [{"prompt": "b"}, {"prompt": "c"}]},
                auth=built.auth("alice"),
            )
            one_more = built.post(
                "/image", json={"prompt": "d"}, headers={"Prefer": "respond-async"},
                auth=built.auth("alice"),
            )  # fmt: skip
            listed = built.get("/jobs", auth=built.auth("alice")).json()
    finally:
        database.close()

    assert (ok.status_code, over.status_code, one_more.status_code) == (202, 429, 202)
    assert "retry-after" in over.headers
    assert [job["prompt"] for job in listed] == ["d", "a"]


def parse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if not line.startswith(":")
        )
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_events_stream_each_change_until_the_job_ends(jobs_api, gated):
    gated.hold = True
    location = queue_one(jobs_api, "watched")
    assert gated.inside.wait(WAIT)

    with jobs_api.client.stream("GET", f"{location}/events", auth=jobs_api.auth("alice")) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-store"
        chunks = []
        for chunk in r.iter_text():
            chunks.append(chunk)
            if "event: partial" in "".join(chunks):  # the partial image came: let it finish
                gated.release.set()
    text = "".join(chunks)

    assert text.startswith("retry: 2000\n\n")
    events = parse_events(text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "job" and kinds[-1] == "job", kinds  # noqa: PT018
    assert events[0][1]["state"] == "running"
    (partial,) = [data for kind, data in events if kind == "partial"]
    assert (partial["number"], partial["job"]) == (1, location.rsplit("/", 1)[1])
    assert partial["image"] == "data:image/png;base64," + base64.b64encode(PNG_BYTES).decode()
    assert events[-1][1]["state"] == "done"
    assert len(events[-1][1]["images"]) == 1


def test_the_job_workers_finish_the_job_in_hand_when_the_app_stops(backend_settings, gated):
    built, database = make_api(backend_settings, gated, job_workers=1)
    try:
        gated.hold = True
        with built.client:
            location = queue_one(built, "in hand", user=None)
            assert gated.inside.wait(WAIT)
            threading.Timer(0.2, gated.release.set).start()
        # The lifespan's end waited for the job: it is done, its image stored.
        from pixyproxy_cli.service.access import Caller

        (job,) = built.services.jobs.recent(Caller(local_admin=True, sees_everything=True))
        assert (job.state, len(job.images)) == ("done", 1), location
    finally:
        database.close()


def test_every_status_the_job_routes_answer_is_documented(idle_api):
    import re

    alice = idle_api.auth("alice")
    queued = idle_api.post("/jobs", json={"requests": [{"prompt": "a"}]}, auth=alice)
    location = f"/jobs/{queued.json()['jobs'][0]['job']}"
    missing = "/jobs/00000000-0000-4000-8000-000000000000"
    idle_api.post("/jobs", json={"requests": []})
    idle_api.post("/jobs", json={"requests": [{"prompt": "x", "private": True}]})
    idle_api.post("/jobs", json={"requests": [{"prompt": "x"}]}, auth=("bob", "wrong"))
    idle_api.post("/image", json={"prompt": "x"}, headers={"Prefer": "respond-async"})
    idle_api.get("/jobs")
    idle_api.get("/jobs", params={"limit": 0}, auth=alice)
    idle_api.get("/jobs", params={"batch": queued.json()["batch"]})
    idle_api.get("/jobs", auth=alice)
    idle_api.get(location, auth=alice)
    idle_api.get(missing)
    idle_api.get("/jobs/bad")
    idle_api.get(f"{missing}/events")
    idle_api.request("DELETE", location)
    idle_api.request("DELETE", missing, auth=alice)
    idle_api.request("DELETE", location, auth=alice)
    idle_api.request("DELETE", location, auth=alice)
    with idle_api.client.stream("GET", f"{location}/events", auth=alice) as stream:
        idle_api.seen.append(("GET", f"{location}/events", stream.status_code))

    document = idle_api.get("/openapi.json").json()
    routes = {
        "/image": re.compile(r"^/image$"),
        "/jobs": re.compile(r"^/jobs$"),
        "/jobs/{guid}": re.compile(r"^/jobs/[^/]+$"),
        "/jobs/{guid}/events": re.compile(r"^/jobs/[^/]+/events$"),
    }
    checked = set()
    for method, path, status in idle_api.seen:
        template = next((t for t, pattern in routes.items() if pattern.match(path)), None)
        if template is None:
            continue
        documented = document["paths"][template][method.lower()]["responses"]
        assert str(status) in documented, (method, template, status)
        checked.add((method, template, status))
    assert {status for _, _, status in checked} == {200, 202, 204, 401, 404, 409, 422}
