"""GET /image/{guid}/thumbnail on SQLite and MariaDB: WebP of the asked size, cached on disk
beside the images, visibility as for the image, gone with the image, known to doctor."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from pixyproxy_cli.data.providers.placeholder import render_png

MISSING = "0b4e28ba-2fa1-11d2-883f-0016d3cca427"


@pytest.fixture
def real_images(api):
    api.provider.data = render_png("a lighthouse", 1024, 768)
    return api


def make(api, prompt="a lighthouse", *, user=None, private=False):
    response = api.post(
        "/image", json={"prompt": prompt, "private": private}, auth=api.auth(user) if user else None
    )
    assert response.status_code == 201, response.text
    return response.json()


def thumbnails(api) -> list[str]:
    folder = api.services.settings.image_dir / ".thumbnails"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_a_thumbnail_is_a_webp_of_the_size_asked_cached_beside_the_images(real_images):
    api = real_images
    image = make(api)

    first = api.get(f"/image/{image['guid']}/thumbnail", params={"size": 256})
    again = api.get(f"/image/{image['guid']}/thumbnail", params={"size": 256})
    revalidated = api.get(
        f"/image/{image['guid']}/thumbnail",
        params={"size": 256},
        headers={"If-None-Match": first.headers["etag"]},
    )

    assert first.status_code == again.status_code == 200
    assert first.headers["content-type"] == "image/webp"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["content-security-policy"] == "default-src 'none'; sandbox"
    with Image.open(io.BytesIO(first.content)) as picture:
        assert (picture.format, picture.size) == ("WEBP", (256, 192))  # proportions kept
    assert again.content == first.content
    assert revalidated.status_code == 304
    assert thumbnails(api) == [f"{image['guid']}-256.webp"]
    assert first.headers["cache-control"] == "public, no-cache"


def test_only_the_offered_sizes(real_images):
    image = make(real_images)

    for size in (0, 100, 1024, "big"):
        response = real_images.get(f"/image/{image['guid']}/thumbnail", params={"size": size})
        assert response.status_code == 422, size
    assert thumbnails(real_images) == []


def test_a_private_images_thumbnail_is_its_owners_only(real_images):
    api = real_images
    image = make(api, user="alice", private=True)

    mine = api.get(f"/image/{image['guid']}/thumbnail", auth=api.auth("alice"))
    theirs = api.get(f"/image/{image['guid']}/thumbnail", auth=api.auth("bob"))
    absent = api.get(f"/image/{MISSING}/thumbnail", auth=api.auth("bob"))

    assert mine.status_code == 200
    assert mine.headers["cache-control"] == "private, no-store"
    assert theirs.status_code == absent.status_code == 404
    assert theirs.json()["message"] == absent.json()["message"].replace(MISSING, image["guid"])


def test_deleting_an_image_deletes_its_thumbnails(real_images):
    api = real_images
    image = make(api, user="alice")
    kept = make(api, user="alice")
    for size in (128, 512):
        for made in (image, kept):
            api.get(f"/image/{made['guid']}/thumbnail", params={"size": size})

    assert (
        api.request("DELETE", f"/image/{image['guid']}", auth=api.auth("alice")).status_code == 204
    )

    assert thumbnails(api) == [f"{kept['guid']}-128.webp", f"{kept['guid']}-512.webp"]
    assert api.get(f"/image/{image['guid']}/thumbnail").status_code == 404


def test_doctor_counts_thumbnails_and_fix_removes_orphans(real_images):
    api = real_images
    image = make(api)
    api.get(f"/image/{image['guid']}/thumbnail")
    orphan = api.services.settings.image_dir / ".thumbnails" / f"{MISSING}-256.webp"
    orphan.write_bytes(b"left over")

    found = api.services.admin.check_consistency(min_age=0)
    fixed = api.services.admin.check_consistency(fix=True, min_age=0)

    assert found.thumbnails == 2
    assert found.orphan_thumbnails == [orphan.name]
    assert found.foreign_files == []  # .thumbnails is pixyproxy's own
    assert fixed.orphan_thumbnails == [orphan.name]
    assert not orphan.exists()
    assert thumbnails(api) == [f"{image['guid']}-256.webp"]


def test_a_stored_file_that_is_not_an_image_is_a_server_error(api):
    image = make(api)
    stored = api.services.settings.image_dir / f"{image['guid']}.png"
    stored.write_bytes(b"\x89PNG\r\n\x1a\n" + b"a PNG signature and nothing after")

    response = api.get(f"/image/{image['guid']}/thumbnail")

    assert response.status_code == 500  # the server's message: no path of the server in it
    assert response.json()["message"] == "The image file could not be stored or read"
