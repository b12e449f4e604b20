"""The webhook inbox: events pushed by a platform, stored durably before the receiver answers.

The receiver only verifies, pseudonymises and stores (the platform times out and redelivers
when the answer is slow); turning events into complaints happens in the daily DAG, which
reads the inbox through :func:`events_between`. ``(source, event_id)`` is unique, so a
redelivered event is stored once and only its ``redeliveries`` counter grows.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Engine, text

from complaints.paths import read_sql
from complaints.pseudonym import mask_personal_numbers, pseudonymise
from complaints.warehouse import statements

log = logging.getLogger(__name__)

PSEUDONYM_PREFIX = "pseudonym:"
PERSONAL_KEYS = frozenset({"userId"})  # anywhere in an event: source, mentionees, joined/left members
TEXT_KEYS = frozenset({"text", "address", "title"})  # free text a caller may type a number into


@cache
def sql(name: str) -> str:
    return read_sql(f"webhooks/{name}.sql")


def ensure_inbox_schema(engine: Engine) -> None:
    """Create the inbox table if missing; safe to run on every start and every DAG run."""
    with engine.begin() as conn:
        for statement in statements(sql("schema")):
            conn.execute(text(statement))


def pseudonymised(value: Any, key: str) -> Any:
    """A copy of a JSON value with every ``userId`` pseudonymised and numbers in texts masked."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for name, item in value.items():
            if name in PERSONAL_KEYS and isinstance(item, str) and item:
                out[name] = PSEUDONYM_PREFIX + (pseudonymise(item, key) or "")
            elif name in TEXT_KEYS and isinstance(item, str):
                out[name] = mask_personal_numbers(item)
            else:
                out[name] = pseudonymised(item, key)
        return out
    if isinstance(value, list):
        return [pseudonymised(item, key) for item in value]
    return value


@dataclass(frozen=True)
class InboxEvent:
    """One event ready for the inbox (already pseudonymised)."""

    source: str
    event_id: str
    event_type: str
    kind: str
    message_id: str | None
    event_time: datetime  # UTC, naive
    is_redelivery: bool
    event: dict[str, Any]

    def row(self, received_at: datetime) -> dict[str, Any]:
        return {
            "source": self.source,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "kind": self.kind,
            "message_id": self.message_id,
            "event_time": self.event_time,
            "received_at": received_at,
            "is_redelivery": self.is_redelivery,
            "event_json": json.dumps(self.event, ensure_ascii=False, sort_keys=True),
            "content_sha256": content_digest(self.event),
        }


@dataclass
class StoreResult:
    """What one delivery did: new events stored, redeliveries recognised, texts withdrawn."""

    stored: list[str] = field(default_factory=list)
    redelivered: list[str] = field(default_factory=list)
    texts_withdrawn: int = 0


DELIVERY_KEYS = frozenset({"deliveryContext", "replyToken"})  # differ between deliveries of one event


def content_digest(event: dict[str, Any]) -> str:
    """sha256 of the event's content, the same for every delivery of one event."""
    content = {k: v for k, v in event.items() if k not in DELIVERY_KEYS}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def content_id(event: dict[str, Any]) -> str:
    """An id for an event with neither webhookEventId nor message id: its content's digest."""
    return "sha256:" + content_digest(event)[:40]


def store_events(engine: Engine, events: Iterable[InboxEvent], *, now: datetime | None = None) -> StoreResult:
    """Write the events of one delivery in one transaction (all or nothing) and apply unsends.

    An unsend withdraws the text of the stored message it names (the event stays: a message
    did arrive); a message whose unsend was stored first (redeliveries arrive out of order)
    is stored without its text.
    """
    received_at = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    result = StoreResult()
    with engine.begin() as conn:
        for item in events:
            event = item.event
            if item.kind == "message" and item.message_id and _unsent(conn, item.source, item.message_id):
                event = without_text(event)
                result.texts_withdrawn += 1
            row = InboxEvent(**{**item.__dict__, "event": event}).row(received_at)
            row["content_sha256"] = content_digest(item.event)  # of the event as delivered
            row["event_id"] = _distinct_id(conn, row, row["content_sha256"])
            redeliveries = conn.execute(text(sql("insert_event")), row).scalar_one()
            (result.redelivered if redeliveries else result.stored).append(row["event_id"])
            if item.kind == "unsend" and item.message_id and not redeliveries:
                result.texts_withdrawn += _withdraw_text(conn, item.source, item.message_id)
    return result


def _distinct_id(conn: Any, row: dict[str, Any], digest: str) -> str:
    """The row's event id, or ``<id>#<digest>`` when the id is already stored with other content.

    The platform's ids are unique, but fixtures (the SDK's test body uses one id for all 28
    events) and old payloads (the message id fallback) reuse them: only the same content under
    the same id is a redelivery.
    """
    params = {"source": row["source"], "event_id": row["event_id"]}
    stored = conn.execute(text(sql("stored_digest")), params).scalar_one_or_none()
    if stored is None or stored == digest:
        return row["event_id"]
    log.warning("%s event id %s reused for other content: stored as a distinct event", row["source"], row["event_id"])
    return f"{row['event_id']}#{digest[:16]}"


def without_text(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its message text removed and marked as unsent."""
    message = dict(event.get("message") or {})
    message.pop("text", None)
    message["unsent"] = True
    return {**event, "message": message}


def _unsent(conn: Any, source: str, message_id: str) -> bool:
    rows = conn.execute(text(sql("messages_with_id")), {"source": source, "message_id": message_id, "kind": "unsend"})
    return rows.first() is not None


def _withdraw_text(conn: Any, source: str, message_id: str) -> int:
    withdrawn = 0
    for kind in ("message", "edit"):
        params = {"source": source, "message_id": message_id, "kind": kind}
        for event_id, event_json in conn.execute(text(sql("messages_with_id")), params).all():
            updated = without_text(json.loads(event_json))
            conn.execute(
                text(sql("update_event_json")),
                {
                    "source": source,
                    "event_id": event_id,
                    "event_json": json.dumps(updated, ensure_ascii=False, sort_keys=True),
                },
            )
            withdrawn += 1
    return withdrawn


@dataclass(frozen=True)
class StoredEvent:
    event_id: str
    event_type: str
    kind: str
    message_id: str | None
    event_time: datetime  # UTC, naive
    event: dict[str, Any]


def events_between(engine: Engine, source: str, start: datetime, end: datetime) -> list[StoredEvent]:
    """Stored events of ``source`` in ``[start, end)``, plus every later unsend and edit."""
    params = {"source": source, "start": _utc_naive(start), "end": _utc_naive(end)}
    with engine.connect() as conn:
        rows = conn.execute(text(sql("events_between")), params).all()
    return [
        StoredEvent(
            r.event_id, r.event_type, r.kind, r.message_id, _as_datetime(r.event_time), json.loads(r.event_json)
        )
        for r in rows
    ]


def count_by_kind(engine: Engine, source: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql("count_by_kind")), {"source": source})]


def _utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
