"""Make docs/gallery.png, the README's picture of the gallery.

Starts `pixyproxy serve` on a throwaway SQLite database with the offline placeholder, makes
a dozen images, signs in, and takes the picture in Debian's Chromium (Playwright for Python):

    .venv/bin/python docs/gallery_screenshot.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
EXECUTABLE = Path(sys.executable).parent / "pixyproxy"
PROMPTS = [
    "a lighthouse at dawn",
    "a red fox in fresh snow",
    "a city of glass at night",
    "an old map of the sea",
    "a teapot shaped like a whale",
    "autumn leaves on a quiet pond",
    "a robot tending a garden",
    "mountains above the clouds",
    "a paper boat in the rain",
    "a library under the sea",
    "a cat astronaut, watercolour",
    "a market street in the morning",
]
PASSWORD = "a long screenshot password"
PORT = 8791


def main() -> None:
    """Serve, seed, sign in, take the picture."""
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "PIXYPROXY_DATA_DIR": data, "DB_BACKEND": "sqlite"}
        env.update(IMAGE_SIZE="512x512", GENERATE_RATE_LIMIT="0", IMAGE_PROVIDER="placeholder")
        add = [str(EXECUTABLE), "user", "add", "alice", "--class-key", "k", "--password-stdin"]
        subprocess.run(add, input=PASSWORD, text=True, env=env, check=True, capture_output=True)
        server = subprocess.Popen(
            [str(EXECUTABLE), "serve", "--port", str(PORT)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{PORT}"
        try:
            for _ in range(100):
                try:
                    httpx.get(f"{base}/openapi.json", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            for number, prompt in enumerate(PROMPTS):
                private = number == 4
                httpx.post(
                    f"{base}/image",
                    json={"prompt": prompt, "private": private},
                    auth=("alice", PASSWORD),
                    timeout=30,
                ).raise_for_status()
            shoot(base)
        finally:
            server.terminate()
            server.wait(15)


def shoot(base: str) -> None:
    """Sign in as alice and save the grid at 1200 x 900."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(f"{base}/gallery/signin")
        page.get_by_label("User name").fill("alice")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(HERE / "gallery.png"))
        browser.close()


if __name__ == "__main__":
    main()
