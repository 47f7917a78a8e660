"""Image providers: the interface the service layer calls to turn a prompt into image bytes.

Implementations (the OpenAI Images API, the offline placeholder renderer) translate their
own failures into the GenerationError family; the service layer treats anything else they
raise as an unexpected generation failure.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pixyproxy_cli.core.constants import MEDIA_TYPE_EXTENSIONS, SVG_MEDIA_TYPE
from pixyproxy_cli.core.exceptions import ConfigurationError
from pixyproxy_cli.core.image_options import ImageOptions
from pixyproxy_cli.core.progress import ImageProgress
from pixyproxy_cli.core.provenance import ProvenanceReport


def sniff_media_type(data: bytes) -> str | None:
    """The image media type that ``data`` starts like, or None when it is not an image we keep."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    from pixyproxy_cli.data.files.imaging import svg_size

    if svg_size(data) is not None:
        return SVG_MEDIA_TYPE
    return None


@dataclass(frozen=True)
class GeneratedImage:
    """The bytes a provider produced, with what made them."""

    data: bytes
    media_type: str
    provider: str
    model: str
    input_tokens: int | None = None
    """This image's share of the tokens the provider reported for its request, if any."""
    output_tokens: int | None = None
    input_text_tokens: int | None = None
    """Its share of the input tokens the provider reported as text (None: not reported)."""
    input_image_tokens: int | None = None
    output_text_tokens: int | None = None
    output_image_tokens: int | None = None

    @property
    def extension(self) -> str:
        """The file extension for this media type (``.png``, ``.jpg``, ...)."""
        return MEDIA_TYPE_EXTENSIONS.get(self.media_type, ".bin")


@dataclass(frozen=True)
class SourceImage:
    """An image an edit starts from: a name for the upload, its bytes and media type."""

    name: str
    data: bytes
    media_type: str
    width: int | None = None
    """Pixels, read from the header (None: not read)."""
    height: int | None = None


@dataclass(frozen=True)
class BatchLine:
    """One request of a batch for the provider's Batch API: its key and what to make."""

    key: str
    prompt: str
    n: int
    options: ImageOptions


@dataclass(frozen=True)
class RemoteBatchState:
    """A batch as the provider reports it: its id, status, files and request counts."""

    remote_id: str
    status: str
    """The provider's word: validating, in_progress, finalizing, completed, failed, expired,
    cancelling or cancelled (the SDK's ``Batch.status``)."""
    input_file: str | None = None
    output_file: str | None = None
    error_file: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    error: str | None = None
    """Why the whole batch failed (its validation errors), if it did."""

    @property
    def ended(self) -> bool:
        """Whether the batch will not change again (its files, if any, are final)."""
        return self.status in ENDED_BATCH_STATUSES


ENDED_BATCH_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
"""The statuses of ``Batch.status`` after which a batch does nothing more."""


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one line of a batch: its images, or why it has none."""

    key: str
    images: list[GeneratedImage] | None = None
    error: str | None = None


Progress = ImageProgress


PARTIAL_IMAGES = 2
"""How many partial images a streamed request asks for (the API allows 0 to 3)."""


@dataclass(frozen=True)
class ModelInfo:
    """An image model, and its shutdown date (announced, or past) if it has one."""

    id: str
    shutdown_date: str | None = None
    advice: str | None = None
    """For a model shut down: what to use instead, as the provider's SDK words it."""


class ImageProviderInterface(ABC):
    """Something that generates an image from a prompt."""

    name: str
    model: str | None = None
    """The image model whose rules the options are held to (None: the rules of every model)."""

    def default_options(self) -> ImageOptions:
        """The options a request that brings none is made with (the settings')."""
        return ImageOptions()

    def retired(self, model: str) -> ModelInfo | None:
        """``model``'s shutdown (its date and what to use instead) if it was shut down."""
        return None

    @abstractmethod
    def generate(
        self,
        prompt: str,
        n: int = 1,
        options: ImageOptions | None = None,
        progress: Progress | None = None,
    ) -> list[GeneratedImage]:
        """Generate ``n`` images for ``prompt`` in one request (the API may return fewer).

        ``options`` (size, format, ...) default to the provider's own, from the settings.
        With ``progress``, a provider that can stream a single image does, and reports each
        partial image it receives; only the final image is returned.
        Raises a GenerationError subclass on failure, ConfigurationError for bad settings.
        """

    @abstractmethod
    def edit(
        self,
        prompt: str,
        sources: Sequence[SourceImage],
        mask: SourceImage | None = None,
        n: int = 1,
        options: ImageOptions | None = None,
        progress: Progress | None = None,
    ) -> list[GeneratedImage]:
        """Make ``n`` images from ``sources`` (1 to 16) as ``prompt`` describes, in one request.

        ``mask`` (a PNG whose transparent pixels mark what to change) applies to the first
        source. The rest is as ``generate``, and so are the errors.
        """

    def check(self, timeout: float) -> str:
        """Ask the provider, within ``timeout`` seconds, whether it can serve its model.

        Returns what was confirmed, for ``doctor``; costs nothing at the provider (no image
        is made). Raises a GenerationError subclass saying what is wrong. A provider that
        needs nothing remote confirms at once.
        """
        return "nothing to check"

    def check_provenance(self, image: SourceImage) -> ProvenanceReport:
        """Ask the provider whether ``image`` carries its provenance signals (C2PA, SynthID).

        Raises ConfigurationError for a provider that has no such check, and the
        GenerationError subclasses of ``generate`` when the provider cannot answer.
        """
        raise ConfigurationError(
            f"The {self.name} provider has no provenance check: it needs the OpenAI API "
            "(set OPENAI_API_KEY, and IMAGE_PROVIDER to auto or openai)"
        )

    batch_api = False
    """Whether the provider has a Batch API (``send_batch`` and the rest)."""

    def no_batch_api(self) -> ConfigurationError:
        """The error of a provider without a Batch API."""
        return ConfigurationError(
            f"The {self.name} provider has no Batch API: it needs the OpenAI API "
            "(set OPENAI_API_KEY, and IMAGE_PROVIDER to auto or openai)"
        )

    def send_batch(self, lines: Sequence[BatchLine], label: str) -> RemoteBatchState:
        """Send ``lines`` as one batch to the provider's Batch API (``label`` names it there).

        Raises ConfigurationError for a provider without one, and the GenerationError
        subclasses of ``generate`` when the provider refuses or cannot be reached.
        """
        raise self.no_batch_api()

    def batch_state(self, remote_id: str) -> RemoteBatchState:
        """The batch ``remote_id`` as the provider reports it now. Raises as ``send_batch``."""
        raise self.no_batch_api()

    def batch_outcomes(self, state: RemoteBatchState) -> list[BatchOutcome]:
        """What each line of an ended batch came to, from its output and error files.

        Raises as ``send_batch``.
        """
        raise self.no_batch_api()

    def cancel_batch(self, remote_id: str) -> RemoteBatchState:
        """Ask the provider to stop the batch ``remote_id``. Raises as ``send_batch``."""
        raise self.no_batch_api()

    def find_batch(self, label: str) -> RemoteBatchState | None:
        """The provider's batch that ``send_batch`` named ``label``, or None.

        For a send whose sender stopped before it heard the batch's id. Raises as
        ``send_batch``.
        """
        raise self.no_batch_api()

    def batch_event(
        self, payload: bytes, headers: Mapping[str, str], secret: str
    ) -> tuple[str, str]:
        """A webhook's event, its signature checked with ``secret``: (type, batch id).

        Raises AuthenticationError when the signature does not match (or is too old), and
        InputValidationError for a body that is not an event.
        """
        raise self.no_batch_api()

    def list_models(self, timeout: float) -> list[ModelInfo]:
        """The image models this provider offers to its key, within ``timeout`` seconds.

        Raises a GenerationError subclass when it cannot say. A provider with no remote
        models offers none.
        """
        return []
