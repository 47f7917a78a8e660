"""A content provenance check's result: the signals looked for, and the verdict.

Plain values every layer may hold: the provider makes them, the data layer keeps them, the
service hands them to the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ProvenanceSignal:
    """One provenance signal the provider looked for (C2PA, SynthID), and what it found."""

    type: str
    outcome: str
    """``detected`` or ``not_detected``."""
    validation_state: str | None = None
    """C2PA only: ``trusted``, ``valid``, ``invalid`` or ``not_present``."""
    issuer: str | None = None
    model: str | None = None
    generated_at: str | None = None


@dataclass(frozen=True)
class ProvenanceReport:
    """The provider's content provenance check of one file."""

    checked_at: datetime
    signals: tuple[ProvenanceSignal, ...]

    @property
    def verdict(self) -> str:
        """``detected`` when any signal was found, else ``not_detected``."""
        found = any(signal.outcome == "detected" for signal in self.signals)
        return "detected" if found else "not_detected"


__all__ = ["ProvenanceReport", "ProvenanceSignal"]
