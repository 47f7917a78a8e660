"""End to end: the installed ``pixyproxy`` executable, in subprocesses, on both backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pixyproxy_cli.data.db.schema import latest_version
from tests.conftest import settings_environment
from tests.helpers import EXECUTABLE

E2E_PASSWORD = "a password for the e2e test"


@pytest.fixture
def pixyproxy(backend_settings, tmp_path):
    if not EXECUTABLE.exists():
        pytest.fail(f"{EXECUTABLE} is missing: install the project (pip install -e '.[test]')")
    env = {**os.environ, **settings_environment(backend_settings)}
    env.pop("OPENAI_API_KEY", None)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        completed = subprocess.run(
            [str(EXECUTABLE), *args], capture_output=True, env=env, cwd=tmp_path, timeout=120
        )
        if check and completed.returncode != 0:
            raise AssertionError(completed.stderr.decode())
        return completed

    run.settings = backend_settings
    return run


def test_generate_list_show_fetch_round_trip(pixyproxy, tmp_path):
    made = json.loads(pixyproxy("generate", "a lighthouse at dawn 🌅", "--json").stdout)
    listed = json.loads(pixyproxy("list", "--json").stdout)
    shown = json.loads(pixyproxy("show", made["guid"], "--json").stdout)
    pixyproxy("fetch", made["guid"], "-o", "fetched.png")
    piped = pixyproxy("fetch", made["guid"], "-o", "-").stdout

    stored = Path(made["file"]).read_bytes()
    assert Path(made["file"]).parent == pixyproxy.settings.image_dir
    assert [item["guid"] for item in listed] == [made["guid"]]
    assert shown["prompt"] == "a lighthouse at dawn 🌅"
    assert shown == {key: value for key, value in made.items() if key != "file"}
    assert listed == [shown]  # the listing's raw-row JSON writer agrees with the models
    assert (tmp_path / "fetched.png").read_bytes() == stored
    assert piped == stored
    assert stored.startswith(b"\x89PNG\r\n\x1a\n")


def test_list_json_is_the_same_bytes_as_each_images_model_json(pixyproxy):
    # The installed command uses mysql-connector's C extension on MariaDB: its raw rows go
    # through data/db/public_json.py, which must write what pydantic writes for the model.
    prompts = ['a sign saying "open"', "two\nlines\tand a tab", "back\\slash é 🦊", "plain"]
    for prompt in prompts:
        pixyproxy("generate", prompt)

    listed = pixyproxy("list", "--json").stdout
    lines = [line.removesuffix(b",") for line in listed.splitlines()[1:-1]]
    guids = [json.loads(line)["guid"] for line in lines]
    shown = [json.loads(pixyproxy("show", guid, "--json").stdout) for guid in guids]

    assert [item["prompt"] for item in shown] == prompts
    assert json.loads(listed) == shown
    assert lines == [
        json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode() for item in shown
    ]


def test_errors_from_the_installed_command(pixyproxy):
    # A database with its schema: on MySQL a reading command creates nothing, and under
    # xdist this may be the first test of its worker's database.
    pixyproxy("db", "init")
    missing = pixyproxy("show", "0b4e28ba-2fa1-11d2-883f-0016d3cca427", check=False)
    empty = pixyproxy("generate", " ", check=False)

    assert missing.returncode == 3
    assert missing.stderr == b"Error: No image with GUID 0b4e28ba-2fa1-11d2-883f-0016d3cca427\n"
    assert empty.returncode == 2
    assert empty.stderr.endswith(b"Error: prompt must not be empty\n")
    assert b"Traceback" not in missing.stderr + empty.stderr


def test_the_installed_command_uses_the_fast_driver(pixyproxy):
    status = json.loads(pixyproxy("db", "init", "--json").stdout)

    assert status["schema_version"] == latest_version(pixyproxy.settings.db_backend)
    if pixyproxy.settings.db_backend == "mysql":
        assert status["driver"].endswith("(C extension)")
    else:
        assert status["driver"].startswith("sqlite3")


def test_login_and_private_images_across_processes(backend_settings, tmp_path):
    """Each command is its own process: the login must persist in the keyring between them."""
    env = {
        **os.environ,
        **settings_environment(backend_settings),
        "PYTHON_KEYRING_BACKEND": "tests.keyring_backends.FileKeyring",
        "TEST_KEYRING_FILE": str(tmp_path / "keyring.json"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    env.pop("OPENAI_API_KEY", None)

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(EXECUTABLE), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )

    password = E2E_PASSWORD
    added = run("user", "add", "erin", "--class-key", "k", "--password-stdin", stdin=password)
    assert added.returncode == 0, added.stderr
    assert run("login", "-u", "erin", "--password-stdin", stdin=password).returncode == 0
    who = run("whoami")
    made = json.loads(run("generate", "erin's secret", "--private", "--json").stdout)
    mine = json.loads(run("list", "--json").stdout)
    assert run("logout").stdout == "Logged out erin\n"
    anonymous = json.loads(run("list", "--json").stdout)
    hidden = run("show", made["guid"])

    assert who.stdout.startswith("erin (class k); credentials from the keyring (")
    assert [item["guid"] for item in mine] == [made["guid"]]
    assert anonymous == []
    assert hidden.returncode == 3
    assert json.loads((tmp_path / "keyring.json").read_text()) == {}


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the pty's other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_progress_shows_only_when_stderr_is_a_terminal(fake_openai, tmp_path):
    """A slow provider: on a terminal, stderr shows the progress of a streamed request; in a
    pipe, nothing but data (and no stream)."""
    import pty

    from tests.openai_server import image_answer

    env = {
        **os.environ,
        "PIXYPROXY_DATA_DIR": str(tmp_path / "data"),
        "OPENAI_API_KEY": "sk-spinner-test-key",
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_MAX_RETRIES": "0",
        "TERM": "xterm",
    }
    env.pop("NO_COLOR", None)
    slow = image_answer()
    slow.delay = 1.0
    slow.event_delay = 0.5
    fake_openai.script(slow, slow)

    primary, secondary = pty.openpty()
    on_terminal = subprocess.run(
        [str(EXECUTABLE), "generate", "a slow fox"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=secondary,
        timeout=60,
    )
    os.close(secondary)
    terminal_text = read_all(primary).decode(errors="replace")
    os.close(primary)
    piped = subprocess.run(
        [str(EXECUTABLE), "generate", "a slow fox"],
        env=env,
        capture_output=True,
        timeout=60,
    )

    assert on_terminal.returncode == piped.returncode == 0
    assert "Generating image" in terminal_text
    # On a terminal the image is streamed, and each partial image is shown as it arrives.
    assert "Generating image… partial image 1 of 2 received" in terminal_text
    streamed, whole = (request["body"] for request in fake_openai.requests)
    assert (streamed["stream"], streamed["partial_images"]) == (True, 2)
    assert "stream" not in whole
    assert b"Generating image" not in piped.stderr
    assert piped.stderr == b""
    assert b"GUID" in on_terminal.stdout
    assert b"GUID" in piped.stdout


def list_on_a_terminal(env: dict[str, str]) -> str:
    import pty

    primary, secondary = pty.openpty()
    result = subprocess.run(
        [str(EXECUTABLE), "list"], env=env, stdout=secondary, stderr=subprocess.PIPE, timeout=60
    )
    os.close(secondary)
    text = read_all(primary).decode(errors="replace")
    os.close(primary)
    assert result.returncode == 0, result.stderr
    return text


def test_no_color_drops_every_style_bold_included(tmp_path):
    env = {**os.environ, "PIXYPROXY_DATA_DIR": str(tmp_path / "data"), "TERM": "xterm"}
    for variable in ("NO_COLOR", "OPENAI_API_KEY", "FORCE_COLOR"):
        env.pop(variable, None)
    subprocess.run([str(EXECUTABLE), "generate", "a fox"], env=env, check=True, capture_output=True)

    styled = list_on_a_terminal(env)
    plain = list_on_a_terminal({**env, "NO_COLOR": "1"})

    assert "\x1b[1m" in styled  # the table's header is bold on a terminal...
    assert "GUID" in plain
    assert "\x1b[" not in plain  # ...and NO_COLOR means no escape sequence at all


def test_python_dash_m_runs_the_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pixyproxy_cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pixyproxy ")


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        ("no_such_package.Keyring", "No module named 'no_such_package'"),
        ("keyring.backends.null.NoSuchKeyring", "module 'keyring.backends.null' has no attribute"),
    ],
    ids=["missing module", "missing class"],
)
def test_a_keyring_backend_that_cannot_be_loaded_is_one_clear_error(tmp_path, backend, reason):
    env = {**os.environ, "PIXYPROXY_CONFIG_DIR": str(tmp_path), "PYTHON_KEYRING_BACKEND": backend}
    env.pop("PIXYPROXY_USERNAME", None)
    env.pop("PIXYPROXY_PASSWORD", None)
    result = subprocess.run(
        [str(EXECUTABLE), "key", "list"], capture_output=True, text=True, env=env, timeout=60
    )

    assert result.returncode == 1
    assert result.stderr.startswith(
        f"Error: The keyring backend that PYTHON_KEYRING_BACKEND names ({backend}) cannot be "
        f"loaded: {reason}"
    )
    assert result.stderr.endswith(
        "; install it, or name another backend in PYTHON_KEYRING_BACKEND\n"
    )
