"""The end-of-session secret search (tests/secret_capture.py) finds what it looks for."""

from __future__ import annotations

from tests import secret_capture

SECRETS = {f"secret-number-{n}" for n in range(8)}
ENOUGH = [f"line {n}" for n in range(secret_capture.WHOLE_SUITE)] + list(secret_capture.EXPECTED)


def test_a_clean_capture_of_the_whole_suite_has_no_problem():
    assert secret_capture.problems(ENOUGH, SECRETS) == []


def test_a_secret_in_any_text_is_a_problem_naming_only_its_start():
    found = secret_capture.problems([*ENOUGH, "login as x:secret-number-3 failed"], SECRETS)

    assert found == ["secret sec... in: 'login as x:secret-number-3 failed'"]


def test_a_capture_that_missed_the_failures_it_guards_is_a_problem():
    texts = [text for text in ENOUGH if "OpenAI" not in text]

    assert secret_capture.problems(texts, SECRETS) == [
        "the capture never saw 'OpenAI rejected the API key'"
    ]


def test_a_part_of_the_suite_is_not_judged_and_a_blind_search_is_a_problem():
    assert secret_capture.problems(["a few lines"], SECRETS) == []
    assert secret_capture.problems(ENOUGH, {"only-one-secret"}) == [
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
