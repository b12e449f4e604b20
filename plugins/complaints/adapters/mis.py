"""MIS adapter: the district offices' relational complaint system, read incrementally.

A part is a time slice of the run's interval (``"<start>..<end>"``, ISO timestamps in Bangkok
time). ``plan`` counts the complaints changed in the interval; up to ``batch_complaints``
(channel setting, default 25,000) the interval is one part, as a daily run's is; above it, the
interval is halved until every slice holds at most that many (adjacent slices are merged back
while they fit), so a backfill of months is read in bounded batches and memory does not grow
with the interval. A complaint belongs to the one slice holding its ``updated_at``, so it is
read with all its actions in exactly one batch; the slices depend only on the interval and the
counts, so a re-run over unchanged data plans the same parts (the same batch ids). A slice of
one second is not split further, whatever it holds. If counting fails, the interval is one part
and ``read`` reports the problem.

``read`` selects the complaints whose ``updated_at`` lies in ``[start, end)`` together with
all their actions, in one statement (``include/sql/sources/mis_changed_complaints.sql``: a
LEFT JOIN, so the complaints and their actions come from the same snapshot and no IN list is
needed however long the interval). The MIS
stores naive Bangkok wall-clock timestamps; the interval is converted to that form.

Actions become :class:`StatusEvent` s. ``acknowledged_at`` is the first action into
``acknowledged``; ``resolved_at`` is the last action into a resolved status when the
complaint's current status is a resolved one. A complaint with an action whose status
label is unknown cannot have a trustworthy history and is rejected as a whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from complaints.adapters import ExtractRequest, SourceError
from complaints.adapters._common import (
    add_to_batch,
    canonical_record,
    clean_text,
    coordinate_pair,
    interval_part,
    is_missing,
    parse_interval_part,
    rejected,
)
from complaints.canonical import CanonicalComplaint, ExtractedBatch, RejectedRow, StatusEvent
from complaints.config import load_config, normalise_status
from complaints.paths import read_sql
from complaints.pseudonym import mask_personal_numbers
from complaints.thai_time import BANGKOK, to_bangkok

log = logging.getLogger(__name__)

PERSONAL_FIELDS = ("complainant_name", "complainant_phone")
FETCH_SIZE = 2000
COMPLAINT_COLUMNS = (
    "complaint_no",
    "received_at",
    "district_name",
    "category_name",
    "subject",
    "detail",
    "complainant_name",
    "complainant_phone",
    "latitude",
    "longitude",
    "assigned_unit",
    "status",
    "result_detail",
    "updated_at",
)

CHANGED_COMPLAINTS_SQL = "sources/mis_changed_complaints.sql"
COUNT_CHANGED_SQL = "sources/mis_count_changed_complaints.sql"
DEFAULT_BATCH_COMPLAINTS = 25_000
SMALLEST_SLICE = timedelta(seconds=1)

Span = tuple[datetime, datetime]


def plan(request: ExtractRequest) -> list[str]:
    """The interval as one part, or as time slices of at most ``batch_complaints`` complaints each."""
    start, end = to_bangkok(request.interval_start), to_bangkok(request.interval_end)
    whole = [interval_part(start, end)]
    limit = batch_complaints(request)
    if not request.source_url or end <= start:
        return whole  # read() says what is wrong
    try:
        engine = create_engine(request.source_url)
    except (ArgumentError, ValueError, ImportError):
        return whole
    statement = text(read_sql(COUNT_CHANGED_SQL))
    try:
        with engine.connect() as conn:

            def count(span: Span) -> int:
                return _count(conn, statement, span)

            spans = slices(count, (start, end), limit)
    except SQLAlchemyError as exc:
        log.warning("MIS %s: could not count the changed complaints, read as one part: %s", whole[0], exc)
        return whole
    finally:
        engine.dispose()
    if len(spans) > 1:
        log.info("MIS %s: %d parts of at most %d complaints", whole[0], len(spans), limit)
    return [interval_part(a, b) for a, b in spans]


def batch_complaints(request: ExtractRequest) -> int:
    """The channel's ``batch_complaints`` setting: the most complaints one part (one batch) holds."""
    limit = int(request.channel.settings.get("batch_complaints", DEFAULT_BATCH_COMPLAINTS))
    if limit < 1:
        raise SourceError(f"channel {request.channel.code}: batch_complaints must be at least 1, not {limit}")
    return limit


def slices(count: Callable[[Span], int], span: Span, limit: int) -> list[Span]:
    """``span`` cut into consecutive slices of at most ``limit`` (as ``count`` counts them).

    A slice over the limit is halved (at a whole second) until it fits or is one second long;
    then neighbours are merged while together they fit, so the parts are as few as the halving
    allows. Empty slices are merged into a neighbour: the parts cover the span without a gap.
    """
    total = count(span)
    if total <= limit:
        return [span]
    pieces: list[tuple[Span, int]] = []
    pending: list[tuple[Span, int]] = [(span, total)]
    while pending:
        (start, end), n = pending.pop()
        if n <= limit or end - start <= SMALLEST_SLICE:
            if n > limit:
                log.warning("MIS %s: %d complaints changed within one second, read as one part", start, n)
            pieces.append(((start, end), n))
            continue
        middle = start + timedelta(seconds=int((end - start).total_seconds() / 2))
        if middle <= start:  # less than two seconds wide
            middle = start + SMALLEST_SLICE
        first = count((start, middle))
        pending += [((middle, end), n - first), ((start, middle), first)]  # the first half is popped first
    merged: list[tuple[Span, int]] = []
    for (start, end), n in pieces:
        if merged and (merged[-1][1] + n <= limit or not n or not merged[-1][1]):  # an empty slice joins any
            (previous_start, _), m = merged[-1]
            merged[-1] = ((previous_start, end), m + n)
        else:
            merged.append(((start, end), n))
    return [span for span, _ in merged]


def _count(conn: Connection, statement: Any, span: Span) -> int:
    dialect = conn.dialect.name
    params = {"start_at": _bind(span[0], dialect), "end_at": _bind(span[1], dialect)}
    return int(conn.execute(statement, params).scalar_one())


def read(request: ExtractRequest, part: str) -> ExtractedBatch:
    start, end = parse_interval_part(part, "MIS")
    if not request.source_url:
        raise SourceError(f"MIS {part}: no source URL (connection complaints_mis_db)")
    try:
        shown_url = make_url(request.source_url).render_as_string(hide_password=True)
        engine = create_engine(request.source_url)
    except (ArgumentError, ValueError, ImportError) as exc:
        raise SourceError(f"MIS {part}: unusable SQLAlchemy URL or driver: {exc}") from None

    complaints: dict[Any, dict[str, Any]] = {}
    statement = text(read_sql(CHANGED_COMPLAINTS_SQL))
    try:
        with engine.connect() as conn:
            dialect = engine.dialect.name
            params = {"start_at": _bind(start, dialect), "end_at": _bind(end, dialect)}
            result = conn.execution_options(yield_per=FETCH_SIZE).execute(statement, params)
            for row in result.mappings():
                # a NULL complaint_no (SQLite lets a TEXT key be NULL) joins no action: one row each
                key = row["complaint_no"] if row["complaint_no"] is not None else ("no id", len(complaints))
                entry = complaints.get(key)
                if entry is None:
                    entry = {name: row[name] for name in COMPLAINT_COLUMNS}
                    entry["actions"] = []
                    complaints[key] = entry
                if row["action_id"] is not None:
                    entry["actions"].append(
                        {
                            "action_id": row["action_id"],
                            "action_at": row["action_at"],
                            "status": row["action_status"],
                            "note": row["action_note"],
                        }
                    )
    except SQLAlchemyError as exc:
        raise SourceError(f"MIS {part} from {shown_url}: query failed: {exc}") from exc
    finally:
        engine.dispose()

    batch = ExtractedBatch(channel=request.channel.code, source_part=part)
    for entry in complaints.values():
        add_to_batch(batch, *_convert(request, entry))
    return batch


def after_load(request: ExtractRequest, part: str, batch: ExtractedBatch) -> None:
    """Nothing to do: the MIS is read-only and re-reading an interval is idempotent."""


# -- one complaint ---------------------------------------------------------------------------


def _convert(
    request: ExtractRequest, row: dict[str, Any]
) -> tuple[CanonicalComplaint | RejectedRow, list[StatusEvent]]:
    """The complaint's record and status events, or its reject and no events."""
    channel = request.channel.code
    problems: list[str] = []
    source_id = clean_text(row["complaint_no"])
    if source_id is None:
        problems.append("missing complaint_no")
    received_at = _timestamp(row["received_at"], "received_at", problems)
    updated_at = _timestamp(row["updated_at"], "updated_at", problems)
    latitude, longitude = coordinate_pair(row["latitude"], row["longitude"], problems)

    events: list[StatusEvent] = []
    for action in row["actions"]:
        label = clean_text(action["status"])
        status = normalise_status(label)
        changed_at = _timestamp(action["action_at"], f"action {action['action_id']} action_at", problems)
        if status is None:
            problems.append(f"action {action['action_id']} status {label!r} is not a known status")
        if status is not None and changed_at is not None and source_id is not None:
            note = mask_personal_numbers(clean_text(action["note"]))  # staff notes may quote a caller's number
            events.append(StatusEvent(channel, source_id, status, changed_at, note))

    if problems:
        return rejected(request, source_id, problems, row, PERSONAL_FIELDS), []

    events.sort(key=lambda e: e.changed_at)  # stable: ties keep action_id order
    status_label = clean_text(row["status"])
    resolved_codes = set(load_config().resolved_statuses)
    acknowledged_at = next((e.changed_at for e in events if e.status == "acknowledged"), None)
    resolved_at = None
    if normalise_status(status_label) in resolved_codes:
        resolved_at = next((e.changed_at for e in reversed(events) if e.status in resolved_codes), None)
    subject_and_detail = (clean_text(row["subject"]), clean_text(row["detail"]))
    record = canonical_record(
        request,
        source_id=source_id,
        received_at=received_at,
        updated_at=updated_at,
        district=clean_text(row["district_name"]),
        category=clean_text(row["category_name"]),
        unit=clean_text(row["assigned_unit"]),
        status=status_label,
        description="\n".join(t for t in subject_and_detail if t) or None,
        latitude=latitude,
        longitude=longitude,
        reporter=clean_text(row["complainant_phone"]) or clean_text(row["complainant_name"]),
        acknowledged_at=acknowledged_at,
        resolved_at=resolved_at,
        resolution=clean_text(row["result_detail"]),
    )
    return record, events


def _timestamp(value: Any, field: str, problems: list[str]) -> datetime | None:
    """An MIS timestamp (naive Bangkok wall-clock; a string on SQLite) as an aware Bangkok datetime."""
    if is_missing(value, field, problems):
        return None
    stamp = value
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.strip())
        except ValueError:
            stamp = None
    if not isinstance(stamp, datetime):
        problems.append(f"{field} {value!r} is not a timestamp")
        return None
    return stamp.replace(tzinfo=BANGKOK) if stamp.tzinfo is None else stamp.astimezone(BANGKOK)


# -- the interval ------------------------------------------------------------------------------


def _bind(moment: datetime, dialect: str) -> datetime | str:
    """The bound value for an interval end: naive Bangkok wall-clock time, as the MIS stores it.

    SQLite has no timestamp type: the MIS column holds ISO text ("2019-01-15 14:05:00"), so
    the bound value is text in the same form and compares as text.
    """
    naive = moment.astimezone(BANGKOK).replace(tzinfo=None)
    if dialect == "sqlite":
        return naive.isoformat(sep=" ", timespec="microseconds" if naive.microsecond else "seconds")
    return naive
