"""The OpenAI Images API provider, through the official ``openai`` SDK.

The SDK is imported on the first ``generate`` call, never when the provider is built, so
commands that do not generate never pay its ~600 ms import. Every SDK failure is
translated into the GenerationError family with a message a user can act on; the API key
never appears in one (OpenAI's own 401 message echoes part of it, so it is not passed on).

Retries are pixyproxy's, not the SDK's (its own are off): ``timeout`` is a deadline for the
whole generation, every attempt and wait included; a connection must be made within
``CONNECT_TIMEOUT``; and only what cannot have been billed is tried again, at most
``max_retries`` times: a connection that was never made, a 429 (after the wait the API
asks for), and a 5xx. A timeout while the API works, or a connection lost after the request
went out, is never retried: the image may have been made, and billed, already.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.utils
import functools
import itertools
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    ContentRejectedError,
    GenerationError,
    InputValidationError,
    ModelUnavailableError,
    ProviderAuthenticationError,
    ProviderUnavailableError,
    RateLimitedError,
)
from pixyproxy_cli.core.image_options import UNSTREAMED_FORMATS, ImageOptions, api_arguments
from pixyproxy_cli.core.provenance import ProvenanceReport, ProvenanceSignal
from pixyproxy_cli.data.providers import (
    PARTIAL_IMAGES,
    BatchLine,
    BatchOutcome,
    GeneratedImage,
    ImageProviderInterface,
    ModelInfo,
    Progress,
    RemoteBatchState,
    SourceImage,
    sniff_media_type,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

OPENAI_PROVIDER = "openai"
OPENAI_BATCH_PROVIDER = "openai-batch"
"""The provider of an image made through the Batch API (one of ``BATCH_PROVIDERS``)."""
CONNECT_TIMEOUT = 5.0
"""Seconds to make a connection to the API (within the deadline)."""
PREVIEW_FORMATS = {
    "gif": "GIF output needs access to the GIF preview for the model",
    "svg": "SVG output needs a supported image model and project access",
}
"""The formats the SDK says need access a key may not have, and what it says they need."""
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Seconds between attempts after a 5xx (or a 429 that names no wait), the last repeated."""


class OpenAIImageProvider(ImageProviderInterface):
    """Generates images with ``client.images.generate`` (today's GPT image models)."""

    name = OPENAI_PROVIDER
    model: str
    batch_api = True

    def __init__(
        self,
        *,
        api_key: str | Callable[[], str],
        model: str,
        options: ImageOptions,
        timeout: float,
        max_retries: int,
        base_url: str | None = None,
    ) -> None:
        self.model = model
        self.options = options
        self.timeout = timeout
        self.max_retries = max_retries
        self.base_url = base_url
        self._api_key = api_key
        self._client: Any = None

    def _get_client(self) -> Any:
        if self._client is None:
            from openai import OpenAI

            # A key kept in the keyring is read when the first request needs it.
            api_key = self._api_key if isinstance(self._api_key, str) else self._api_key()
            self._client = OpenAI(
                api_key=api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0
            )
        return self._client

    def default_options(self) -> ImageOptions:
        """The options from the settings, used when a request brings none."""
        return self.options

    def generate(
        self,
        prompt: str,
        n: int = 1,
        options: ImageOptions | None = None,
        progress: Progress | None = None,
    ) -> list[GeneratedImage]:
        """Generate ``n`` images in one request. Raises a GenerationError subclass on failure."""
        arguments = self._arguments(prompt, n, options, edit=False)
        return self._request("generate", arguments, progress)

    def edit(
        self,
        prompt: str,
        sources: Sequence[SourceImage],
        mask: SourceImage | None = None,
        n: int = 1,
        options: ImageOptions | None = None,
        progress: Progress | None = None,
    ) -> list[GeneratedImage]:
        """Edit ``sources`` in one ``images.edit`` request (multipart, as the SDK sends it).

        The edit endpoint takes no moderation level, so none is sent. Raises a
        GenerationError subclass on failure.
        """
        arguments = self._arguments(prompt, n, options, edit=True)
        arguments["image"] = [_upload(source) for source in sources]
        if mask is not None:
            arguments["mask"] = _upload(mask)
        return self._request("edit", arguments, progress)

    def _arguments(
        self, prompt: str, n: int, options: ImageOptions | None, *, edit: bool
    ) -> dict[str, Any]:
        """The request's arguments, the options as the endpoint takes them.

        ``api_arguments``: an edit's take no moderation, a generation's no input fidelity.
        """
        if options is None:
            options = self.options
            options.check(self.model, edit=edit)
        return {
            "model": self.model,
            "prompt": prompt,
            "n": n,
            **api_arguments(options, "edit" if edit else "generate"),
        }

    def _request(
        self, method: str, arguments: dict[str, Any], progress: Progress | None
    ) -> list[GeneratedImage]:
        """Call ``images.<method>``, streamed when one image is asked for with ``progress``.

        Otherwise the answer comes whole. Raises a GenerationError subclass on failure.
        """
        import openai

        deadline = time.monotonic() + self.timeout
        streamed = (
            progress is not None
            and arguments["n"] == 1
            and arguments.get("output_format") not in UNSTREAMED_FORMATS
        )
        for attempt in range(self.max_retries + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            client = self._get_client().with_options(
                timeout=openai.Timeout(remaining, connect=min(CONNECT_TIMEOUT, remaining))
            )
            call = getattr(client.images, method)
            try:
                if not streamed:
                    return self._decode(call(**arguments))
                stream = call(**arguments, stream=True, partial_images=PARTIAL_IMAGES)
            except openai.APIError as error:
                wait = self._wait_before_retry(error, attempt)
                if (
                    wait is None
                    or attempt == self.max_retries
                    or wait >= deadline - time.monotonic()
                ):
                    raise self._translate(
                        error, output_format=arguments.get("output_format")
                    ) from error
                logger.info("retrying the %s request in %.1f s: %s", method, wait, error)
                time.sleep(wait)
                continue
            try:  # the request went out: whatever fails now is never tried again
                assert progress is not None
                return self._decode_stream(stream, progress)
            except openai.APIError as error:
                raise self._translate(error) from error
        raise self._too_slow(self.timeout)

    @staticmethod
    def _wait_before_retry(error: Exception, attempt: int) -> float | None:
        """Seconds to wait before trying ``error``'s request again, or None: not to retry.

        Only what cannot have been billed is retried: a connection never made, a 429 (not
        a spent quota), a 5xx.
        """
        import openai

        backoff = BACKOFF[min(attempt, len(BACKOFF) - 1)]
        if isinstance(error, openai.APIConnectionError):
            # A timeout or a dropped connection may come after the API took the request;
            # only a connection that was never made is safe to make again. (The transport's
            # classes are httpx's or httpx2's, by SDK version: both name them so.)
            never_sent = type(error.__cause__).__name__ in ("ConnectError", "ConnectTimeout")
            return backoff if never_sent else None
        if isinstance(error, openai.RateLimitError):
            if _spent_quota(error):
                return None
            asked = _retry_after(error)
            return asked if asked is not None else backoff
        if isinstance(error, openai.APIStatusError) and error.status_code >= 500:
            return backoff
        return None

    def check(self, timeout: float) -> str:
        """Retrieve the configured model from the API (one request, no retries).

        Raises ModelUnavailableError when the API does not offer the model to this key, and
        the other GenerationError subclasses when the API cannot be reached or refuses the key.
        """
        self._once(lambda client: client.models.retrieve(self.model), timeout=timeout)
        return f"the API answers and offers {self.model}"

    def check_provenance(self, image: SourceImage) -> ProvenanceReport:
        """``client.content_provenance_checks.create`` of ``image``: one request, no retry.

        Raises the GenerationError subclasses of ``generate`` when the API cannot answer
        or refuses.
        """
        answer = self._once(
            lambda client: client.content_provenance_checks.create(file=_upload(image))
        )
        return ProvenanceReport(
            checked_at=datetime.fromtimestamp(answer.created_at, UTC),
            signals=tuple(
                ProvenanceSignal(
                    type=result.type,
                    outcome=result.outcome,
                    validation_state=getattr(result, "validation_state", None),
                    issuer=getattr(result, "issuer", None),
                    model=result.model,
                    generated_at=result.generated_at,
                )
                for result in answer.results
            ),
        )

    # -- the Batch API: half the price, within 24 hours -----------------------------------

    def send_batch(self, lines: Sequence[BatchLine], label: str) -> RemoteBatchState:
        """Upload ``lines`` as a JSONL file and create a batch of it: two requests, no retry.

        The file's purpose is ``batch``, the batch's endpoint ``/v1/images/generations``.
        Each line's body is what ``generate`` would send; its ``custom_id`` is the line's
        key. ``label`` goes in the batch's metadata. Raises the GenerationError subclasses
        of ``generate``.
        """
        body = "".join(
            json.dumps(
                {
                    "custom_id": line.key,
                    "method": "POST",
                    "url": BATCH_ENDPOINT,
                    "body": self._arguments(line.prompt, line.n, line.options, edit=False),
                }
            )
            + "\n"
            for line in lines
        ).encode()

        def send(client: Any) -> Any:
            upload = client.files.create(
                file=("pixyproxy-batch.jsonl", body, "application/jsonl"), purpose="batch"
            )
            return client.batches.create(
                input_file_id=upload.id,
                endpoint=BATCH_ENDPOINT,
                completion_window="24h",
                metadata={"pixyproxy_batch": label},
            )

        return _batch_state(self._once(send))

    def batch_state(self, remote_id: str) -> RemoteBatchState:
        """``client.batches.retrieve``: one request. Raises as ``send_batch``."""
        return _batch_state(self._once(lambda client: client.batches.retrieve(remote_id)))

    def find_batch(self, label: str) -> RemoteBatchState | None:
        """The batch whose metadata names ``label``, among the newest ``FIND_BATCH_LIMIT``.

        ``client.batches.list``, newest first. Raises as ``send_batch``.
        """

        def find(client: Any) -> Any:
            newest = itertools.islice(client.batches.list(limit=100), FIND_BATCH_LIMIT)
            return next(
                (b for b in newest if (b.metadata or {}).get("pixyproxy_batch") == label), None
            )

        found = self._once(find)
        return None if found is None else _batch_state(found)

    def cancel_batch(self, remote_id: str) -> RemoteBatchState:
        """``client.batches.cancel``: one request. Raises as ``send_batch``."""
        return _batch_state(self._once(lambda client: client.batches.cancel(remote_id)))

    def batch_event(
        self, payload: bytes, headers: Mapping[str, str], secret: str
    ) -> tuple[str, str]:
        """``client.webhooks.unwrap``: the SDK checks the signature (and its age) first.

        Raises AuthenticationError for a signature that does not match, InputValidationError
        for a body that is not an event.
        """
        from openai import InvalidWebhookSignatureError

        try:
            event = self._get_client().webhooks.unwrap(payload, dict(headers), secret=secret)
        except InvalidWebhookSignatureError as error:
            raise AuthenticationError(f"webhook refused: {error}") from None
        except (ValueError, KeyError) as error:  # a missing header, a body that is no JSON
            raise InputValidationError(f"not a webhook event: {error}") from None
        kind = getattr(event, "type", None)
        subject = getattr(getattr(event, "data", None), "id", None)
        if not isinstance(kind, str) or not isinstance(subject, str):
            raise InputValidationError("not a webhook event: it has no type and data.id")
        return kind, subject

    def batch_outcomes(self, state: RemoteBatchState) -> list[BatchOutcome]:
        """What each line of an ended batch's output and error files says.

        A line is the API's ``BatchRequestOutput`` (its OpenAPI document; the SDK has no
        type for it): ``custom_id``, a ``response`` with ``status_code`` and ``body``, or an
        ``error`` with ``code`` and ``message``. A 200's body is an ``ImagesResponse``,
        decoded as ``generate`` decodes one (the bytes sniffed, the usage shared); anything
        else is the line's error. Raises as ``send_batch``.
        """
        outcomes: list[BatchOutcome] = []
        for file_id in (state.output_file, state.error_file):
            if not file_id:
                continue
            text = self._once(functools.partial(_file_text, file_id))
            outcomes.extend(self._outcome(line) for line in text.splitlines() if line.strip())
        return outcomes

    def _outcome(self, line: str) -> BatchOutcome:
        """One line of a batch's output or error file."""
        from openai.types import ImagesResponse

        try:
            record = json.loads(line)
            key = str(record["custom_id"])
        except (ValueError, KeyError, TypeError) as error:
            raise GenerationError(
                f"OpenAI's batch output has a line that is not one: {error}"
            ) from None
        response = record.get("response") or {}
        body = response.get("body")
        if response.get("status_code") == 200 and isinstance(body, dict):
            try:
                images = self._decode(ImagesResponse.model_validate(body))
                batch_made = [replace(image, provider=OPENAI_BATCH_PROVIDER) for image in images]
                return BatchOutcome(key, images=batch_made)
            except GenerationError as error:
                return BatchOutcome(key, error=error.message)
            except ValueError as error:  # pydantic's: a body that is not an ImagesResponse
                return BatchOutcome(key, error=f"OpenAI's answer is not an image: {error}")
        problem = record.get("error") or (body or {}).get("error") or {}
        message = problem.get("message") if isinstance(problem, dict) else None
        status = response.get("status_code")
        return BatchOutcome(
            key,
            error=str(message or f"OpenAI's batch answered {status or 'nothing'} for this line"),
        )

    def retired(self, model: str) -> ModelInfo | None:
        """``model``'s shutdown as the installed SDK documents it, or None."""
        return sdk_retirements().get(model)

    def list_models(self, timeout: float) -> list[ModelInfo]:
        """The image models in the API's model list for this key, by id (one request).

        Models the SDK documents as shut down are left out. Raises the GenerationError
        subclasses of ``generate`` when the API cannot answer.
        """
        models = self._once(lambda client: list(client.models.list()), timeout=timeout)
        return sorted(
            (
                ModelInfo(model.id, getattr(model, "shutdown_date", None))
                for model in models
                if _is_image_model(model.id) and model.id not in sdk_retirements()
            ),
            key=lambda model: model.id,
        )

    def _once(self, call: Callable[[Any], T], *, timeout: float | None = None) -> T:
        """``call(client)``, its requests made once (no retry), each within ``timeout`` s.

        The timeout defaults to the provider's. Raises the GenerationError ``_translate``
        makes of the API's error.
        """
        import openai

        limit = self.timeout if timeout is None else timeout
        client = self._get_client().with_options(timeout=limit, max_retries=0)
        try:
            return call(client)
        except openai.APIError as error:
            raise self._translate(error, timeout=timeout) from error

    def _decode_stream(self, stream: Any, progress: Progress) -> list[GeneratedImage]:
        """The final image of a stream of partial-image and completed events."""
        completed = None
        with stream:
            for event in stream:
                kind = getattr(event, "type", "")
                if kind.endswith(".partial_image"):
                    received = getattr(event, "partial_image_index", 0) + 1
                    partial = _partial_image(getattr(event, "b64_json", None))
                    progress(received, max(received, PARTIAL_IMAGES), partial)
                elif kind.endswith(".completed"):
                    completed = event
        if completed is None:
            raise GenerationError("OpenAI's stream ended without the final image")
        image = self._decode_one(getattr(completed, "b64_json", None))
        return self._with_usage([image], getattr(completed, "usage", None))

    def _decode(self, response: Any) -> list[GeneratedImage]:
        items = getattr(response, "data", None) or []
        if not items:
            raise GenerationError("OpenAI answered without image data")
        images = [self._decode_one(getattr(item, "b64_json", None)) for item in items]
        return self._with_usage(images, getattr(response, "usage", None))

    def _with_usage(self, images: list[GeneratedImage], usage: Any) -> list[GeneratedImage]:
        """``images`` with their shares of a request's token ``usage`` (None: unchanged).

        The totals, and the kinds the API details (``input_tokens_details``, and
        ``output_tokens_details`` when it sends them), each shared as the totals are.
        """
        if usage is None:
            return images
        count = len(images)
        shares: dict[str, list[int] | list[None]] = {
            "input_tokens": _shares(getattr(usage, "input_tokens", 0) or 0, count),
            "output_tokens": _shares(getattr(usage, "output_tokens", 0) or 0, count),
        }
        for side in ("input", "output"):
            details = getattr(usage, f"{side}_tokens_details", None)
            for kind in ("text", "image"):
                value = getattr(details, f"{kind}_tokens", None)
                shares[f"{side}_{kind}_tokens"] = (
                    [None] * count if value is None else _shares(int(value), count)
                )
        shared: list[dict[str, Any]] = [
            {name: values[index] for name, values in shares.items()} for index in range(count)
        ]
        return [replace(image, **fields) for image, fields in zip(images, shared, strict=True)]

    def _decode_one(self, encoded: str | None) -> GeneratedImage:
        if not encoded:
            raise GenerationError("OpenAI answered without image data")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as error:
            raise GenerationError("OpenAI answered with image data that is not base64") from error
        media_type = sniff_media_type(data)
        if media_type is None:
            raise GenerationError(
                "OpenAI answered with data that is not a PNG, JPEG, WebP, GIF or SVG image"
            )
        return GeneratedImage(
            data=data, media_type=media_type, provider=OPENAI_PROVIDER, model=self.model
        )

    def _too_slow(self, seconds: float) -> ProviderUnavailableError:
        where = self.base_url or "the OpenAI API"
        return ProviderUnavailableError(
            f"{where} did not answer within {seconds:g} s; try again later "
            "(OPENAI_TIMEOUT sets the limit)"
        )

    def _translate(
        self, error: Exception, *, timeout: float | None = None, output_format: str | None = None
    ) -> GenerationError:
        """``error`` as the GenerationError a user can act on.

        ``output_format``: the format the request asked for, when it was one the API offers
        as a preview (GIF, SVG), whose refusal of this key is said as such.
        """
        import openai

        where = self.base_url or "the OpenAI API"
        if isinstance(error, openai.APITimeoutError):
            return self._too_slow(timeout or self.timeout)
        if isinstance(error, openai.APIConnectionError):
            return ProviderUnavailableError(
                f"Could not reach {where}; check the network (and OPENAI_BASE_URL)"
            )
        code = getattr(error, "code", None) or ""
        if not isinstance(error, openai.APIStatusError):
            # An error event inside a stream: no status, but the API's code and message.
            if "moderation" in code:
                return _content_rejected()
            return GenerationError(f"OpenAI failed: {_api_message(error)}")
        status = error.status_code
        if _names_the_model(error):
            retired = self.retired(self.model)
            if retired is not None:
                return ModelUnavailableError(
                    f"The OpenAI model '{self.model}' was shut down on "
                    f"{retired.shutdown_date}: {retired.advice} (set OPENAI_IMAGE_MODEL or "
                    "use --model)"
                )
            return ModelUnavailableError(
                f"The OpenAI model '{self.model}' is not available to this API key (retired, "
                "misspelt, or not enabled for the organisation); set OPENAI_IMAGE_MODEL or "
                "use --model"
            )
        if isinstance(error, openai.BadRequestError) and "moderation" in code:
            return _content_rejected()
        if isinstance(error, openai.AuthenticationError):
            return ProviderAuthenticationError(
                "OpenAI rejected the API key: invalid API key (check OPENAI_API_KEY)"
            )
        if isinstance(error, openai.PermissionDeniedError) and output_format in PREVIEW_FORMATS:
            return ProviderAuthenticationError(
                f"This API key may not make {output_format.upper()} images with {self.model}: "
                f"{PREVIEW_FORMATS[output_format]} (OpenAI said: {_api_message(error)}); "
                "choose another --format, or ask OpenAI for access"
            )
        if isinstance(error, openai.PermissionDeniedError):
            return ProviderAuthenticationError(
                f"The API key may not use {self.model} (HTTP 403; check the organisation's "
                "verification and model access)"
            )
        if isinstance(error, openai.RateLimitError):
            if _spent_quota(error):  # waiting does not help: not a rate limit
                return GenerationError("OpenAI quota exceeded; check the account's billing")
            retry_after = _retry_after(error)
            when = f"in {math.ceil(retry_after)} s" if retry_after is not None else "later"
            return RateLimitedError(
                f"Rate limited by OpenAI; try again {when}", retry_after=retry_after
            )
        if isinstance(error, openai.NotFoundError):
            return GenerationError(f"{where} answered HTTP 404: {_api_message(error)}")
        if status >= 500:
            return ProviderUnavailableError(f"OpenAI failed with HTTP {status}; try again later")
        return GenerationError(f"OpenAI refused the request (HTTP {status}): {_api_message(error)}")


FIND_BATCH_LIMIT = 1000
"""How many of the newest batches ``find_batch`` looks through."""
BATCH_ENDPOINT = "/v1/images/generations"
"""The endpoint a batch of generations names (one of ``BatchCreateParams.endpoint``)."""


def _partial_image(encoded: str | None) -> bytes | None:
    """A partial image's bytes, or None when they are not base64 of an image we keep."""
    try:
        data = base64.b64decode(encoded or "", validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if sniff_media_type(data) is not None else None


def _file_text(file_id: str, client: Any) -> str:
    """The text of the file ``file_id`` (a batch's output or errors)."""
    return str(client.files.content(file_id).text)


def _batch_state(batch: Any) -> RemoteBatchState:
    """The SDK's ``Batch`` as a RemoteBatchState."""
    counts = getattr(batch, "request_counts", None)
    errors = getattr(getattr(batch, "errors", None), "data", None) or []
    messages = [str(getattr(error, "message", "") or "") for error in errors]
    return RemoteBatchState(
        remote_id=batch.id,
        status=batch.status,
        input_file=batch.input_file_id,
        output_file=batch.output_file_id,
        error_file=batch.error_file_id,
        total=getattr(counts, "total", 0) or 0,
        completed=getattr(counts, "completed", 0) or 0,
        failed=getattr(counts, "failed", 0) or 0,
        error="; ".join(message for message in messages if message) or None,
    )


def _content_rejected() -> ContentRejectedError:
    return ContentRejectedError(
        "The prompt was rejected by the provider's safety system; rephrase it"
    )


def _upload(image: SourceImage) -> tuple[str, bytes, str]:
    """A source as the SDK uploads a file: (file name, bytes, media type)."""
    return (image.name, image.data, image.media_type)


def _shares(total: int, count: int) -> list[int]:
    """``total`` split among ``count`` images: equal shares, the remainder on the first."""
    share, remainder = divmod(total, count)
    return [share + remainder] + [share] * (count - 1)


def _is_image_model(model_id: str) -> bool:
    """Whether a model of the API's list makes images.

    It does when the SDK lists it as an image model, or when it is named as GPT image models
    are (a model newer than the installed SDK).
    """
    from typing import get_args

    from openai.types import ImageModel

    return model_id in get_args(ImageModel) or model_id.startswith(IMAGE_MODEL_PREFIXES)


IMAGE_MODEL_PREFIXES = ("gpt-image-", "chatgpt-image-")
_RETIREMENT = re.compile(
    r'^- ((?:"[^"]+",?\s*)+): .*?(?:shut down|retired) on (\w+ \d{1,2}, \d{4})\.\s*(.*)$'
)


@functools.cache
def sdk_retirements() -> dict[str, ModelInfo]:
    """The image models the installed SDK documents as shut down or retired.

    Each with its date (ISO) and the SDK's advice on what to use instead, read from the
    "Deprecated values" notes of ``openai.types.image_model``.
    """
    import inspect

    from openai.types import image_model

    source = inspect.getsource(image_model)
    if "Deprecated values:" not in source:
        return {}
    notes = source.split("Deprecated values:", 1)[1].split('"""', 1)[0]
    found: dict[str, ModelInfo] = {}
    # Each note is a "- " line and its indented continuation lines.
    for note in re.split(r"\n(?=- )", notes.strip()):
        match = _RETIREMENT.match(" ".join(note.split()))
        if match is None:
            continue
        day = datetime.strptime(match.group(2), "%B %d, %Y").date().isoformat()
        advice = match.group(3).strip().rstrip(".")
        advice = advice[0].lower() + advice[1:] if advice else "use another model"
        for model in re.findall(r'"([^"]+)"', match.group(1)):
            found[model] = ModelInfo(model, day, advice)
    return found


def _names_the_model(error: Any) -> bool:
    """Whether an API error says the model does not exist or may not be used.

    Today's API answers 404 ``model_not_found`` for a retired or unknown model, and 400 with
    ``param: "model"`` for a model the endpoint does not accept.
    """
    status = getattr(error, "status_code", None)
    code = getattr(error, "code", None) or ""
    if code == "model_not_found" or (status == 404 and code.startswith("model")):
        return True
    return status == 400 and getattr(error, "param", None) == "model"


def _api_message(error: Any) -> str:
    body = getattr(error, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, str):
        return message
    return "no details given"


def _spent_quota(error: Any) -> bool:
    """Whether a 429 says the account's quota is spent (not a rate limit: waiting won't help)."""
    return (getattr(error, "code", None) or "") == "insufficient_quota"


def _retry_after(error: Any) -> float | None:
    """Seconds the API asks a client to wait, or None when it does not say.

    ``retry-after-ms`` (OpenAI's own header, the finer) first, else ``retry-after`` in
    seconds or as an HTTP date.
    """
    headers = getattr(getattr(error, "response", None), "headers", None) or {}
    milliseconds = headers.get("retry-after-ms")
    with contextlib.suppress(TypeError, ValueError):
        if milliseconds is not None and float(milliseconds) >= 0:
            return float(milliseconds) / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    with contextlib.suppress(TypeError, ValueError):
        return max(float(value), 0.0)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)
