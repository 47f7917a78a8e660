"""The image store contract (tests/store_contract.py) on a real folder and on the fake.

The S3 store passes the same checks on a real radosgw: tests/cluster/test_object_store.py.
"""

from __future__ import annotations

import pytest

from pixyproxy_cli.data.files.storage import ImageStoreInterface, LocalImageStore
from tests.fakes import FakeStore, Journal
from tests.store_contract import CONTRACT


@pytest.fixture(params=["local", "fake"])
def store(request, tmp_path) -> ImageStoreInterface:
    if request.param == "local":
        return LocalImageStore(tmp_path / "images")
    return FakeStore(Journal())


@pytest.mark.parametrize("check", CONTRACT, ids=lambda check: check.__name__)
def test_the_store_keeps_its_contract(store, check):
    check(store)
