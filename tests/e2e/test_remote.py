"""Remote mode: the installed CLI against a real `pixyproxy serve` on loopback (SQLite and
MariaDB behind it): the access matrix of local mode repeated over HTTP, login and logout
with a token in the keyring, revoke, expiry, TLS with a certificate made in the test, the
errors of a server that is not there or not pixyproxy, and 8 parallel remote generates."""

from __future__ import annotations

import http.server
import itertools
import json
import os
import ssl
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import settings_environment
from tests.helpers import EXECUTABLE, add_user, free_port, running_server

PASSWORDS = {"alice": "alice's long password", "bob": "bob's long password"}
MISSING = "0b4e28ba-2fa1-11d2-883f-0016d3cca427"
REPOSITORY = Path(__file__).resolve().parents[2]


class Remote:
    """A running server and, per user, a client machine of its own (config, keyring)."""

    def __init__(self, base_url: str, tmp_path: Path, server_env: dict[str, str]) -> None:
        self.base_url = base_url
        self.tmp_path = tmp_path
        self.server_env = server_env
        self.tokens: dict[str, str] = {}

    def run(self, *args: str, user: str | None = None, stdin: str | None = None, **extra: str):
        home = self.tmp_path / f"client-{user or 'anonymous'}"
        return run_client(home, *args, stdin=stdin, timeout=120, **extra)

    def login(self, user: str) -> subprocess.CompletedProcess[str]:
        return self.run(
            "login",
            "--server",
            self.base_url,
            "-u",
            user,
            "--password-stdin",
            user=user,
            stdin=PASSWORDS[user],
        )


@pytest.fixture
def remote(backend_settings, tmp_path):
    env = {**os.environ, **settings_environment(backend_settings), "IMAGE_SIZE": "64x64"}
    env.pop("OPENAI_API_KEY", None)
    env["GENERATE_RATE_LIMIT"] = "0"
    for name, password in PASSWORDS.items():
        add_user(env, name, password)
    with running_server(env, tmp_path / "serve.log") as (base_url, _):
        world = Remote(base_url, tmp_path, env)
        for name in PASSWORDS:
            logged_in = world.login(name)
            assert logged_in.returncode == 0, logged_in.stderr
        yield world


def test_login_keeps_a_token_in_the_keyring_and_makes_the_server_the_default(remote):
    keyring = json.loads((remote.tmp_path / "client-alice" / "keyring.json").read_text())
    servers = json.loads((remote.tmp_path / "client-alice" / "config" / "servers.json").read_text())
    who = remote.run("whoami", "--json", user="alice")

    [(service, token)] = [(key, value) for key, value in keyring.items()]
    assert service == f"pixyproxy:{remote.base_url} alice" or remote.base_url in service
    assert token.startswith("pxy_")
    assert servers["default"] == remote.base_url
    assert servers["servers"][remote.base_url]["username"] == "alice"
    assert PASSWORDS["alice"] not in json.dumps(keyring) + json.dumps(servers)
    assert json.loads(who.stdout) == {
        "server": remote.base_url,
        "username": "alice",
        "class_key": "k",
        "token_id": servers["servers"][remote.base_url]["token_id"],
        "source": "the keyring (tests.keyring_backends.FileKeyring)",
    }


def test_generate_show_list_fetch_and_rm_remotely_print_what_local_mode_prints(remote):
    made = remote.run("generate", "a remote lighthouse", "--json", user="alice")
    image = json.loads(made.stdout)
    shown = remote.run("show", image["guid"], "--json", user="alice")
    listed = remote.run("list", "--json", "--search", "lighthouse", user="alice")
    target = remote.tmp_path / "fetched.png"
    fetched = remote.run("fetch", image["guid"], "-o", str(target), user="alice")
    server_file = Path(remote.server_env["PIXYPROXY_DATA_DIR"]) / "images" / f"{image['guid']}.png"
    same_bytes = target.read_bytes() == server_file.read_bytes()
    removed = remote.run("rm", "--yes", image["guid"], user="alice")
    gone = remote.run("show", image["guid"], user="alice")

    assert made.returncode == 0, made.stderr
    assert image["file"] is None  # the file stays on the server
    assert image["owner"] == "alice"
    assert json.loads(shown.stdout) == {key: value for key, value in image.items() if key != "file"}
    assert [item["guid"] for item in json.loads(listed.stdout)] == [image["guid"]]
    assert fetched.returncode == 0, fetched.stderr
    assert same_bytes
    assert not server_file.exists()
    assert (removed.returncode, removed.stdout) == (0, f"Deleted {image['guid']}\n")
    assert (gone.returncode, gone.stderr) == (3, f"Error: No image with GUID {image['guid']}\n")


VIEWERS = ["alice", "bob", None]
ACTIONS = ["show", "list", "fetch", "rm", "edit"]


CASES = list(itertools.product(VIEWERS, ["public", "private"], ACTIONS))


def test_the_access_matrix_holds_remotely(remote, subtests):
    """Every case of local mode's matrix, against one server (a subtest each).

    The cases that only read (or edit, which makes a new image) share one public and one
    private image of alice's; each rm has an image of its own.
    """
    shared = {visibility: alices(remote, visibility) for visibility in ("public", "private")}
    for viewer, visibility, action in CASES:
        with subtests.test(viewer=viewer or "anonymous", visibility=visibility, action=action):
            image = alices(remote, visibility) if action == "rm" else shared[visibility]
            check_access(remote, viewer, visibility, action, image)


def alices(remote, visibility):
    """A new image of alice's, public or private, as ``generate --json`` prints it."""
    flags = ["--private"] if visibility == "private" else []
    made = remote.run("generate", f"alice {visibility}", "--json", *flags, user="alice")
    assert made.returncode == 0, made.stderr
    return json.loads(made.stdout)


def check_access(remote, viewer, visibility, action, image):
    env = {} if viewer else {"PIXYPROXY_SERVER": remote.base_url}
    target = remote.tmp_path / f"{viewer}-{visibility}-{action}.png"

    def act(guid):
        args = {
            "show": ["show", guid, "--json"],
            "list": ["list", "--json"],
            "fetch": ["fetch", guid, "-o", str(target)],
            "rm": ["rm", "--yes", guid],
            "edit": ["edit", "the same at night", "-i", guid, "--json"],
        }[action]
        return remote.run(*args, user=viewer, **env)

    result = act(image["guid"])
    may_read = visibility == "public" or viewer == "alice"
    if action == "list":
        assert result.returncode == 0, result.stderr
        assert (image["guid"] in [i["guid"] for i in json.loads(result.stdout)]) is may_read
        return
    if action == "rm":
        if viewer == "alice":
            assert (result.returncode, result.stdout) == (0, f"Deleted {image['guid']}\n")
        elif visibility == "private":
            absent = act(MISSING)
            assert result.returncode == absent.returncode == 3
            assert result.stderr == absent.stderr.replace(MISSING, image["guid"])
        elif viewer == "bob":
            assert (result.returncode, result.stderr) == (
                8,
                f"Error: Image {image['guid']} belongs to alice: only its owner may delete it\n",
            )
        else:
            assert (result.returncode, result.stderr) == (
                4,
                f"Error: Log in as the owner of image {image['guid']} to delete it\n",
            )
        return
    if may_read:
        assert result.returncode == 0, result.stderr
        if action == "edit":
            edited = json.loads(result.stdout)
            assert edited[0]["parents"] if isinstance(edited, list) else edited["parents"]
        return
    absent = act(MISSING)
    assert result.returncode == absent.returncode == 3
    assert result.stderr == absent.stderr.replace(MISSING, image["guid"])
    assert not target.exists()


def test_logout_revokes_the_token_on_the_server(remote):
    servers = remote.tmp_path / "client-alice" / "config" / "servers.json"
    token = next(
        iter(json.loads((remote.tmp_path / "client-alice" / "keyring.json").read_text()).values())
    )

    logged_out = remote.run("logout", user="alice")
    refused = httpx.get(
        f"{remote.base_url}/image?mine=true", headers={"Authorization": f"Bearer {token}"}
    )

    assert logged_out.stdout == f"Logged out alice from {remote.base_url}\n"
    assert refused.status_code == 401
    assert json.loads(servers.read_text())["servers"] == {}
    assert remote.run("whoami", user="alice").returncode == 4  # now local, and nobody


def test_a_token_revoked_elsewhere_is_one_clear_error(remote):
    token = next(
        iter(json.loads((remote.tmp_path / "client-bob" / "keyring.json").read_text()).values())
    )
    token_id = token[4:20]
    httpx.delete(
        f"{remote.base_url}/token/{token_id}", headers={"Authorization": f"Bearer {token}"}
    )

    result = remote.run("list", "--mine", user="bob")

    assert (result.returncode, result.stderr) == (
        4,
        "Error: The API token is not valid (revoked, expired, or never issued): log in again\n",
    )


def test_pixyproxy_token_overrides_the_keyring(remote):
    issued = httpx.post(
        f"{remote.base_url}/token", auth=("bob", PASSWORDS["bob"]), json={"label": "ci"}
    ).json()

    who = remote.run(
        "whoami", user=None, PIXYPROXY_SERVER=remote.base_url, PIXYPROXY_TOKEN=issued["token"]
    )

    assert who.returncode == 0, who.stderr
    assert who.stdout.startswith(f"bob (class k) on {remote.base_url}; token {issued['id']}")
    assert "the environment (PIXYPROXY_TOKEN)" in who.stdout


def test_admin_commands_stay_local_and_say_so(remote):
    result = remote.run("user", "list", user="alice")

    assert result.returncode == 0
    assert result.stdout == ""  # the client's own (empty) roster, not the server's
    assert (
        result.stderr
        == f"Notice: user works on this machine's database, not on {remote.base_url}\n"
    )


def test_eight_parallel_remote_generates(remote):
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(
                lambda n: remote.run("generate", f"parallel {n}", "--json", user="alice"),
                range(8),
            )
        )

    assert [result.returncode for result in results] == [0] * 8, [r.stderr for r in results]
    guids = {json.loads(result.stdout)["guid"] for result in results}
    listed = json.loads(remote.run("list", "--json", "--mine", user="alice").stdout)
    assert guids <= {item["guid"] for item in listed}
    assert len(guids) == 8


# -- the transport -------------------------------------------------------------------------


def run_client(
    home: Path, *args: str, stdin: str | None = None, timeout: float = 60, **extra: str
) -> subprocess.CompletedProcess[str]:
    """The installed CLI as a client machine of its own in ``home`` (config, data, keyring),
    with none of this machine's pixyproxy, database or OpenAI settings."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIXYPROXY_", "DB_", "OPENAI_"))
    }
    env.update(
        PIXYPROXY_CONFIG_DIR=str(home / "config"),
        PIXYPROXY_DATA_DIR=str(home / "data"),  # the client's own, never used remotely
        PYTHON_KEYRING_BACKEND="tests.keyring_backends.FileKeyring",
        TEST_KEYRING_FILE=str(home / "keyring.json"),
        PYTHONPATH=str(REPOSITORY),
        **extra,
    )
    return subprocess.run(
        [str(EXECUTABLE), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_an_unreachable_server_is_one_line(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"

    result = run_client(tmp_path, "list", "--server", url)

    assert result.returncode == 5
    assert result.stderr.startswith(f"Error: Cannot reach the pixyproxy server at {url}: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_a_server_that_is_not_pixyproxy_is_one_line(tmp_path):
    class NotPixyproxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<h1>nothing here</h1>")

        def log_message(self, *args: object) -> None:
            pass

    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotPixyproxy)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{other.server_address[1]}"
    try:
        result = run_client(tmp_path, "--server", url, "show", MISSING)
    finally:
        other.shutdown()

    assert (result.returncode, result.stderr) == (
        5,
        f"Error: {url} did not answer as a pixyproxy server (HTTP 404, text/html)\n",
    )


def test_a_silent_server_times_out_in_one_line(tmp_path):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections, never answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        result = run_client(tmp_path, "--server", url, "list", PIXYPROXY_TIMEOUT="1")
    finally:
        listener.close()

    assert (result.returncode, result.stderr) == (
        5,
        f"Error: The pixyproxy server at {url} did not answer within 1 s "
        "(PIXYPROXY_TIMEOUT sets the wait)\n",
    )


def test_credentials_never_go_over_plain_http_to_another_machine(tmp_path):
    result = run_client(
        tmp_path,
        "--server",
        "http://pixyproxy.example.org",
        "list",
        PIXYPROXY_TOKEN="pxy_0123456789abcdef_" + "A" * 43,
    )

    assert (result.returncode, result.stderr) == (
        1,
        "Error: Refusing to send credentials over plain HTTP to http://pixyproxy.example.org: "
        "use https:// (pixyproxy serve --ssl-certfile/--ssl-keyfile), or a loopback address\n",
    )


def test_tls_with_a_certificate_made_here(sqlite_settings, tmp_path):
    import trustme

    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile, bundle = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    authority.cert_pem.write_to_path(str(bundle))
    env = {**os.environ, **settings_environment(sqlite_settings)}
    env.pop("OPENAI_API_KEY", None)
    add_user(env, "alice", PASSWORDS["alice"])
    trust = ssl.create_default_context(cafile=str(bundle))
    tls_files = ("--ssl-certfile", str(certfile), "--ssl-keyfile", str(keyfile))
    with running_server(env, tmp_path / "serve.log", *tls_files, tls=trust) as (url, _):
        untrusted = run_client(tmp_path / "a", "--server", url, "list")
        login = run_client(
            tmp_path / "b",
            *("login", "--server", url, "-u", "alice", "--password-stdin"),
            stdin=PASSWORDS["alice"],
            PIXYPROXY_CA_BUNDLE=str(bundle),
        )
        trusted = run_client(
            tmp_path / "b", "generate", "over tls", "--json", PIXYPROXY_CA_BUNDLE=str(bundle)
        )

    assert untrusted.returncode == 5
    assert untrusted.stderr.startswith(f"Error: The TLS certificate of {url} is not trusted (")
    assert untrusted.stderr.endswith("set PIXYPROXY_CA_BUNDLE to the CA that signed it\n")
    assert login.returncode == 0, login.stderr
    assert trusted.returncode == 0, trusted.stderr
    assert json.loads(trusted.stdout)["owner"] == "alice"


def test_an_expired_token_is_one_clear_error(sqlite_settings, tmp_path):
    env = {**os.environ, **settings_environment(sqlite_settings), "TOKEN_LIFETIME_DAYS": "0.00002"}
    env.pop("OPENAI_API_KEY", None)
    add_user(env, "alice", PASSWORDS["alice"])
    with running_server(env, tmp_path / "serve.log") as (base_url, _):
        world = Remote(base_url, tmp_path, env)
        assert world.login("alice").returncode == 0
        import time

        time.sleep(2.5)  # the token lived 1.7 s
        expired = world.run("list", "--mine", user="alice")

    assert (expired.returncode, expired.stderr) == (
        4,
        "Error: The API token is not valid (revoked, expired, or never issued): log in again\n",
    )


def test_remote_generate_to_a_file_and_edit_of_a_local_file(remote):
    target = remote.tmp_path / "made.png"
    made = remote.run("generate", "a fox", "-o", str(target), "--json", user="alice")
    edited = remote.run("edit", "the fox at night", "-i", str(target), "--json", user="alice")
    sized = remote.run("generate", "a wide fox", "--size", "96x64", "--json", user="alice")

    assert made.returncode == 0, made.stderr
    image = json.loads(made.stdout)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert edited.returncode == 0, edited.stderr
    assert json.loads(edited.stdout)["parents"] == [None]  # a local file, uploaded
    assert (json.loads(sized.stdout)["width"], json.loads(sized.stdout)["height"]) == (96, 64)
    assert image["owner"] == "alice"


def test_flags_that_pick_this_machines_settings_are_refused_with_a_server(remote):
    result = remote.run("generate", "x", "--model", "gpt-image-1", user="alice")

    assert result.returncode == 2
    assert result.stderr == (
        f"Error: --model chooses this machine's settings; with a server ({remote.base_url}) "
        "its own apply (or use --local)\n"
    )


def test_usage_and_models_ask_the_server(remote):
    remote.run("generate", "counted", user="alice")

    usage = remote.run("usage", "--json", "--by", "user", user="alice")
    models = remote.run("models", "--json", user="alice")

    assert usage.returncode == 0, usage.stderr
    [line] = json.loads(usage.stdout)
    assert (line["key"], line["images"]) == ("alice", 1)  # her own images, not the server's all
    assert models.returncode == 0, models.stderr
    assert json.loads(models.stdout) == []  # the server has no OpenAI key
    assert "OPENAI_API_KEY is not set" in models.stderr


def test_logout_from_a_server_that_is_gone_forgets_the_token_and_says_so(sqlite_settings, tmp_path):
    env = {**os.environ, **settings_environment(sqlite_settings)}
    env.pop("OPENAI_API_KEY", None)
    add_user(env, "alice", PASSWORDS["alice"])
    with running_server(env, tmp_path / "serve.log") as (base_url, _):
        world = Remote(base_url, tmp_path, env)
        assert world.login("alice").returncode == 0
        token_id = json.loads((tmp_path / "client-alice" / "config" / "servers.json").read_text())[
            "servers"
        ][base_url]["token_id"]
    # The server has stopped.
    result = world.run("logout", user="alice")

    assert (result.returncode, result.stdout) == (0, f"Logged out alice from {base_url}\n")
    assert result.stderr.startswith(
        "Warning: the token could not be revoked on the server (Cannot reach the pixyproxy "
        f"server at {base_url}: "
    )
    assert result.stderr.endswith(
        f"it stays valid there until it expires, or until DELETE /token/{token_id}\n"
    )
    assert json.loads((tmp_path / "client-alice" / "keyring.json").read_text()) == {}


def test_jobs_list_show_and_cancel_remotely_print_what_local_mode_prints(sqlite_settings, tmp_path):
    # No job workers: the jobs stay queued until cancelled.
    env = {**os.environ, **settings_environment(sqlite_settings), "JOB_WORKERS": "0"}
    env.pop("OPENAI_API_KEY", None)
    for name, password in PASSWORDS.items():
        add_user(env, name, password)
    with running_server(env, tmp_path / "serve.log") as (base_url, _):
        world = Remote(base_url, tmp_path, env)
        for name in PASSWORDS:
            assert world.login(name).returncode == 0
        token = httpx.post(f"{base_url}/token", auth=("alice", PASSWORDS["alice"])).json()
        queued = httpx.post(
            f"{base_url}/jobs",
            json={"requests": [{"prompt": "one"}, {"prompt": "two", "n": 2}, {"prompt": "3"}]},
            headers={"Authorization": f"Bearer {token['token']}"},
        ).json()
        batch, first = queued["batch"], queued["jobs"][0]["job"]

        as_alice = {**env, "PIXYPROXY_USERNAME": "alice", "PIXYPROXY_PASSWORD": PASSWORDS["alice"]}

        def local(*args: str) -> subprocess.CompletedProcess[str]:
            """Alice on the server's machine, in local mode."""
            return subprocess.run(
                [str(EXECUTABLE), *args], env=as_alice, capture_output=True, text=True, timeout=60
            )

        listed = world.run("jobs", "list", "--json", user="alice")
        by_batch = world.run("jobs", "list", "--batch", batch, user="alice")
        shown = world.run("jobs", "show", first, "--json", user="alice")
        hidden = world.run("jobs", "show", first, user="bob")
        anonymous = world.run("--server", base_url, "jobs", "list", user=None)
        too_many = world.run("jobs", "list", "--limit", "1001", user="alice")
        local_listed = local("jobs", "list", "--json")
        local_by_batch = local("jobs", "list", "--batch", batch)
        local_shown = local("jobs", "show", first, "--json")
        cancelled = world.run("jobs", "cancel", first, user="alice")
        again = world.run("jobs", "cancel", first, user="alice")
        by_bob = world.run("jobs", "cancel", "--batch", batch, user="bob")
        rest = world.run("jobs", "cancel", "--batch", batch, "--json", user="alice")
        states = [job["state"] for job in json.loads(local("jobs", "list", "--json").stdout)]

    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == json.loads(local_listed.stdout)
    assert by_batch.stdout == local_by_batch.stdout
    assert len(by_batch.stdout.splitlines()) == 3
    assert shown.stdout == local_shown.stdout
    assert (hidden.returncode, hidden.stderr) == (3, f"Error: No job with GUID {first}\n")
    assert (anonymous.returncode, anonymous.stderr) == (
        4,
        "Error: Authentication required to list your jobs (or name a batch)\n",
    )
    assert (too_many.returncode, too_many.stderr) == (
        2,
        "Error: a server lists at most 1,000 jobs at once: --limit 1000 or fewer (or use "
        "--local on the machine with the database)\n",
    )
    assert (cancelled.returncode, cancelled.stderr) == (0, "Cancelled 1 job(s)\n")
    assert (again.returncode, again.stderr) == (0, "Cancelled 0 job(s)\n")
    assert (by_bob.returncode, by_bob.stderr) == (0, "Cancelled 0 job(s)\n")
    assert (rest.returncode, json.loads(rest.stdout)) == (0, {"cancelled": 2})
    assert states == ["cancelled"] * 3


def test_generate_from_a_file_queues_it_on_the_server_and_watches_it_end(remote):
    prompts = remote.tmp_path / "prompts.txt"
    refused = remote.tmp_path / "refused.txt"
    many = remote.tmp_path / "many.txt"
    prompts.write_text('a lighthouse\n\n{"prompt": "two foxes", "n": 2, "private": true}\nowl\n')
    refused.write_text('a lighthouse\n\n\n{"prompt": "too wide", "size": "16x4000"}\n')
    many.write_text("".join(f"prompt {n}\n" for n in range(101)))

    bad = remote.run("generate", "--from", str(refused), user="alice")
    too_many = remote.run("generate", "--from", str(many), user="alice")
    batch_api = remote.run("generate", "--from", str(prompts), "--batch", user="alice")
    nothing_queued = remote.run("jobs", "list", "--json", user="alice")
    made = remote.run("generate", "--from", str(prompts), "--json", user="alice")
    printed = [json.loads(line) for line in made.stdout.splitlines()]
    batch = printed[0]["batch"] if printed else MISSING
    listed = remote.run("jobs", "list", "--batch", batch, "--json", user="alice")
    second = next((job for job in printed if job["line"] == 2), {"images": [MISSING]})
    private = remote.run("show", second["images"][0], user="bob")

    assert (bad.returncode, bad.stderr) == (
        2,
        f"Error: {refused}: the server refused the list: line 4, size: size 16x4000 is larger "
        "than the API makes: at most 3840x2160 (or portrait)\n",
    )
    assert (too_many.returncode, too_many.stderr) == (
        2,
        f"Error: {many}: a server queues at most 100 prompts in one list, not 101: split the "
        "file, or use --local on the machine with the database\n",
    )
    assert batch_api.returncode == 2
    assert batch_api.stderr.startswith("Error: --batch sends a list to the provider's Batch API")
    assert json.loads(nothing_queued.stdout) == []
    assert made.returncode == 0, made.stderr
    assert made.stderr.startswith(f"Queued 3 prompt(s) as batch {batch} on {remote.base_url}\n")
    assert f"Batch {batch}: 3 done, in " in made.stderr
    assert sorted(job["line"] for job in printed) == [1, 2, 3]
    assert {job["state"] for job in printed} == {"done"}
    assert [len(job["images"]) for job in sorted(printed, key=lambda job: job["line"])] == [1, 2, 1]
    assert sorted(printed, key=lambda job: job["line"]) == json.loads(listed.stdout)
    assert private.returncode == 3  # line 2 asked for private images: bob cannot see them
