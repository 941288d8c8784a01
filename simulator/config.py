"""Arguments of one simulation run."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that determines a simulated company: same config, byte-identical output."""

    seed: int = 42
    start: date = date(2026, 1, 1)
    days: int = 90
    orders_per_day: int = 150
    discrepancy_rate: float = 0.02
    erp_url: str | None = None  # None: <out>/erp/erp.sqlite

    @property
    def as_of(self) -> datetime:
        """End of the last simulated day: nothing after it has happened yet."""
        return datetime.combine(self.start + timedelta(days=self.days), time(0), UTC)

    def to_json(self) -> dict:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        return data
