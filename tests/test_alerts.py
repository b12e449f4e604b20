"""Alerts through real receivers: an SMTP server (aiosmtpd) gets the e-mail the SMTP provider's
notifier sends, a local HTTP server gets the webhook JSON; the stale-channel check reads a real
ledger on both warehouse databases; the deadline callback runs the way the triggerer runs it."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from complaints.alerts import (
    Alert,
    AlertDeliveryError,
    AlertSettings,
    DeadlineMissedNotifier,
    asend_alert,
    daily_deadline_alert,
    freshness_check,
    quarantine_query,
    scrub,
    send_alert,
)
from complaints.config import load_config
from complaints.thai_time import BANGKOK

SENDER = "complaints-alerts@example.org"
RECIPIENT = "oncall@example.org"
REPORTER_NAME, REPORTER_PHONE, REPORTER_EMAIL = "นางสาวมาลี ศรีสุข", "081-234-5678", "malee@example.net"
LINE_USER = "U4af4980629" + "0" * 22
DAY = datetime(2019, 1, 15, tzinfo=BANGKOK)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"rcpt": list(envelope.rcpt_tos), "message": message})
        return "250 Message accepted for delivery"

    def only(self) -> tuple[str, str, list[str]]:
        """(subject, HTML body, recipients) of the one message received."""
        assert len(self.messages) == 1, f"{len(self.messages)} messages received"
        message = self.messages[0]["message"]
        return str(message["subject"]), message.get_body(("html", "plain")).get_content(), self.messages[0]["rcpt"]


@contextmanager
def running_smtp_server(monkeypatch) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 and the ``complaints_smtp`` connection (env, JSON) pointing at it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    extra = {"from_email": SENDER, "disable_ssl": True, "disable_tls": True, "timeout": 5, "retry_limit": 0}
    monkeypatch.setenv(
        "AIRFLOW_CONN_COMPLAINTS_SMTP",
        json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": extra}),
    )
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_inbox(monkeypatch) -> Iterator[Inbox]:
    with running_smtp_server(monkeypatch) as inbox:
        yield inbox


class _WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook(monkeypatch):
    """A real HTTP server on 127.0.0.1 and the ``complaints_alert_webhook`` connection pointing at it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebhookHandler)
    server.received, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_COMPLAINTS_ALERT_WEBHOOK",
        json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "port": server.server_address[1],
                "schema": "http",
                "extra": {"Authorization": "Bearer test-webhook-token"},
            }
        ),
    )
    yield server
    server.shutdown()
    server.server_close()


def settings(*notifiers: str, **changes) -> AlertSettings:
    """The configured settings with the notifiers a test exercises."""
    base = AlertSettings.from_config()
    values = {**base.__dict__, "notifiers": notifiers, "to": (RECIPIENT,), "airflow_ui_url": "http://airflow.test"}
    return AlertSettings(**{**values, **changes})


def quality_gate_alert() -> Alert:
    batch_id = "0f3c9a1b2d4e5f60718293a4b5c6d7e8"
    return Alert(
        kind="quality_gate",
        dag_id="complaints_daily_hotline_1555",
        what="A batch's share of rows failing validation is over the 5% quarantine threshold.",
        details=scrub(
            "QualityGateError: channel hotline_1555, interval 2019-01-15T00:00:00+07:00 .. 2019-01-16T00:00:00+07:00: "
            "batches held in quarantine:\n  - 1555_20190115.csv: 5 of 35 rows (14.3%) failed validation"
            f" (reporter {REPORTER_PHONE}, {REPORTER_EMAIL}, {LINE_USER})"
        ),
        channel="hotline_1555",
        channel_name="BMA 1555 hotline",
        interval_start=DAY,
        interval_end=DAY + timedelta(days=1),
        run_id="scheduled__2019-01-14T17:00:00+00:00",
        task_id="ingest_interval",
        links={"Airflow run": "http://airflow.test/dags/complaints_daily_hotline_1555/runs/x"},
        validation=(
            {
                "batch_id": batch_id,
                "source_part": "1555_20190115.csv",
                "message": "5 of 35 rows (14.3%) failed validation",
                "quarantine_query": quarantine_query(batch_id),
                "data_docs_url": "file:///srv/complaints/data-docs/index.html",
            },
        ),
    )


def assert_no_personal_data(*texts: str) -> None:
    for text in texts:
        for personal in (REPORTER_NAME, REPORTER_PHONE, REPORTER_EMAIL, LINE_USER, "0812345678"):
            assert personal not in text


def test_the_smtp_notifier_delivers_the_alert_with_channel_interval_failure_and_links(smtp_inbox):
    alert = quality_gate_alert()
    assert send_alert(alert, settings("email")) == ["email"]
    subject, body, recipients = smtp_inbox.only()
    assert recipients == [RECIPIENT]
    assert "hotline_1555" in subject and "2019-01-15" in subject and "quarantine" in subject
    assert "5 of 35 rows (14.3%) failed validation" in body
    assert "2019-01-15 00:00+07:00 to 2019-01-16 00:00+07:00" in body
    assert "FROM quarantine WHERE batch_id = &#x27;0f3c9a1b2d4e5f60718293a4b5c6d7e8&#x27;" in body
    assert "file:///srv/complaints/data-docs/index.html" in body
    assert "http://airflow.test/dags/complaints_daily_hotline_1555/runs/x" in body
    assert "[phone removed]" in body and "[e-mail removed]" in body
    assert_no_personal_data(subject, body)


def test_the_webhook_notifier_posts_the_alert_as_json_with_the_connection_headers(webhook):
    alert = quality_gate_alert()
    assert send_alert(alert, settings("webhook", webhook_endpoint="hooks/complaints")) == ["webhook"]
    (request,) = webhook.received
    assert request["path"] == "/hooks/complaints"
    assert request["headers"]["Authorization"] == "Bearer test-webhook-token"
    document = request["json"]
    assert document["kind"] == "quality_gate" and document["channel"] == "hotline_1555"
    assert document["interval_start"] == "2019-01-15T00:00:00+07:00"
    assert document["validation"][0]["batch_id"] == "0f3c9a1b2d4e5f60718293a4b5c6d7e8"
    assert "5 of 35 rows (14.3%)" in document["text"] and document["title"] == alert.subject
    assert_no_personal_data(json.dumps(document, ensure_ascii=False))


def test_the_async_path_the_triggerer_uses_sends_through_both_notifiers(smtp_inbox, webhook):
    assert asyncio.run(asend_alert(quality_gate_alert(), settings("email", "webhook"))) == ["email", "webhook"]
    assert len(smtp_inbox.messages) == 1 and len(webhook.received) == 1


def test_a_failing_notifier_does_not_stop_the_others_and_none_delivering_is_an_error(smtp_inbox, webhook):
    webhook.status = 500
    assert send_alert(quality_gate_alert(), settings("email", "webhook")) == ["email"]
    with pytest.raises(AlertDeliveryError, match="webhook"):
        send_alert(quality_gate_alert(), settings("webhook"))


def test_a_webhook_urls_secret_path_stays_out_of_the_delivery_error(monkeypatch):
    closed_port = free_port()  # nothing listens there: the POST is refused
    url = f"http://127.0.0.1:{closed_port}/services/T0/B0/s3cr3t-webhook-path"
    monkeypatch.setenv("AIRFLOW_CONN_COMPLAINTS_ALERT_WEBHOOK", json.dumps({"conn_type": "http", "host": url}))
    with pytest.raises(AlertDeliveryError, match="webhook: ConnectionError") as failure:
        send_alert(quality_gate_alert(), settings("webhook"))
    assert "s3cr3t" not in str(failure.value)


def test_exception_text_is_sent_verbatim_and_never_rendered_as_a_template(smtp_inbox):
    alert = Alert(kind="task_failure", dag_id="d", what="Task t failed.", details="KeyError: '{{ conf }}' {% x %}")
    send_alert(alert, settings("email"))
    _, body, _ = smtp_inbox.only()
    assert "{{ conf }}" in body and "{% x %}" in body


def test_the_config_names_known_notifiers_and_recipients():
    configured = AlertSettings.from_config()
    assert set(configured.notifiers) <= {"email", "webhook"} and configured.to
    assert configured.daily_deadline.strftime("%H:%M") == load_config().raw["alerts"]["daily_deadline"]
    with pytest.raises(ValueError, match="unknown"):
        AlertSettings.from_config({"notifiers": ["pager"]})
    with pytest.raises(ValueError, match="recipient"):
        AlertSettings.from_config({"notifiers": ["email"], "email": {"to": []}})


# ------------------------------------------------------------------------- stale channel


@pytest.fixture
def engine(warehouse_url):
    from complaints.warehouse import ensure_schema, make_engine

    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def ledger_row(engine, channel: str, day: datetime, rows_loaded: int, outcome: str = "loaded") -> None:
    """A batch in the ledger, written by the warehouse's own batch writer."""
    from complaints.warehouse import BatchLedger, write_batch

    quarantined = 35 - rows_loaded if outcome == "rejected" else 0
    ledger = BatchLedger(
        batch_id=f"{channel}-{day:%Y%m%d}-{outcome}",
        channel=channel,
        interval_start=day,
        interval_end=day + timedelta(days=1),
        source_part=f"{day:%Y-%m-%d}",
        rows_read=rows_loaded + quarantined,
        rows_loaded=0 if outcome == "rejected" else rows_loaded,
        rows_quarantined=quarantined,
        checksum=None,
        outcome=outcome,
        message=None,
    )
    write_batch(engine, ledger, [], [], [])


def interval_of(day: datetime) -> tuple[datetime, datetime]:
    return day, day + timedelta(days=1)


def test_a_channel_whose_newest_loaded_batch_is_older_than_n_days_alerts(engine, smtp_inbox):
    ledger_row(engine, "line", DAY - timedelta(days=3), rows_loaded=12)
    ledger_row(engine, "line", DAY - timedelta(days=1), rows_loaded=0)  # ran, brought nothing
    ledger_row(engine, "line", DAY, rows_loaded=0, outcome="rejected")  # held: not new data either
    now = DAY + timedelta(days=1, hours=1)
    result = freshness_check(engine, "line", interval_of(DAY), "complaints_daily_line", "r1", now, settings("email"))
    assert result["stale"] is True and result["alert"] == "sent: email"
    assert result["days_without_data"] == 3.0 and result["newest_batch_id"] == "line-20190112-loaded"
    subject, body, _ = smtp_inbox.only()
    assert "Stale channel" in subject and "line" in subject and "2019-01-15" in subject
    assert "3.0 days" in body and "limit 2" in body and "2019-01-13 00:00+07:00" in body


def test_a_channel_with_data_within_n_days_stays_quiet(engine, smtp_inbox):
    ledger_row(engine, "line", DAY - timedelta(days=1), rows_loaded=4)
    ledger_row(engine, "mis", DAY - timedelta(days=5), rows_loaded=9)  # another channel's data is no help
    ledger_row(engine, "mis", DAY, rows_loaded=9)
    now = DAY + timedelta(days=1, hours=1)
    result = freshness_check(engine, "line", interval_of(DAY), "complaints_daily_line", "r1", now, settings("email"))
    assert result["stale"] is False and result["alert"] == "none" and result["days_without_data"] == 1.0
    assert smtp_inbox.messages == []


def test_a_channel_that_never_loaded_counts_from_its_start_date(engine, smtp_inbox):
    start = datetime.fromisoformat(load_config().channels["facebook"].start_date).replace(tzinfo=BANGKOK)
    quiet = freshness_check(engine, "facebook", interval_of(start), "d", None, start, settings("email"))
    assert quiet["stale"] is False
    stale = freshness_check(
        engine, "facebook", interval_of(start + timedelta(days=1)), "d", None, start, settings("email")
    )
    assert stale["stale"] is True and stale["newest_batch_id"] is None
    assert len(smtp_inbox.messages) == 1


def test_stale_intervals_of_a_catch_up_are_logged_not_sent(engine, smtp_inbox):
    ledger_row(engine, "line", DAY - timedelta(days=5), rows_loaded=3)
    years_later = DAY + timedelta(days=2000)
    result = freshness_check(engine, "line", interval_of(DAY), "d", None, years_later, settings("email"))
    assert result["stale"] is True and result["alert"] == "logged: historical interval"
    assert smtp_inbox.messages == []


# ------------------------------------------------------------------------- deadline


def test_the_deadline_alert_is_the_configured_local_time_the_morning_after_the_interval():
    alert = daily_deadline_alert("mis")
    assert alert.interval == timedelta(days=1, hours=7)  # alerts.daily_deadline: "07:00"
    logical_date = datetime(2019, 1, 15, tzinfo=BANGKOK)  # the run of 15 January
    assert (logical_date + alert.interval).astimezone(BANGKOK) == datetime(2019, 1, 16, 7, 0, tzinfo=BANGKOK)
    assert alert.callback.path == "complaints.alerts.DeadlineMissedNotifier"
    assert alert.callback.kwargs == {"channel": "mis", "deadline_local_time": "07:00"}


def deadline_context(deadline_time: datetime, state: str = "running") -> dict:
    """What ``Deadline.handle_miss`` hands the callback: the run as the REST API shows it, and the deadline."""
    run_id = "scheduled__2019-01-14T17:00:00+00:00"
    return {
        "dag_run": {
            "dag_run_id": run_id,
            "dag_id": "complaints_daily_mis",
            "state": state,
            "logical_date": "2019-01-14T17:00:00Z",
            "data_interval_start": "2019-01-14T17:00:00Z",
            "data_interval_end": "2019-01-15T17:00:00Z",
            "queued_at": "2019-01-15T17:00:05Z",
            "start_date": "2019-01-15T17:00:06Z",
        },
        "deadline": {"id": "0190c0de-0000-7000-8000-000000000000", "deadline_time": deadline_time},
    }


def run_callback_trigger(path: str, kwargs: dict) -> list[dict]:
    """Run Airflow's CallbackTrigger (what the triggerer runs for an AsyncCallback) to completion."""
    from airflow.triggers.callback import CallbackTrigger

    async def collect():
        return [event.payload async for event in CallbackTrigger(callback_path=path, callback_kwargs=kwargs).run()]

    return asyncio.run(collect())


def test_the_deadline_callback_runs_in_the_triggerer_path_and_mails_the_late_run(smtp_inbox):
    alert = daily_deadline_alert("mis")
    just_missed = datetime.now(UTC) - timedelta(minutes=1)
    kwargs = {**alert.callback.kwargs, "context": deadline_context(just_missed)}
    events = run_callback_trigger(alert.callback.path, kwargs)
    assert [e["state"] for e in events] == ["running", "success"], events
    assert events[-1]["body"] == "sent: email"
    subject, body, _ = smtp_inbox.only()
    assert "past its deadline" in subject and "mis" in subject and "2019-01-15" in subject
    assert "07:00 Bangkok time" in body and "running" in body
    assert "/dags/complaints_daily_mis/runs/scheduled__2019-01-14T17%3A00%3A00%2B00%3A00" in body


def test_a_deadline_missed_by_a_catch_up_run_is_logged_not_sent(smtp_inbox):
    notifier = DeadlineMissedNotifier(
        channel="mis", deadline_local_time="07:00", context=deadline_context(datetime(2019, 1, 16, tzinfo=UTC))
    )
    assert asyncio.run(_await(notifier)) == "logged: historical run"
    assert smtp_inbox.messages == []


async def _await(awaitable):
    return await awaitable


def test_the_sql_the_alerts_run_is_in_include_sql_alerts():
    sql_dir = Path(__file__).resolve().parents[1] / "include" / "sql" / "alerts"
    assert {p.name for p in sql_dir.glob("*.sql")} >= {
        "newest_loaded_batch.sql",
        "rejected_batches_since.sql",
        "quarantine_of_batch.sql",
    }


def test_the_quarterly_dags_failure_callback_mails_the_task_interval_and_error(smtp_inbox):
    """The callback object wired in the quarterly DAG, called the way the task runner calls it
    (``callback(context)``); the context holds what Airflow gives a failed task's callback."""
    from types import SimpleNamespace

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(Path(__file__).resolve().parents[1] / "dags" / "complaints_quarterly.py"))
    task = bag.dags["complaints_quarterly_indicator"].task_dict["compute_indicator"]
    (callback,) = task.on_failure_callback
    ti = SimpleNamespace(
        dag_id="complaints_quarterly_indicator",
        run_id="scheduled__2026-09-30T17:00:00+00:00",
        task_id="compute_indicator",
        try_number=3,
        start_date=datetime.now(UTC),
    )
    callback(
        {
            "ti": ti,
            "task_instance": ti,
            "exception": FileNotFoundError("no rubric for fiscal year 2570: add include/config/rubric/fy2570.yaml"),
            "data_interval_start": datetime(2025, 10, 1, tzinfo=BANGKOK),
            "data_interval_end": datetime(2026, 10, 1, tzinfo=BANGKOK),
            "params": {},
        }
    )
    subject, body, _ = smtp_inbox.only()
    dag_id = "complaints_quarterly_indicator"
    assert subject == f"[complaints] Task failed: {dag_id}, 2025-10-01 → 2026-10-01 ({dag_id})"
    assert "Task compute_indicator failed (try 3); it will not be retried." in body
    assert "FileNotFoundError: no rubric for fiscal year 2570" in body
    assert f"/dags/{dag_id}/runs/scheduled__2026-09-30T17%3A00%3A00%2B00%3A00/tasks/compute_indicator" in body
