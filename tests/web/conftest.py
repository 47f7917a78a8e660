"""An app over real databases (SQLite and MariaDB) with a fake provider, and its client."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from pixyproxy_cli.core.models import UserCreate
from pixyproxy_cli.data.init import create_database
from pixyproxy_cli.service.init import Services, build_services
from pixyproxy_cli.web.app import create_app
from tests.fakes import FakeProvider, Journal

PASSWORDS = {"alice": "alice's long password", "bob": "bob's long password"}


@dataclass
class Api:
    client: TestClient
    services: Services
    provider: FakeProvider
    seen: list[tuple[str, str, int]]

    def auth(self, user: str) -> tuple[str, str]:
        return (user, PASSWORDS[user])

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, url, **kwargs)
        self.seen.append((method, httpx.URL(url).path, response.status_code))
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


def make_api(
    settings,
    provider: FakeProvider | None = None,
    *,
    job_workers: int = 0,
    generate_rate_limit: int = 0,
    **client_options: Any,
):
    # Generation limits are tested on their own, and so are the job workers (test_jobs_api):
    # elsewhere they would only add noise.
    settings = replace(settings, generate_rate_limit=generate_rate_limit, job_workers=job_workers)
    database = create_database(settings)
    provider = provider or FakeProvider(Journal())
    services = build_services(settings, provider=provider, database=database)
    for name, password in PASSWORDS.items():
        services.users.add_user(UserCreate(username=name, password=password, class_key="k"))
    client = TestClient(create_app(services), **client_options)
    return Api(client, services, provider, []), database


@pytest.fixture
def api(backend_settings):
    built, database = make_api(backend_settings)
    with built.client:
        yield built
    database.close()


@pytest.fixture
def sqlite_api(sqlite_settings):
    built, database = make_api(sqlite_settings, raise_server_exceptions=False)
    with built.client:
        yield built
    database.close()
