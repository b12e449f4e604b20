"""MIS adapter: the district offices' relational complaint system, read incrementally.

One part per run, the interval itself (``"<start>..<end>"``, ISO timestamps in Bangkok time).
``read`` selects the complaints whose ``updated_at`` lies in ``[start, end)`` together with
all their actions, in one statement (a LEFT JOIN, so the complaints and their actions come
from the same snapshot and no IN list is needed however long the interval). The MIS
stores naive Bangkok wall-clock timestamps; the interval is converted to that form.

Actions become :class:`StatusEvent` s. ``acknowledged_at`` is the first action into
``acknowledged``; ``resolved_at`` is the last action into a resolved status when the
complaint's current status is a resolved one. A complaint with an action whose status
label is unknown cannot have a trustworthy history and is rejected as a whole.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from complaints.adapters import ExtractRequest, SourceError, redact_raw
from complaints.canonical import CanonicalComplaint, ExtractedBatch, RejectedRow, StatusEvent, json_safe
from complaints.config import (
    default_unit_for,
    load_config,
    normalise_category,
    normalise_district,
    normalise_status,
    normalise_unit,
)
from complaints.pseudonym import pseudonymise
from complaints.thai_time import BANGKOK, to_bangkok

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

# Ordered so that each complaint's rows are adjacent and its actions chronological.
EXTRACT_SQL = text(
    """
    SELECT c.complaint_no, c.received_at, c.district_name, c.category_name, c.subject, c.detail,
           c.complainant_name, c.complainant_phone, c.latitude, c.longitude, c.assigned_unit,
           c.status, c.result_detail, c.updated_at,
           a.action_id, a.action_at, a.status AS action_status, a.note AS action_note
      FROM mis_complaint c
      LEFT JOIN mis_complaint_action a ON a.complaint_no = c.complaint_no
     WHERE c.updated_at >= :start_at AND c.updated_at < :end_at
     ORDER BY c.complaint_no, a.action_at, a.action_id
    """
)


def plan(request: ExtractRequest) -> list[str]:
    return [_interval_part(request.interval_start, request.interval_end)]


def read(request: ExtractRequest, part: str) -> ExtractedBatch:
    start, end = _parse_interval_part(part)
    if not request.source_url:
        raise SourceError(f"MIS {part}: no source URL (connection complaints_mis_db)")
    try:
        shown_url = make_url(request.source_url).render_as_string(hide_password=True)
        engine = create_engine(request.source_url)
    except (ArgumentError, ValueError, ImportError) as exc:
        raise SourceError(f"MIS {part}: unusable SQLAlchemy URL or driver: {exc}") from None

    complaints: dict[Any, dict[str, Any]] = {}
    try:
        with engine.connect() as conn:
            dialect = engine.dialect.name
            params = {"start_at": _bind(start, dialect), "end_at": _bind(end, dialect)}
            result = conn.execution_options(yield_per=FETCH_SIZE).execute(EXTRACT_SQL, params)
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
        outcome = _convert(request, entry)
        if isinstance(outcome, RejectedRow):
            batch.rejects.append(outcome)
        else:
            record, events = outcome
            batch.records.append(record)
            batch.status_events.extend(events)
    return batch


def after_load(request: ExtractRequest, part: str, batch: ExtractedBatch) -> None:
    """Nothing to do: the MIS is read-only and re-reading an interval is idempotent."""


# -- one complaint ---------------------------------------------------------------------------


def _convert(
    request: ExtractRequest, row: dict[str, Any]
) -> tuple[CanonicalComplaint, list[StatusEvent]] | RejectedRow:
    channel, key = request.channel.code, request.pseudonym_key
    problems: list[str] = []
    source_id = _text(row["complaint_no"])
    if source_id is None:
        problems.append("missing complaint_no")
    received_at = _timestamp(row["received_at"], "received_at", problems)
    updated_at = _timestamp(row["updated_at"], "updated_at", problems)
    latitude, longitude = _coordinates(row["latitude"], row["longitude"], problems)

    events: list[StatusEvent] = []
    for action in row["actions"]:
        label = _text(action["status"])
        status = normalise_status(label)
        changed_at = _timestamp(action["action_at"], f"action {action['action_id']} action_at", problems)
        if status is None:
            problems.append(f"action {action['action_id']} status {label!r} is not a known status")
        if status is not None and changed_at is not None and source_id is not None:
            events.append(StatusEvent(channel, source_id, status, changed_at, _text(action["note"])))

    if problems:
        raw = redact_raw(json_safe(row), PERSONAL_FIELDS, key)
        return RejectedRow(source_id, "; ".join(problems), raw)

    events.sort(key=lambda e: e.changed_at)  # stable: ties keep action_id order
    status = normalise_status(_text(row["status"]))
    resolved_codes = set(load_config().resolved_statuses)
    acknowledged_at = next((e.changed_at for e in events if e.status == "acknowledged"), None)
    resolved_at = None
    if status in resolved_codes:
        resolved_at = next((e.changed_at for e in reversed(events) if e.status in resolved_codes), None)
    category = normalise_category(_text(row["category_name"]))
    unit_label = _text(row["assigned_unit"])
    description = "\n".join(t for t in (_text(row["subject"]), _text(row["detail"])) if t) or None
    reporter = _text(row["complainant_phone"]) or _text(row["complainant_name"])
    record = CanonicalComplaint(
        channel=channel,
        source_id=source_id,
        received_at=received_at,
        district_code=normalise_district(_text(row["district_name"])),
        category_code=category,
        description=description,
        latitude=latitude,
        longitude=longitude,
        reporter_pseudonym=pseudonymise(reporter, key),
        responsible_unit=normalise_unit(unit_label) if unit_label else default_unit_for(category),
        status=status,
        acknowledged_at=acknowledged_at,
        resolved_at=resolved_at,
        resolution_report=_text(row["result_detail"]),
        source_updated_at=updated_at,
    )
    return record, events


def _text(value: Any) -> str | None:
    """NFC text without NUL bytes or surrounding blanks; None when empty."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value)).replace("\x00", "").strip()
    return text or None


def _timestamp(value: Any, field: str, problems: list[str]) -> datetime | None:
    """An MIS timestamp (naive Bangkok wall-clock; a string on SQLite) as an aware Bangkok datetime."""
    if value is None or value == "":
        problems.append(f"missing {field}")
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


def _coordinates(lat_value: Any, lon_value: Any, problems: list[str]) -> tuple[float | None, float | None]:
    if lat_value in (None, "") and lon_value in (None, ""):
        return None, None
    before = len(problems)
    lat = _coordinate(lat_value, "latitude", 90.0, problems)
    lon = _coordinate(lon_value, "longitude", 180.0, problems)
    if len(problems) == before and (lat is None or lon is None):
        problems.append(f"only one of latitude/longitude is set: {lat_value!r}, {lon_value!r}")
    return lat, lon


def _coordinate(value: Any, field: str, limit: float, problems: list[str]) -> float | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        problems.append(f"{field} {value!r} is not a number")
        return None
    if not math.isfinite(number) or abs(number) > limit:
        problems.append(f"{field} {value!r} is not a coordinate")
        return None
    return number


# -- the interval ------------------------------------------------------------------------------


def _interval_part(start: datetime, end: datetime) -> str:
    return f"{to_bangkok(start).isoformat()}..{to_bangkok(end).isoformat()}"


def _parse_interval_part(part: str) -> tuple[datetime, datetime]:
    try:
        first, last = part.split("..")
        start, end = datetime.fromisoformat(first), datetime.fromisoformat(last)
    except ValueError:
        raise SourceError(f"MIS part {part!r} is not '<start>..<end>' in ISO format") from None
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise SourceError(f"MIS part {part!r}: need timezone-aware start < end")
    return start.astimezone(BANGKOK), end.astimezone(BANGKOK)


def _bind(moment: datetime, dialect: str) -> datetime | str:
    """The bound value for an interval end: naive Bangkok wall-clock time, as the MIS stores it.

    SQLite has no timestamp type: the MIS column holds ISO text ("2019-01-15 14:05:00"), so
    the bound value is text in the same form and compares as text.
    """
    naive = moment.astimezone(BANGKOK).replace(tzinfo=None)
    if dialect == "sqlite":
        return naive.isoformat(sep=" ", timespec="microseconds" if naive.microsecond else "seconds")
    return naive
