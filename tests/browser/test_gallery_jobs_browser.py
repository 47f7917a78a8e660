"""A pasted list of prompts in headless Chromium against a real `pixyproxy serve` whose
provider is the OpenAI-compatible fake: the list is queued, each job shows its partial
images as they stream (its server-sent events), and turns into its image when done."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import settings_environment
from tests.helpers import running_server
from tests.openai_server import client_environment, image_answer

LOG_PARTIALS = """() => new MutationObserver((changes) => {
    for (const change of changes) {
        const image = change.target;
        if (image.matches("img.partial") && image.src.startsWith("data:image/png")) {
            console.log("partial shown");
        }
    }
}).observe(document.body, {attributes: true, attributeFilter: ["src"], subtree: true})"""
"""Logs each partial image the page shows (the test reads the console)."""


@pytest.fixture
def streaming_gallery(sqlite_settings, fake_openai, tmp_path):
    env = {**os.environ, **settings_environment(sqlite_settings)}
    env.update(client_environment(fake_openai, "sk-gallery-jobs"))
    env.update(GENERATE_RATE_LIMIT="0", JOB_WORKERS="2", OPENAI_TIMEOUT="60")
    for _ in range(3):
        slow = image_answer()
        slow.event_delay = 1.0  # each partial image stays the latest for a second
        fake_openai.script(slow)
    with running_server(env, tmp_path / "serve.log") as (base_url, _):
        yield base_url


def test_a_pasted_list_runs_as_jobs_showing_partial_images_then_the_images(streaming_gallery, page):
    page.goto(streaming_gallery)
    page.get_by_text("Generate an image").click()
    page.get_by_label("Prompt", exact=True).fill("a red kite\na blue kite\na green kite")
    page.get_by_label("A list: one prompt a line", exact=False).check()
    logs: list[str] = []
    page.on("console", lambda message: logs.append(message.text))
    page.get_by_role("button", name="Generate").click()

    expect(page).to_have_url(re.compile(r"/\?batch=[0-9a-f-]{36}$"), timeout=30_000)
    page.evaluate(LOG_PARTIALS)
    jobs = page.locator("li.job")
    expect(jobs).to_have_count(3)
    expect(page.locator("li.job .caption")).to_have_text(
        ["a red kite", "a blue kite", "a green kite"]
    )
    done = page.locator('li.job[data-state="done"]')
    expect(done).to_have_count(3, timeout=60_000)
    for index in range(3):
        tile = jobs.nth(index)
        expect(tile.locator(".state")).to_have_text("done")
        expect(tile.locator("img.partial")).to_have_count(0)  # the image took its place
        link = tile.locator('a[href^="/gallery/image/"] img')
        expect(link).to_have_count(1)
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=link.element_handle()
        )
    assert "partial shown" in logs, logs
