"""schemathesis against the app's own OpenAPI schema, in process, with every check, on
SQLite and on MariaDB.

Each operation gets at least 100 generated cases, anonymous and authenticated; any check
failure (a 5xx, an undocumented status, a response off its schema, accepted garbage, ...)
fails the test.
"""

from __future__ import annotations

import base64
import os
import re
from collections import Counter
from dataclasses import replace

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.errors import FailureGroup
from schemathesis.transport.serialization import Binary

from pixyproxy_cli.core.image_options import (
    IMAGE_SIZE_PATTERN,
    SINGLE_IMAGE_FORMATS,
    TRANSPARENT_FORMATS,
    UNMASKED_FORMATS,
    image_size_problem,
)
from pixyproxy_cli.core.models import ImageDetailCreate, UserCreate
from pixyproxy_cli.data.init import create_database
from pixyproxy_cli.data.providers.placeholder import render_png
from pixyproxy_cli.service.init import build_services
from pixyproxy_cli.web.app import create_app
from pixyproxy_cli.web.requests import ImageRequest
from tests.fakes import FakeProvider, Journal
from tests.openai_server import picture

PASSWORD = "a password for fuzzing"
MIN_CASES = 100
PARAMETERLESS = {"/healthz", "/readyz", "/metrics", "/webhooks/openai"}
"""Paths whose one operation takes nothing: schemathesis has a few distinct cases for them.
(A webhook's body is bytes signed with a secret no generator has: its signature is tested in
tests/web/test_webhooks.py.)"""
AUTHORIZATION = "Basic " + base64.b64encode(f"fuzzer:{PASSWORD}".encode()).decode()


class CurrentApp:
    """An ASGI app that forwards to the app of the running test.

    The schema is loaded at import (schemathesis' ``from_fixture`` breaks on pytest 9.2);
    each test then points this at an app over its own fresh database.
    """

    def __init__(self) -> None:
        self.app = create_app()  # only serves /openapi.json until a test replaces it

    async def __call__(self, scope, receive, send) -> None:
        await self.app(scope, receive, send)


current_app = CurrentApp()
schema = schemathesis.openapi.from_asgi("/openapi.json", current_app)
SOURCES = [picture(kind, (64, 48)) for kind in ("png", "jpeg", "webp")]
"""What an edit's uploads are: the schema says PNG, JPEG or WebP images, which schemathesis
cannot make; the fixture's stored images are 64x48 too."""
MASK = picture("png", (64, 48))


@schema.hook
def map_case(context, case):
    """An edit's file parts as the schema describes them: images, and a PNG mask that fits.

    schemathesis makes random bytes for a binary part; the description says which images
    they must be, as a format no generator knows. Text parts (GUIDs) stay as generated.
    Case hooks apply to every phase's cases, the coverage phase's included. The bytes are
    put into schemathesis' own ``Binary`` parts in place: a body it sees replaced, and
    holding binary, it can no longer judge, and counts as negative.
    """
    body = case.body
    if case.operation.path != "/edits" or not isinstance(body, dict):
        return case
    images = body.get("image")
    for number, item in enumerate(images if isinstance(images, list) else ()):
        if isinstance(item, Binary):
            item.data = SOURCES[number % len(SOURCES)]
    if isinstance(body.get("mask"), Binary):
        body["mask"].data = MASK
    return case


@schema.hook
def filter_case(context, case):
    """Leave out bodies whose size the pattern admits and the rule refuses.

    JSON Schema cannot say "within 3840x2160 either way round, of a ratio between 1:3 and
    3:1": the schema's pattern says the rest (multiples of 16 up to 3840), and the generated
    cases keep to the whole rule through the same function the server uses. Both sides of
    each edge are tested by hand in tests/web/test_api.py. A batch (POST /jobs) is held to
    it in each of its requests.
    """
    body = case.body
    if not isinstance(body, dict):
        return True
    positive = case.meta is None or case.meta.generation.mode.is_positive
    requests = body.get("requests") if case.operation.path == "/jobs" else [body]
    if not isinstance(requests, list):
        return True
    rules = _dependent_schemas(case)
    for request in requests:
        if not isinstance(request, dict):
            continue
        if positive and (
            not jsonschema.Draft202012Validator(rules).is_valid(request)
            or _breaks_a_described_rule(request)
        ):
            return False
        size = request.get("size")
        if (
            isinstance(size, str)
            and IMAGE_SIZE_PATTERN.fullmatch(size) is not None
            and image_size_problem(size) is not None
        ):
            return False
    return True


def _breaks_a_described_rule(body: dict) -> bool:
    """Whether an edit asks for a transparent background in a format without one, several
    SVGs, or a GIF with a mask: the form says so in descriptions, since schemathesis cannot
    judge an anyOf over a form holding files (POST /image says the first two in its
    schema)."""
    image_format = body.get("format", "png")
    return (
        (body.get("background") == "transparent" and image_format not in TRANSPARENT_FORMATS)
        or (image_format in SINGLE_IMAGE_FORMATS and body.get("n", 1) != 1)
        or (image_format in UNMASKED_FORMATS and "mask" in body)
    )


def _dependent_schemas(case) -> dict:
    """The ``dependentSchemas`` of a case's body (compression only with webp or jpeg, ...),
    which schemathesis' coverage phase does not apply to forms; for a batch, its requests'."""
    if case.operation.path == "/jobs":
        return {"dependentSchemas": ImageRequest.model_json_schema()["dependentSchemas"]}
    body_schema = case.operation.get_body_for_media_type(case.media_type or "")
    dependent = (body_schema.definition.get("schema") or {}) if body_schema else {}
    return {"dependentSchemas": dependent.get("dependentSchemas", {})}


@pytest.fixture(autouse=True)
def fuzz_app(backend_settings):
    # The limits are tested on their own; here they would answer 429 to repeated bad auth.
    settings = replace(backend_settings, generate_rate_limit=0, login_max_failures=0)
    database = create_database(settings)
    # Real image bytes: thumbnails are made from them.
    provider = FakeProvider(Journal(), data=render_png("fuzzed", 64, 48))
    services = build_services(settings, provider=provider, database=database)
    services.users.add_user(UserCreate(username="fuzzer", password=PASSWORD, class_key="k"))
    fuzzer = services.users.authenticate("fuzzer", PASSWORD)
    # Something to find: a public image, and a private one of the fuzzer's.
    services.prompts.generate_image(ImageDetailCreate(prompt="public"))
    services.prompts_for(fuzzer).generate_image(ImageDetailCreate(prompt="mine", private=True))
    current_app.app = create_app(services)
    yield
    database.close()


@pytest.fixture
def case_counter(request):
    """Counts the cases run for one operation (one test item); at least MIN_CASES."""
    counts: Counter[str] = Counter()
    yield counts
    print(f"{request.node.name}: {counts.total()} cases")  # the figure, with pytest -s
    paths = {key.split(" ", 1)[-1] for key in counts}
    least = 1 if paths <= PARAMETERLESS else MIN_CASES
    assert counts.total() >= least, f"{request.node.name}: only {counts.total()} cases"


FUZZ_SEED = os.environ.get("PIXYPROXY_FUZZ_SEED")
"""Unset (the suite): the same cases every run. A number: other cases, for a longer hunt
(``PIXYPROXY_FUZZ_SEED=7 pytest tests/web/test_fuzz.py``)."""
FUZZ_SETTINGS = settings(
    max_examples=MIN_CASES + 20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=FUZZ_SEED is None,
)
SEEDED = seed(int(FUZZ_SEED)) if FUZZ_SEED else (lambda test: test)


@schema.parametrize()
@FUZZ_SETTINGS
@SEEDED
def test_anonymous_requests_pass_every_check(case, case_counter):
    case_counter[f"{case.method} {case.path}"] += 1
    call_and_validate(case)


@schema.parametrize()
@FUZZ_SETTINGS
@SEEDED
def test_authenticated_requests_pass_every_check(case, case_counter):
    case_counter[f"{case.method} {case.path}"] += 1
    call_and_validate(case, headers={"Authorization": AUTHORIZATION})


def call_and_validate(case, **kwargs) -> None:
    """``case.call_and_validate``, where a batch over the body limit may be refused by 413.

    A JSON Schema cannot bound a body's bytes: POST /jobs' largest batch of the largest
    prompts is over the 1 MB every JSON body is held to (documented), so schemathesis' bad
    batches (too many requests, each valid) may meet that limit before validation does.
    """
    try:
        case.call_and_validate(**kwargs)
    except FailureGroup as group:
        others = [
            failure
            for failure in group.exceptions
            if not (
                isinstance(failure, AcceptedNegativeData)
                and (
                    (case.path == "/jobs" and failure.status_code == 413)
                    or (case.path == "/edits" and _sent_as_valid_text(case, failure))
                )
            )
        ]
        if others:
            raise


_TYPE_VIOLATION = re.compile(r"- violates `type` at /properties/(\w+) \(")


def _sent_as_valid_text(case, failure: AcceptedNegativeData) -> bool:
    """Whether every violation schemathesis names is a value of another JSON type that the
    multipart form nonetheless sends as a valid field: a form carries text only, so a prompt
    generated as the integer 14 goes as the text "14", and an empty array as no part at all.

    Any other violation (a pattern, a bound, a text that does not parse as the declared
    integer) still fails the test.
    """
    violations = [line.strip() for line in failure.message.splitlines() if "- violates" in line]
    body = case.body if isinstance(case.body, dict) else {}
    body_schema = case.operation.get_body_for_media_type(case.media_type or "")
    properties = ((body_schema.definition.get("schema") or {}) if body_schema else {}).get(
        "properties", {}
    )
    for violation in violations:
        found = _TYPE_VIOLATION.match(violation)
        if found is None:
            return False
        declared = properties.get(found[1], {}).get("type")
        if not _text_fits(body.get(found[1]), declared):
            return False
    return bool(violations)


def _text_fits(value: object, declared: object) -> bool:
    """Whether ``value``, as a form sends it, is a valid field of the ``declared`` type."""
    if isinstance(value, list):
        return value == []  # no part at all
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if declared == "string":
        return True
    if declared == "integer":
        return text.removeprefix("-").isdecimal()
    if declared == "boolean":
        return text in ("true", "false")
    return False
