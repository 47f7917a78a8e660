"""Users, login in the keyring, and private images, through the CLI."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail, null
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from pixyproxy_cli.core.settings import load_settings
from pixyproxy_cli.data.keyring_stores.credentials import WAYS_OUT
from pixyproxy_cli.service.init import open_services

runner = CliRunner()
PASSWORD = "correct horse battery staple"
OTHER_PASSWORD = "tr0ub4dor&3-other"


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    return runner.invoke(app, list(args), env=env, input=input, catch_exceptions=False)


def add_user(name: str = "alice", password: str = PASSWORD) -> None:
    result = run(
        "user", "add", name, "--class-key", "staff", "--password-stdin", input=password + "\n"
    )
    assert result.exit_code == 0, result.stderr


def login(name: str = "alice", password: str = PASSWORD):
    return run("login", "-u", name, "--password-stdin", input=password + "\n")


def session_file(isolated_environment):
    return isolated_environment / "home" / ".config" / "pixyproxy" / "session.json"


# -- the roster --------------------------------------------------------------------------


def test_user_add_stores_an_argon2id_hash():
    result = run(
        "user", "add", "alice", "--class-key", "staff", "--password-stdin", input=PASSWORD + "\n"
    )

    assert (result.exit_code, result.stdout) == (0, "Added user alice (class staff)\n")
    services = open_services()
    try:
        from pixyproxy_cli.data.db.context import DatabaseContext

        with DatabaseContext(services.database) as db:  # the repository: what is stored
            db.begin_transaction()
            stored = db.users.authenticate_user("alice")
            db.commit_transaction()
    finally:
        services.close()
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


def test_user_add_asks_for_the_password_twice(monkeypatch):
    monkeypatch.setattr("pixyproxy_cli.commands.output.can_ask", lambda: True)

    result = run("user", "add", "bob", "--class-key", "k", input=f"{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 0
    assert result.stdout.count("Password") == 1
    assert "Repeat for confirmation" in result.stdout
    assert PASSWORD not in result.stdout


def test_user_add_errors():
    add_user()

    duplicate = run(
        "user", "add", "alice", "--class-key", "k", "--password-stdin", input=PASSWORD + "\n"
    )
    short = run("user", "add", "carol", "--class-key", "k", "--password-stdin", input="short\n")
    empty = run("user", "add", "carol", "--class-key", "k", "--password-stdin", input="")
    bad_name = run(
        "user", "add", "no spaces", "--class-key", "k", "--password-stdin", input=PASSWORD + "\n"
    )

    assert (duplicate.exit_code, duplicate.stderr) == (7, "Error: User alice already exists\n")
    assert (short.exit_code, short.stderr) == (
        2,
        "Error: password must be at least 8 characters\n",
    )
    assert (empty.exit_code, empty.stderr) == (2, "Error: no password on standard input\n")
    assert bad_name.exit_code == 2
    assert bad_name.stderr.startswith("Error: username must be 1-64 characters")


def test_a_name_in_another_case_is_taken():
    add_user("alice")

    for other in ("Alice", "ALICE"):
        refused = run(
            "user", "add", other, "--class-key", "k", "--password-stdin", input=PASSWORD + "\n"
        )

        assert (refused.exit_code, refused.stderr) == (
            7,
            "Error: User alice already exists, and user names are unique regardless of case: "
            f"choose another name than {other}\n",
        )
    assert json.loads(run("user", "list", "--json").stdout) == [
        {"username": "alice", "class_key": "staff"}
    ]


def test_doctor_names_users_whose_names_clash_in_case(isolated_environment):
    import sqlite3

    add_user("bob")
    add_user("carol")
    # As an upgrade from before version 9 leaves two names that differ only in case.
    path = load_settings().sqlite_path
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO roster (username, password_hash, class_key, created_at, updated_at) "
            "SELECT 'BOB', password_hash, class_key, created_at, updated_at FROM roster "
            "WHERE username = 'bob'"
        )
    connection.close()

    doctor = run("doctor")
    clean = run("user", "remove", "BOB")
    after = run("doctor", "--json")

    assert doctor.exit_code == 0  # a warning
    assert (
        "warn  user names: 1 name(s) are held by more than one user in different cases, made "
        "before names were unique regardless of case: bob and BOB\n"
        "      fix: keep the first of each; for the others: pixyproxy user remove NAME (with "
        "--delete-images, or after moving their images); no new clash can be made\n"
    ) in doctor.stdout
    assert clean.exit_code == 0
    checks = {check["name"]: check for check in json.loads(after.stdout)}
    assert checks["user names"] == {
        "name": "user names",
        "status": "ok",
        "detail": "unique regardless of case",
        "fix": None,
    }


def test_user_list_passwd_and_remove():
    add_user("alice")
    add_user("bob")

    assert run("user", "list").stdout == "alice\tstaff\nbob\tstaff\n"
    assert json.loads(run("user", "list", "--json").stdout) == [
        {"username": "alice", "class_key": "staff"},
        {"username": "bob", "class_key": "staff"},
    ]
    changed = run("user", "passwd", "bob", "--password-stdin", input=OTHER_PASSWORD + "\n")
    assert (changed.exit_code, changed.stdout) == (
        0,
        "Changed the password of bob and revoked 0 API tokens\n",
    )
    assert login("bob", PASSWORD).exit_code == 4
    assert login("bob", OTHER_PASSWORD).exit_code == 0
    removed = run("user", "remove", "alice")
    assert (removed.exit_code, removed.stdout) == (0, "Removed user alice\n")
    missing = run("user", "remove", "alice")
    assert (missing.exit_code, missing.stderr) == (3, "Error: No user named alice\n")
    by_rm = run("user", "rm", "bob")  # rm, as the top-level command is named
    assert (by_rm.exit_code, by_rm.stdout) == (0, "Removed user bob\n")
    assert " rm " not in run("user", "--help").stdout  # the alias is not listed twice


def test_a_user_who_owns_images_cannot_be_removed():
    add_user()
    login()
    assert run("generate", "mine", "--private").exit_code == 0

    result = run("user", "remove", "alice")

    assert (result.exit_code, result.stderr) == (
        7,
        "Error: User alice still owns images; to delete them with the user: "
        "pixyproxy user remove alice --delete-images\n",
    )


# -- login, whoami, logout ---------------------------------------------------------------


def test_login_keeps_the_password_in_the_keyring_and_only_the_name_on_disk(
    memory_keyring, isolated_environment
):
    add_user()

    result = login()

    assert result.exit_code == 0
    assert result.stdout == (
        "Logged in as alice; the password is kept in the keyring "
        "(tests.keyring_backends.MemoryKeyring)\n"
    )
    assert memory_keyring.entries == {("pixyproxy", "alice"): PASSWORD}
    note = session_file(isolated_environment).read_text()
    assert json.loads(note)["username"] == "alice"
    assert PASSWORD not in note


def test_login_prompts_for_what_is_missing(memory_keyring, monkeypatch):
    add_user()
    monkeypatch.setattr("pixyproxy_cli.commands.output.can_ask", lambda: True)

    result = run("login", input=f"alice\n{PASSWORD}\n")

    assert result.exit_code == 0
    assert "Username: " in result.stdout
    assert memory_keyring.entries == {("pixyproxy", "alice"): PASSWORD}


@pytest.mark.parametrize(("name", "password"), [("alice", "wrong password"), ("nobody", PASSWORD)])
def test_bad_credentials_are_refused_alike_and_nothing_is_kept(
    memory_keyring, isolated_environment, name, password
):
    add_user()

    result = login(name, password)

    assert (result.exit_code, result.stderr) == (4, "Error: Invalid username or password\n")
    assert memory_keyring.entries == {}
    assert not session_file(isolated_environment).exists()


def test_without_a_keyring_backend_login_names_the_two_ways_out(isolated_environment):
    add_user()
    keyring.set_keyring(fail.Keyring())

    result = login()

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: Cannot keep the password: no keyring backend is available; {WAYS_OUT}\n"
    )
    assert "PIXYPROXY_USERNAME and PIXYPROXY_PASSWORD" in result.stderr
    assert not session_file(isolated_environment).exists()


def test_the_null_backend_is_detected_rather_than_trusted(isolated_environment):
    add_user()
    keyring.set_keyring(null.Keyring())

    result = login()

    assert result.exit_code == 1
    assert "the null keyring backend silently discards what is stored" in result.stderr
    assert not session_file(isolated_environment).exists()


def test_whoami_and_logout(memory_keyring, isolated_environment):
    add_user()

    assert run("whoami").exit_code == 4
    assert run("whoami").stderr == "Error: Not logged in: run pixyproxy login\n"
    login()
    who = run("whoami")
    as_json = json.loads(run("whoami", "--json").stdout)
    logged_out = run("logout")

    assert who.stdout == (
        "alice (class staff); credentials from the keyring (tests.keyring_backends.MemoryKeyring)\n"
    )
    assert as_json["username"] == "alice"
    assert logged_out.stdout == "Logged out alice\n"
    assert memory_keyring.entries == {}
    assert not session_file(isolated_environment).exists()
    assert run("logout").stdout == "Not logged in\n"
    assert run("whoami").exit_code == 4


def test_environment_credentials_take_precedence_over_the_keyring():
    add_user("alice")
    add_user("bob", OTHER_PASSWORD)
    login("alice")
    env = {"PIXYPROXY_USERNAME": "bob", "PIXYPROXY_PASSWORD": OTHER_PASSWORD}

    who = run("whoami", env=env)

    assert who.stdout == (
        "bob (class staff); credentials from the environment "
        "(PIXYPROXY_USERNAME, PIXYPROXY_PASSWORD)\n"
    )
    half = run("whoami", env={"PIXYPROXY_USERNAME": "bob"})
    assert (half.exit_code, half.stderr) == (
        4,
        "Error: Set both PIXYPROXY_USERNAME and PIXYPROXY_PASSWORD, or neither\n",
    )


def test_refused_environment_credentials_say_so_and_what_helps():
    add_user()
    env = {"PIXYPROXY_USERNAME": "alice", "PIXYPROXY_PASSWORD": "not her password"}

    result = run("list", env=env)

    assert result.exit_code == 4
    assert result.stderr == (
        "Error: PIXYPROXY_USERNAME and PIXYPROXY_PASSWORD were refused: they do not "
        "authenticate alice; correct them, or unset them\n"
    )


def test_a_plaintext_keyring_is_named_with_a_warning_where_it_writes(isolated_environment):
    from tests.keyring_backends import PlaintextKeyring

    add_user()
    backend = PlaintextKeyring(isolated_environment / "keyring_pass.cfg")
    keyring.set_keyring(backend)
    name = "tests.keyring_backends.PlaintextKeyring"
    warning = (
        f"Warning: the keyring backend {name} stores passwords unencrypted in {backend.file_path}\n"
    )

    logged_in = login()
    who = run("whoami")
    doctor = {c["name"]: c for c in json.loads(run("doctor", "--json").stdout)}

    assert logged_in.exit_code == 0
    assert warning in logged_in.stderr
    assert Path(backend.file_path).is_relative_to(isolated_environment)
    assert name in who.stdout
    assert warning in who.stderr
    assert doctor["keyring"]["status"] == "warn"
    assert doctor["keyring"]["detail"] == (
        f"{name}: stores passwords unencrypted in {backend.file_path}"
    )


def test_the_environment_works_with_no_keyring_at_all():
    add_user()
    keyring.set_keyring(fail.Keyring())
    env = {"PIXYPROXY_USERNAME": "alice", "PIXYPROXY_PASSWORD": PASSWORD}

    made = run("generate", "secret", "--private", "--json", env=env)

    assert made.exit_code == 0
    assert json.loads(made.stdout)["owner"] == "alice"


def test_stale_credentials_fail_loudly_instead_of_falling_back_to_anonymous():
    add_user()
    login()
    run("user", "passwd", "alice", "--password-stdin", input=OTHER_PASSWORD + "\n")

    result = run("list")

    assert result.exit_code == 4
    assert result.stderr == (
        "Error: The credentials of alice from the keyring "
        "(tests.keyring_backends.MemoryKeyring) are no longer valid: run pixyproxy login\n"
    )


def test_a_keyring_that_lost_the_password_says_so(memory_keyring):
    add_user()
    login()
    memory_keyring.entries.clear()

    result = run("whoami")

    assert (result.exit_code, result.stderr) == (
        4,
        "Error: The keyring no longer holds the password of alice: run pixyproxy login\n",
    )


# -- private images ----------------------------------------------------------------------


def test_generate_private_needs_a_login():
    result = run("generate", "secret", "--private")

    assert (result.exit_code, result.stderr.splitlines()[-1]) == (
        4,
        "Error: Log in to create private images",
    )
    assert run("list", "--json").stdout == "[]\n"


def test_private_images_and_the_list_filters():
    add_user("alice")
    add_user("bob", OTHER_PASSWORD)
    public = json.loads(run("generate", "anyone's", "--json").stdout)
    login("alice")
    alice_public = json.loads(run("generate", "alice public", "--json").stdout)
    alice_private = json.loads(run("generate", "alice private", "--private", "--json").stdout)

    def guids(*args, env=None):
        return [item["guid"] for item in json.loads(run("list", "--json", *args, env=env).stdout)]

    assert alice_private["private"] is True
    assert alice_private["owner"] == alice_public["owner"] == "alice"
    assert guids() == [public["guid"], alice_public["guid"], alice_private["guid"]]
    assert guids("--mine") == [alice_public["guid"], alice_private["guid"]]
    assert guids("--private") == [alice_private["guid"]]
    bob = {"PIXYPROXY_USERNAME": "bob", "PIXYPROXY_PASSWORD": OTHER_PASSWORD}
    assert guids(env=bob) == [public["guid"], alice_public["guid"]]
    assert guids("--private", env=bob) == []
    run("logout")
    assert guids() == [public["guid"], alice_public["guid"]]
    anonymous = run("list", "--private")
    assert (anonymous.exit_code, anonymous.stderr) == (
        4,
        "Error: Log in to list your private images\n",
    )
    assert run("list", "--mine").exit_code == 4


def test_no_password_appears_in_any_output_or_log_line(caplog):
    caplog.set_level(logging.DEBUG)
    outputs = []
    for args, stdin in [
        (["user", "add", "alice", "--class-key", "k", "--password-stdin"], PASSWORD),
        (["--debug", "login", "-u", "alice", "--password-stdin"], "wrong-" + PASSWORD),
        (["--debug", "login", "-u", "alice", "--password-stdin"], PASSWORD),
        (["--debug", "whoami"], None),
        (["--debug", "generate", "secret", "--private"], None),
        (["--debug", "user", "passwd", "alice", "--password-stdin"], OTHER_PASSWORD),
        (["--debug", "list"], None),
        (["--debug", "logout"], None),
    ]:
        result = run(*args, input=None if stdin is None else stdin + "\n")
        outputs.append(result.stdout + result.stderr)

    captured = "\n".join(outputs) + caplog.text
    assert "Invalid username or password" in captured  # the failing login was captured
    for secret in (PASSWORD, OTHER_PASSWORD, "wrong-" + PASSWORD):
        assert secret not in captured
    settings = load_settings()
    assert PASSWORD not in repr(settings)


def test_a_class_key_is_optional_and_its_help_says_what_it_is():
    added = run("user", "add", "carol", "--password-stdin", input=PASSWORD + "\n")
    helped = run("user", "add", "--help")

    assert (added.exit_code, added.stdout) == (0, "Added user carol (class user)\n")
    assert "it grants nothing" in " ".join(helped.stdout.split())


@pytest.mark.parametrize("command", [["login", "-u", "alice"], ["user", "add", "bob"]])
def test_a_password_is_never_asked_of_a_pipe(command):
    add_user()

    result = run(*command, input=f"{PASSWORD}\n")

    assert (result.exit_code, result.stderr) == (
        2,
        "Error: standard input is not a terminal to ask for the password on: pass "
        "--password-stdin to read it from there\n",
    )
    assert "GetPassWarning" not in result.stderr + result.stdout
