"""The S3 image store on a real S3 server: Ceph's radosgw (tests/ceph_rgw.py).

Real signatures (a tampered presigned URL is refused), real conditional writes (a second
PUT of a key answers 412), and the whole tool on top: generate, fetch, show, rm, doctor,
export and import through the CLI, and content, thumbnails, redirects and readiness
through a real ``serve``, with no image folder in sight.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pixyproxy_cli.core.exceptions import StorageUnavailableError
from pixyproxy_cli.data.files.object_store import BucketAddress, S3ImageStore, S3Settings
from tests.ceph_rgw import REGION, CephGateway, missing
from tests.conftest import SETTING_VARIABLES
from tests.helpers import EXECUTABLE, running_server
from tests.store_contract import CONTRACT, fresh_name

BUCKET = "pixyproxy-images"
OTHER_BUCKET = "pixyproxy-imported"


@dataclass
class Bed:
    gateway: CephGateway
    root: Path
    env: dict[str, str]

    def store(self, bucket: str = BUCKET, prefix: str = "images", **changes: str) -> S3ImageStore:
        settings = {
            "endpoint_url": self.gateway.endpoint,
            "region": REGION,
            "access_key_id": self.gateway.access_key,
            "secret": self.gateway.secret_key,
            **changes,
        }
        secret = settings.pop("secret")
        return S3ImageStore(
            S3Settings(
                address=BucketAddress(bucket, prefix),
                secret_access_key=lambda: secret,
                **settings,  # type: ignore[arg-type]
            )
        )

    def env_for(self, bucket: str, prefix: str) -> dict[str, str]:
        """Settings for ``bucket/prefix`` with a database of their own (one machine each)."""
        folder = self.root / f"data-{bucket}-{prefix or 'root'}"
        return {**self.env, **self.gateway.env(bucket, prefix), "PIXYPROXY_DATA_DIR": str(folder)}

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(EXECUTABLE), *args],
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    reason = missing()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the radosgw test bed cannot run under CI: {reason}")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("s3")
    gateway = CephGateway(root / "ceph")
    try:
        gateway.start()
        for bucket in (BUCKET, OTHER_BUCKET):
            gateway.create_bucket(bucket)
        env = {key: value for key, value in os.environ.items() if key not in SETTING_VARIABLES}
        env.update(
            PIXYPROXY_DATA_DIR=str(root / "data"),
            PIXYPROXY_CONFIG_DIR=str(root / "config"),
            IMAGE_PROVIDER="placeholder",
            IMAGE_SIZE="64x64",
            **gateway.env(BUCKET),
        )
        yield Bed(gateway, root, env)
    finally:
        gateway.stop()


def check_the_s3_store_keeps_the_contract(bed: Bed, subtests) -> None:
    store = bed.store(prefix="contract")
    for check in CONTRACT:
        with subtests.test(check.__name__):
            check(store)


def check_a_second_put_of_a_key_is_refused_by_the_server_itself(bed: Bed) -> None:
    # Not a check-then-act: two stores (two replicas) racing for one name, one wins.
    first, second = bed.store(prefix="race"), bed.store(prefix="race")
    name = fresh_name()
    first.save(name, b"winner")
    from pixyproxy_cli.core.exceptions import StoredFileExistsError

    with pytest.raises(StoredFileExistsError, match="is stored already"):
        second.save(name, b"loser")
    assert second.read(name) == b"winner"


def check_a_presigned_url_needs_no_credentials_and_a_tampered_one_is_refused(bed: Bed) -> None:
    store = bed.store(prefix="signed")
    name = fresh_name()
    store.save(name, b"signed bytes")
    url = store.locate(name).url(60)
    assert url is not None
    assert "X-Amz-Signature=" in url

    assert httpx.get(url).content == b"signed bytes"
    tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=6000")
    assert httpx.get(tampered).status_code == 403
    assert httpx.get(url.split("?")[0]).status_code == 403  # no signature: private bucket


def check_wrong_credentials_and_a_missing_bucket_are_not_ready(bed: Bed) -> None:
    with pytest.raises(StorageUnavailableError, match="refused the credentials"):
        bed.store(secret="not-the-secret").check()
    with pytest.raises(StorageUnavailableError, match="does not exist"):
        bed.store(bucket="no-such-bucket").check()
    with pytest.raises(StorageUnavailableError, match="refused the credentials"):
        bed.store(secret="not-the-secret").save(fresh_name(), b"x")


def check_the_cli_keeps_its_files_in_the_bucket(bed: Bed) -> None:
    made = bed.run("generate", "a lighthouse in a bucket", "--json")
    assert made.returncode == 0, made.stderr
    image = json.loads(made.stdout)
    guid = image["guid"]
    assert image["file"] == f"s3://{BUCKET}/images/{guid}.png"
    assert not (bed.root / "data" / "images").exists()  # no local folder was used

    store = bed.store()
    stored = store.read(f"{guid}.png")
    assert stored.startswith(b"\x89PNG")

    target = bed.root / "fetched.png"
    fetched = bed.run("fetch", guid, "-o", str(target))
    assert fetched.returncode == 0, fetched.stderr
    assert target.read_bytes() == stored
    piped = subprocess.run(
        [str(EXECUTABLE), "fetch", guid, "-o", "-"], env=bed.env, capture_output=True, timeout=60
    )
    assert piped.stdout == stored

    shown = bed.run("show", guid)
    assert f"s3://{BUCKET}/images/{guid}.png" in shown.stdout

    removed = bed.run("rm", guid, "--yes")
    assert removed.returncode == 0, removed.stderr
    assert not store.exists(f"{guid}.png")


def check_doctor_finds_orphans_in_the_bucket_and_fix_removes_only_its_own(bed: Bed) -> None:
    env = bed.env_for(BUCKET, "doctor")
    made = bed.run("generate", "kept", "--json", env=env)
    assert made.returncode == 0, made.stderr
    store = bed.store(prefix="doctor")
    orphan, foreign = fresh_name(), "notes.txt"
    store.save(orphan, b"no row names me")
    store.save(foreign, b"somebody else's")
    gone = json.loads(bed.run("generate", "gone", "--json", env=env).stdout)["guid"]
    store.delete(f"{gone}.png")

    report = {c["name"]: c for c in json.loads(bed.run("doctor", "--json", env=env).stdout)}
    assert report["image store"]["status"] == "ok"
    assert report["image store"]["detail"] == (f"s3://{BUCKET}/doctor at {bed.gateway.endpoint}")
    images = report["images"]["detail"]
    assert "2 row(s), 2 file(s)" in images  # kept's and the orphan: notes.txt is foreign
    assert f"1 row(s) without a file: {gone}" in images
    assert "1 file(s) too recent to judge" in images  # younger than --min-age
    assert "1 file(s) not made by pixyproxy, left alone: notes.txt" in images

    fixed = bed.run("doctor", "--fix", "--min-age", "0", "--json", env=env)
    fixed_images = {c["name"]: c for c in json.loads(fixed.stdout)}["images"]["detail"]
    assert f"removed 1 orphan file(s): {orphan}" in fixed_images
    assert not store.exists(orphan)
    assert store.read(foreign) == b"somebody else's"


def check_export_from_the_bucket_and_import_into_another(bed: Bed) -> None:
    env = bed.env_for(BUCKET, "exported")
    guids = [
        json.loads(bed.run("generate", f"exported {n}", "--json", env=env).stdout)["guid"]
        for n in range(3)
    ]
    folder = bed.root / "export"
    exported = bed.run("export", str(folder), env=env)
    assert exported.returncode == 0, exported.stderr
    assert sorted(p.name for p in (folder / "images").iterdir()) == sorted(
        f"{guid}.png" for guid in guids
    )

    other = bed.env_for(OTHER_BUCKET, "")
    imported = bed.run("import", str(folder), env=other)
    assert imported.returncode == 0, imported.stderr
    target = bed.store(bucket=OTHER_BUCKET, prefix="")
    for guid in guids:
        assert target.read(f"{guid}.png") == (folder / "images" / f"{guid}.png").read_bytes()
    again = bed.run("import", str(folder), env=other)  # nothing twice, nothing lost
    assert again.returncode == 0, again.stderr
    assert sorted(target.list_filenames()) == sorted(f"{guid}.png" for guid in guids)


def check_serve_streams_files_and_thumbnails_from_the_bucket(bed: Bed) -> None:
    with running_server(bed.env, bed.root / "serve.log") as (url, _):
        assert httpx.get(f"{url}/readyz").status_code == 200
        made = httpx.post(f"{url}/image", json={"prompt": "served from s3"}, timeout=60)
        assert made.status_code == 201, made.text
        guid = made.json()["guid"]
        content = httpx.get(f"{url}/image/{guid}/content")
        assert content.status_code == 200
        assert content.content == bed.store().read(f"{guid}.png")
        assert content.headers["content-length"] == str(len(content.content))
        again = httpx.get(
            f"{url}/image/{guid}/content", headers={"If-None-Match": content.headers["etag"]}
        )
        assert again.status_code == 304
        thumbnail = httpx.get(f"{url}/image/{guid}/thumbnail?size=128")
        assert thumbnail.status_code == 200
        assert thumbnail.headers["content-type"] == "image/webp"
        assert bed.store().thumbnail(f"{guid}.png", 128) is not None  # cached in the bucket
        cached = httpx.get(f"{url}/image/{guid}/thumbnail?size=128")
        assert cached.content == thumbnail.content

        assert httpx.delete(f"{url}/image/{guid}").status_code in (204, 401, 403)


def check_serve_can_redirect_content_to_a_presigned_url(bed: Bed) -> None:
    env = {**bed.env, "IMAGE_REDIRECT": "60", "PIXYPROXY_DATA_DIR": str(bed.root / "redirect")}
    with running_server(env, bed.root / "redirect.log") as (url, _):
        made = httpx.post(f"{url}/image", json={"prompt": "redirected"}, timeout=60)
        guid = made.json()["guid"]
        answer = httpx.get(f"{url}/image/{guid}/content")
        assert answer.status_code == 307
        assert answer.headers["cache-control"] == "no-store"
        location = answer.headers["location"]
        assert location.startswith(f"{bed.gateway.endpoint}/{BUCKET}/images/{guid}.png?")
        assert httpx.get(location).content == bed.store().read(f"{guid}.png")

        # Remote mode follows it, without sending its credentials to the bucket.
        target = bed.root / "remote.png"
        remote = {**env, "PIXYPROXY_SERVER": url}
        fetched = bed.run("fetch", guid, "-o", str(target), env=remote)
        assert fetched.returncode == 0, fetched.stderr
        assert target.read_bytes() == bed.store().read(f"{guid}.png")


def check_serve_is_not_ready_without_its_bucket(bed: Bed) -> None:
    env = {
        **bed.env,
        **bed.gateway.env("no-such-bucket"),
        "PIXYPROXY_DATA_DIR": str(bed.root / "unready"),
    }
    with running_server(env, bed.root / "unready.log") as (url, _):
        answer = httpx.get(f"{url}/readyz")
        assert answer.status_code == 503, answer.text


CHECKS = [
    check_the_s3_store_keeps_the_contract,
    check_a_second_put_of_a_key_is_refused_by_the_server_itself,
    check_a_presigned_url_needs_no_credentials_and_a_tampered_one_is_refused,
    check_wrong_credentials_and_a_missing_bucket_are_not_ready,
    check_the_cli_keeps_its_files_in_the_bucket,
    check_doctor_finds_orphans_in_the_bucket_and_fix_removes_only_its_own,
    check_export_from_the_bucket_and_import_into_another,
    check_serve_streams_files_and_thumbnails_from_the_bucket,
    check_serve_can_redirect_content_to_a_presigned_url,
    check_serve_is_not_ready_without_its_bucket,
]


def test_the_object_store_on_radosgw(bed, subtests):
    # One test, its checks as subtests: the gateway is started once (see test_galera.py).
    for check in CHECKS:
        with subtests.test(check.__name__):
            if check is check_the_s3_store_keeps_the_contract:
                check(bed, subtests)
            else:
                check(bed)
