"""LINE Messaging API webhook receiver (https://developers.line.biz/en/reference/messaging-api/#webhooks).

LINE has no API to pull an account's incoming messages: the platform POSTs a JSON body
``{"destination": ..., "events": [...]}`` to the account's webhook URL, signed in the
``X-Line-Signature`` header (base64 HMAC-SHA256 of the raw body under the channel secret).
The signature is checked with the official SDK's ``linebot.v3.WebhookParser`` validator; a
bad or missing one is answered 401 and nothing is stored. Each event is pseudonymised
(``userId``) and written to the webhook inbox before the 200; no other processing happens in
the request (LINE times out and redelivers, ``deliveryContext.isRedelivery``).

Served two ways: inside the Airflow API server (``fastapi_apps`` of the complaints plugin,
settings from Airflow Connections) and standalone, ``uvicorn --factory
complaints.webhooks.line:app_from_airflow_connections``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from linebot.v3 import WebhookParser
from sqlalchemy import Engine

from complaints.webhooks.inbox import (
    InboxEvent,
    StoreResult,
    content_id,
    ensure_inbox_schema,
    pseudonymised,
    store_events,
)

log = logging.getLogger(__name__)

SOURCE = "line"
WEBHOOK_PATH = "/line/webhook"
MAX_BODY_BYTES = 8 * 1024 * 1024  # a public endpoint: far above any real delivery, below a flood
MESSAGE_TYPES = frozenset({"text", "location", "image", "video", "audio", "file", "sticker"})


@dataclass(frozen=True)
class ReceiverSettings:
    """What the receiver needs: the channel secret, the inbox's engine, the pseudonym key."""

    channel_secret: str
    engine: Engine
    pseudonym_key: str


def event_kind(event: dict[str, Any]) -> str:
    """``message`` (content of a complaint), ``unsend``, ``edit`` or ``not_a_complaint``."""
    kind = event.get("type")
    if kind == "message" and (event.get("message") or {}).get("type") in MESSAGE_TYPES:
        return "message"
    if kind == "unsend":
        return "unsend"
    if kind == "messageEdited":
        return "edit"
    return "not_a_complaint"  # follow, unfollow, join, leave, postback, memberJoined, beacon, ...


def message_id(event: dict[str, Any]) -> str | None:
    if event.get("type") == "unsend":
        value = (event.get("unsend") or {}).get("messageId")
    else:
        value = (event.get("message") or {}).get("id")
    return str(value) if value not in (None, "") else None


def event_id(event: dict[str, Any], safe_event: dict[str, Any]) -> str:
    """``webhookEventId``; older payloads lack it: the message id (per event type), else a digest."""
    if event.get("webhookEventId"):
        return str(event["webhookEventId"])
    mid = message_id(event)
    if mid:
        return f"{event.get('type')}:{mid}"
    return content_id(safe_event)  # of the pseudonymised event: no raw id in the key either


def inbox_event(event: dict[str, Any], key: str) -> InboxEvent:
    """One delivered LINE event as the inbox stores it (raises ValueError on a malformed one)."""
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise ValueError("an event is not an object with a 'type'")
    stamp = event.get("timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool):
        raise ValueError(f"event of type {event['type']!r} has no epoch-millisecond 'timestamp'")
    safe = pseudonymised(event, key)
    return InboxEvent(
        source=SOURCE,
        event_id=event_id(event, safe),
        event_type=event["type"],
        kind=event_kind(event),
        message_id=message_id(event),
        event_time=datetime.fromtimestamp(stamp / 1000, UTC).replace(tzinfo=None),
        is_redelivery=bool((event.get("deliveryContext") or {}).get("isRedelivery")),
        event=safe,
    )


def receive(settings: ReceiverSettings, body: bytes, signature: str | None) -> StoreResult:
    """Verify, pseudonymise and store one webhook delivery (the whole request's logic)."""
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(413, f"body of {len(body)} bytes is over {MAX_BODY_BYTES}")
    parser = WebhookParser(settings.channel_secret)
    try:
        body_text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, "body is not UTF-8") from None
    if not signature or not parser.signature_validator.validate(body_text, signature):
        raise HTTPException(401, "invalid or missing X-Line-Signature")
    try:
        payload = json.loads(body_text)
        events = payload["events"]
        if not isinstance(events, list):
            raise TypeError("'events' is not a list")
        items = [inbox_event(event, settings.pseudonym_key) for event in events]
    except (ValueError, KeyError, TypeError) as exc:
        raise HTTPException(400, f"not a LINE webhook body: {exc}") from None
    result = store_events(settings.engine, items)
    log.info(
        "LINE webhook: %d events stored, %d redeliveries recognised, %d texts withdrawn",
        len(result.stored),
        len(result.redelivered),
        result.texts_withdrawn,
    )
    return result


def create_app(settings_provider: Callable[[], ReceiverSettings]) -> FastAPI:
    """The receiver app; ``settings_provider`` is called once, on the first delivery (so the
    API server starts even before the connections exist)."""
    app = FastAPI(title="Complaints webhooks", description="LINE Messaging API webhook receiver")
    lock = threading.Lock()
    resolved: list[ReceiverSettings] = []

    def settings() -> ReceiverSettings:
        with lock:
            if not resolved:
                value = settings_provider()
                ensure_inbox_schema(value.engine)
                resolved.append(value)
            return resolved[0]

    @app.post(WEBHOOK_PATH)
    async def line_webhook(request: Request, x_line_signature: str | None = Header(default=None)) -> dict[str, int]:
        body = await request.body()  # the raw bytes: the signature is over them, not re-serialised JSON
        result = await run_in_threadpool(lambda: receive(settings(), body, x_line_signature))
        return {"stored": len(result.stored), "redelivered": len(result.redelivered)}

    return app


LINE_SECRET_CONN_ID = "complaints_line_webhook"


def settings_from_airflow_connections() -> ReceiverSettings:
    """The channel secret (password of the line channel's ``webhook_secret_connection_id``),
    the warehouse engine and the pseudonym key, from Airflow Connections: the metadata DB, a
    secrets backend or ``AIRFLOW_CONN_*`` variables (so it works in the API server and standalone)."""
    from complaints.airflow_tasks import (
        MIN_PSEUDONYM_KEY_CHARS,
        PSEUDONYM_KEY_CONN_ID,
        WAREHOUSE_CONN_ID,
        sqlalchemy_url,
    )
    from complaints.config import load_config
    from complaints.warehouse import make_engine

    channel = load_config().channels[SOURCE]
    conn_id = str(channel.settings.get("webhook_secret_connection_id", LINE_SECRET_CONN_ID))
    secret = _connection(conn_id).password or ""
    if not secret:
        raise ValueError(f"the {conn_id} connection has no password (the LINE channel secret)")
    key = _connection(PSEUDONYM_KEY_CONN_ID).password or ""
    if len(key) < MIN_PSEUDONYM_KEY_CHARS:
        raise ValueError(f"the {PSEUDONYM_KEY_CONN_ID} connection's password is shorter than {MIN_PSEUDONYM_KEY_CHARS}")
    engine = make_engine(sqlalchemy_url(_connection(WAREHOUSE_CONN_ID)))
    return ReceiverSettings(channel_secret=secret, engine=engine, pseudonym_key=key)


def _connection(conn_id: str) -> Any:
    """An Airflow Connection outside a task (the API server or a standalone process)."""
    from airflow.models.connection import Connection

    return Connection.get_connection_from_secrets(conn_id)


def app_from_airflow_connections() -> FastAPI:
    """The app the Airflow plugin mounts and ``uvicorn --factory`` serves."""
    return create_app(settings_from_airflow_connections)
