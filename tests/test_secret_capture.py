"""The end-of-session secret search (tests/secret_capture.py) finds what it looks for."""

from __future__ import annotations

from tests import secret_capture

SECRETS = {f"secret-number-{n}" for n in range(8)}
CLEAN = ["a log line", *secret_capture.EXPECTED]


def test_a_clean_capture_of_the_whole_suite_has_no_problem():
    assert secret_capture.problems(CLEAN, SECRETS, whole_suite=True) == []


def test_a_secret_in_any_text_is_a_problem_naming_only_its_start_in_any_run():
    texts = [*CLEAN, "login as x:secret-number-3 failed"]
    expected = ["secret sec... in: 'login as x:secret-number-3 failed'"]

    assert secret_capture.problems(texts, SECRETS, whole_suite=True) == expected
    assert secret_capture.problems(texts[2:], SECRETS, whole_suite=False) == expected


def test_a_whole_suite_whose_capture_missed_the_failures_it_guards_is_a_problem():
    texts = [text for text in CLEAN if "OpenAI" not in text]

    assert secret_capture.problems(texts, SECRETS, whole_suite=True) == [
        "the capture never saw 'OpenAI rejected the API key'"
    ]
    assert secret_capture.problems(texts, SECRETS, whole_suite=False) == []


def test_a_blind_search_of_the_whole_suite_is_a_problem():
    assert secret_capture.problems(CLEAN, {"only-one-secret"}, whole_suite=True) == [
        "only 1 secrets found in the test sources: the search is blind"
    ]


def test_the_workers_shares_are_saved_and_loaded_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(secret_capture, "captured", ["one", "two"])
    secret_capture.save(tmp_path, "gw0")
    monkeypatch.setattr(secret_capture, "captured", ["three"])
    secret_capture.save(tmp_path, "gw1")

    assert secret_capture.load(tmp_path) == ["one", "two", "three"]


def test_the_test_sources_hold_enough_secrets_to_search_for():
    assert len(secret_capture.known_secrets()) >= 8
