"""LINE webhook events from the inbox into complaints: messages grouped into matters.

A citizen writes a complaint as several chat messages (text, a photo, a location). Consecutive
messages of one sender in one chat (a one-to-one chat, a group or a room) with at most
``matter_gap_minutes`` (default 30) between them form one matter; a location message attaches
its place (latitude/longitude, the district named in its address) to the matter. Edits
(``messageEdited``) replace the text (the inbox keeps every version); an unsent message keeps
its place in the matter without its text. Other events (follow, join, postback, ...) are
counted as not a complaint. Event formats: https://developers.line.biz/en/reference/messaging-api/#webhook-event-objects
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from complaints.adapters import ExtractRequest
from complaints.adapters._common import add_to_batch, canonical_record, parse_interval_part
from complaints.canonical import CanonicalComplaint, ExtractedBatch
from complaints.thai_time import BANGKOK
from complaints.webhooks.inbox import PSEUDONYM_PREFIX, StoredEvent, ensure_inbox_schema, events_between

log = logging.getLogger(__name__)

SOURCE = "line"
DEFAULT_MATTER_GAP_MINUTES = 30
# How far before and after the interval messages are read to see matters across its edges
# (a chain of messages each within the gap of the next, longer than this, would be cut).
MATTER_REACH = timedelta(hours=24)
MATTER_STATUS = "received"  # a chat message is a matter received; its handling is recorded elsewhere
_DISTRICT_IN_ADDRESS = re.compile(r"เขต\s*([^\s,]+)")
MEDIA_LABELS = {"image": "รูปภาพ", "video": "วิดีโอ", "audio": "เสียง", "file": "ไฟล์"}


@dataclass
class Matter:
    """Consecutive messages of one sender in one chat."""

    chat: str
    sender: str | None
    messages: list[StoredEvent] = field(default_factory=list)
    last_change: datetime | None = None

    @property
    def first(self) -> StoredEvent:
        return self.messages[0]


@dataclass
class InboxCounts:
    """What the interval's events were: messages, matters, and events that are no complaint."""

    messages: int = 0
    matters: int = 0
    edits: int = 0
    unsent: int = 0
    not_a_complaint: Counter[str] = field(default_factory=Counter)


def chat_and_sender(event: dict[str, Any]) -> tuple[str, str | None]:
    source = event.get("source") or {}
    sender = source.get("userId")
    chat = source.get("groupId") or source.get("roomId") or sender or "unknown"
    return f"{source.get('type', 'unknown')}:{chat}", sender


def group_matters(
    events: list[StoredEvent], gap: timedelta, start: datetime, end: datetime
) -> tuple[list[Matter], InboxCounts]:
    """The matters that begin in ``[start, end)`` (UTC naive), edits and unsends applied.

    ``events`` should reach back and forward beyond the interval (see :func:`read_inbox`): a
    message just after ``start`` may continue a matter begun before it (that matter belongs to
    the previous interval), and a matter begun just before ``end`` may go on after it.
    """
    counts = InboxCounts()
    edits: dict[str, StoredEvent] = {}
    unsent: dict[str, StoredEvent] = {}
    messages: list[StoredEvent] = []
    for stored in events:
        if stored.kind == "edit" and stored.message_id:
            if stored.message_id not in edits or edits[stored.message_id].event_time <= stored.event_time:
                edits[stored.message_id] = stored
        elif stored.kind == "unsend" and stored.message_id:
            unsent[stored.message_id] = stored
        elif stored.kind == "message":
            messages.append(stored)  # before start and after end too: matters cross midnight
        elif stored.kind == "not_a_complaint" and start <= stored.event_time < end:
            counts.not_a_complaint[stored.event_type] += 1
    open_matters: dict[tuple[str, str | None], Matter] = {}
    matters: list[Matter] = []
    for stored in sorted(messages, key=lambda e: (e.event_time, e.event_id)):
        message = dict(stored.event.get("message") or {})
        change = stored.event_time
        if stored.message_id in edits:
            edit = edits[stored.message_id]
            message = {**message, **(edit.event.get("message") or {})}
            change = max(change, edit.event_time)
            counts.edits += 1
        if stored.message_id in unsent:
            message.pop("text", None)
            message["unsent"] = True
            change = max(change, unsent[stored.message_id].event_time)
            counts.unsent += 1
        stored = StoredEvent(**{**stored.__dict__, "event": {**stored.event, "message": message}})
        chat, sender = chat_and_sender(stored.event)
        matter = open_matters.get((chat, sender))
        if matter is None or stored.event_time - matter.messages[-1].event_time > gap:
            matter = Matter(chat=chat, sender=sender)
            open_matters[(chat, sender)] = matter
            matters.append(matter)
        matter.messages.append(stored)
        matter.last_change = max(matter.last_change or change, change)
    # The interval owns the matters that begin in it (whole, also messages after its end).
    matters = [m for m in matters if start <= m.first.event_time < end]
    counts.messages = sum(len(m.messages) for m in matters)
    counts.matters = len(matters)
    return matters, counts


def message_line(message: dict[str, Any]) -> str | None:
    """How one message reads in the matter's description (media keep their message id)."""
    kind = message.get("type")
    if message.get("unsent"):
        return "[ยกเลิกข้อความ]"  # the message was unsent: it arrived, its text is gone
    if kind == "text":
        return message.get("text")
    if kind == "location":
        return " ".join(p for p in ("[ตำแหน่ง]", message.get("title"), message.get("address")) if p)
    if kind in MEDIA_LABELS:
        return f"[{MEDIA_LABELS[kind]} {message.get('id')}]"
    if kind == "sticker":
        return "[สติกเกอร์]"
    return None


def matter_record(request: ExtractRequest, matter: Matter) -> CanonicalComplaint:
    lines: list[str] = []
    latitude = longitude = None
    district = None
    for stored in matter.messages:
        message = stored.event.get("message") or {}
        line = message_line(message)
        if line:
            lines.append(line)
        if message.get("type") == "location":
            latitude, longitude = message.get("latitude"), message.get("longitude")
            found = _DISTRICT_IN_ADDRESS.search(str(message.get("address") or ""))
            district = found[1] if found else district
    record = canonical_record(
        request,
        source_id=matter.first.event_id,
        received_at=_bangkok(matter.first.event_time),
        updated_at=_bangkok(matter.last_change or matter.first.event_time),
        district=district,
        category=None,
        unit=None,
        status=MATTER_STATUS,
        description="\n".join(lines) or None,
        latitude=float(latitude) if isinstance(latitude, int | float) else None,
        longitude=float(longitude) if isinstance(longitude, int | float) else None,
        reporter=None,
        acknowledged_at=None,
        resolved_at=None,
        resolution=None,
    )
    # The inbox holds the keyed pseudonym already (the raw userId never got past the receiver).
    sender = matter.sender or ""
    record["reporter_pseudonym"] = sender.removeprefix(PSEUDONYM_PREFIX) or None
    return record


def read_inbox(request: ExtractRequest, part: str) -> ExtractedBatch:
    """The interval's matters from the webhook inbox at ``request.source_url``."""
    from complaints.warehouse import make_engine

    start, end = parse_interval_part(part, "LINE")
    if not request.source_url:
        raise ValueError("LINE ingest_from webhook_inbox needs the inbox's SQLAlchemy URL (connection_id)")
    engine = make_engine(request.source_url)
    try:
        ensure_inbox_schema(engine)
        events = events_between(engine, SOURCE, start - MATTER_REACH, end + MATTER_REACH)
    finally:
        engine.dispose()
    gap = timedelta(minutes=float(request.channel.settings.get("matter_gap_minutes", DEFAULT_MATTER_GAP_MINUTES)))
    matters, counts = group_matters(events, gap, _utc_naive(start), _utc_naive(end))
    batch = ExtractedBatch(channel=request.channel.code, source_part=part)
    for matter in matters:
        add_to_batch(batch, matter_record(request, matter))
    log.info(
        "LINE inbox %s: %d messages in %d matters (%d edited, %d unsent); not a complaint: %s",
        part,
        counts.messages,
        counts.matters,
        counts.edits,
        counts.unsent,
        dict(counts.not_a_complaint) or "none",
    )
    return batch


def _bangkok(utc_naive: datetime) -> datetime:
    return utc_naive.replace(tzinfo=UTC).astimezone(BANGKOK)


def _utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)
