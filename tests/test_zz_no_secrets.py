"""No secret (password, API key, DB password) in any log line or error the suite produced.

Runs last (see conftest.py), over everything tests/secret_capture.py recorded.
"""

from __future__ import annotations

import pytest

from tests import secret_capture


def test_no_secret_appears_in_any_log_line_or_error():
    if len(secret_capture.captured) < 1000:
        pytest.skip("needs the whole suite's logs (run the full test suite)")
    secrets = secret_capture.known_secrets()
    assert len(secrets) >= 8  # the search has something to look for
    leaks = [
        (secret, text[:200])
        for text in secret_capture.captured
        for secret in secrets
        if secret in text
    ]
    assert leaks == []
    # The capture did see the failures it guards: failed logins and provider errors.
    joined = "\n".join(secret_capture.captured)
    assert "Invalid username or password" in joined
    assert "OpenAI rejected the API key" in joined
