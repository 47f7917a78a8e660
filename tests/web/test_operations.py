"""GET /healthz, /readyz and /metrics: what a load balancer and Prometheus ask of a replica."""

from __future__ import annotations

import re

from pixyproxy_cli.core.exceptions import StorageUnavailableError


def test_healthz_answers_while_the_process_does(api):
    response = api.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_is_200_when_the_database_and_the_store_answer(api):
    response = api.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"database": "ok", "store": "ok"})


def test_readyz_is_503_naming_what_does_not_answer(api, monkeypatch):
    def unwritable() -> None:
        raise StorageUnavailableError("Cannot write to /srv/images")

    monkeypatch.setattr(api.services.prompts.dependencies.store, "check", unwritable)
    api.services.database.close()  # the pool refuses checkouts: as a database gone away

    response = api.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["store"] == "Cannot write to /srv/images"
    assert body["database"] != "ok"


def _sample(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    found = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


def test_metrics_count_requests_by_route_images_and_errors(api):
    made = api.post("/image", json={"prompt": "counted"})
    guid = made.json()["guid"]
    api.get(f"/image/{guid}")
    api.get(f"/image/{guid}")
    api.get("/image/1b4e28ba-2fa1-11d2-883f-0016d3cca427")  # 404

    text = api.get("/metrics").text

    requests = "pixyproxy_http_requests_total"
    assert _sample(text, requests, method="POST", route="/image", status="201") == 1
    assert _sample(text, requests, method="GET", route="/image/{guid}", status="200") == 2
    assert _sample(text, requests, method="GET", route="/image/{guid}", status="404") == 1
    assert guid not in text  # the route's template is the label, never the path
    assert _sample(text, "pixyproxy_images_made_total", kind="generate") == 1
    assert _sample(text, "pixyproxy_errors_total", code="not_found") == 1
    assert _sample(text, "pixyproxy_db_pool_connections", state="size") == float(
        api.services.settings.db_pool_size
    )
    assert "pixyproxy_http_request_duration_seconds_bucket" in text
    assert re.search(r"^pixyproxy_transaction_retries_total \S+$", text, re.MULTILINE)


def test_a_provider_failure_is_counted_by_its_code(api):
    from pixyproxy_cli.core.exceptions import ProviderUnavailableError

    api.provider.fail_with = ProviderUnavailableError("down")
    assert api.post("/image", json={"prompt": "x"}).status_code == 502

    text = api.get("/metrics").text
    assert _sample(text, "pixyproxy_errors_total", code=ProviderUnavailableError.code) == 1
    assert _sample(text, "pixyproxy_images_made_total", kind="generate") is None
