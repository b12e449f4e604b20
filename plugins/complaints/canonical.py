"""The canonical complaint record: the one schema every adapter produces and the warehouse stores.

Adapters yield :class:`ExtractedBatch` objects. A batch carries the rows that parsed
(``records``, canonical dicts), the rows that could not even be parsed (``rejects``,
quarantined with their reason and raw content) and explicit status changes where the
source has them (``status_events``). Conservation: ``rows_read == len(records) + len(rejects)``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict


class CanonicalComplaint(TypedDict):
    channel: str
    source_id: str
    received_at: datetime  # timezone-aware, Asia/Bangkok
    district_code: str | None  # one of the 50 codes in pipeline.yaml, None if unknown
    category_code: str | None
    description: str | None
    latitude: float | None
    longitude: float | None
    reporter_pseudonym: str | None  # keyed hash; never the raw name, phone or user id
    responsible_unit: str | None
    status: str | None  # canonical status code
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    resolution_report: str | None
    source_updated_at: datetime
    # Channels that tag a matter with several categories (Traffy Fondue): the other tags'
    # category codes, comma-separated, after the primary one in category_code.
    secondary_categories: str | None
    satisfaction_star: int | None  # the reporter's rating of the fix, 1-5 (Traffy Fondue)
    reopen_count: int | None  # times the source reopened the matter (Traffy Fondue's count_reopen)
    # The source's raw label where responsible_unit / category_code / status is "unmapped"
    # (complaints.config.UNMAPPED: no crosswalk line for it yet), else None: never a silent NULL.
    unmapped_unit: str | None
    unmapped_category: str | None
    unmapped_status: str | None
    # True when source_id is not the source's own id but a key derived from the row's stable
    # fields (an anonymous Traffy ticket without ticket_id); None/False: the source's id.
    source_id_is_surrogate: bool | None
    # How far the source's update time lay before its received time (its clocks disagree), in
    # milliseconds, when within the channel's tolerance and corrected to the received time.
    clock_skew_ms: int | None


CANONICAL_COLUMNS: tuple[str, ...] = tuple(CanonicalComplaint.__annotations__)
TIMESTAMP_COLUMNS: tuple[str, ...] = ("received_at", "acknowledged_at", "resolved_at", "source_updated_at")


@dataclass(frozen=True)
class StatusEvent:
    """One status change of one complaint, as the source recorded it."""

    channel: str
    source_id: str
    status: str
    changed_at: datetime  # timezone-aware
    note: str | None = None


@dataclass(frozen=True)
class RejectedRow:
    """A source row that could not be turned into a canonical record; it goes to quarantine."""

    source_id: str | None
    reason: str
    raw: dict[str, Any]


@dataclass
class ExtractedBatch:
    """One unit of extraction (a file, a page range, a query window) from one channel."""

    channel: str
    source_part: str  # e.g. the file name or "2019-01-01..2019-01-02"
    records: list[CanonicalComplaint] = field(default_factory=list)
    rejects: list[RejectedRow] = field(default_factory=list)
    status_events: list[StatusEvent] = field(default_factory=list)
    checksum: str | None = None  # sha256 of the source bytes where there are bytes (file drops)
    # A file read in chunks: the file's name (each chunk is a batch whose source_part names the
    # chunk, and whose checksum is the whole file's). None: the part is the whole file.
    file_name: str | None = None
    # The source's own warnings about this part (e.g. the Traffy Exchange API's ``warning``
    # answers, a credit budget nearly spent): logged and listed in the run's summary.
    source_warnings: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return len(self.records) + len(self.rejects)


def derived_status_events(record: CanonicalComplaint) -> Iterator[StatusEvent]:
    """Status changes implied by a record's own timestamps, for sources without an action log."""
    ch, sid = record["channel"], record["source_id"]
    yield StatusEvent(ch, sid, "received", record["received_at"])
    if record.get("acknowledged_at"):
        yield StatusEvent(ch, sid, "acknowledged", record["acknowledged_at"])
    if record.get("resolved_at"):
        yield StatusEvent(ch, sid, "resolved", record["resolved_at"])
    status = record.get("status")
    if status and status not in {"received", "acknowledged", "resolved"}:
        yield StatusEvent(ch, sid, status, record["source_updated_at"])
    elif status == "resolved" and not record.get("resolved_at"):
        yield StatusEvent(ch, sid, "resolved", record["source_updated_at"])


def json_safe(value: Any) -> Any:
    """Make a raw source row storable as JSON text in quarantine (datetimes, bytes, NaN)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float) and value != value:
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def raw_json(row: dict[str, Any]) -> str:
    return json.dumps(json_safe(row), ensure_ascii=False, sort_keys=True)
