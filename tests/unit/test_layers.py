"""The layering rules of docs/design.md, checked on the source: dependencies point down only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pixyproxy_cli"
DRIVERS = {"mysql", "_mysql_connector", "sqlite3", "openai", "httpx"}
LAYERS = {
    "core": set(),
    "data": {"core"},
    "service": {"core", "data"},
    "commands": {"core", "service"},
    "web": {"core", "service"},
}
# `pixyproxy serve` is the one command that starts the web layer.
EXCEPTIONS = {"commands/serve.py": {"web"}}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def sources(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_layers_import_only_the_layers_below(layer):
    for path in sources(layer):
        allowed = LAYERS[layer] | {layer} | EXCEPTIONS.get(f"{layer}/{path.name}", set())
        for module in imported_modules(path):
            parts = module.split(".")
            if parts[0] == "pixyproxy_cli" and len(parts) > 1:
                assert parts[1] in allowed, f"{path.name} imports {module}"


@pytest.mark.parametrize("layer", ["core", "service", "commands", "web"])
def test_no_driver_is_imported_above_the_data_layer(layer):
    for path in sources(layer):
        for module in imported_modules(path):
            assert module.split(".")[0] not in DRIVERS, f"{path.name} imports {module}"


def test_the_layers_exist():
    for layer in ("core", "data", "service", "commands"):
        assert sources(layer), layer


RAW_ROW_NAMES = {
    "RawRow",
    "public_images",
    "public_json_lines",
    "fetch_raw",
    "get_current_db_context",
}


@pytest.mark.parametrize("layer", ["service", "commands", "web"])
def test_rows_and_connections_stay_in_the_data_layer(layer):
    """Above data/, a listing is a page of values (RowPage.images / json_lines), and a
    repository comes from the unit of work a service opened, never a hidden lookup."""
    for path in sources(layer):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        used |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        used |= {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        assert not used & RAW_ROW_NAMES, f"{path.name} uses {sorted(used & RAW_ROW_NAMES)}"


@pytest.mark.parametrize("layer", ["commands", "web"])
def test_callers_never_build_unvalidated_models(layer):
    """What a user typed goes to the service as fields, validated there (no model_construct)."""
    for path in sources(layer):
        assert "model_construct" not in path.read_text(encoding="utf-8"), path.name


def test_the_prompt_and_password_rules_live_in_their_types():
    from pydantic import SecretStr, TypeAdapter, ValidationError

    from pixyproxy_cli.core.models import Password, Prompt

    prompt = TypeAdapter(Prompt)
    assert prompt.validate_python("a fox") == "a fox"
    with pytest.raises(ValidationError, match="prompt must not be empty"):
        prompt.validate_python("  ")
    with pytest.raises(ValidationError, match="the maximum is 3"):
        prompt.validate_python("four", context={"max_prompt_length": 3})
    password = TypeAdapter(Password)
    assert isinstance(password.validate_python("long enough"), SecretStr)
    with pytest.raises(ValidationError, match="at least 8 characters"):
        password.validate_python("short")


MODE_NAMES = {"remote_server", "remote_session", "RemotePromptService", "RemoteSession"}
"""What a command would name to branch on local vs remote mode."""


def test_commands_do_not_know_the_mode():
    # CliState chooses a backend (commands/backends.py); a command calls it the same way in
    # both modes. Failed when six command modules asked `cli.remote_server() is None`.
    for path in sources("commands"):
        if path.name in {"state.py", "backends.py"}:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        named = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        named |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        assert not named & MODE_NAMES, f"{path.name} names {sorted(named & MODE_NAMES)}"
        assert "pixyproxy_cli.service.remote" not in imported_modules(path), path.name


def test_the_shared_prompt_interface_has_no_server_or_admin_only_methods():
    from pixyproxy_cli.service.interfaces import (
        AdminPromptServiceInterface,
        PromptServiceInterface,
        ServedPromptServiceInterface,
    )
    from pixyproxy_cli.service.remote import RemotePromptService

    shared = set(dir(PromptServiceInterface))
    for extra in (ServedPromptServiceInterface, AdminPromptServiceInterface):
        own = set(extra.__abstractmethods__) - set(PromptServiceInterface.__abstractmethods__)
        assert own, extra.__name__
        assert not own & shared, extra.__name__
    # The remote mode implements the shared operations only: no stubs that raise.
    assert not issubclass(RemotePromptService, ServedPromptServiceInterface)
    assert not issubclass(RemotePromptService, AdminPromptServiceInterface)
    assert not {"peek_image_file", "delete_images_of", "everything_view"} & set(
        dir(RemotePromptService)
    )
