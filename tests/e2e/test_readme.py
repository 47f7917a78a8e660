"""README.md's quick start, run as written in a fresh virtualenv with a fresh HOME."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from pixyproxy_cli.core.settings import ENVIRONMENT

REPOSITORY = Path(__file__).resolve().parents[2]


def readme_command(marker: str) -> str:
    text = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\s*```bash\n(.+?)\n```", text, re.S)
    assert match, f"README.md has no command under <!-- {marker} -->"
    return match.group(1).strip()


def test_every_setting_is_documented_in_env_example():
    documented = (REPOSITORY / ".env.example").read_text(encoding="utf-8")

    for variable in ENVIRONMENT.values():
        assert re.search(rf"^{variable}=", documented, re.M), variable


def test_the_quick_start_installs_and_generates_on_a_fresh_machine(tmp_path):
    checkout = tmp_path / "checkout"
    shutil.copytree(
        REPOSITORY,
        checkout,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            ".venv-test",
            ".venv-floor",
            "venv",
            "__pycache__",
            "*.egg-info",
            "build",
        ),
    )
    home = tmp_path / "fresh-home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LANG": "C.UTF-8",
        # Reuse the machine's download cache so the test measures the install, not the network.
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
    }
    for passthrough in ("PYENV_ROOT", "PYENV_VERSION", "PIP_INDEX_URL", "PIP_CONSTRAINT"):
        if passthrough in os.environ:
            env[passthrough] = os.environ[passthrough]

    completed = subprocess.run(
        ["bash", "-c", readme_command("main-command")],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Notice: OPENAI_API_KEY is not set" in completed.stderr
    assert "Prompt      a lighthouse at dawn" in completed.stdout
    images = list((home / ".local" / "share" / "pixyproxy" / "images").glob("*.png"))
    assert len(images) == 1
    assert images[0].read_bytes().startswith(b"\x89PNG")


# Built from parts, so that this file does not match itself.
OUTSIDE = re.compile(re.escape("..") + "/" + "shared" + "|" + "DESIGN" + r"\.md")


def test_the_repository_stands_alone():
    """Nothing in the repository points at files outside it (a workspace's shared folder)."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPOSITORY, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = [
        name
        for name in tracked
        if name.endswith((".py", ".md", ".toml", ".sql", ".example", ".txt"))
        and OUTSIDE.search((REPOSITORY / name).read_text())
    ]

    assert offenders == []
    assert (REPOSITORY / "docs" / "design.md").is_file()


def test_the_test_tools_stay_out_of_the_users_environment():
    """The test command has a virtualenv of its own, and the test extra brings no keyring
    backend (a plaintext one would take over login's secrets in the user's environment)."""
    import tomllib

    main = readme_command("main-command")
    tests = readme_command("test-command")
    venv = re.compile(r"python3 -m venv (\S+)")
    assert venv.search(main)[1] != venv.search(tests)[1]
    extra = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["test"]
    assert [need for need in extra if need.lower().startswith("keyrings")] == []


def test_the_floors_ci_tests_are_the_floors_pyproject_declares():
    """.ci/floors.txt pins, for CI's floor run, exactly the floors pyproject.toml declares."""
    import tomllib

    from packaging.version import Version

    pins = {}
    for line in (REPOSITORY / ".ci" / "floors.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name] = Version(version)
    declared = {}
    for need in tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]:
        name, _, version = need.partition(">=")
        if name in pins:
            declared[name] = Version(version)
    assert pins == declared


def test_the_readmes_endpoint_table_is_the_servers_paths():
    from pixyproxy_cli.web.app import create_app

    def shape(path: str) -> str:  # {guid} and {token_id} alike, no query
        return re.sub(r"\{[^}]*\}", "{}", re.split(r"[?\[]", path, maxsplit=1)[0])

    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    documented = {
        (method, shape(path))
        for method, path in re.findall(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/[^` ]*)", readme, re.M)
    }
    served = {
        (method.upper(), shape(path))
        for path, operations in create_app().openapi()["paths"].items()
        for method in operations
    }

    assert documented == served


def test_env_example_names_only_settings_there_are():
    documented = re.findall(
        r"^([A-Z][A-Z0-9_]*)=", (REPOSITORY / ".env.example").read_text(encoding="utf-8"), re.M
    )

    assert set(documented) <= set(ENVIRONMENT.values())
    assert len(documented) == len(set(documented))  # each once
