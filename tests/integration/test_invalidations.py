"""Two replicas that share only the database: tokens and deletes travel through it.

Each replica here is a ``Services`` with a data directory of its own (its token marks, its
image folder, its caches), on one SQLite file or one MariaDB database: what two machines
of a team share. A token issued through one works through the other at once; a revoke or a
delete through one reaches the other at its next poll of ``invalidations``.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from pixyproxy_cli.core.exceptions import AuthenticationError, RecordNotFoundError
from pixyproxy_cli.core.models import UserCreate
from pixyproxy_cli.data.init import create_database
from pixyproxy_cli.service.init import build_services
from tests.fakes import FakeProvider, Journal

PASSWORD = "alice's long password"


@pytest.fixture
def replicas(backend_settings, tmp_path):
    built = []
    shared = backend_settings.sqlite_path  # the one database file, for SQLite
    for name in ("one", "two"):
        settings = replace(
            backend_settings,
            data_dir=tmp_path / name,
            image_dir=tmp_path / name / "images",
            sqlite_path=shared,
        )
        database = create_database(settings)
        built.append(build_services(settings, provider=FakeProvider(Journal()), database=database))
    one, two = built
    one.users.add_user(UserCreate(username="alice", password=PASSWORD, class_key="k"))
    two.invalidations.poll()  # what was there before the test is old news
    try:
        yield one, two
    finally:
        for services in built:
            services.close()


def test_a_token_from_one_replica_works_on_the_other_at_once(replicas):
    one, two = replicas
    alice = one.users.authenticate("alice", PASSWORD)
    issued = one.tokens.issue(alice, "laptop")

    assert two.tokens.peek(issued.token) is None  # never seen here: looked up
    assert two.tokens.authenticate(issued.token) == alice
    assert two.tokens.peek(issued.token) == alice  # now one stat


def test_a_revoke_through_one_replica_reaches_the_other_at_its_next_poll(replicas):
    one, two = replicas
    alice = one.users.authenticate("alice", PASSWORD)
    issued = one.tokens.issue(alice, "laptop")
    assert two.tokens.authenticate(issued.token) == alice

    one.tokens.revoke(alice, issued.id)

    assert two.tokens.peek(issued.token) == alice  # its own mark and memory: not yet told
    assert two.invalidations.poll() == 1
    assert two.tokens.peek(issued.token) is None
    with pytest.raises(AuthenticationError):
        two.tokens.authenticate(issued.token)
    assert two.invalidations.poll() == 0  # told once


def test_a_delete_through_one_replica_reaches_the_other_at_its_next_poll(replicas):
    one, two = replicas
    alice = one.users.authenticate("alice", PASSWORD)
    image = one.prompts_for(alice).generate_image({"prompt": "shared"})
    # The other replica has its own copy of the file (copied folders, or a store it caches).
    stored = one.prompts.get_image_file(image.guid).path
    copy = two.settings.image_dir / stored.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(stored, copy)
    assert two.prompts.get_image_by_guid(image.guid).guid == image.guid  # now cached there

    one.prompts_for(alice).delete_images([image.guid])

    assert two.prompts.peek_image_by_guid(image.guid) is not None  # its file is still there
    assert two.invalidations.poll() == 1
    assert two.prompts.peek_image_by_guid(image.guid) is None
    with pytest.raises(RecordNotFoundError):
        two.prompts.get_image_by_guid(image.guid)
