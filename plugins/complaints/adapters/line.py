"""LINE official account adapter.

``ingest_from: webhook_inbox`` (the real platform): LINE pushes webhooks, the receiver
(complaints.webhooks.line) stores them in the webhook inbox, and this adapter reads the
interval's stored events and groups the messages into matters (see :mod:`complaints.adapters.line_matters`).
``source_url`` is then the inbox's SQLAlchemy URL (the channel's ``connection_id`` names the
warehouse connection).

``ingest_from: pull_api`` (legacy, kept for the demo's stand-in server until it posts real
webhooks; LINE itself has no such API): pages through ``GET /v1/complaints``.
One part per run, the interval itself (``"<start>..<end>"``, ISO timestamps in Bangkok time).
The API filters on ``complaint.updatedAt`` in ``[start_time, end_time)`` (epoch ms) and
answers ``{"events": [...], "page": n, "hasNext": bool}``; pages are read until ``hasNext``
is false. The source id is the ``webhookEventId``; the reporter is the pseudonymised
``source.userId``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from complaints.adapters import ExtractRequest, SourceError
from complaints.adapters._common import (
    add_to_batch,
    canonical_record,
    clean_text,
    coordinate_pair,
    interval_part,
    is_missing,
    json_object,
    not_an_object,
    parse_interval_part,
    rejected,
)
from complaints.adapters.http_client import ApiClient, JsonPage
from complaints.canonical import CanonicalComplaint, ExtractedBatch, RejectedRow
from complaints.thai_time import from_epoch_millis

API_PATH = "v1/complaints"
DEFAULT_PAGE_SIZE = 200
MAX_PAGES = 100_000  # a guard against a server that never says hasNext=false
PERSONAL_FIELDS = ("userId",)  # of the event's "source" object
_PLAUSIBLE_YEARS = range(2000, 2101)


def plan(request: ExtractRequest) -> list[str]:
    return [interval_part(request.interval_start, request.interval_end)]


def read(request: ExtractRequest, part: str) -> ExtractedBatch:
    mode = request.channel.settings.get("ingest_from", "pull_api")
    if mode == "webhook_inbox":
        from complaints.adapters.line_matters import read_inbox

        return read_inbox(request, part)
    if mode != "pull_api":
        raise SourceError(f"LINE: ingest_from {mode!r} is neither 'webhook_inbox' nor 'pull_api'")
    return _read_pull_api(request, part)


def _read_pull_api(request: ExtractRequest, part: str) -> ExtractedBatch:
    start, end = parse_interval_part(part, "LINE")
    settings = request.channel.settings
    page_size = int(settings.get("page_size", DEFAULT_PAGE_SIZE))
    batch = ExtractedBatch(channel=request.channel.code, source_part=part)
    base_params = {"start_time": _millis(start), "end_time": _millis(end), "limit": page_size}
    with ApiClient.for_request(request, auth="bearer") as client:
        for page in range(1, MAX_PAGES + 1):
            answer = client.get_json(API_PATH, {**base_params, "page": page}, what=f"LINE page {page}")
            events, has_next = _page_content(answer, page)
            for event in events:
                add_to_batch(batch, _convert(request, event))
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
    if not isinstance(event, dict):
        return not_an_object("event", event)
    problems: list[str] = []
    source_id = clean_text(event.get("webhookEventId"))
    if source_id is None:
        problems.append("missing webhookEventId")
    complaint = json_object(event, "complaint", problems)
    received_at = _timestamp(event.get("timestamp"), "timestamp", problems, required=True)
    updated_at = _timestamp(complaint.get("updatedAt"), "complaint.updatedAt", problems, required=True)
    acknowledged_at = _timestamp(complaint.get("acknowledgedAt"), "complaint.acknowledgedAt", problems)
    resolved_at = _timestamp(complaint.get("resolvedAt"), "complaint.resolvedAt", problems)
    latitude, longitude = _location(event.get("location"), problems)

    if problems:
        return rejected(request, source_id, problems, event, PERSONAL_FIELDS, within="source")

    return canonical_record(
        request,
        source_id=source_id,
        received_at=received_at,
        updated_at=updated_at,
        district=clean_text(complaint.get("district")),
        category=clean_text(complaint.get("category")),
        unit=clean_text(complaint.get("assignedUnit")),
        status=clean_text(complaint.get("status")),
        description=clean_text(json_object(event, "message").get("text")),
        latitude=latitude,
        longitude=longitude,
        reporter=clean_text(json_object(event, "source").get("userId")),
        acknowledged_at=acknowledged_at,
        resolved_at=resolved_at,
        resolution=clean_text(complaint.get("resolution")),
    )


def _timestamp(value: Any, field: str, problems: list[str], *, required: bool = False) -> datetime | None:
    if is_missing(value, field, problems, required=required):
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
    return coordinate_pair(value.get("latitude"), value.get("longitude"), problems, where="location")


# -- the interval part ---------------------------------------------------------------------


def _millis(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)
