"""Settings that follow the user: `config list|get|set|unset|path`, the precedence of every
layer, masking, hand-edited files, and secrets in the keyring (`key set|list|remove`)."""

from __future__ import annotations

import json
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from pixyproxy_cli.core.settings import explain_settings
from tests.cli.test_commands import run

SECRET = "sk-proj-a-key-that-must-never-show-0123456789"


@pytest.fixture
def config_file(isolated_environment) -> Path:
    return isolated_environment / "home" / ".config" / "pixyproxy" / "config.toml"


def listed(env: dict[str, str] | None = None) -> dict[str, dict]:
    result = run("config", "list", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    return {entry["key"]: entry for entry in json.loads(result.stdout)}


# -- precedence ----------------------------------------------------------------------------


def test_every_layer_wins_over_the_ones_below_it(config_file, tmp_path, monkeypatch):
    env_file = tmp_path / "work" / ".env"
    base = {"PIXYPROXY_DATA_DIR": "/d"}

    def source(environ, overrides=None):
        settings, sources = explain_settings(overrides, {**base, **environ})
        return settings.image_size, sources.of("image_size")

    default = source({})
    assert run("config", "set", "IMAGE_SIZE", "1536x1024").exit_code == 0
    from_config = source({})
    env_file.write_text("IMAGE_SIZE=1024x1536\n")
    from_dotenv = source({})
    from_environment = source({"IMAGE_SIZE": "512x512"})
    from_flag = source({"IMAGE_SIZE": "512x512"}, {"image_size": "256x256"})

    assert default == ("auto", "the default")
    assert from_config == ("1536x1024", f"the config file ({config_file})")
    assert from_dotenv == ("1024x1536", f"the .env file ({env_file})")
    assert from_environment == ("512x512", "the environment")
    assert from_flag == ("256x256", "a command-line flag")


def test_pixyproxy_env_file_names_the_env_file_that_sits_above_the_config(tmp_path):
    other = tmp_path / "team.env"
    other.write_text("IMAGE_QUALITY=low\n")
    run("config", "set", "IMAGE_QUALITY", "high")

    entries = listed({"PIXYPROXY_ENV_FILE": str(other)})

    assert entries["IMAGE_QUALITY"]["value"] == "low"
    assert entries["IMAGE_QUALITY"]["source"] == f"the .env file ({other})"


def test_a_command_uses_the_config_from_any_folder(tmp_path, monkeypatch):
    run("config", "set", "IMAGE_SIZE", "96x64")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    made = run("generate", "a fox", "--json")
    flagged = run("generate", "a fox", "--json", "--size", "48x48")

    assert (json.loads(made.stdout)["width"], json.loads(made.stdout)["height"]) == (96, 64)
    assert json.loads(flagged.stdout)["width"] == 48


def test_config_dir_from_the_environment_moves_the_file(tmp_path):
    moved = tmp_path / "elsewhere-config"
    result = run("config", "set", "IMAGE_FORMAT", "webp", env={"PIXYPROXY_CONFIG_DIR": str(moved)})
    path = run("config", "path", env={"PIXYPROXY_CONFIG_DIR": str(moved)})

    assert result.exit_code == 0
    assert path.stdout == f"{moved / 'config.toml'}\n"
    assert (moved / "config.toml").read_text().endswith('IMAGE_FORMAT = "webp"\n')


# -- list, get, set, unset -----------------------------------------------------------------


def test_list_shows_every_setting_with_its_value_and_source(config_file):
    run("config", "set", "OPENAI_IMAGE_MODEL", "gpt-image-2")
    text = run("config", "list")
    entries = listed()

    assert len(entries) == 50
    assert entries["OPENAI_IMAGE_MODEL"] == {
        "key": "OPENAI_IMAGE_MODEL",
        "value": "gpt-image-2",
        "source": f"the config file ({config_file})",
        "secret": False,
    }
    assert entries["DB_PORT"] == {
        "key": "DB_PORT",
        "value": "3306",
        "source": "the default",
        "secret": False,
    }
    assert f"OPENAI_IMAGE_MODEL\tgpt-image-2\tthe config file ({config_file})\n" in text.stdout
    assert "DB_HOST\t-\tthe default\n" in text.stdout


def test_secrets_are_masked_wherever_they_come_from(tmp_path):
    (tmp_path / "work" / ".env").write_text(f"DB_PASSWORD={SECRET}-db\n")
    env = {"OPENAI_API_KEY": SECRET}

    text = run("config", "list", env=env)
    entries = listed(env)
    got = run("config", "get", "OPENAI_API_KEY", env=env)

    assert SECRET not in text.stdout + text.stderr + got.stdout
    assert entries["OPENAI_API_KEY"]["value"] == "********"
    assert entries["OPENAI_API_KEY"]["source"] == "the environment"
    assert entries["DB_PASSWORD"]["value"] == "********"
    assert entries["DB_PASSWORD"]["source"].startswith("the .env file")
    assert (got.exit_code, got.stdout) == (0, "********\n")


def test_get_prints_the_value_that_applies_now():
    run("config", "set", "image_size", "1536x1024")  # any case

    assert run("config", "get", "IMAGE_SIZE").stdout == "1536x1024\n"
    assert run("config", "get", "IMAGE_SIZE", env={"IMAGE_SIZE": "auto"}).stdout == "auto\n"
    assert run("config", "get", "DB_HOST").exit_code == 1  # no value: nothing printed


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "NOT_A_SETTING",
            "1",
            "unknown setting 'NOT_A_SETTING' (pixyproxy config list names them)",
        ),
        ("IMAGE_SIZE", "huge", "IMAGE_SIZE: 'huge' is not a size"),
        ("IMAGE_QUALITY", "superb", "IMAGE_QUALITY: 'superb' is not a quality"),
        ("DB_PORT", "99999", "DB_PORT: Input should be less than or equal to 65535"),
        ("DB_BACKEND", "oracle", "DB_BACKEND: Input should be 'sqlite' or 'mysql'"),
        ("OPENAI_TIMEOUT", "soon", "OPENAI_TIMEOUT: Input should be a valid number"),
        (
            "OPENAI_API_KEY",
            SECRET,
            "OPENAI_API_KEY is a secret and is not kept in the config file: "
            "use pixyproxy key set openai",
        ),
        ("DB_PASSWORD", "pw", "use pixyproxy key set db"),
        ("PIXYPROXY_CONFIG_DIR", "/x", "PIXYPROXY_CONFIG_DIR cannot be set in the config file"),
    ],
)
def test_set_refuses_what_a_command_would_refuse_and_names_the_key(
    config_file, key, value, message
):
    result = run("config", "set", key, value)

    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert not config_file.exists()


def test_set_and_unset_keep_the_rest_of_a_hand_written_file(config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text('# my settings\nIMAGE_SIZE = "auto"  # big\n\n# team\nDB_NAME = "t"\n')

    set_size = run("config", "set", "IMAGE_SIZE", "1536x1024")
    set_new = run("config", "set", "IMAGE_FORMAT", "webp")
    after_set = config_file.read_text()
    unset = run("config", "unset", "DB_NAME")
    again = run("config", "unset", "DB_NAME")

    assert set_size.stderr == f"Set IMAGE_SIZE in {config_file}\n"
    assert set_new.exit_code == 0
    assert after_set == (
        '# my settings\nIMAGE_SIZE = "1536x1024"\n\n# team\nDB_NAME = "t"\nIMAGE_FORMAT = "webp"\n'
    )
    assert unset.stderr == f"Removed DB_NAME from {config_file}\n"
    assert config_file.read_text() == (
        '# my settings\nIMAGE_SIZE = "1536x1024"\n\n# team\nIMAGE_FORMAT = "webp"\n'
    )
    assert (again.exit_code, again.stderr) == (0, f"DB_NAME is not in {config_file}\n")
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["config.toml"]  # no temp


def test_values_with_quotes_and_control_characters_survive_the_file():
    value = 'gpt "x"\\y\tz\x7f'
    assert run("config", "set", "OPENAI_IMAGE_MODEL", value).exit_code == 0

    assert listed()["OPENAI_IMAGE_MODEL"]["value"] == value


def test_a_relative_path_is_kept_as_the_place_it_names_now(tmp_path, config_file):
    run("config", "set", "IMAGE_DIR", "pictures")
    run("config", "set", "SQLITE_PATH", "~/db/pixyproxy.db")

    text = config_file.read_text()

    assert f'IMAGE_DIR = "{tmp_path / "work" / "pictures"}"' in text
    assert 'SQLITE_PATH = "~/db/pixyproxy.db"' in text  # ~ is the same from every folder


def test_set_says_when_a_higher_layer_still_wins():
    result = run("config", "set", "IMAGE_SIZE", "1536x1024", env={"IMAGE_SIZE": "auto"})

    assert result.exit_code == 0
    assert "Notice: IMAGE_SIZE also comes from the environment, which wins" in result.stderr


# -- a hand-edited file with an error --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('IMAGE_SIZE = "auto"\nIMAGE_QUALITY = high\n', "line 2: not valid TOML"),
        ('IMAGE_SIZE = "auto"\nIMAGE_QUALITY = ["a"\n', "line 2: not valid TOML"),
        ('IMAGE_SIZE = "auto"\n\nIMAGE_SIZ = "auto"\n', "line 3: unknown setting 'IMAGE_SIZ'"),
        ('OPENAI_API_KEY = "sk-1"\n', "line 1: OPENAI_API_KEY is a secret"),
        ('IMAGE_SIZE = ["auto"]\n', "line 1: IMAGE_SIZE must be text, a number, or true/false"),
        ('# x\nDB_PORT = "many"\n', "DB_PORT ({path}, line 2): Input should be a valid integer"),
    ],
)
def test_an_error_in_the_file_names_the_file_and_the_line(config_file, text, message):
    config_file.parent.mkdir(parents=True)
    config_file.write_text(text)

    result = run("list")
    path = run("config", "path")

    assert result.exit_code == 1
    assert message.format(path=config_file) in result.stderr
    assert str(config_file) in result.stderr
    assert path.stdout == f"{config_file}\n"  # still answers, to help fix the file


def test_unset_removes_a_key_the_file_should_not_have(config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text('OPENAI_API_KEY = "sk-1"\nIMAGE_SIZE = "auto"\n')

    removed = run("config", "unset", "OPENAI_API_KEY")

    assert removed.exit_code == 0
    assert config_file.read_text() == 'IMAGE_SIZE = "auto"\n'
    assert run("list").exit_code == 0


# -- secrets in the keyring --------------------------------------------------------------


def test_key_set_keeps_the_openai_key_in_the_keyring_and_generate_uses_it(
    memory_keyring, isolated_environment, fake_openai
):
    env = {"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_MAX_RETRIES": "0"}
    stored = run("key", "set", "openai", "--stdin", input=SECRET + "\n")
    keys = run("key", "list")
    entries = listed()
    made = run("generate", "a keyring fox", "--json", env=env)
    doctor = run("doctor", "--json", env=env)

    assert stored.exit_code == 0, stored.stderr
    assert stored.stderr.startswith("Stored the OpenAI API key (OPENAI_API_KEY) in the keyring (")
    assert memory_keyring.get_password("pixyproxy:secrets", "openai") == SECRET
    assert keys.stdout == (
        "openai\tOPENAI_API_KEY\tstored\ndb\tDB_PASSWORD\tnot stored\n"
        "s3\tAWS_SECRET_ACCESS_KEY\tnot stored\n"
        "webhook\tOPENAI_WEBHOOK_SECRET\tnot stored\n"
    )
    assert entries["OPENAI_API_KEY"]["source"] == "the keyring (pixyproxy key set)"
    assert made.exit_code == 0, made.stderr
    assert json.loads(made.stdout)["provider"] == "openai"
    assert fake_openai.requests[-1]["headers"]["authorization"] == f"Bearer {SECRET}"
    checks = {check["name"]: check for check in json.loads(doctor.stdout)}
    assert "OPENAI_API_KEY: the keyring (pixyproxy key set)" in checks["secrets"]["detail"]
    files = [p.read_bytes() for p in isolated_environment.rglob("*") if p.is_file()]
    assert not any(SECRET.encode() in content for content in files)  # no file of ours has it
    for output in (stored, keys, made, doctor):
        assert SECRET not in output.stdout + output.stderr


def test_the_environment_still_wins_over_the_keyring(fake_openai):
    run("key", "set", "openai", "--stdin", input=SECRET + "\n")
    env = {
        "OPENAI_API_KEY": "sk-from-the-environment",
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_MAX_RETRIES": "0",
    }

    made = run("generate", "a fox", "--json", env=env)

    assert made.exit_code == 0, made.stderr
    assert fake_openai.requests[-1]["headers"]["authorization"] == "Bearer sk-from-the-environment"
    assert listed(env)["OPENAI_API_KEY"]["source"] == "the environment"


@pytest.mark.parametrize("verb", ["remove", "rm"])  # rm, as the top-level command is named
def test_key_remove_forgets_the_secret(verb):
    run("key", "set", "db", "--stdin", input="a db password\n")

    removed = run("key", verb, "db")
    again = run("key", verb, "db")

    assert removed.stderr == "Removed the database password (DB_PASSWORD) from the keyring\n"
    assert (again.exit_code, again.stderr) == (
        1,
        "The keyring does not hold the database password\n",
    )
    assert listed()["DB_PASSWORD"] == {
        "key": "DB_PASSWORD",
        "value": None,
        "source": "not set",
        "secret": True,
    }


def test_key_set_asks_with_a_hidden_prompt(monkeypatch):
    monkeypatch.setattr("pixyproxy_cli.commands.output.can_ask", lambda: True)

    result = run("key", "set", "openai", input=SECRET + "\n")

    assert result.exit_code == 0, result.stderr
    assert SECRET not in result.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ("key", "set", "github", "--stdin"),
            "x\n",
            "unknown secret 'github': use one of openai, db",
        ),
        (
            ("key", "set", "openai", "--stdin"),
            "\n",
            "nothing on standard input: give the OpenAI API key as one line",
        ),
        (("key", "remove", "aws"), None, "unknown secret 'aws'"),
        (
            ("key", "set", "openai"),
            SECRET + "\n",
            "standard input is not a terminal to ask for the OpenAI API key on: pass --stdin",
        ),
    ],
)
def test_bad_key_commands_are_exit_2(args, stdin, message):
    result = run(*args, input=stdin)

    assert result.exit_code == 2
    assert message in result.stderr


def test_without_a_keyring_backend_the_message_names_the_ways_out():
    keyring.set_keyring(fail.Keyring())

    result = run("key", "set", "openai", "--stdin", input=SECRET + "\n")
    keys = run("key", "list")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: Cannot keep the OpenAI API key: no keyring backend is available; install a "
        "keyring backend (pip install keyrings.alt, or run a Secret Service such as "
        "gnome-keyring), or set OPENAI_API_KEY in the environment or a .env file\n"
    )
    assert keys.stdout == (
        "openai\tOPENAI_API_KEY\tnot stored\ndb\tDB_PASSWORD\tnot stored\n"
        "s3\tAWS_SECRET_ACCESS_KEY\tnot stored\n"
        "webhook\tOPENAI_WEBHOOK_SECRET\tnot stored\n"
    )


def test_a_key_the_keyring_lost_is_a_clear_error(memory_keyring, fake_openai):
    run("key", "set", "openai", "--stdin", input=SECRET + "\n")
    memory_keyring.delete_password("pixyproxy:secrets", "openai")

    made = run("generate", "a fox", env={"OPENAI_BASE_URL": fake_openai.base_url})

    assert made.exit_code == 1
    assert made.stderr == (
        "Error: the OpenAI API key (OPENAI_API_KEY) was kept in the keyring, which no longer "
        "holds it: run pixyproxy key set openai, or set OPENAI_API_KEY\n"
    )


def test_the_database_password_comes_from_the_keyring_unless_db_password_is_set(tmp_path):
    from pixyproxy_cli.core.settings import load_settings
    from pixyproxy_cli.data.keyring_stores.secrets import database_password

    run("key", "set", "db", "--stdin", input="the stored password\n")
    base = {"PIXYPROXY_DATA_DIR": str(tmp_path / "d"), "DB_BACKEND": "mysql"}
    base["PIXYPROXY_CONFIG_DIR"] = str(tmp_path / "home" / ".config" / "pixyproxy")

    stored = database_password(load_settings(environ=base))
    given = database_password(load_settings(environ={**base, "DB_PASSWORD": "from env"}))

    assert (stored, given) == ("the stored password", "from env")


def test_no_secret_stored_means_no_keyring_at_all(tmp_path, monkeypatch):
    from pixyproxy_cli.core.settings import load_settings
    from pixyproxy_cli.data.keyring_stores import entries, secrets
    from pixyproxy_cli.data.keyring_stores.secrets import database_password

    def no_keyring():
        raise AssertionError("the keyring was asked")

    monkeypatch.setattr(entries, "keyring_modules", no_keyring)
    monkeypatch.setattr(secrets, "describe_keyring", no_keyring)
    settings = load_settings(environ={"PIXYPROXY_DATA_DIR": str(tmp_path / "d")})

    assert database_password(settings) == ""
