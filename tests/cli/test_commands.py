"""The CLI through Typer's CliRunner: output, exit codes and exact messages."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from pixyproxy_cli import __version__
from pixyproxy_cli.commands.main import app
from pixyproxy_cli.data.init import PLACEHOLDER_NOTICE
from tests.helpers import free_port

runner = CliRunner()
MISSING = "0b4e28ba-2fa1-11d2-883f-0016d3cca427"


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    return runner.invoke(app, list(args), env=env, input=input, catch_exceptions=False)


def generate_json(prompt: str = "a lighthouse at dawn", *extra: str) -> dict:
    result = run("generate", prompt, "--json", *extra)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def data_dir(isolated_environment) -> Path:
    return isolated_environment / "data"


def image_files(data_dir: Path) -> list[str]:
    images = data_dir / "images"
    return sorted(p.name for p in images.iterdir()) if images.exists() else []


# -- help and version ---------------------------------------------------------------------


def command_at(path):
    """The Click command at ``path`` (the top-level group loads its commands lazily)."""
    command = get_command(app)
    for name in path:
        command = command.get_command(None, name)
    return command


def all_commands():
    root = get_command(app)
    for name in root.list_commands(None):
        command = root.get_command(None, name)
        if hasattr(command, "commands"):
            for sub in command.commands:
                yield [name, sub]
        yield [name]


def test_completion_is_offered_by_the_program_not_by_each_command():
    offered = {
        " ".join(path)
        for path in [[], *all_commands()]
        if "--install-completion" in run(*path, "--help").stdout
    }

    assert offered == {""}


@pytest.mark.parametrize("path", list(all_commands()), ids=" ".join)
def test_help_examples_are_never_rewrapped_at_80_columns(path):
    import inspect

    command = command_at(path)
    examples = [
        line.strip()
        for line in inspect.cleandoc(command.help or "").splitlines()
        if line.startswith("    ") and line.strip()
    ]

    result = run(*path, "--help", env={"COLUMNS": "80"})

    shown = [line.strip() for line in result.stdout.splitlines()]
    assert all(example in shown for example in examples), (examples, result.stdout)


@pytest.mark.parametrize("path", list(all_commands()), ids=" ".join)
def test_every_command_has_help(path):
    result = run(*path, "--help")

    assert result.exit_code == 0
    assert "Usage: pixyproxy " + " ".join(path) in result.stdout
    if len(path) == 2 or not hasattr(command_at(path[:1]), "commands"):
        assert "Examples:" in result.stdout
        if not command_at(path).hidden:  # an alias (key rm) shows the command it stands for
            assert "pixyproxy " + " ".join(path) in result.stdout.split("Examples:")[1]


def test_no_arguments_shows_help():
    result = run()

    assert "Usage: pixyproxy [OPTIONS] COMMAND" in result.output
    assert 'pixyproxy generate "a lighthouse at dawn"' in result.output


def test_version():
    result = run("--version")

    assert (result.exit_code, result.stdout) == (0, f"pixyproxy {__version__}\n")


def test_unknown_command_is_a_usage_error():
    result = run("paint")

    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "Error: No such command 'paint'."


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("lst", "'list'"),
        ("generat", "'generate'"),
        ("logn", "'login', 'logout'"),
        ("delete", "'rm'"),  # other tools' words, with no close name
        ("ls", "'list'"),
    ],
)
def test_a_mistyped_command_is_told_the_commands_it_may_mean(typo, suggestion):
    # Every command's module loads only when it runs, so none is loaded when a name is not
    # found: the suggestion must come from every command's name.
    result = run(typo, "--json")

    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: No such command '{typo}'. Did you mean {suggestion}?"
    )


def test_a_prompts_control_characters_never_reach_the_terminal(data_dir, tmp_path):
    # Anyone may make a public image: an escape sequence in its prompt, written raw, would
    # act on the terminal of whoever lists it (set its title, clear it, write its clipboard).
    hostile = "\x1b]0;owned\x07\x1b[2Ja fox\x9b31m"
    image = generate_json(hostile)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"prompt": "x", "size": "\x1b[2J"}) + "\n")

    made = run("generate", hostile)
    lines = run("list")
    table = run("list", env={"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "200"})
    shown = run("show", image["guid"])
    as_json = run("show", image["guid"], "--json")
    refused = run("generate", "--from", str(prompts))

    for result in (made, lines, table, shown):
        assert result.exit_code == 0
        assert not set(result.output) & {"\x1b", "\x07", "\x9b"}
        assert "\\x1b]0;owned\\x07\\x1b[2Ja fox\\x9b31m" in result.stdout
    assert json.loads(as_json.stdout)["prompt"] == hostile  # scripts get it exactly
    assert refused.exit_code == 2
    assert "\x1b" not in refused.stderr
    assert "\\x1b[2J" in refused.stderr


def test_each_synonym_names_a_command_and_is_not_one():
    from pixyproxy_cli.commands.main import COMMANDS, SYNONYMS

    assert set(SYNONYMS.values()) <= set(COMMANDS)
    assert not set(SYNONYMS) & set(COMMANDS)


# -- generate ----------------------------------------------------------------------------


def test_generate_without_a_key_uses_the_labelled_placeholder(data_dir):
    result = run("generate", "a lighthouse at dawn")

    assert result.exit_code == 0
    assert result.stderr == f"Notice: {PLACEHOLDER_NOTICE}\n"
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines() if line[0] != " ")
    assert lines["Prompt"] == "a lighthouse at dawn"
    assert "placeholder (offline renderer; not a generated image)" in result.stdout
    guid = lines["GUID"]
    assert f"File        {data_dir / 'images' / guid}.png" in result.stdout
    assert image_files(data_dir) == [f"{guid}.png"]


def test_show_says_the_model_the_file_and_the_times_as_json_does(data_dir):
    made = generate_json()

    shown = run("show", made["guid"])

    assert shown.exit_code == 0
    lines = dict(line.split(None, 1) for line in shown.stdout.splitlines())
    as_json = json.loads(run("show", made["guid"], "--json").stdout)
    assert lines["Model"] == as_json["model"] == "placeholder-v1"
    assert lines["File"] == made["file"]
    assert (lines["Created"], lines["Updated"]) == (as_json["created_at"], as_json["updated_at"])


def test_generate_json_gives_the_details_and_the_stored_file(data_dir):
    details = generate_json()

    assert details["prompt"] == "a lighthouse at dawn"
    assert details["placeholder"] is True
    assert details["provider"] == "placeholder"
    assert details["private"] is False
    assert "id" not in details
    assert Path(details["file"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Path(details["file"]).parent == data_dir / "images"


def test_generate_reads_the_prompt_from_stdin():
    result = run("generate", "-", "--json", input="a quiet harbour\n")

    assert json.loads(result.stdout)["prompt"] == "a quiet harbour"


def test_generate_writes_a_copy_with_output(tmp_path):
    target = tmp_path / "copy.png"

    details = generate_json("a red fox", "-o", str(target))

    assert target.read_bytes() == Path(details["file"]).read_bytes()


def test_generate_refuses_to_overwrite_before_generating(tmp_path, data_dir):
    target = tmp_path / "taken.png"
    target.write_bytes(b"keep me")

    result = run("generate", "a red fox", "-o", str(target))

    assert result.exit_code == 2
    assert result.stderr == f"Error: {target} already exists; use --force to overwrite it\n"
    assert target.read_bytes() == b"keep me"
    assert image_files(data_dir) == []
    assert run("generate", "a red fox", "-o", str(target), "--force").exit_code == 0
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_generate_into_a_directory_writes_each_image_as_guid_dot_ext_there(tmp_path):
    # As fetch -o DIR does; before, a directory was "already exists; use --force", and
    # --force then said "is a directory".
    into = tmp_path / "pictures"
    into.mkdir()
    images = generate_json("two foxes", "-n", "2", "--format", "webp", "-o", str(into))
    shown = run("generate", "a fox", "-o", str(into))

    for image in images:
        copy = into / f"{image['guid']}.webp"
        assert copy.read_bytes() == Path(image["file"]).read_bytes()
    assert shown.exit_code == 0
    written = [line for line in shown.stdout.splitlines() if line.startswith("Written to")]
    [guid] = [line.split()[1] for line in shown.stdout.splitlines() if line.startswith("GUID")]
    assert written == [f"Written to  {into / guid}.png"]
    assert sorted(path.name for path in into.iterdir()) == sorted(
        [f"{image['guid']}.webp" for image in images] + [f"{guid}.png"]
    )


def test_an_edit_into_a_directory_writes_each_image_there(tmp_path):
    source = generate_json("a fox")
    into = tmp_path / "edits"
    into.mkdir()

    edits = json.loads(
        run("edit", "at night", "-i", source["guid"], "-n", "2", "-o", str(into), "--json").stdout
    )

    assert sorted(path.name for path in into.iterdir()) == sorted(
        f"{edit['guid']}.png" for edit in edits
    )


@pytest.mark.parametrize(
    ("name", "image_format", "magic"),
    [
        ("fox.jpg", "jpeg", b"\xff\xd8\xff"),
        ("fox.JPEG", "jpeg", b"\xff\xd8\xff"),
        ("fox.webp", "webp", b"RIFF"),
        ("fox.gif", "gif", b"GIF89a"),
        ("fox.svg", "svg", b"<svg "),
        ("fox.png", "png", b"\x89PNG"),
        ("fox.image", "png", b"\x89PNG"),  # an extension of no format: the default
    ],
)
def test_without_format_the_output_files_extension_chooses_it(tmp_path, name, image_format, magic):
    target = tmp_path / name

    details = generate_json("a red fox", "-o", str(target))

    assert details["format"] == image_format
    assert target.read_bytes().startswith(magic)


def test_a_format_the_output_files_extension_contradicts_is_exit_2_before_any_work(
    tmp_path, data_dir
):
    target = tmp_path / "x.png"

    result = run("generate", "a red fox", "--format", "jpeg", "-o", str(target))
    agreed = run("generate", "a red fox", "--format", "jpeg", "-o", str(tmp_path / "x.jpg"))

    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: --format jpeg does not match --output {target} (png): drop --format, or name "
        "a file ending in .jpg\n",
    )
    assert not target.exists()
    assert agreed.exit_code == 0
    assert len(list((data_dir / "images").iterdir())) == 1


def test_generate_refuses_an_output_folder_that_is_missing_before_generating(tmp_path, data_dir):
    target = tmp_path / "missing" / "dir" / "x.png"

    result = run("generate", "a red fox", "-o", str(target))

    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: Cannot write {target}: the folder {target.parent} does not exist\n"
    )
    assert image_files(data_dir) == []
    assert not (data_dir / "pixyproxy.db").exists()


def test_generate_refuses_an_output_folder_it_cannot_write(tmp_path, data_dir, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    real_access = os.access
    # The suite runs as root, for whom every folder is writable: deny this one as the
    # kernel would for an ordinary user of a 0500 folder.
    monkeypatch.setattr(
        os, "access", lambda path, mode: Path(path) != folder and real_access(path, mode)
    )

    result = run("generate", "a red fox", "-o", str(folder / "x.png"))

    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: Cannot write {folder / 'x.png'}: the folder {folder} is not writable\n"
    )
    assert image_files(data_dir) == []


def test_a_failed_output_copy_names_the_stored_guid(tmp_path, data_dir, monkeypatch):
    import contextlib
    import errno

    from pixyproxy_cli.commands import output

    real_atomic_file = output.atomic_file

    class FullDisk:
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    @contextlib.contextmanager
    def disk_full(target, **options):
        with real_atomic_file(target, **options):
            yield FullDisk()

    monkeypatch.setattr(output, "atomic_file", disk_full)
    target = tmp_path / "x.png"

    result = run("generate", "a red fox", "-o", str(target))

    [stored] = image_files(data_dir)
    guid = stored.removesuffix(".png")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        f"Error: The image is stored as {guid}, but cannot write {target}: No space left on "
        f"device (pixyproxy fetch {guid} -o FILE writes it again)\n"
    )
    assert not target.exists()


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("", "prompt must not be empty"),
        ("   ", "prompt must not be empty"),
        ("nul\x00byte", "prompt must not contain NUL characters"),
    ],
)
def test_generate_rejects_bad_prompts_with_exit_2(prompt, message, data_dir):
    result = run("generate", prompt)

    assert result.exit_code == 2
    assert result.stderr.endswith(f"Error: {message}\n")
    assert image_files(data_dir) == []


def test_prompt_maximum_is_a_setting(data_dir):
    result = run("generate", "x" * 11, env={"PROMPT_MAX_LENGTH": "10"})

    assert result.exit_code == 2
    assert result.stderr.endswith("Error: prompt is 11 characters; the maximum is 10\n")


def test_asking_for_openai_without_a_key_is_a_configuration_error():
    result = run("generate", "a fox", "--provider", "openai")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: The openai provider needs OPENAI_API_KEY; set it (or pixyproxy key set "
        "openai), or use the placeholder provider (--provider placeholder)\n"
    )


NO_OPENAI_KEY = (
    "Error: The openai provider needs OPENAI_API_KEY; set it (or pixyproxy key set "
    "openai), or use the placeholder provider (--provider placeholder)\n"
)


def test_without_a_key_for_the_provider_asked_for_reading_still_works(data_dir):
    made = generate_json()
    openai = {"IMAGE_PROVIDER": "openai"}

    listed = run("list", "--json", env=openai)
    shown = run("show", made["guid"], "--json", env=openai)
    verbose = run("-v", "list", env=openai)

    assert listed.exit_code == 0, listed.stderr
    assert [image["guid"] for image in json.loads(listed.stdout)] == [made["guid"]]
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["guid"] == made["guid"]
    assert verbose.exit_code == 0, verbose.stderr
    assert f"Info: provider: none ({NO_OPENAI_KEY[len('Error: ') : -1]})\n" in verbose.stderr


def test_without_a_key_for_the_provider_asked_for_doctor_says_so_and_db_init_works(data_dir):
    openai = {"IMAGE_PROVIDER": "openai"}

    initialised = run("db", "init", env=openai)
    doctor = run("doctor", "--json", env=openai)
    checks = {check["name"]: check for check in json.loads(doctor.stdout)}

    assert initialised.exit_code == 0, initialised.stderr
    assert doctor.exit_code == 1
    assert checks["image provider"] == {
        "name": "image provider",
        "status": "fail",
        "detail": NO_OPENAI_KEY[len("Error: ") : -1],
        "fix": None,
    }
    assert checks["database (sqlite)"]["status"] == "ok"  # the rest was checked too


@pytest.mark.parametrize(
    "args",
    [["worker"], ["generate", "--from", "-"]],
    ids=["worker", "generate --from"],
)
def test_without_a_key_for_the_provider_asked_for_no_job_runs_or_is_queued(data_dir, args):
    result = run(
        *args, env={"IMAGE_PROVIDER": "openai", "BATCH_POLL_SECONDS": "0"}, input="a fox\n"
    )

    assert result.exit_code == 1
    assert result.stderr == NO_OPENAI_KEY
    assert run("jobs", "list", "--json").stdout == "[]\n"


def test_invalid_settings_name_the_variable():
    result = run("list", env={"DB_PORT": "many"})

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: invalid settings: DB_PORT: Input should be a valid integer, "
        "unable to parse string as an integer\n"
    )


# -- show --------------------------------------------------------------------------------


def test_show_prints_details_and_json():
    made = generate_json()

    text = run("show", made["guid"])
    as_json = run("show", made["guid"], "--json")

    assert text.exit_code == 0
    assert f"GUID        {made['guid']}\n" in text.stdout
    assert "Visibility  public\n" in text.stdout
    made.pop("file")
    assert json.loads(as_json.stdout) == made


def test_show_of_a_malformed_guid_is_a_usage_error():
    result = run("show", "not-a-guid")

    assert (result.exit_code, result.stderr) == (
        2,
        "Error: GUID must look like 1b4e28ba-2fa1-11d2-883f-0016d3cca427\n",
    )


def test_show_of_an_unknown_guid_is_not_found():
    result = run("show", MISSING)

    assert (result.exit_code, result.stderr) == (3, f"Error: No image with GUID {MISSING}\n")


def test_debug_shows_the_traceback():
    result = run("--debug", "show", MISSING)

    assert result.exit_code == 3
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.endswith(f"Error: No image with GUID {MISSING}\n")


# -- list --------------------------------------------------------------------------------


def test_list_of_nothing():
    assert run("list", "--json").stdout == "[]\n"
    assert run("list").stdout == ""


def test_list_json_plain_limit_and_after():
    made = [generate_json(f"prompt {n}\twith\ttabs\nand lines") for n in range(3)]
    guids = [m["guid"] for m in made]

    listed = json.loads(run("list", "--json").stdout)
    plain = run("list").stdout.splitlines()

    assert [item["guid"] for item in listed] == guids
    assert plain[0].split("\t") == [
        guids[0],
        made[0]["created_at"].replace("Z", "+00:00"),
        "public",
        "placeholder",
        "prompt 0 with tabs and lines",
    ]
    assert len(plain) == 3
    limited = json.loads(run("list", "--json", "--limit", "2").stdout)
    assert [i["guid"] for i in limited] == guids[:2]
    after = json.loads(run("list", "--json", "--after", guids[0]).stdout)
    assert [i["guid"] for i in after] == guids[1:]


def test_list_limit_must_be_positive():
    result = run("list", "--limit", "0")

    assert result.exit_code == 2
    assert "Error: Invalid value for '--limit': Input should be greater than or equal to 1" in (
        result.stderr
    )


COLOUR_CODE = re.compile(r"\x1b\[[0-9;]*(?:3[0-8]|9[0-7])[;m]")


def test_terminal_table_is_coloured_unless_no_color():
    generate_json()
    terminal = {"FORCE_COLOR": "1", "COLUMNS": "120"}

    coloured = run("list", env=terminal)
    plain = run("list", env={**terminal, "NO_COLOR": "1"})

    assert "Created (UTC)" in coloured.stdout
    assert COLOUR_CODE.search(coloured.stdout)
    assert "Created (UTC)" in plain.stdout
    assert not COLOUR_CODE.search(plain.stdout)


# -- fetch -------------------------------------------------------------------------------


def test_fetch_writes_the_stored_bytes(tmp_path):
    made = generate_json()
    target = tmp_path / "out.png"

    result = run("fetch", made["guid"], "-o", str(target))

    assert result.exit_code == 0
    assert target.read_bytes() == Path(made["file"]).read_bytes()
    assert result.stderr == f"Wrote {target.stat().st_size:,} bytes to {target}\n"


def test_fetch_defaults_to_guid_dot_png_in_the_current_directory():
    made = generate_json()

    assert run("fetch", made["guid"]).exit_code == 0
    assert Path(f"{made['guid']}.png").read_bytes() == Path(made["file"]).read_bytes()


def test_fetch_never_overwrites_without_force(tmp_path):
    made = generate_json()
    target = tmp_path / "taken.png"
    target.write_bytes(b"keep me")

    refused = run("fetch", made["guid"], "-o", str(target))
    forced = run("fetch", made["guid"], "-o", str(target), "--force")

    assert refused.exit_code == 2
    assert refused.stderr == f"Error: {target} already exists; use --force to overwrite it\n"
    assert forced.exit_code == 0
    assert target.read_bytes() == Path(made["file"]).read_bytes()


def test_fetch_into_a_directory_writes_guid_dot_ext_there_as_cp_does(tmp_path):
    made = generate_json()

    first = run("fetch", made["guid"], "-o", str(tmp_path))
    again = run("fetch", made["guid"], "-o", str(tmp_path))
    forced = run("fetch", made["guid"], "-o", str(tmp_path), "--force")

    target = tmp_path / f"{made['guid']}.png"
    assert (first.exit_code, first.stderr) == (
        0,
        f"Wrote {target.stat().st_size:,} bytes to {target}\n",
    )
    assert target.read_bytes() == Path(made["file"]).read_bytes()
    assert (again.exit_code, again.stderr) == (
        2,
        f"Error: {target} already exists; use --force to overwrite it\n",
    )
    assert forced.exit_code == 0


def test_fetch_to_stdout():
    made = generate_json()

    result = run("fetch", made["guid"], "-o", "-")

    assert result.exit_code == 0
    assert result.stdout_bytes == Path(made["file"]).read_bytes()


def test_fetch_of_an_unknown_guid_is_not_found(tmp_path):
    result = run("fetch", MISSING, "-o", str(tmp_path / "x.png"))

    assert (result.exit_code, result.stderr) == (3, f"Error: No image with GUID {MISSING}\n")
    assert not (tmp_path / "x.png").exists()


def test_fetch_when_the_file_is_gone_is_not_found():
    made = generate_json()
    Path(made["file"]).unlink()

    result = run("fetch", made["guid"])

    assert result.exit_code == 3
    assert result.stderr == f"Error: The file of image {made['guid']} is missing\n"


# -- db init and doctor --------------------------------------------------------------------


def test_db_init(data_dir):
    text = run("db", "init")
    as_json = json.loads(run("db", "init", "--json").stdout)

    assert text.stdout == (
        f"Database ready: sqlite at {data_dir / 'pixyproxy.db'} (schema version 14)\n"
    )
    assert as_json["schema_version"] == 14
    assert as_json["backend"] == "sqlite"
    assert as_json["driver"].startswith("sqlite3 (SQLite ")


def test_doctor_on_a_healthy_setup_warns_about_the_placeholder_and_keyring(data_dir):
    import keyring
    from keyring.backends import null

    generate_json()
    keyring.set_keyring(null.Keyring())

    result = run("doctor", "--json")
    checks = {check["name"]: check for check in json.loads(result.stdout)}

    assert result.exit_code == 0
    assert checks["database (sqlite)"]["status"] == "ok"
    assert checks["images"]["detail"] == "1 row(s), 1 file(s)"
    assert checks["image provider"]["status"] == "warn"
    assert checks["image provider"]["fix"] == (
        "set OPENAI_API_KEY (or pixyproxy key set openai) to generate real images"
    )
    assert checks["keyring"]["status"] == "warn"
    assert "silently discards" in checks["keyring"]["detail"]


def test_doctor_reports_a_missing_file(data_dir):
    made = generate_json()
    Path(made["file"]).unlink()

    result = run("doctor")

    assert result.exit_code == 0
    assert f"warn  images: 1 row(s), 0 file(s); 1 row(s) without a file: {made['guid']}\n" in (
        result.stdout
    )
    assert "fix: the images of rows without a file cannot be served" in result.stdout


def test_an_unreachable_database_exits_5_and_doctor_says_why():
    port = free_port()
    env = {"DB_HOST": "127.0.0.1", "DB_PORT": str(port), "DB_CONNECT_TIMEOUT": "2"}

    listed = run("list", env=env)
    doctor = run("doctor", env=env)

    assert listed.exit_code == 5
    assert listed.stderr == (
        f"Error: Cannot use the MySQL database at 127.0.0.1:{port}: the server is not "
        "reachable (is it running? check DB_HOST and DB_PORT)\n"
    )
    assert doctor.exit_code == 1
    assert f"FAIL  database (mysql): 127.0.0.1:{port}/pixyproxy: Cannot use" in doctor.stdout
    assert "fix: start the server or correct DB_HOST" in doctor.stdout


REPOSITORY = Path(__file__).resolve().parents[2]


def test_serve_without_the_server_extra_names_the_fix_for_this_checkout(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed

    elsewhere = run("serve")
    monkeypatch.chdir(REPOSITORY)
    here = run("serve")

    assert elsewhere.exit_code == here.exit_code == 1
    # The suite runs from an editable install of this checkout, which PyPI's name is not.
    assert elsewhere.stderr == (
        "Error: pixyproxy serve needs the server extra (uvicorn is missing): "
        f"pip install '{REPOSITORY}[server]'\n"
    )
    assert here.stderr.endswith("pip install '.[server]'\n")


def test_serve_installed_from_a_package_names_the_package(monkeypatch, tmp_path):
    import pixyproxy_cli

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    monkeypatch.setattr(pixyproxy_cli, "__file__", str(tmp_path / "site" / "pixyproxy_cli" / "x"))

    result = run("serve")

    assert result.stderr.endswith("pip install 'pixyproxy[server]'\n")


# -- size and quality ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--size", "7", "'7' is not a size: use WIDTHxHEIGHT such as 1024x1024, or auto"),
        ("--size", "big", "'big' is not a size: use WIDTHxHEIGHT such as 1024x1024, or auto"),
        (
            "--size",
            "5000x5000",
            "size 5000x5000 is larger than the API makes: at most 3840x2160 (or portrait)",
        ),
        ("--size", "1000x1000", "size 1000x1000: width and height must be multiples of 16"),
        ("--size", "3840x1264", "size 3840x1264: the aspect ratio must be between 1:3 and 3:1"),
        (
            "--quality",
            "hd",
            "'hd' is not a quality: use one of auto, low, medium, high, xhigh, max",
        ),
    ],
)
def test_a_bad_size_or_quality_flag_is_exit_2_naming_the_flag(data_dir, flag, value, message):
    result = run("generate", "a fox", flag, value)

    assert result.exit_code == 2
    assert f"Invalid value for '{flag}': {message}" in result.stderr
    assert image_files(data_dir) == []


def test_a_bad_image_setting_breaks_only_generate(data_dir):
    made = generate_json()
    env = {"IMAGE_SIZE": "huge", "IMAGE_QUALITY": "standard"}

    listed = run("list", "--json", env=env)
    shown = run("show", made["guid"], env=env)
    fetched = run("fetch", made["guid"], "-o", str(data_dir / "copy.png"), env=env)
    generated = run("generate", "a fox", env=env)

    assert (listed.exit_code, shown.exit_code, fetched.exit_code) == (0, 0, 0)
    assert generated.exit_code == 1
    assert generated.stderr.endswith(
        "Error: IMAGE_SIZE: 'huge' is not a size: use WIDTHxHEIGHT such as 1024x1024, or auto\n"
    )
    assert len(image_files(data_dir)) == 1


def test_every_quality_the_flag_takes_is_one_the_sdk_accepts():
    from pixyproxy_cli.core.image_options import IMAGE_QUALITIES
    from tests.openai_server import QUALITIES

    assert set(IMAGE_QUALITIES) == QUALITIES


def test_a_corrupt_sqlite_file_is_not_a_pixyproxy_database(data_dir):
    data_dir.mkdir(parents=True)
    (data_dir / "pixyproxy.db").write_bytes(b"not a database, just some text" * 10)

    result = run("list")

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {data_dir / 'pixyproxy.db'} is not a pixyproxy database (SQLite cannot read "
        "it: file is not a database); move it away, or point SQLITE_PATH at another file\n"
    )


def test_another_programs_sqlite_file_is_refused_and_left_as_it_was(tmp_path, data_dir):
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")

    result = run("generate", "a fox", env={"SQLITE_PATH": str(other)})

    assert result.exit_code == 1
    assert result.stderr.endswith(
        f"Error: {other} is not a pixyproxy database (it holds other tables: notes); move it "
        "away, or point SQLITE_PATH at another file\n"
    )
    with sqlite3.connect(other) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("notes",)]
    assert image_files(data_dir) == []


PAGE = 4096


def test_a_damaged_pixyproxy_database_is_told_from_another_programs_file(data_dir, tmp_path):
    import sqlite3

    database = data_dir / "pixyproxy.db"
    for number in range(50):  # until some pages follow the schema's text
        assert run("generate", f"image {number}").exit_code == 0
        data = database.read_bytes()
        schema = [
            p for p in range(len(data) // PAGE) if b"CREATE" in data[p * PAGE : (p + 1) * PAGE]
        ]
        if (max(schema) + 2) * PAGE < len(data):
            break
    database.write_bytes(data[: (max(schema) + 1) * PAGE])  # cut off after the schema
    damaged = run("list")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text)")
        connection.executemany("INSERT INTO notes VALUES (?)", [("x" * 500,)] * 200)
    database.write_bytes(other.read_bytes()[: 2 * PAGE])
    foreign = run("list")

    assert (damaged.exit_code, damaged.stderr) == (
        1,
        f"Error: {database} is a damaged pixyproxy database (SQLite cannot read it: database "
        "disk image is malformed); restore it from a backup, or move it away and pixyproxy "
        "starts a new one there\n",
    )
    assert foreign.exit_code == 1
    assert foreign.stderr.startswith(f"Error: {database} is not a pixyproxy database")
    assert foreign.stderr.endswith("move it away, or point SQLITE_PATH at another file\n")


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        (["generate"], "Usage: pixyproxy generate [OPTIONS] [PROMPT]"),
        (["rm"], "Usage: pixyproxy rm [OPTIONS] GUID..."),
        (["user", "add"], "Usage: pixyproxy user add [OPTIONS] NAME"),
        (["provenance"], "Usage: pixyproxy provenance [OPTIONS] GUID|FILE"),
    ],
)
def test_usage_lines_name_required_arguments_without_braces(command, usage):
    result = run(*command, "--help", env={"COLUMNS": "100"})

    assert result.stdout.splitlines()[0] == usage
