"""Browser tests: Debian's Chromium, headless, driven by Playwright for Python, against a real
`pixyproxy serve` on loopback. Nothing downloads a browser (`playwright install` cannot work
here): the executable is `chromium` on PATH, which `.ci/run` installs when it is missing.

Each test gets a fresh browser context (no cookies), fails on any console error or uncaught
exception of the page (a CSP violation is one), and leaves a screenshot of the page in
`browser-screenshots/` (or $BROWSER_SCREENSHOTS) when it fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", REPOSITORY / "browser-screenshots"))
# As the machine's own probe starts it: no sandbox as root, and none of the background
# connections that a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Module scope, not session: while Playwright's sync API runs, its event loop is the
# thread's running loop, and later tests that call anyio.run() would fail.
@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    executable = shutil.which("chromium")
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (apt-get install chromium); CI must run these")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # A home of its own: Chromium writes ~/.config/chromium and its crash reports there,
        # never into the real one.
        home = tmp_path_factory.mktemp("chromium-home")
        environment = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, env=environment
        )
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


class PageWatch:
    """What a page said on its console, and the console errors a test expects."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.logs: list[str] = []
        self.expected: list[str] = []

    def expect_error(self, text: str) -> None:
        self.expected.append(text)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(text in e for text in self.expected)]


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(chromium, watch: PageWatch, request: pytest.FixtureRequest):
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on(
        "console",
        lambda message: (watch.errors if message.type == "error" else watch.logs).append(
            f"{message.text} ({message.location.get('url', '')})"
        ),
    )
    page.on("pageerror", lambda error: watch.errors.append(f"uncaught: {error}"))
    yield page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.name)
        target = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(target), full_page=True)
        print(f"screenshot of the failed page: {target}")
    context.close()
    assert watch.unexpected() == [], "the page logged console errors"
