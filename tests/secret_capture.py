"""Capture every log line and every error the suite produces, to search them for secrets.

The secrets are found by reading the test sources: every string assigned to a name that
contains PASSWORD, API_KEY or SECRET (and the values of such dicts). The search runs once
every test has run, in the process that ran the session (conftest.py's
``pytest_sessionfinish``): under pytest-xdist, each worker leaves what it captured in a file
of the session's capture directory, and the controller searches them all. A leak fails the
run (exit status 1) with the leaks listed.
"""

from __future__ import annotations

import ast
import json
import logging
import traceback
from collections.abc import Iterable
from pathlib import Path

TESTS = Path(__file__).resolve().parent
MARKERS = ("PASSWORD", "API_KEY", "SECRET")

captured: list[str] = []


class CapturingHandler(logging.Handler):
    """Keeps the formatted text of every record, traceback included."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record must not break the suite
            text = repr(record.msg)
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        captured.append(text)


def install() -> None:
    """Capture, for the whole session: the root logger at DEBUG, every error body the API
    sends, and every error line the CLI prints."""
    root = logging.getLogger()
    root.addHandler(CapturingHandler(level=logging.DEBUG))
    root.setLevel(logging.DEBUG)

    from pixyproxy_cli.commands import errors as cli_errors
    from pixyproxy_cli.web import errors as web_errors
    from pixyproxy_cli.web import middleware

    real_response, real_send_json, real_report = (
        web_errors.error_response,
        middleware.send_json,
        cli_errors.report,
    )

    def error_response(status, code, message, headers=None):
        captured.append(f"HTTP {status} {code}: {message}")
        return real_response(status, code, message, headers)

    async def send_json(send, status, body):
        captured.append(f"HTTP {status}: {body}")
        await real_send_json(send, status, body)

    def report(message, *, debug):
        captured.append(f"CLI error: {message}")
        real_report(message, debug=debug)

    web_errors.error_response = error_response
    middleware.send_json = send_json
    cli_errors.report = report


def known_secrets() -> set[str]:
    """Every secret string the tests use (found in their source)."""
    secrets: set[str] = set()
    for path in TESTS.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Assign):
                continue
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if not any(marker in name for name in names for marker in MARKERS):
                continue
            values = node.value.values if isinstance(node.value, ast.Dict) else [node.value]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    secrets.add(value.value)
    return {secret for secret in secrets if len(secret) >= 8}


EXPECTED = ("Invalid username or password", "OpenAI rejected the API key")
"""Texts the whole suite's failed logins and provider errors must have produced: the capture
saw the failures it guards."""


def save(directory: Path, name: str) -> None:
    """Write what this process captured to ``directory/name.json`` (an xdist worker's share)."""
    (directory / f"{name}.json").write_text(json.dumps(captured), encoding="utf-8")


def load(directory: Path) -> list[str]:
    """Everything the workers saved in ``directory``."""
    texts: list[str] = []
    for path in sorted(directory.glob("*.json")):
        texts.extend(json.loads(path.read_text(encoding="utf-8")))
    return texts


def problems(texts: Iterable[str], secrets: set[str], *, whole_suite: bool) -> list[str]:
    """What is wrong with the captured ``texts``: each secret found (and where), in any run;
    and, when the whole suite ran, a search with too little to look for or a capture that
    missed the failures it guards."""
    texts = list(texts)
    if whole_suite and len(secrets) < 8:
        return [f"only {len(secrets)} secrets found in the test sources: the search is blind"]
    found = [
        f"secret {secret[:3]}... in: {text[:200]!r}"
        for text in texts
        for secret in secrets
        if secret in text
    ]
    if not whole_suite:
        return found
    joined = "\n".join(texts)
    missed = [
        f"the capture never saw {expected!r}" for expected in EXPECTED if expected not in joined
    ]
    return found + missed
