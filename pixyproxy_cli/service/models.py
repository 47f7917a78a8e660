"""``ModelCatalog``: which image models the configured API key may use, and the default."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from pixyproxy_cli.data.providers import ImageProviderInterface

LIST_TIMEOUT = 10.0
"""Seconds to wait for the provider's model list."""


@dataclass(frozen=True)
class ModelEntry:
    """One image model: whether it is the configured default, and whether the key has it."""

    id: str
    default: bool
    available: bool
    shutdown_date: str | None = None
    advice: str | None = None
    """For a model shut down: what to use instead (the SDK's words)."""

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> ModelEntry:
        """An entry of a server's ``GET /models``; fields a newer server adds are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in entry.items() if name in known})


@dataclass(frozen=True)
class ModelListing:
    """The models, and why none could be listed (no API key) when that is the case."""

    models: list[ModelEntry] = field(default_factory=list)
    notice: str | None = None


class ModelCatalog:
    """Lists the provider's image models, marking the configured default."""

    def __init__(
        self, provider: ImageProviderInterface, default_model: str, provider_notice: str | None
    ) -> None:
        self._provider = provider
        self._default = default_model
        self._notice = provider_notice

    def list_models(self) -> ModelListing:
        """The image models the API offers this key, by id, the default marked.

        The configured default is listed even when the API does not offer it (as not
        available), so that a retired default shows, with its shutdown date and what to use
        instead when the SDK documents them. Models shut down are not listed otherwise.
        Without an API key nothing is listed
        and the listing says why. Raises a GenerationError subclass when the API fails.
        """
        if self._notice is not None:
            return ModelListing(
                notice="OPENAI_API_KEY is not set: no image model is available (the offline "
                "placeholder renders images instead)"
            )
        offered = self._provider.list_models(LIST_TIMEOUT)
        entries = [
            ModelEntry(model.id, model.id == self._default, True, model.shutdown_date)
            for model in offered
        ]
        if not any(entry.default for entry in entries):
            retired = self._provider.retired(self._default)
            entries.append(
                ModelEntry(
                    self._default,
                    default=True,
                    available=False,
                    shutdown_date=retired.shutdown_date if retired else None,
                    advice=retired.advice if retired else None,
                )
            )
        return ModelListing(sorted(entries, key=lambda entry: entry.id))
