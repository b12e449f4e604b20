"""LINE official account adapter: pages through ``GET /v1/complaints`` (see docs/architecture.md).

One part per run, the interval itself (``"<start>..<end>"``, ISO timestamps in Bangkok time).
The API filters on ``complaint.updatedAt`` in ``[start_time, end_time)`` (epoch ms) and
answers ``{"events": [...], "page": n, "hasNext": bool}``; pages are read until ``hasNext``
is false. The source id is the ``webhookEventId``; the reporter is the pseudonymised
``source.userId``.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime
from typing import Any

from complaints.adapters import ExtractRequest, SourceError, redact_raw
from complaints.adapters.http_client import ApiClient, JsonPage, RetrySettings
from complaints.canonical import CanonicalComplaint, ExtractedBatch, RejectedRow, json_safe
from complaints.config import (
    default_unit_for,
    normalise_category,
    normalise_district,
    normalise_status,
    normalise_unit,
)
from complaints.pseudonym import pseudonymise
from complaints.thai_time import BANGKOK, from_epoch_millis, to_bangkok

API_PATH = "v1/complaints"
DEFAULT_PAGE_SIZE = 200
MAX_PAGES = 100_000  # a guard against a server that never says hasNext=false
PERSONAL_FIELDS = ("userId",)  # of the event's "source" object
_PLAUSIBLE_YEARS = range(2000, 2101)


def plan(request: ExtractRequest) -> list[str]:
    return [_interval_part(request.interval_start, request.interval_end)]


def read(request: ExtractRequest, part: str) -> ExtractedBatch:
    start, end = _parse_interval_part(part)
    settings = request.channel.settings
    page_size = int(settings.get("page_size", DEFAULT_PAGE_SIZE))
    batch = ExtractedBatch(channel=request.channel.code, source_part=part)
    base_params = {"start_time": _millis(start), "end_time": _millis(end), "limit": page_size}
    with ApiClient(
        request.source_url or "",
        request.source_token,
        auth="bearer",
        retry=RetrySettings.from_settings(settings),
    ) as client:
        for page in range(1, MAX_PAGES + 1):
            answer = client.get_json(API_PATH, {**base_params, "page": page}, what=f"LINE page {page}")
            events, has_next = _page_content(answer, page)
            for event in events:
                item = _convert(request, event)
                if isinstance(item, RejectedRow):
                    batch.rejects.append(item)
                else:
                    batch.records.append(item)
            if not has_next:
                return batch
            if not events:
                answer.fail("hasNext is true on an empty page; refusing to page on forever")
    raise SourceError(f"LINE {part}: more than {MAX_PAGES} pages; is hasNext ever false?")


def after_load(request: ExtractRequest, part: str, batch: ExtractedBatch) -> None:
    """Nothing to acknowledge: the API is read-only and re-reading an interval is idempotent."""


# -- one page --------------------------------------------------------------------------------


def _page_content(answer: JsonPage, page: int) -> tuple[list[Any], bool]:
    data = answer.data
    if not isinstance(data, dict):
        answer.fail(f"expected a JSON object with 'events' and 'hasNext', got {type(data).__name__}")
    events, has_next = data.get("events"), data.get("hasNext")
    if not isinstance(events, list):
        answer.fail(f"'events' is missing or not a list (keys: {sorted(data)})")
    if not isinstance(has_next, bool):
        answer.fail(f"'hasNext' is missing or not true/false: {has_next!r}")
    if "page" in data and data["page"] != page:
        answer.fail(f"asked for page {page}, got page {data['page']!r}")
    return events, has_next


# -- one event -------------------------------------------------------------------------------


def _convert(request: ExtractRequest, event: Any) -> CanonicalComplaint | RejectedRow:
    key = request.pseudonym_key
    if not isinstance(event, dict):
        reason = f"event is not a JSON object: {type(event).__name__}"
        return RejectedRow(None, reason, {"event": json_safe(event)})
    problems: list[str] = []
    source_id = _text(event.get("webhookEventId"))
    if source_id is None:
        problems.append("missing webhookEventId")
    complaint = event.get("complaint")
    if not isinstance(complaint, dict):
        problems.append(f"complaint {complaint!r} is not an object")
        complaint = {}
    received_at = _timestamp(event.get("timestamp"), "timestamp", problems, required=True)
    updated_at = _timestamp(complaint.get("updatedAt"), "complaint.updatedAt", problems, required=True)
    acknowledged_at = _timestamp(complaint.get("acknowledgedAt"), "complaint.acknowledgedAt", problems)
    resolved_at = _timestamp(complaint.get("resolvedAt"), "complaint.resolvedAt", problems)
    latitude, longitude = _location(event.get("location"), problems)
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    message = event.get("message") if isinstance(event.get("message"), dict) else {}

    if problems:
        raw = json_safe(event)
        if isinstance(raw.get("source"), dict):
            raw["source"] = redact_raw(raw["source"], PERSONAL_FIELDS, key)
        return RejectedRow(source_id, "; ".join(problems), raw)

    category = normalise_category(_text(complaint.get("category")))
    unit_label = _text(complaint.get("assignedUnit"))
    return CanonicalComplaint(
        channel=request.channel.code,
        source_id=source_id,
        received_at=received_at,
        district_code=normalise_district(_text(complaint.get("district"))),
        category_code=category,
        description=_text(message.get("text")),
        latitude=latitude,
        longitude=longitude,
        reporter_pseudonym=pseudonymise(_text(source.get("userId")), key),
        responsible_unit=normalise_unit(unit_label) if unit_label else default_unit_for(category),
        status=normalise_status(_text(complaint.get("status"))),
        acknowledged_at=acknowledged_at,
        resolved_at=resolved_at,
        resolution_report=_text(complaint.get("resolution")),
        source_updated_at=updated_at,
    )


def _text(value: Any) -> str | None:
    """NFC text without NUL bytes or surrounding blanks; None when empty."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value)).replace("\x00", "").strip()
    return text or None


def _timestamp(value: Any, field: str, problems: list[str], *, required: bool = False) -> datetime | None:
    if value is None or value == "":
        if required:
            problems.append(f"missing {field}")
        return None
    millis: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        millis = value
    elif isinstance(value, float) and value.is_integer():
        millis = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        millis = int(value.strip())
    if millis is None:
        problems.append(f"{field} {value!r} is not epoch milliseconds")
        return None
    try:
        stamp = from_epoch_millis(millis)
    except (OverflowError, OSError, ValueError):
        stamp = None
    if stamp is None or stamp.year not in _PLAUSIBLE_YEARS:
        problems.append(f"{field} {value!r} is not plausible epoch milliseconds (not between 2000 and 2100)")
        return None
    return stamp


def _location(value: Any, problems: list[str]) -> tuple[float | None, float | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        problems.append(f"location {value!r} is not an object")
        return None, None
    before = len(problems)
    lat = _coordinate(value.get("latitude"), "location.latitude", 90.0, problems)
    lon = _coordinate(value.get("longitude"), "location.longitude", 180.0, problems)
    if len(problems) == before and (lat is None) != (lon is None):
        problems.append(
            f"location has only one of latitude/longitude: {value.get('latitude')!r}, "
            f"{value.get('longitude')!r}"
        )
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


# -- the interval part ---------------------------------------------------------------------


def _interval_part(start: datetime, end: datetime) -> str:
    return f"{to_bangkok(start).isoformat()}..{to_bangkok(end).isoformat()}"


def _parse_interval_part(part: str) -> tuple[datetime, datetime]:
    try:
        first, last = part.split("..")
        start, end = datetime.fromisoformat(first), datetime.fromisoformat(last)
    except ValueError:
        raise SourceError(f"LINE part {part!r} is not '<start>..<end>' in ISO format") from None
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise SourceError(f"LINE part {part!r}: need timezone-aware start < end")
    return start.astimezone(BANGKOK), end.astimezone(BANGKOK)


def _millis(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)
