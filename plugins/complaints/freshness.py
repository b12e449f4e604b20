"""Is a channel still delivering? Reads the ``ingest_batch`` ledger; no Airflow here.

A channel is *stale* as of an instant (the end of a daily run's interval) when its newest
batch that loaded rows covers an interval ending ``stale_after_days`` days or more before
that instant: with the default 2, the last two daily intervals brought nothing new. A
channel with no loaded batch at all counts from its configured start date, so a channel
that has only just started is not stale on its first day. The comparison is in data time
(interval ends), so a catch-up run over old days gives the answer it would have given then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from complaints.config import Channel, load_config
from complaints.paths import read_sql
from complaints.thai_time import BANGKOK, aware_utc

DEFAULT_STALE_AFTER_DAYS = 2


@dataclass(frozen=True)
class Freshness:
    """How far a channel's loaded data reaches, as of ``as_of``."""

    channel: str
    as_of: datetime  # aware
    stale_after_days: int
    newest_batch_id: str | None
    newest_source_part: str | None
    newest_interval_end: datetime | None  # aware UTC; None when nothing was ever loaded
    newest_finished_at: datetime | None  # aware UTC, when that batch was written
    counted_from: datetime  # aware UTC: newest_interval_end, or the channel's start date

    @property
    def days_without_data(self) -> float:
        return (self.as_of - self.counted_from).total_seconds() / 86400

    @property
    def stale(self) -> bool:
        return self.as_of - self.counted_from >= timedelta(days=self.stale_after_days)

    def describe(self) -> str:
        """One paragraph for logs and alerts (counts and times only)."""
        as_of = _bangkok(self.as_of)
        if self.newest_interval_end is None:
            reach = f"no batch has loaded any row since the channel's start ({_bangkok(self.counted_from)})"
        else:
            reach = (
                f"the newest batch that loaded rows covers data up to {_bangkok(self.newest_interval_end)} "
                f"(part {self.newest_source_part!r}, batch {self.newest_batch_id}, "
                f"written {_bangkok(self.newest_finished_at)})"
            )
        verdict = "stale" if self.stale else "fresh"
        return (
            f"channel {self.channel} is {verdict} as of {as_of}: {reach}; "
            f"{self.days_without_data:.1f} days without new data, limit {self.stale_after_days} days"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "as_of": self.as_of.isoformat(),
            "stale": self.stale,
            "stale_after_days": self.stale_after_days,
            "days_without_data": round(self.days_without_data, 2),
            "newest_batch_id": self.newest_batch_id,
            "newest_source_part": self.newest_source_part,
            "newest_interval_end": self.newest_interval_end.isoformat() if self.newest_interval_end else None,
        }


def stale_after_days(channel: Channel) -> int:
    """The channel's ``stale_after_days``, else ``alerts.stale_after_days``, else 2."""
    if channel.settings.get("stale_after_days") is not None:
        return int(channel.settings["stale_after_days"])
    alerts = load_config().raw.get("alerts") or {}
    return int(alerts.get("stale_after_days", DEFAULT_STALE_AFTER_DAYS))


def channel_freshness(engine: Engine, channel: Channel, as_of: datetime, limit_days: int | None = None) -> Freshness:
    """The channel's freshness as of ``as_of`` (aware), from the newest batch with ``rows_loaded > 0``."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    with engine.connect() as conn:
        query = text(read_sql("alerts/newest_loaded_batch.sql"))
        row = conn.execute(query, {"channel": channel.code}).mappings().first()
    start = datetime.fromisoformat(channel.start_date).replace(tzinfo=BANGKOK).astimezone(UTC)
    newest_end = aware_utc(row["interval_end"]) if row else None
    return Freshness(
        channel=channel.code,
        as_of=as_of.astimezone(UTC),
        stale_after_days=int(limit_days if limit_days is not None else stale_after_days(channel)),
        newest_batch_id=row["batch_id"] if row else None,
        newest_source_part=row["source_part"] if row else None,
        newest_interval_end=newest_end,
        newest_finished_at=aware_utc(row["finished_at"]) if row else None,
        counted_from=newest_end or start,
    )


def _bangkok(value: datetime | None) -> str:
    return value.astimezone(BANGKOK).isoformat(sep=" ", timespec="minutes") if value else "-"
