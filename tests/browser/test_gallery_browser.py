"""The gallery in headless Chromium against a real `pixyproxy serve` on SQLite and MariaDB:
the grid and scrolling, search, the detail view, sign in and out, another user, delete,
escaping, generating with progress, a 375 px screen and the keyboard alone."""

from __future__ import annotations

import os
import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import settings_environment
from tests.helpers import add_user, running_server

PASSWORDS = {"alice": "alice's long password", "bob": "bob's long password"}
XSS_PROMPTS = (
    "<script>alert('script')</script>",
    '"><img src=x onerror=alert("attribute")>',
)
NOT_FOUND_LOG = "the server responded with a status of 404"


class Gallery:
    """A running server with two users, and an API client to seed and check it with."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def make(self, prompt: str, user: str | None = None, **fields) -> dict:
        auth = (user, PASSWORDS[user]) if user else None
        response = self.http.post("/image", json={"prompt": prompt, **fields}, auth=auth)
        assert response.status_code == 201, response.text
        return response.json()

    def seed(self, count: int = 60) -> list[dict]:
        """``count`` public images: every third a fox, the rest lighthouses; oldest first."""
        return [
            self.make(f"a {'fox' if number % 3 == 0 else 'lighthouse'} number {number}")
            for number in range(count)
        ]

    def sign_in(self, page: Page, user: str) -> None:
        page.goto(f"{self.base_url}/gallery/signin")
        page.get_by_label("User name").fill(user)
        page.get_by_label("Password").fill(PASSWORDS[user])
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".who")).to_have_text(f"Signed in as {user}")


@pytest.fixture
def gallery(backend_settings, tmp_path):
    env = {**os.environ, **settings_environment(backend_settings)}
    env.pop("OPENAI_API_KEY", None)  # the offline placeholder renders the images
    env.update(IMAGE_SIZE="256x256", GENERATE_RATE_LIMIT="0", PROMPT_MAX_LENGTH="300")
    for name, password in PASSWORDS.items():
        add_user(env, name, password)
    with running_server(env, tmp_path / "serve.log") as (base_url, _):
        world = Gallery(base_url)
        yield world
        world.http.close()


def wait_until_loaded(page: Page, image) -> None:
    """Until the <img> has decoded a picture (a refused or broken one never does)."""
    loaded = "img => img.complete && img.naturalWidth > 0"
    page.wait_for_function(loaded, arg=image.element_handle())


def tiles(page: Page):
    return page.locator("#grid > li")


def test_60_images_show_as_50_thumbnails_then_the_rest_after_scrolling(gallery, page):
    seeded = gallery.seed(60)
    newest = [image["guid"] for image in reversed(seeded)]

    page.goto(gallery.base_url)
    expect(tiles(page)).to_have_count(50)
    first = tiles(page).first.locator("img")
    expect(first).to_have_attribute("alt", seeded[-1]["prompt"])
    wait_until_loaded(page, first)
    page.locator("#more").scroll_into_view_if_needed()
    expect(tiles(page)).to_have_count(60)
    expect(page.locator("#more")).to_have_count(0)
    hrefs = tiles(page).locator("a").evaluate_all("links => links.map(a => a.pathname)")
    last = tiles(page).last.locator("img")
    last.scroll_into_view_if_needed()
    wait_until_loaded(page, last)

    assert hrefs == [f"/gallery/image/{guid}" for guid in newest]


def test_search_narrows_the_grid(gallery, page):
    gallery.seed(60)

    page.goto(gallery.base_url)
    page.get_by_label("Search the prompts").fill("fox")
    page.get_by_label("Search the prompts").press("Enter")
    expect(tiles(page)).to_have_count(20)
    alts = tiles(page).locator("img").evaluate_all("images => images.map(i => i.alt)")

    assert page.url.endswith("/?q=fox")
    assert all(alt.startswith("a fox number") for alt in alts)
    expect(page.get_by_label("Search the prompts")).to_have_value("fox")


def test_the_detail_view_shows_the_prompt_the_image_and_a_download(gallery, page):
    source = gallery.make("a lighthouse at dawn")

    page.goto(gallery.base_url)
    tiles(page).first.locator("a").click()
    expect(page).to_have_url(f"{gallery.base_url}/gallery/image/{source['guid']}")
    expect(page.locator("#prompt")).to_have_text("a lighthouse at dawn")
    picture = page.locator("figure img")
    wait_until_loaded(page, picture)
    with page.expect_download() as download:
        page.locator("#download").click()

    assert download.value.suggested_filename == f"{source['guid']}.png"
    expect(page.locator("#delete")).to_have_count(0)  # anonymous: no delete


def test_signing_in_shows_ones_private_image_and_signing_out_hides_it(gallery, page):
    gallery.make("a public harbour")
    secret = gallery.make("alice's secret garden", "alice", private=True)
    secret_tile = page.locator(f'#grid a[href="/gallery/image/{secret["guid"]}"]')

    page.goto(gallery.base_url)
    expect(tiles(page)).to_have_count(1)
    gallery.sign_in(page, "alice")
    expect(tiles(page)).to_have_count(2)
    image = secret_tile.locator("img")
    wait_until_loaded(page, image)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "pixyproxy_session"]
    script_sees = page.evaluate("document.cookie")
    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    expect(secret_tile).to_have_count(0)
    expect(tiles(page)).to_have_count(1)
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    assert "pixyproxy_session" not in script_sees
    assert not any(c["name"] == "pixyproxy_session" for c in page.context.cookies())


def test_another_user_never_sees_a_private_image(gallery, page, watch):
    secret = gallery.make("alice's secret garden", "alice", private=True)
    watch.expect_error(NOT_FOUND_LOG)

    gallery.sign_in(page, "bob")
    expect(page.locator("#grid")).to_be_attached()
    grid = tiles(page).count()
    page.get_by_label("Search the prompts").fill("secret garden")
    page.get_by_label("Search the prompts").press("Enter")
    expect(page.locator(".empty")).to_have_text("No image matches.")
    answer = page.goto(f"{gallery.base_url}/gallery/image/{secret['guid']}")

    assert grid == 0
    assert answer.status == 404
    expect(page.locator(".error-message")).to_have_text(f"No image with GUID {secret['guid']}")


def test_delete_asks_once_then_removes_the_image_from_the_grid_and_the_api(gallery, page):
    kept = gallery.make("a lighthouse to keep", "alice")
    doomed = gallery.make("a lighthouse to delete", "alice")

    gallery.sign_in(page, "alice")
    page.locator(f'#grid a[href="/gallery/image/{doomed["guid"]}"]').click()
    page.locator("#delete").click()
    expect(page.get_by_role("heading")).to_have_text("Delete this image for good?")
    page.get_by_role("button", name="Delete for good").click()

    expect(page.locator(".notice")).to_have_text("The image was deleted.")
    expect(tiles(page)).to_have_count(1)
    expect(tiles(page).locator("img")).to_have_attribute("alt", kept["prompt"])
    assert gallery.http.get(f"/image/{doomed['guid']}").status_code == 404
    assert gallery.http.get(f"/image/{kept['guid']}").status_code == 200


def test_hostile_prompts_render_as_text_and_run_nothing(gallery, page):
    images = [gallery.make(prompt) for prompt in XSS_PROMPTS]
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(gallery.base_url)
    captions = tiles(page).locator(".caption").all_inner_texts()
    alts = tiles(page).locator("img").evaluate_all("images => images.map(i => i.alt)")
    injected = page.locator("#grid img:not([src^='/image/'])").count()
    page.goto(f"{gallery.base_url}/gallery/image/{images[1]['guid']}")
    expect(page.locator("#prompt")).to_have_text(XSS_PROMPTS[1])

    assert captions == list(reversed(XSS_PROMPTS))
    assert alts == list(reversed(XSS_PROMPTS))
    assert injected == 0
    assert dialogs == []


def test_generating_shows_progress_until_the_image_appears(gallery, page, watch):
    page.goto(gallery.base_url)
    page.get_by_text("Generate an image").click()
    # Record what the status line shows while the request runs (the page navigates after).
    page.evaluate(
        """() => {
            const status = document.getElementById("generate-status");
            new MutationObserver(() => {
                if (!status.hidden) console.log("progress: " + status.textContent.trim());
            }).observe(status, {attributes: true, childList: true, subtree: true});
        }"""
    )
    page.get_by_label("Prompt", exact=True).fill("a fox made in the browser")
    page.get_by_role("button", name="Generate").click()

    # A generation on a loaded two-core machine may take longer than expect's 5 s.
    expect(page).to_have_url(re.compile(r"/gallery/image/[0-9a-f-]{36}$"), timeout=30_000)
    expect(page.locator("#prompt")).to_have_text("a fox made in the browser")
    [image] = gallery.http.get("/image").json()
    assert page.url.endswith(image["guid"])
    assert any(log.startswith("progress: Generating… 0 s") for log in watch.logs)


def test_a_refused_prompt_is_said_in_the_form_and_kept(gallery, page, watch):
    too_long = "a very long prompt " * 20  # over PROMPT_MAX_LENGTH (300)
    watch.expect_error("the server responded with a status of 422")  # the form's answer

    page.goto(gallery.base_url)
    page.get_by_text("Generate an image").click()
    page.get_by_label("Prompt", exact=True).fill(too_long)
    page.get_by_role("button", name="Generate").click()

    expect(page.locator("#generate-error")).to_contain_text("prompt")
    expect(page.locator("#generate-error")).to_be_visible()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value(too_long)
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()
    assert gallery.http.get("/image").json() == []


def test_at_375_px_nothing_scrolls_sideways(gallery, page):
    gallery.seed(6)
    long = gallery.make("a" * 200 + " " + "b" * 80, "alice")
    page.set_viewport_size({"width": 375, "height": 740})
    gallery.sign_in(page, "alice")
    page.get_by_text("Generate an image").click()
    page.get_by_text("Filters").click()
    widths = {"grid": page.evaluate("document.documentElement.scrollWidth")}
    for name, path in (
        ("detail", f"/gallery/image/{long['guid']}"),
        ("delete", f"/gallery/image/{long['guid']}/delete"),
        ("sign-in", "/gallery/signin"),
    ):
        page.goto(gallery.base_url + path)
        widths[name] = page.evaluate("document.documentElement.scrollWidth")

    assert widths == dict.fromkeys(widths, 375)


def test_the_keyboard_alone_signs_in_opens_an_image_and_signs_out(gallery, page):
    image = gallery.make("a lighthouse for the keyboard", "alice")
    page.goto(gallery.base_url)

    def tab_to(selector: str) -> None:
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("s => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("#sign-in")
    page.keyboard.press("Enter")
    expect(page.get_by_label("User name")).to_be_visible()
    tab_to("#username")
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS["alice"])
    page.keyboard.press("Enter")
    expect(page.locator(".who")).to_have_text("Signed in as alice")
    tab_to(f'#grid a[href="/gallery/image/{image["guid"]}"]')
    page.keyboard.press("Enter")
    expect(page.locator("#prompt")).to_have_text(image["prompt"])
    tab_to("#sign-out")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


@pytest.mark.parametrize(("image_format", "width"), [("gif", 256), ("svg", 256)])
def test_a_gif_and_an_svg_show_in_the_grid_and_their_own_page(gallery, page, image_format, width):
    made = gallery.make(f"a kite as {image_format}", format=image_format)

    page.goto(gallery.base_url)
    thumbnail = tiles(page).first.locator("img")
    wait_until_loaded(page, thumbnail)
    expect(tiles(page).first.locator(".badge")).to_have_text("placeholder")
    tiles(page).first.locator("a").click()
    expect(page).to_have_url(f"{gallery.base_url}/gallery/image/{made['guid']}")
    expect(page.locator("#placeholder-note")).to_have_text(
        "An offline placeholder: not made by an image model."
    )
    picture = page.locator("figure img")
    wait_until_loaded(page, picture)
    with page.expect_download() as download:
        page.locator("#download").click()

    # The file itself, in an <img> (an SVG is never inlined into the page).
    assert picture.get_attribute("src") == f"/image/{made['guid']}/content"
    assert picture.evaluate("img => img.naturalWidth") == width
    assert page.locator("figure svg").count() == 0
    assert download.value.suggested_filename == f"{made['guid']}.{image_format}"
