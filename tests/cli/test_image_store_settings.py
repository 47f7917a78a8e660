"""IMAGE_STORE from the command line: what it takes, and what it refuses before any work."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from pixyproxy_cli.commands.main import app
from pixyproxy_cli.core.exceptions import ConfigurationError
from pixyproxy_cli.core.settings import load_settings
from pixyproxy_cli.data.files.object_store import BucketAddress, S3ImageStore
from pixyproxy_cli.data.files.storage import LocalImageStore
from pixyproxy_cli.data.init import create_image_store

runner = CliRunner()


@pytest.mark.parametrize(
    ("url", "bucket", "prefix", "shown"),
    [
        ("s3://images", "images", "", "s3://images"),
        ("s3://images/", "images", "", "s3://images"),
        ("s3://images/team/a", "images", "team/a", "s3://images/team/a"),
        (" s3://images/team/ ", "images", "team", "s3://images/team"),
    ],
)
def test_a_bucket_address_is_read(url, bucket, prefix, shown):
    address = BucketAddress.parse(url)

    assert (address.bucket, address.prefix, str(address)) == (bucket, prefix, shown)


@pytest.mark.parametrize(
    "url", ["/srv/images", "file:///srv/images", "s3://", "s3:///x", "s3://b/a//c", "s3://b/../c"]
)
def test_anything_but_a_bucket_is_refused_naming_the_setting(url):
    with pytest.raises(ConfigurationError, match="IMAGE_STORE"):
        BucketAddress.parse(url)


def test_without_image_store_the_folder_is_used_and_with_it_the_bucket(tmp_path):
    folder = load_settings({"data_dir": tmp_path}, environ={})
    bucket = load_settings(
        {"data_dir": tmp_path}, environ={"IMAGE_STORE": "s3://b/p", "AWS_REGION": "eu-west-1"}
    )

    assert isinstance(create_image_store(folder), LocalImageStore)
    store = create_image_store(bucket)
    assert isinstance(store, S3ImageStore)
    assert store.describe() == "s3://b/p"
    assert not store.local


def test_the_object_store_client_is_not_imported_until_a_file_is_needed(tmp_path):
    sys.modules.pop("obstore", None)
    settings = load_settings({"data_dir": tmp_path}, environ={"IMAGE_STORE": "s3://b/p"})

    create_image_store(settings)

    assert "obstore" not in sys.modules


def test_without_obstore_the_message_says_what_to_install(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "obstore" else real(name)
    )
    settings = load_settings({"data_dir": tmp_path}, environ={"IMAGE_STORE": "s3://b"})

    with pytest.raises(ConfigurationError, match=r"pip install 'pixyproxy\[s3\]'"):
        create_image_store(settings)


def test_a_bad_image_store_stops_generate_with_exit_1_naming_the_setting(
    isolated_environment, monkeypatch
):
    monkeypatch.setenv("IMAGE_STORE", "/srv/images")

    result = runner.invoke(app, ["generate", "a lighthouse"], catch_exceptions=False)

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: IMAGE_STORE: '/srv/images' is not s3://bucket or s3://bucket/prefix "
        "(for a local folder, set IMAGE_DIR instead)\n"
    )


def test_the_s3_secret_comes_from_the_keyring_and_the_environment_wins(
    memory_keyring, isolated_environment, monkeypatch
):
    from pixyproxy_cli.data.keyring_stores.secrets import object_store_secret

    stored = runner.invoke(app, ["key", "set", "s3", "--stdin"], input="keyring-secret\n")
    from_keyring = object_store_secret(load_settings())
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "environment-secret")
    from_environment = object_store_secret(load_settings())

    assert stored.exit_code == 0, stored.stderr
    assert stored.stderr.startswith(
        "Stored the object store's secret access key (AWS_SECRET_ACCESS_KEY) in the keyring ("
    )
    assert memory_keyring.get_password("pixyproxy:secrets", "s3") == "keyring-secret"
    assert from_keyring == "keyring-secret"
    assert from_environment == "environment-secret"
    files = [p.read_bytes() for p in isolated_environment.rglob("*") if p.is_file()]
    assert not any(b"keyring-secret" in content for content in files)


def test_without_a_secret_anywhere_the_sdk_chain_decides(isolated_environment):
    from pixyproxy_cli.data.keyring_stores.secrets import object_store_secret

    assert object_store_secret(load_settings()) is None
