"""GET /image?q=&since=&until=&model=&order= on SQLite and MariaDB."""

from __future__ import annotations


def seed(api, *prompts):
    for prompt in prompts:
        assert api.post("/image", json={"prompt": prompt}).status_code == 201


def test_q_searches_and_order_newest_reverses(api):
    seed(api, "A lighthouse at dawn", "a fox at dusk", "Lighthouse keeper")

    found = api.get("/image", params={"q": "light"})
    newest = api.get("/image", params={"q": "light", "order": "newest", "limit": 1})

    assert [i["prompt"] for i in found.json()] == ["A lighthouse at dawn", "Lighthouse keeper"]
    assert [i["prompt"] for i in newest.json()] == ["Lighthouse keeper"]
    after = api.get(
        "/image", params={"q": "light", "order": "newest", "after": newest.json()[0]["guid"]}
    )
    assert [i["prompt"] for i in after.json()] == ["A lighthouse at dawn"]


def test_hostile_search_text_is_searched_literally(api):
    seed(api, 'say "hi" (100%)', "plain")

    for q in ['"', '"hi"', "(100%)", "%", "_", "*", "NEAR(", "-plain", "+", "\\", "🦄"]:
        response = api.get("/image", params={"q": q})
        assert response.status_code == 200, (q, response.text)
        expected = ['say "hi" (100%)'] if q in ('"', '"hi"', "(100%)", "%") else []
        assert [i["prompt"] for i in response.json()] == expected, q


def test_filters_by_model_and_dates(api):
    seed(api, "one")

    assert len(api.get("/image", params={"model": "fake-model"}).json()) == 1
    assert api.get("/image", params={"model": "other"}).json() == []
    assert api.get("/image", params={"since": "2999-01-01T00:00:00Z"}).json() == []
    assert len(api.get("/image", params={"until": "2999-01-01"}).json()) == 1


def test_bad_filters_are_422_with_the_message(api):
    cases = {
        "since=yesterday": "since must be a date (YYYY-MM-DD) or a time",
        "q=%20%20": "search text must not be blank",
        "q=" + "%20".join(["w"] * 17): "search text must be at most 16 words",
    }
    for query, message in cases.items():
        response = api.get(f"/image?{query}")
        assert response.status_code == 422, query
        assert response.json()["message"].startswith(message), response.json()
    assert api.get("/image", params={"order": "random"}).status_code == 422
    assert api.get("/image", params={"q": "x" * 501}).status_code == 422
