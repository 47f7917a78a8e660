"""``IMAGE_OPTIONS`` is the one declaration of the image options: every layer follows it."""

from __future__ import annotations

import dataclasses
import inspect
import typing

import pytest

from pixyproxy_cli.core.image_options import IMAGE_OPTIONS, ImageOptions, api_arguments
from pixyproxy_cli.core.settings import Settings

ENDPOINTS = ("generate", "edit")


def _sdk_parameters(endpoint: str) -> set[str]:
    from openai.resources.images import Images

    return set(inspect.signature(getattr(Images, endpoint)).parameters)


def test_the_table_covers_every_field_of_image_options():
    assert [option.name for option in IMAGE_OPTIONS] == [
        field.name for field in dataclasses.fields(ImageOptions)
    ]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_option_goes_to_the_endpoints_the_installed_sdk_says_take_it(endpoint):
    taken = _sdk_parameters(endpoint)
    for option in IMAGE_OPTIONS:
        assert option.takes(endpoint) == (option.api_name in taken), option.name


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_provider_sends_what_differs_from_the_default_and_the_endpoint_takes(endpoint):
    assert api_arguments(ImageOptions(), endpoint) == {}
    options = ImageOptions(
        size="1024x1024",
        quality="low",
        format="gif",
        compression=5,
        background="opaque",
        moderation="low",
        complexity="high",
        input_fidelity="high",
        frames=4,
        frame_ms=300,
    )
    sent = api_arguments(options, endpoint)
    expected = {
        option.api_name: getattr(options, option.name)
        for option in IMAGE_OPTIONS
        if option.takes(endpoint)
    }
    assert sent == expected


def test_the_choices_are_the_installed_sdk_literals_where_it_has_them():
    from openai.types.image_generate_params import ImageGenerateParamsBase

    hints = typing.get_type_hints(ImageGenerateParamsBase, include_extras=True)
    for option in IMAGE_OPTIONS:
        if not option.choices or option.api_name not in hints:
            continue
        literals = {
            value
            for arg in typing.get_args(hints[option.api_name])
            for value in (typing.get_args(arg) or (arg,))
            if isinstance(value, str)
        }
        # pixyproxy may offer fewer (retired values) and its own "auto"; never a value the
        # SDK does not know.
        assert set(option.choices) - {"auto"} <= literals, option.name


def test_settings_have_one_field_per_option_with_its_default():
    by_name = {field.name: field for field in dataclasses.fields(Settings)}
    for option in IMAGE_OPTIONS:
        field = by_name[option.setting]
        assert field.default == option.default, option.setting
    image_settings = {name for name in by_name if name.startswith("image_")}
    assert image_settings - {option.setting for option in IMAGE_OPTIONS} == {
        "image_dir",
        "image_provider",
        "image_prices",
        "image_redirect",
        "image_store",
    }


@pytest.mark.parametrize(("command", "endpoint"), [("generate", "generate"), ("edit", "edit")])
def test_the_cli_offers_a_flag_per_option_its_endpoint_takes(command, endpoint):
    from typer.main import get_command

    from pixyproxy_cli.commands.main import app

    click_command = get_command(app).get_command(None, command)  # type: ignore[attr-defined]
    flags = {flag for param in click_command.params for flag in param.opts}
    for option in IMAGE_OPTIONS:
        assert (option.cli_flag in flags) == option.takes(endpoint), (command, option.name)
        for param in click_command.params:
            if option.cli_flag in param.opts:
                assert f"[env: {option.variable}]" in (param.help or "")


def test_the_rest_fields_and_schemas_are_the_options_of_each_endpoint():
    from pixyproxy_cli.web.requests import EditRequest, ImageRequest
    from pixyproxy_cli.web.routers.images import EDIT_FORM_SCHEMA

    base = {"prompt", "private", "n"}
    generate = {o.name for o in IMAGE_OPTIONS if o.takes("generate")}
    edit = {o.name for o in IMAGE_OPTIONS if o.takes("edit")}
    assert set(ImageRequest.model_fields) == base | generate
    assert set(EditRequest.model_fields) >= base | edit
    assert set(EDIT_FORM_SCHEMA["properties"]) == base | edit | {"image", "mask"}
    for option in IMAGE_OPTIONS:
        if option.takes("edit"):
            form = EDIT_FORM_SCHEMA["properties"][option.name]
            assert {k: form[k] for k in option.json_schema()} == option.json_schema()
