"""``UsageService``: images and tokens summed by day, model or user, priced when prices are set.

Prices are a setting (IMAGE_PRICES), never hard-coded, in US dollars per million tokens,
comma-separated, per model: ``MODEL=INPUT:OUTPUT``, or by the kinds the API reports,
``MODEL=TEXT_IN:IMAGE_IN:OUTPUT`` or ``MODEL=TEXT_IN:IMAGE_IN:IMAGE_OUT:TEXT_OUT``. A group's
cost is given only when every model in it has a price, and its tokens of no known kind
(images made before the kinds were kept) are priced only where their kinds cost the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pixyproxy_cli.core.constants import BATCH_PROVIDERS
from pixyproxy_cli.core.constants import USAGE_GROUPINGS as GROUPINGS
from pixyproxy_cli.core.exceptions import ConfigurationError, InputValidationError
from pixyproxy_cli.data.db.interfaces import UsageRow
from pixyproxy_cli.service.transaction import UnitOfWorkFactory, transaction

if TYPE_CHECKING:
    from pixyproxy_cli.core.models import ImagePublic


@dataclass(frozen=True)
class UsageLine:
    """One group's images, tokens and (when every model of it has a price) cost in USD.

    The kinds count the tokens the provider detailed; the totals may hold more, of no
    known kind.
    """

    key: str
    images: int
    input_tokens: int
    output_tokens: int
    input_text_tokens: int
    input_image_tokens: int
    output_image_tokens: int
    output_text_tokens: int
    cost: float | None

    @classmethod
    def from_json(cls, line: dict[str, Any]) -> UsageLine:
        """A line as a server's GET /usage gives it.

        An older server's lacks the kinds (0); a newer one's may hold fields this version
        does not know (left out).
        """
        names = {field.name for field in fields(cls)}
        kinds = {name: 0 for name in names if name.endswith(("_text_tokens", "_image_tokens"))}
        return cls(**{**kinds, **{key: value for key, value in line.items() if key in names}})

    def plus(self, other: UsageLine) -> UsageLine:
        """The line with ``other``'s counts added (a cost only if both have one)."""
        counts = {
            name: getattr(self, name) + getattr(other, name)
            for name in (field.name for field in fields(self))
            if name not in ("key", "cost")
        }
        cost = None if self.cost is None or other.cost is None else self.cost + other.cost
        return replace(self, cost=cost, **counts)


@dataclass(frozen=True)
class Price:
    """USD per million tokens of each kind."""

    text_in: float
    image_in: float
    image_out: float
    text_out: float

    def cost(self, row: UsageRow) -> float | None:
        """What ``row``'s tokens cost, or None when some have no known kind and it matters."""
        unknown_in = row.input_tokens - row.input_text_tokens - row.input_image_tokens
        unknown_out = row.output_tokens - row.output_text_tokens - row.output_image_tokens
        if (unknown_in and self.text_in != self.image_in) or (
            unknown_out and self.image_out != self.text_out
        ):
            return None
        return (
            (row.input_text_tokens + unknown_in) * self.text_in
            + row.input_image_tokens * self.image_in
            + (row.output_image_tokens + unknown_out) * self.image_out
            + row.output_text_tokens * self.text_out
        ) / 1_000_000


def parse_prices(text: str | None) -> dict[str, Price]:
    """``MODEL=RATES,...`` -> {model: its Price}.

    RATES are USD per million tokens: ``INPUT:OUTPUT``, ``TEXT_IN:IMAGE_IN:OUTPUT`` or
    ``TEXT_IN:IMAGE_IN:IMAGE_OUT:TEXT_OUT``. Raises ConfigurationError naming IMAGE_PRICES
    when the text is malformed.
    """
    prices: dict[str, Price] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        try:
            model, rates = item.split("=", 1)
            numbers = [float(rate) for rate in rates.split(":")]
        except ValueError:
            numbers = []
        if len(numbers) not in (2, 3, 4):
            raise ConfigurationError(
                f"IMAGE_PRICES: {item!r} is not MODEL=INPUT:OUTPUT (USD per million tokens; "
                "or TEXT_IN:IMAGE_IN:OUTPUT, or TEXT_IN:IMAGE_IN:IMAGE_OUT:TEXT_OUT)"
            )
        if any(number < 0 for number in numbers):
            raise ConfigurationError(f"IMAGE_PRICES: {item!r} has a negative price")
        if len(numbers) == 2:
            numbers = [numbers[0], numbers[0], numbers[1], numbers[1]]
        elif len(numbers) == 3:
            numbers.append(numbers[2])
        prices[model.strip()] = Price(*numbers)
    return prices


class UsageService:
    """Sums what images cost in tokens (and money, with prices)."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        prices: dict[str, Price],
        batch_price_factor: float = 1.0,
    ) -> None:
        self._uow = uow
        self._prices = prices
        self._batch_price_factor = batch_price_factor

    def estimate(self, images: Sequence[ImagePublic]) -> float | None:
        """What ``images`` cost in USD by the prices, or None when one cannot be priced.

        As ``summary`` prices them (``_cost``); None without tokens for an image.
        """
        total = 0.0
        for image in images:
            if image.usage is None:
                return None
            usage = image.usage
            kinds_in, kinds_out = usage.input_tokens_details, usage.output_tokens_details
            cost = self._cost(
                UsageRow(
                    key="",
                    model=image.model,
                    images=1,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    input_text_tokens=kinds_in.text_tokens if kinds_in else 0,
                    input_image_tokens=kinds_in.image_tokens if kinds_in else 0,
                    output_text_tokens=kinds_out.text_tokens if kinds_out else 0,
                    output_image_tokens=kinds_out.image_tokens if kinds_out else 0,
                    provider=image.provider,
                )
            )
            if cost is None:
                return None
            total += cost
        return total

    def _cost(self, row: UsageRow) -> float | None:
        """``row``'s cost by its model's price; a Batch API row's at ``batch_price_factor``.

        None without a price for the model, or one its tokens can be priced by.
        """
        price = self._prices.get(row.model)
        cost = price.cost(row) if price else None
        if cost is not None and row.provider in BATCH_PROVIDERS:
            cost *= self._batch_price_factor
        return cost

    def summary(
        self, *, by: str = "day", since: datetime | None = None, owner: str | None = None
    ) -> list[UsageLine]:
        """One line per group, oldest or alphabetical first; ``owner`` narrows to one user.

        Raises InputValidationError for an unknown grouping, and database errors.
        """
        if by not in GROUPINGS:
            raise InputValidationError(f"group by one of {', '.join(GROUPINGS)}, not {by!r}")
        with transaction(self._uow) as uow:
            rows = uow.images.usage(by=by, since=since, owner=owner)
        lines: dict[str, UsageLine] = {}
        for row in rows:
            cost = self._cost(row)
            line = UsageLine(
                row.key,
                row.images,
                row.input_tokens,
                row.output_tokens,
                row.input_text_tokens,
                row.input_image_tokens,
                row.output_image_tokens,
                row.output_text_tokens,
                cost,
            )
            earlier = lines.get(row.key)
            lines[row.key] = line if earlier is None else earlier.plus(line)
        return list(lines.values())
