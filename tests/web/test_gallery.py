"""The gallery's pages over SQLite and MariaDB (the app in process; the browser tests are in
tests/browser/): the grid and its pages, detail, sign in and out with an HttpOnly cookie, CSRF
on every form, delete, generate, the security headers, and escaping."""

from __future__ import annotations

import re

import pytest

from pixyproxy_cli.service.access import Caller
from pixyproxy_cli.web.pages import CONTENT_SECURITY_POLICY, CSRF_REFUSED

GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
XSS_PROMPTS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


def tiles(html: str) -> list[str]:
    grid = html.split('<ul id="grid" class="grid">', 1)[1].split("</ul>", 1)[0]
    return re.findall(rf'<a href="/gallery/image/({GUID})">', grid)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def make(api, prompt: str, user: str | None = None, **fields) -> dict:
    auth = api.auth(user) if user else None
    response = api.post("/image", json={"prompt": prompt, **fields}, auth=auth)
    assert response.status_code == 201, response.text
    return response.json()


def sign_in(api, user: str):
    """Sign in through the form; the sign-in page and the form's answer."""
    page = api.get("/gallery/signin")
    response = api.post(
        "/gallery/signin",
        data={"username": user, "password": api.auth(user)[1], "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return page, response


def post_form(api, path: str, fields: dict, *, csrf: bool = True):
    data = dict(fields)
    if csrf:
        data["csrf"] = csrf_of(api.get("/").text)
    return api.post(path, data=data, follow_redirects=False)


def test_the_grid_shows_50_images_newest_first_and_links_the_next_page(api):
    for batch in range(6):
        api.post("/image", json={"prompt": f"tile batch {batch}", "n": 10})
    newest = [image["guid"] for image in api.get("/image?order=newest").json()]

    first = api.get("/")
    more = re.search(r'<a id="more" class="button" href="([^"]+)">', first.text)
    second = api.get(more.group(1).replace("&amp;", "&"))

    assert first.status_code == 200
    assert tiles(first.text) == newest[:50]
    assert tiles(second.text) == newest[50:]
    assert 'id="more"' not in second.text


def test_search_and_filters_narrow_the_grid_and_keep_the_paging(api):
    fox = make(api, "a red fox in snow")
    make(api, "a lighthouse at dawn")
    for batch in range(6):
        api.post("/image", json={"prompt": f"another fox {batch}", "n": 10})

    found = api.get("/?q=red+fox")
    foxes = api.get("/?q=fox&order=oldest")
    more = re.search(r'id="more" class="button" href="([^"]+)"', foxes.text).group(1)
    oldest = [image["guid"] for image in api.get("/image?q=fox").json()]

    assert tiles(found.text) == [fox["guid"]]
    assert 'value="red fox"' in found.text
    assert tiles(foxes.text) == oldest[:50]
    assert more.replace("&amp;", "&") == f"/?q=fox&order=oldest&after={oldest[49]}"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=yesterday", "since must be a date (YYYY-MM-DD)"),
        ("mine=true", "Log in to list your own images"),
        ("q=" + "+".join("abcdefghijklmnopq"), "search text must be at most 16 words"),
    ],
)
def test_a_bad_filter_is_said_on_the_page_with_422(api, query, message):
    page = api.get(f"/?{query}")

    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert message in re.search(r'class="error error-message" role="alert">([^<]*)<', page.text)[1]
    assert tiles(page.text) == []


def test_every_page_carries_the_security_headers(api):
    image = make(api, "a header check")
    pages = [
        api.get("/"),
        api.get("/gallery/signin"),
        api.get(f"/gallery/image/{image['guid']}"),
        api.get("/gallery/image/0b4e28ba-2fa1-11d2-883f-0016d3cca427"),
        api.get("/gallery/nothing-here"),
    ]

    assert [page.status_code for page in pages] == [200, 200, 200, 404, 404]
    for page in pages:
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["content-type"].startswith("text/html")
        assert "<script>" not in page.text  # the only script is /static/gallery.js
    assert api.get("/static/gallery.js").headers["x-content-type-options"] == "nosniff"
    assert api.get("/image/nope").headers["content-type"] == "application/json"


def test_prompts_render_as_text_in_the_grid_the_detail_and_the_confirmation(api):
    images = [make(api, prompt, "alice") for prompt in XSS_PROMPTS]
    sign_in(api, "alice")
    pages = [api.get("/").text]
    for image in images:
        pages.append(api.get(f"/gallery/image/{image['guid']}").text)
        pages.append(api.get(f"/gallery/image/{image['guid']}/delete").text)

    for html in pages:
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "onerror=alert(1)>" not in html.replace("&gt;", "")  # never an attribute
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1]
    assert 'alt="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"' in pages[3]


def test_signing_in_keeps_a_token_in_an_http_only_strict_cookie(api):
    secret = make(api, "alice's secret", "alice", private=True)
    before = api.get("/")
    page = api.get("/gallery/signin")
    response = api.post(
        "/gallery/signin",
        data={"username": "alice", "password": api.auth("alice")[1], "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"]
    after = api.get("/")
    through_the_api = api.get(f"/image/{secret['guid']}/content")
    tokens = api.get("/token", auth=api.auth("alice")).json()

    assert secret["guid"] not in tiles(before.text)
    assert (response.status_code, response.headers["location"]) == (303, "/")
    assert cookie.startswith("pixyproxy_session=pxy_")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert f"Max-Age={90 * 24 * 3600}" in cookie
    assert "Signed in as <strong>alice</strong>" in after.text
    assert tiles(after.text) == [secret["guid"]]
    assert through_the_api.status_code == 200  # an <img> of a private image, by cookie
    assert [token["label"] for token in tokens] == ["Gallery sign-in"]


def test_signing_out_revokes_the_token_so_a_kept_cookie_is_worth_nothing(api):
    secret = make(api, "alice's secret", "alice", private=True)
    sign_in(api, "alice")
    kept = api.client.cookies.get("pixyproxy_session")

    response = post_form(api, "/gallery/signout", {})
    after = api.get("/")
    api.client.cookies.set("pixyproxy_session", kept)
    replayed = api.get(f"/image/{secret['guid']}")
    page = api.get("/")

    assert (response.status_code, response.headers["location"]) == (303, "/")
    assert 'pixyproxy_session=""' in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert "Sign in" in after.text
    assert tiles(after.text) == []
    assert api.get("/token", auth=api.auth("alice")).json() == []
    assert replayed.status_code == 404  # anonymous: a stale cookie is not a credential
    assert (page.status_code, tiles(page.text)) == (200, [])


def test_signing_in_again_revokes_the_previous_sign_in(api):
    sign_in(api, "alice")
    sign_in(api, "bob")

    assert api.get("/token", auth=api.auth("alice")).json() == []
    assert len(api.get("/token", auth=api.auth("bob")).json()) == 1
    assert "Signed in as <strong>bob</strong>" in api.get("/").text


def test_an_error_page_still_shows_who_is_signed_in(api):
    sign_in(api, "alice")

    page = api.get("/gallery/image/0b4e28ba-2fa1-11d2-883f-0016d3cca427")

    assert page.status_code == 404
    assert "Signed in as <strong>alice</strong>" in page.text


def test_a_cookie_whose_token_was_revoked_is_forgotten(api):
    sign_in(api, "alice")
    [token] = api.get("/token", auth=api.auth("alice")).json()
    api.request("DELETE", f"/token/{token['id']}", auth=api.auth("alice"))

    page = api.get("/")

    assert page.status_code == 200
    assert "Sign in" in page.text
    assert 'pixyproxy_session=""' in page.headers["set-cookie"]
    assert "pixyproxy_session" not in api.client.cookies


def test_a_wrong_password_says_so_and_sets_no_session(api):
    page = api.get("/gallery/signin")
    response = api.post(
        "/gallery/signin",
        data={"username": "alice", "password": "wrong", "csrf": csrf_of(page.text)},
    )

    assert response.status_code == 401
    assert "Wrong user name or password" in response.text
    assert 'value="alice"' in response.text
    assert "pixyproxy_session" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("target", ["//elsewhere.example/", "https://elsewhere.example/", "/\\x"])
def test_sign_in_goes_back_only_to_a_page_of_this_site(api, target):
    page = api.get("/gallery/signin")
    response = api.post(
        "/gallery/signin",
        data={
            "username": "alice",
            "password": api.auth("alice")[1],
            "next": target,
            "csrf": csrf_of(page.text),
        },
        follow_redirects=False,
    )

    assert response.headers["location"] == "/"


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/gallery/generate", {"prompt": "a forged request"}),
        ("/gallery/signin", {"username": "alice", "password": "alice's long password"}),
        ("/gallery/signout", {}),
    ],
)
def test_a_form_without_the_csrf_token_is_refused(api, path, fields):
    sign_in(api, "alice")
    missing = post_form(api, path, fields, csrf=False)
    wrong = post_form(api, path, {**fields, "csrf": "not-the-cookie"}, csrf=False)

    for response in (missing, wrong):
        assert response.status_code == 403
        assert CSRF_REFUSED in response.text
        assert (
            "set-cookie" not in response.headers or "session" not in response.headers["set-cookie"]
        )
    assert api.get("/image").json() == []
    assert "Signed in as" in api.get("/").text  # sign-out refused too


def test_the_cookie_authorises_no_state_change_through_the_api(api):
    mine = make(api, "alice's public", "alice")
    sign_in(api, "alice")

    deleted = api.request("DELETE", f"/image/{mine['guid']}")
    private = api.post("/image", json={"prompt": "forged", "private": True})

    assert deleted.status_code == 401
    assert private.status_code == 401
    assert api.get(f"/image/{mine['guid']}").status_code == 200


def test_the_owner_deletes_after_confirming_and_the_image_is_gone(api):
    mine = make(api, "alice's fox", "alice")
    sign_in(api, "alice")
    detail = api.get(f"/gallery/image/{mine['guid']}")
    confirm = api.get(f"/gallery/image/{mine['guid']}/delete")

    deleted = post_form(api, f"/gallery/image/{mine['guid']}/delete", {})
    grid = api.get(deleted.headers["location"])

    assert f'href="/gallery/image/{mine["guid"]}/delete"' in detail.text
    assert "Delete this image for good?" in confirm.text
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/?deleted=1")
    assert "The image was deleted." in grid.text
    assert tiles(grid.text) == []
    assert api.get(f"/image/{mine['guid']}").status_code == 404


def test_others_may_neither_delete_nor_see_a_private_image(api):
    public = make(api, "alice's public fox", "alice")
    secret = make(api, "alice's secret fox", "alice", private=True)
    sign_in(api, "bob")

    detail = api.get(f"/gallery/image/{public['guid']}")
    confirm = api.get(f"/gallery/image/{public['guid']}/delete")
    refused = post_form(api, f"/gallery/image/{public['guid']}/delete", {})
    hidden = api.get(f"/gallery/image/{secret['guid']}")

    assert "/delete" not in detail.text
    assert confirm.status_code == 403
    assert refused.status_code == 403
    assert "only its owner may delete it" in refused.text
    assert api.get(f"/image/{public['guid']}").status_code == 200
    assert hidden.status_code == 404
    assert f"No image with GUID {secret['guid']}" in hidden.text
    assert tiles(api.get("/").text) == [public["guid"]]


def test_the_detail_page_shows_the_details_and_links_the_parents(api):
    source = make(api, "a lighthouse")
    edit = api.post(
        "/edits", files=[("prompt", (None, "at night")), ("image", (None, source["guid"]))]
    )
    assert edit.status_code == 201, edit.text
    [child] = edit.json()

    page = api.get(f"/gallery/image/{child['guid']}").text

    assert '<h1 class="prompt" id="prompt">at night</h1>' in page
    assert f'<a href="/gallery/image/{source["guid"]}">{source["guid"]}</a>' in page
    assert f'href="/image/{child["guid"]}/content" download="{child["guid"]}.png"' in page
    assert child["model"] in page
    assert "input tokens" in page or "not reported" in page


def test_the_generate_form_makes_an_image_and_opens_it(api):
    sign_in(api, "alice")
    made = post_form(api, "/gallery/generate", {"prompt": "a form-made fox", "private": "true"})
    several = post_form(api, "/gallery/generate", {"prompt": "three foxes", "n": "3"})
    images = api.get("/image", auth=api.auth("alice")).json()

    guid = made.headers["location"].rsplit("/", 1)[1]
    assert made.status_code == 303
    assert re.fullmatch(GUID, guid)
    assert (images[0]["guid"], images[0]["private"], images[0]["owner"]) == (guid, True, "alice")
    assert (several.status_code, several.headers["location"]) == (303, "/")
    assert [image["prompt"] for image in images] == ["a form-made fox"] + ["three foxes"] * 3


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"prompt": "   "}, 422, "prompt"),
        ({"prompt": "x", "n": "11"}, 422, "n: Input should be less than or equal to 10"),
        ({"prompt": "x", "quality": "superb"}, 422, "quality"),
        ({"prompt": "x", "private": "true"}, 401, "Sign in to make a private image"),
    ],
)
def test_a_bad_generate_form_says_why_on_a_page(api, fields, status, message):
    response = post_form(api, "/gallery/generate", fields)

    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text
    assert api.get("/image").json() == []


def delete_form(api, guid: str, csrf: str, **headers):
    return api.post(
        f"/gallery/image/{guid}/delete",
        data={"csrf": csrf},
        headers=headers,
        follow_redirects=False,
    )


def test_a_planted_csrf_cookie_cannot_forge_a_signed_in_users_form(api):
    secret = make(api, "alice's secret", "alice", private=True)
    sign_in(api, "alice")
    # A page on another port of this host set its own CSRF cookie, as a sibling origin may.
    [kept] = [cookie for cookie in api.client.cookies.jar if cookie.name == "pixyproxy_csrf"]
    api.client.cookies.set("pixyproxy_csrf", "planted", domain=kept.domain, path=kept.path)
    assert api.client.cookies.get("pixyproxy_csrf") == "planted"

    forged = delete_form(api, secret["guid"], "planted")

    assert forged.status_code == 403
    assert CSRF_REFUSED in forged.text
    assert api.get(f"/image/{secret['guid']}", auth=api.auth("alice")).status_code == 200
    page = api.get(f"/gallery/image/{secret['guid']}/delete").text
    assert csrf_of(page) != "planted"
    assert delete_form(api, secret["guid"], csrf_of(page)).status_code == 303


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://testserver:8081"},  # another port: the same site, not the origin
        {"Origin": "null"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
    ],
)
def test_a_form_from_another_origin_is_refused_even_with_the_right_token(api, headers):
    secret = make(api, "alice's secret", "alice", private=True)
    sign_in(api, "alice")
    token = csrf_of(api.get(f"/gallery/image/{secret['guid']}/delete").text)

    refused = delete_form(api, secret["guid"], token, **headers)
    same = delete_form(
        api, secret["guid"], token, Origin="http://testserver", **{"Sec-Fetch-Site": "same-origin"}
    )

    assert refused.status_code == 403
    assert CSRF_REFUSED in refused.text
    assert same.status_code == 303


def test_over_https_the_cookies_take_the_host_prefix(sqlite_settings):
    from tests.web.conftest import make_api

    api, database = make_api(sqlite_settings, base_url="https://testserver")
    try:
        with api.client:
            page, signed_in = sign_in(api, "alice")
            after = api.get("/")
    finally:
        database.close()

    csrf_cookie = page.headers["set-cookie"]
    session_cookie = signed_in.headers["set-cookie"]
    assert csrf_cookie.startswith("__Host-pixyproxy_csrf=")
    assert session_cookie.startswith("__Host-pixyproxy_session=pxy_")
    for cookie in (csrf_cookie, session_cookie):
        assert "Secure" in cookie
        assert "Path=/" in cookie
        assert "Domain" not in cookie
    assert "Signed in as <strong>alice</strong>" in after.text


@pytest.mark.parametrize(
    ("model", "offered"),
    [
        ("gpt-image-2", ["auto", "low", "medium", "high"]),
        ("gpt-image-2.5-sunburst", ["auto", "low", "medium", "high", "xhigh", "max"]),
    ],
)
def test_the_form_offers_only_the_qualities_the_servers_model_takes(api, model, offered):
    api.provider.model = model

    page = api.get("/").text

    select = page.split('<select name="quality">', 1)[1].split("</select>", 1)[0]
    assert re.findall(r"<option>([a-z]+)</option>", select) == offered


def test_a_pasted_list_is_queued_as_jobs_and_the_grid_shows_them(api):
    sign_in(api, "alice")
    listed = "a fox at dawn\n\n" + '{"prompt": "two owls", "n": 2}\n' + "a heron\n"

    response = post_form(
        api, "/gallery/generate", {"prompt": listed, "list": "true", "private": "true"}
    )

    assert response.status_code == 303, response.text
    location = response.headers["location"]
    batch = location.removeprefix("/?batch=")
    assert re.fullmatch(GUID, batch)
    jobs = api.get(f"/jobs?batch={batch}", auth=api.auth("alice")).json()
    assert [(job["prompt"], job["n"], job["private"]) for job in jobs] == [
        ("a fox at dawn", 1, True),
        ("two owls", 2, True),
        ("a heron", 1, True),
    ]
    page = api.get(location).text
    for job in jobs:  # the app of this test runs no job workers: they wait, queued
        assert f'<li class="job" data-job="{job["job"]}" data-state="queued">' in page
    assert '<span class="caption">two owls</span>' in page
    assert api.get(location).headers["content-security-policy"].count("img-src 'self' data:") == 1


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        ("fine\n" + '{"prompt": "x", "size": "12x12"}\n', "the list, line 2: size"),
        ("   \n\n", "the list holds no prompt"),
        ("\n".join(f"prompt {n}" for n in range(101)), "the list has more than 100 prompts"),
    ],
)
def test_a_list_with_a_bad_line_queues_nothing_and_says_which(api, listed, message):
    response = post_form(api, "/gallery/generate", {"prompt": listed, "list": "true"})

    assert response.status_code == 422
    assert message in response.text
    assert api.services.jobs.recent(Caller(local_admin=True, sees_everything=True)) == []
