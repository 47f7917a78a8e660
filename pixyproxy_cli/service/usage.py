"""``UsageService``: images and tokens summed by day, model or user, priced when prices are set.

Prices are a setting (IMAGE_PRICES), never hard-coded: ``model=INPUT:OUTPUT`` pairs, in US
dollars per million input and output tokens, comma-separated. A group's cost is given only
when every model in it has a price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pixyproxy_cli.core.exceptions import ConfigurationError, InputValidationError
from pixyproxy_cli.data.interfaces import ImageRepositoryInterface
from pixyproxy_cli.service.transaction import ContextFactory, transaction

Grouping = Literal["day", "model", "user"]
GROUPINGS: tuple[Grouping, ...] = ("day", "model", "user")


@dataclass(frozen=True)
class UsageLine:
    """One group's images, tokens and (when every model of it has a price) cost in USD."""

    key: str
    images: int
    input_tokens: int
    output_tokens: int
    cost: float | None


def parse_prices(text: str | None) -> dict[str, tuple[float, float]]:
    """``model=in:out,...`` -> {model: (USD per 1M input tokens, per 1M output tokens)}.

    Raises ConfigurationError naming IMAGE_PRICES when the text is malformed.
    """
    prices: dict[str, tuple[float, float]] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        try:
            model, rates = item.split("=", 1)
            rate_in, rate_out = (float(rate) for rate in rates.split(":"))
        except ValueError:
            raise ConfigurationError(
                f"IMAGE_PRICES: {item!r} is not MODEL=INPUT:OUTPUT (USD per million tokens)"
            ) from None
        if rate_in < 0 or rate_out < 0:
            raise ConfigurationError(f"IMAGE_PRICES: {item!r} has a negative price")
        prices[model.strip()] = (rate_in, rate_out)
    return prices


class UsageService:
    """Sums what images cost in tokens (and money, with prices)."""

    def __init__(
        self,
        *,
        images: ImageRepositoryInterface,
        context_factory: ContextFactory,
        prices: dict[str, tuple[float, float]],
    ) -> None:
        self._images = images
        self._context_factory = context_factory
        self._prices = prices

    def summary(
        self, *, by: str = "day", since: datetime | None = None, owner: str | None = None
    ) -> list[UsageLine]:
        """One line per group, oldest or alphabetical first; ``owner`` narrows to one user.

        Raises InputValidationError for an unknown grouping, and database errors.
        """
        if by not in GROUPINGS:
            raise InputValidationError(f"group by one of {', '.join(GROUPINGS)}, not {by!r}")
        with transaction(self._context_factory):
            rows = self._images.usage(by=by, since=since, owner=owner)
        lines: dict[str, UsageLine] = {}
        for row in rows:
            price = self._prices.get(row.model)
            cost = (
                (row.input_tokens * price[0] + row.output_tokens * price[1]) / 1_000_000
                if price
                else None
            )
            line = lines.get(row.key)
            if line is None:
                lines[row.key] = UsageLine(
                    row.key, row.images, row.input_tokens, row.output_tokens, cost
                )
            else:
                lines[row.key] = UsageLine(
                    row.key,
                    line.images + row.images,
                    line.input_tokens + row.input_tokens,
                    line.output_tokens + row.output_tokens,
                    None if line.cost is None or cost is None else line.cost + cost,
                )
        return list(lines.values())
