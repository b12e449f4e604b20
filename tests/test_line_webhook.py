"""LINE webhook receiver and inbox adapter, with the LINE SDKs' own payloads and real HTTP.

The receiver runs as a FastAPI app (TestClient for most cases, one real uvicorn server); the
inbox is a real SQLite file or PostgreSQL schema. Real payloads come from
/work/shared/realdata/apis/line (skipped with the reason when absent); the conversation
fixture (tests/fixtures/line/conversation.json) is synthetic.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text

from complaints.adapters import ExtractRequest
from complaints.adapters import line as line_adapter
from complaints.adapters.line_matters import read_inbox
from complaints.config import load_config
from complaints.ingest import ingest_channel
from complaints.pseudonym import pseudonymise
from complaints.thai_time import BANGKOK
from complaints.warehouse import ensure_schema, make_engine
from complaints.webhooks.inbox import count_by_kind, ensure_inbox_schema
from complaints.webhooks.line import WEBHOOK_PATH, ReceiverSettings, create_app
from devtools.demo.airflow_local import free_port

REAL = Path("/work/shared/realdata/apis/line")
CONVERSATION = Path(__file__).parent / "fixtures" / "line" / "conversation.json"
SECRET = "synthetic-channel-secret"
KEY = "line-webhook-test-pseudonym-key"
START = datetime(2019, 1, 15, tzinfo=BANGKOK)
END = START + timedelta(days=1)
SYNTHETIC_USER = "U5ec7e70f1e0a11ce0b0b0000deadbeef"
SYNTHETIC_PHONE = "089-765-4321"


def real(name: str) -> dict[str, Any]:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real LINE payload {path} is absent (see /work/shared/realdata/apis/README.md)")
    return json.loads(path.read_text(encoding="utf-8"))


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return {"X-Line-Signature": base64.b64encode(digest).decode("ascii"), "Content-Type": "application/json"}


def as_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


@pytest.fixture
def inbox(warehouse_url: str) -> Iterator[Engine]:
    engine = make_engine(warehouse_url)
    ensure_inbox_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def client(inbox: Engine) -> TestClient:
    settings = ReceiverSettings(channel_secret=SECRET, engine=inbox, pseudonym_key=KEY)
    return TestClient(create_app(lambda: settings))


def post(client: TestClient, payload: dict[str, Any]) -> Any:
    body = as_body(payload)
    return client.post(WEBHOOK_PATH, content=body, headers=signed(body))


def inbox_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM webhook_inbox ORDER BY event_id"))]


def inbox_request(url: str, **settings: Any) -> ExtractRequest:
    channel = load_config().channels["line"]
    channel = dataclasses.replace(channel, settings={**channel.settings, "ingest_from": "webhook_inbox", **settings})
    return ExtractRequest(channel=channel, interval_start=START, interval_end=END, pseudonym_key=KEY, source_url=url)


def conversation() -> dict[str, Any]:
    return json.loads(CONVERSATION.read_text(encoding="utf-8"))


# -- signature ------------------------------------------------------------------------------


def test_the_sdks_signature_vectors_are_accepted_and_refused_as_the_sdks_say(inbox):
    for vector in real("signature-vectors.json"):
        settings = ReceiverSettings(channel_secret=vector["channel_secret"], engine=inbox, pseudonym_key=KEY)
        answer = TestClient(create_app(lambda s=settings: s)).post(
            WEBHOOK_PATH,
            content=vector["raw_body"].encode("utf-8"),
            headers={"X-Line-Signature": vector["x_line_signature"]},
        )
        # a valid signature gets past the check: the bodies are no webhook payloads, so 400
        assert answer.status_code == (400 if vector["expected_valid"] else 401), vector
    assert inbox_rows(inbox) == []


def test_a_bad_or_missing_signature_is_401_and_nothing_is_stored(client, inbox):
    body = as_body(conversation())
    assert client.post(WEBHOOK_PATH, content=body, headers=signed(body, "another-secret")).status_code == 401
    assert client.post(WEBHOOK_PATH, content=body).status_code == 401
    tampered = body.replace("ท่อระบายน้ำ".encode(), "ถนน".encode())
    assert client.post(WEBHOOK_PATH, content=tampered, headers=signed(body)).status_code == 401
    assert inbox_rows(inbox) == []


def test_an_oversized_body_is_refused_before_anything_is_stored(client, inbox):
    from complaints.webhooks.line import MAX_BODY_BYTES

    body = b" " * (MAX_BODY_BYTES + 1)
    assert client.post(WEBHOOK_PATH, content=body, headers=signed(body)).status_code == 413
    assert inbox_rows(inbox) == []


def test_the_consoles_verify_request_with_no_events_is_answered_200(client, inbox):
    answer = post(client, {"destination": "U0", "events": []})
    assert answer.status_code == 200 and answer.json() == {"stored": 0, "redelivered": 0}


# -- the SDK's 28-event body ---------------------------------------------------------------


def test_the_python_sdks_28_event_body_is_stored_and_counted(client, inbox, warehouse_url):
    payload = real("webhook-all-events.python-sdk.json")
    assert len(payload["events"]) == 28
    answer = post(client, payload)
    assert answer.status_code == 200, answer.text
    # The SDK's fixture gives all 28 events one webhookEventId: other content under a stored
    # id is another event. Event 25 is event 0 again with isRedelivery: true: counted once.
    assert payload["events"][25]["deliveryContext"]["isRedelivery"] is True
    assert answer.json() == {"stored": 27, "redelivered": 1}
    counted = count_by_kind(inbox, "line")
    kinds = {(r["kind"], r["event_type"]): r["events"] for r in counted}
    assert sum(kinds.values()) == 27 and sum(r["redeliveries"] for r in counted) == 1
    # text x3 (a user, a group, a room), image x2, video, audio, location, sticker, file
    assert kinds[("message", "message")] == 10
    assert kinds[("edit", "messageEdited")] == 1 and kinds[("unsend", "unsend")] == 1
    not_complaints = {t for (k, t) in kinds if k == "not_a_complaint"}
    assert {"follow", "unfollow", "join", "leave", "postback", "memberJoined", "undefined"} <= not_complaints
    # the same body again (a redelivery of the whole request) adds nothing
    assert post(client, payload).json() == {"stored": 0, "redelivered": 28}
    assert len(inbox_rows(inbox)) == 27


# -- idempotency ---------------------------------------------------------------------------


def test_a_redelivery_is_recognised_and_counted_once_even_out_of_order(client, inbox):
    first = real("java-callback-webhook-redelivery.json")  # isRedelivery: true, arriving first
    original = copy.deepcopy(first)
    original["events"][0]["deliveryContext"]["isRedelivery"] = False
    assert post(client, first).json() == {"stored": 1, "redelivered": 0}
    assert post(client, original).json() == {"stored": 0, "redelivered": 1}
    rows = inbox_rows(inbox)
    assert len(rows) == 1 and rows[0]["event_id"] == "01G2KZKG2DS765NMRH3GZFD8AP" and rows[0]["redeliveries"] == 1


def test_an_older_payload_without_webhook_event_id_is_keyed_on_its_message_id(client, inbox):
    payload = real("java-callback-text-user.json")
    assert "webhookEventId" not in payload["events"][0]
    post(client, payload)
    assert post(client, payload).json() == {"stored": 0, "redelivered": 1}
    assert [r["event_id"] for r in inbox_rows(inbox)] == ["message:325708"]


# -- unsend and edit -----------------------------------------------------------------------


def _texts(engine: Engine) -> dict[str, dict[str, Any]]:
    return {r["event_id"]: json.loads(r["event_json"]).get("message") or {} for r in inbox_rows(engine)}


def test_an_unsend_withdraws_the_text_but_keeps_the_message_in_either_order(client, inbox):
    message, unsend = real("java-callback-text-user.json"), real("java-callback-unsend.json")
    assert post(client, message).status_code == 200
    assert _texts(inbox)["message:325708"]["text"] == message["events"][0]["message"]["text"]
    post(client, unsend)
    kept = _texts(inbox)["message:325708"]
    assert "text" not in kept and kept["unsent"] is True and kept["id"] == "325708"

    # the unsend first (a redelivery of the message arrives late): stored without its text
    group = real("java-callback-text-group.json")
    group["events"][0]["message"]["id"] = "325709"
    late_unsend = copy.deepcopy(unsend)
    late_unsend["events"][0]["unsend"]["messageId"] = "325709"
    post(client, late_unsend)
    post(client, group)
    assert "text" not in _texts(inbox)["message:325709"]


def test_an_edit_replaces_the_text_and_the_inbox_keeps_both_versions(client, inbox, warehouse_url):
    payload = conversation()
    post(client, payload)
    edit = real("java-callback-message-edited.json")
    edited = edit["events"][0]
    edited["message"]["id"] = "900005"
    edited["source"] = payload["events"][4]["source"]
    edited["timestamp"] = payload["events"][4]["timestamp"] + 60_000
    post(client, edit)
    texts = _texts(inbox)
    assert texts["01SYNTH0000000000000000005"]["text"] == payload["events"][4]["message"]["text"]  # history
    batch = read_inbox(inbox_request(warehouse_url), line_adapter.plan(inbox_request(warehouse_url))[0])
    descriptions = [r["description"] for r in batch.records]
    assert edited["message"]["text"] in descriptions
    assert payload["events"][4]["message"]["text"] not in "\n".join(descriptions)


# -- matters -------------------------------------------------------------------------------


def test_consecutive_messages_of_one_sender_form_one_matter_with_the_location_attached(client, warehouse_url):
    post(client, conversation())
    request = inbox_request(warehouse_url)
    batch = line_adapter.read(request, line_adapter.plan(request)[0])
    by_id = {r["source_id"]: r for r in batch.records}
    # 10:00-10:04 text, image, location, sticker: one matter; 12:30 the same sender again
    # (2.5 h later): a second; the group message of another sender: a third. follow: none.
    assert sorted(by_id) == ["01SYNTH0000000000000000001", "01SYNTH0000000000000000005", "01SYNTH0000000000000000006"]
    first = by_id["01SYNTH0000000000000000001"]
    assert (first["latitude"], first["longitude"]) == (13.7246, 100.5293)
    assert first["district_code"] == load_config_district("บางรัก")
    assert "[รูปภาพ 900002]" in first["description"] and "[สติกเกอร์]" in first["description"]
    assert first["received_at"] == datetime(2019, 1, 15, 10, 0, tzinfo=BANGKOK)
    assert first["reporter_pseudonym"] == pseudonymise(SYNTHETIC_USER, KEY)
    assert by_id["01SYNTH0000000000000000005"]["reporter_pseudonym"] == first["reporter_pseudonym"]
    assert SYNTHETIC_PHONE not in first["description"]  # masked at the door


def test_a_longer_matter_gap_joins_the_senders_later_message(client, warehouse_url):
    post(client, conversation())
    request = inbox_request(warehouse_url, matter_gap_minutes=180)
    batch = line_adapter.read(request, line_adapter.plan(request)[0])
    assert len(batch.records) == 2


def load_config_district(name: str) -> str:
    from complaints.config import normalise_district

    code = normalise_district(name)
    assert code is not None
    return code


# -- personal data -------------------------------------------------------------------------


def test_no_raw_user_id_or_phone_reaches_any_warehouse_table(client, warehouse_url, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path / "data"))  # Data Docs of the run
    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    post(client, conversation())
    post(client, real("webhook-all-events.python-sdk.json"))
    raw_ids = {SYNTHETIC_USER, "U00000000000000000000000000000b0b", SYNTHETIC_PHONE, "0897654321"}
    raw_ids |= {
        e["source"]["userId"] for e in real("webhook-all-events.python-sdk.json")["events"] if "userId" in e["source"]
    }
    summary = ingest_channel(inbox_request(warehouse_url), engine)
    # A chat names no category: the three matters are quarantined with that reason, not lost.
    assert summary.rows_read == 3 and summary.rows_quarantined == 3
    found = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                cells = " ".join(str(v) for v in row)
                found += [(table, raw) for raw in raw_ids if raw in cells]
    engine.dispose()
    assert found == []


# -- served for real -----------------------------------------------------------------------


def test_a_real_uvicorn_server_stores_a_signed_delivery(sqlite_url):
    engine = make_engine(sqlite_url)
    settings = ReceiverSettings(channel_secret=SECRET, engine=engine, pseudonym_key=KEY)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(lambda: settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        body = as_body(conversation())
        answer = requests.post(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", data=body, headers=signed(body), timeout=10)
        assert answer.status_code == 200 and answer.json() == {"stored": 7, "redelivered": 0}
        refused = requests.post(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", data=body, timeout=10)
        assert refused.status_code == 401
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert len(inbox_rows(engine)) == 7
    engine.dispose()


def test_the_complaints_plugin_mounts_the_receiver_in_the_api_server():
    from complaints_plugin import WEBHOOKS_URL_PREFIX, ComplaintsPlugin

    (entry,) = ComplaintsPlugin.fastapi_apps
    assert entry["url_prefix"] == WEBHOOKS_URL_PREFIX and entry["name"]
    assert WEBHOOK_PATH in {route.path for route in entry["app"].routes}


def test_standalone_uvicorn_reads_the_secret_warehouse_and_key_from_airflow_connections(tmp_path):
    """``uvicorn --factory complaints.webhooks.line:app_from_airflow_connections``, settings
    from ``AIRFLOW_CONN_*`` variables (as a secrets backend would provide them)."""
    import os
    import subprocess
    import sys

    warehouse = tmp_path / "inbox.sqlite"
    port = free_port()
    env = {
        **os.environ,
        "AIRFLOW_CONN_COMPLAINTS_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(warehouse)}),
        "AIRFLOW_CONN_COMPLAINTS_PSEUDONYM_KEY": json.dumps({"conn_type": "generic", "password": KEY}),
        "AIRFLOW_CONN_COMPLAINTS_LINE_WEBHOOK": json.dumps({"conn_type": "generic", "password": SECRET}),
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "complaints.webhooks.line:app_from_airflow_connections"]
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        body = as_body(conversation())
        answer = None
        for _ in range(600):
            try:
                answer = requests.post(
                    f"http://127.0.0.1:{port}{WEBHOOK_PATH}", data=body, headers=signed(body), timeout=30
                )
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                time.sleep(0.1)
        assert answer is not None and answer.status_code == 200, answer and answer.text
        assert answer.json() == {"stored": 7, "redelivered": 0}
    finally:
        server.terminate()
        server.wait(timeout=30)
    engine = make_engine(f"sqlite:///{warehouse}")
    rows = inbox_rows(engine)
    engine.dispose()
    assert len(rows) == 7 and all(SYNTHETIC_USER not in r["event_json"] for r in rows)
    assert pseudonymise(SYNTHETIC_USER, KEY) in rows[0]["event_json"]


def test_a_matter_across_midnight_belongs_to_the_day_it_began(client, warehouse_url):
    payload = conversation()
    late = START + timedelta(hours=23, minutes=50)
    for n, event in enumerate(payload["events"][:2]):  # text 23:50, image 00:10 the next day
        event["timestamp"] = int((late + timedelta(minutes=20 * n)).timestamp() * 1000)
    payload["events"] = payload["events"][:2]
    post(client, payload)
    today = inbox_request(warehouse_url)
    (matter,) = line_adapter.read(today, line_adapter.plan(today)[0]).records
    assert matter["source_id"] == "01SYNTH0000000000000000001" and "[รูปภาพ 900002]" in matter["description"]
    tomorrow = dataclasses.replace(today, interval_start=END, interval_end=END + timedelta(days=1))
    assert line_adapter.read(tomorrow, line_adapter.plan(tomorrow)[0]).records == []


def test_an_unknown_ingest_from_setting_is_refused_with_its_value(sqlite_url):
    from complaints.adapters import SourceError

    request = inbox_request(sqlite_url, ingest_from="push_api")
    with pytest.raises(SourceError, match="push_api"):
        line_adapter.read(request, line_adapter.plan(request)[0])
