"""Settings: precedence flag > environment > .env > default, and clear errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pixyproxy_cli.core.exceptions import ConfigurationError
from pixyproxy_cli.core.settings import Settings, _validator, load_settings


def test_defaults_are_sqlite_in_the_data_directory(tmp_path):
    settings = load_settings(environ={"PIXYPROXY_DATA_DIR": str(tmp_path)})

    assert settings.db_backend == "sqlite"
    assert settings.sqlite_path == tmp_path / "pixyproxy.db"
    assert settings.image_dir == tmp_path / "images"
    assert settings.max_prompt_length == 32_000
    assert settings.db_pool_size == 10


def test_without_a_data_dir_the_platform_user_data_directory_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    settings = load_settings(environ={})

    assert settings.data_dir == tmp_path / "pixyproxy"


def test_db_host_alone_selects_mysql_and_db_backend_overrides_it():
    assert load_settings(environ={"DB_HOST": "db.example"}).db_backend == "mysql"
    assert load_settings(environ={"DB_HOST": "db", "DB_BACKEND": "sqlite"}).db_backend == "sqlite"
    assert load_settings(environ={"DB_BACKEND": "MySQL"}).db_backend == "mysql"


def test_precedence_is_flag_then_environment_then_dotenv_then_default(tmp_path):
    env_file = tmp_path / "custom.env"
    env_file.write_text("DB_NAME=from_dotenv\nDB_PORT=3307\nDB_USER=dotenv_user\n")
    environ = {"PIXYPROXY_ENV_FILE": str(env_file), "DB_PORT": "3308", "DB_HOST": "h"}

    settings = load_settings({"db_user": "flag_user"}, environ=environ)

    assert settings.db_user == "flag_user"  # flag beats .env
    assert settings.db_port == 3308  # environment beats .env
    assert settings.db_name == "from_dotenv"  # .env beats default
    assert settings.db_pool_timeout == 10.0  # default


def test_dotenv_in_the_current_directory_is_read():
    Path(".env").write_text("PROMPT_MAX_LENGTH=500\n")

    assert load_settings(environ={}).max_prompt_length == 500


def test_empty_values_count_as_unset():
    assert load_settings(environ={"DB_HOST": "", "DB_PORT": " "}).db_backend == "sqlite"


def test_invalid_values_name_the_variable():
    with pytest.raises(ConfigurationError, match="DB_PORT: Input should be a valid integer"):
        load_settings(environ={"DB_PORT": "three thousand"})
    with pytest.raises(ConfigurationError, match="DB_BACKEND: Input should be 'sqlite' or 'mysql'"):
        load_settings(environ={"DB_BACKEND": "oracle"})
    with pytest.raises(ConfigurationError, match="DB_POOL_SIZE"):
        load_settings(environ={"DB_POOL_SIZE": "0"})


def test_a_missing_explicit_env_file_is_an_error(tmp_path):
    with pytest.raises(ConfigurationError, match="PIXYPROXY_ENV_FILE names .*nope.env"):
        load_settings(environ={"PIXYPROXY_ENV_FILE": str(tmp_path / "nope.env")})


DB_PASSWORD_VALUE = "hunter2-secret"


def test_the_password_is_secret_and_the_location_never_shows_it():
    settings = load_settings(environ={"DB_HOST": "db", "DB_PASSWORD": DB_PASSWORD_VALUE})

    assert DB_PASSWORD_VALUE not in repr(settings)
    assert settings.database_location() == "db:3306/pixyproxy"
    assert settings.db_password.get_secret_value() == DB_PASSWORD_VALUE


def test_unknown_overrides_are_refused():
    with pytest.raises(ConfigurationError, match="unknown setting 'colour'"):
        load_settings({"colour": "blue"}, environ={})


@pytest.mark.parametrize(
    ("given", "hosts"),
    [
        (None, [("127.0.0.1", 3306)]),
        ("db", [("db", 3306)]),
        ("a,b:3307, c ", [("a", 3306), ("b", 3307), ("c", 3306)]),
        ("::1", [("::1", 3306)]),
    ],
)
def test_db_host_names_one_server_or_several_for_failover(given, hosts):
    settings = load_settings({"db_backend": "mysql", "db_host": given}, environ={})
    assert settings.database_hosts() == hosts


@pytest.mark.parametrize("given", ["a,,b", "a:x", "a:70000", ":3306"])
def test_a_malformed_db_host_is_refused_naming_the_setting(given):
    settings = load_settings({"db_backend": "mysql", "db_host": given}, environ={})
    with pytest.raises(ConfigurationError, match="^DB_HOST: "):
        settings.database_hosts()


def test_every_default_passes_its_own_rule():
    # Only given values are validated at run time; the defaults are held to the rules here.
    defaults = {
        field.name: field.default
        for field in dataclasses.fields(Settings)
        if field.default is not dataclasses.MISSING
    }
    assert len(defaults) == len(dataclasses.fields(Settings)) - 4  # the four paths
    assert _validator().validate_python(defaults) == defaults


def test_a_given_value_is_held_to_its_rule_and_typed():
    settings = load_settings(
        environ={
            "DB_PORT": "3307",
            "OPENAI_TIMEOUT": "30",
            "IMAGE_FRAMES": "5",
            "DB_PASSWORD": "hunter2",
            "PIXYPROXY_DATA_DIR": "~/x",
        }
    )

    assert (settings.db_port, settings.openai_timeout, settings.image_frames) == (3307, 30.0, 5)
    assert isinstance(settings.openai_timeout, float)
    assert settings.db_password is not None
    assert settings.db_password.get_secret_value() == "hunter2"
    assert settings.data_dir == Path("~/x").expanduser()
    with pytest.raises(ConfigurationError, match="DB_NAME: String should have at most 64"):
        load_settings(environ={"DB_NAME": "n" * 65})
    with pytest.raises(ConfigurationError, match="OPENAI_TIMEOUT: Input should be greater than 0"):
        load_settings(environ={"OPENAI_TIMEOUT": "0"})
