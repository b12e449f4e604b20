"""Alerts for on-call: failed tasks, quality-gate breaches, stale channels, missed deadlines.

Every alert is an :class:`Alert` (which DAG and channel, which interval, what failed, links
to the run in the Airflow UI and to the validation result) sent through the notifiers the
``alerts:`` section of ``include/config/pipeline.yaml`` lists:

* ``email``: the SMTP provider's :class:`~airflow.providers.smtp.notifications.smtp.SmtpNotifier`
  over the ``alerts.email.smtp_conn_id`` connection (``complaints_smtp``);
* ``webhook``: :class:`JsonWebhookNotifier`, a JSON POST to the URL of an Airflow HTTP
  connection (``complaints_alert_webhook``) for LINE, Slack or Teams gateways.

How each alert is raised:

* **Task failure / quality gate**: :class:`ComplaintsAlertNotifier` is the
  ``on_failure_callback`` of every task (``default_args`` of the DAGs). Airflow calls it
  in the task's process once the task has failed for good (not on the retries), with the
  exception in the context. A :class:`complaints.errors.QualityGateError` becomes a
  quality-gate alert naming the held batches (read back from the ``ingest_batch`` ledger)
  with the query that shows their quarantined rows and the Data Docs link.
* **Stale channel**: the daily DAGs' ``check_channel_freshness`` task calls
  :func:`check_channel_freshness`; it alerts and succeeds (see ``complaints.freshness``).
* **Deadline**: :func:`daily_deadline_alert` builds the daily DAGs' Airflow 3 Deadline
  Alert (``airflow.sdk.DeadlineAlert``; experimental since Airflow 3.1, supported for DAG
  runs in 3.3.2): reference ``DeadlineReference.DAGRUN_LOGICAL_DATE`` (the start of the
  Bangkok day the run covers) plus one day and the configured local time (07:00), so the
  run of day D must have *succeeded* by 07:00 on D+1. The scheduler records the deadline
  when it creates the run, deletes it when the run succeeds in time, and otherwise queues
  the callback, an ``AsyncCallback`` that the **triggerer** awaits:
  :class:`DeadlineMissedNotifier` (a BaseNotifier with ``async_notify``). A run that failed
  before 07:00 therefore also gets the deadline alert: its data is not in. A manual run's
  logical date is when it was triggered (its data interval is the whole day before), so
  its deadline falls 31 hours after the trigger; a run without a logical date gets none
  (Airflow skips it and logs a warning). ``DAG.test()`` runs no scheduler and, in 3.3.2,
  cannot run a DAG with a deadline to success: see :class:`DAGWithDeadline`.

Stale-channel and deadline alerts about an interval that ended more than
``alerts.historical_after_days`` before they fire (the catch-up from a channel's start
date, a backfill) are logged and not sent, so a first deployment does not mail one alert
per historical day. Task failures are always sent.

No personal data: messages hold codes, counts, times, file names and exception texts;
the adapters never put reporter data in exceptions, and :func:`scrub` masks anything that
looks like an e-mail address, a Thai phone number or a LINE user id as a second guard.
The notifiers are called with the message already built and are not asked to render it
as a Jinja template, so text from an exception is never evaluated.

This module is imported when a DAG file is parsed: it imports only ``airflow.sdk`` and the
config at module level; providers, SQLAlchemy and the warehouse are imported when used.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from airflow.sdk import DAG, AsyncCallback, BaseNotifier, DeadlineAlert, DeadlineReference

from complaints.config import load_config
from complaints.errors import IngestError, QualityGateError
from complaints.paths import data_dir, read_sql
from complaints.thai_time import BANGKOK
from complaints.vocabulary import BatchOutcome

log = logging.getLogger(__name__)

KINDS = {
    "task_failure": "Task failed",
    "quality_gate": "Data-quality gate breached (batch held in quarantine)",
    "stale_channel": "Stale channel (no new data)",
    "deadline_missed": "Daily run past its deadline",
}
NOTIFIER_NAMES = ("email", "webhook")
MAX_DETAILS_CHARS = 4000


class AlertDeliveryError(RuntimeError):
    """No configured notifier could deliver an alert."""


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class AlertSettings:
    """The ``alerts:`` section of pipeline.yaml."""

    notifiers: tuple[str, ...] = ("email",)
    smtp_conn_id: str = "complaints_smtp"
    from_email: str | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    webhook_conn_id: str = "complaints_alert_webhook"
    webhook_endpoint: str = ""
    webhook_timeout_seconds: float = 10.0
    airflow_ui_url: str | None = None
    data_docs_url: str = "{data_dir_url}/data-docs/index.html"
    daily_deadline: time = time(7, 0)
    historical_after_days: float = 3.0

    @classmethod
    def from_config(cls, raw: dict[str, Any] | None = None) -> AlertSettings:
        section = raw if raw is not None else (load_config().raw.get("alerts") or {})
        email = section.get("email") or {}
        webhook = section.get("webhook") or {}
        notifiers = tuple(section.get("notifiers") or ())
        unknown = [n for n in notifiers if n not in NOTIFIER_NAMES]
        if unknown:
            raise ValueError(f"alerts.notifiers: unknown {unknown}; choose from {list(NOTIFIER_NAMES)}")
        if "email" in notifiers and not email.get("to"):
            raise ValueError("alerts.email.to: the e-mail notifier needs at least one recipient")
        defaults = cls()
        return cls(
            notifiers=notifiers,
            smtp_conn_id=str(email.get("smtp_conn_id") or defaults.smtp_conn_id),
            from_email=email.get("from_email") or None,
            to=tuple(_addresses(email.get("to"))),
            cc=tuple(_addresses(email.get("cc"))),
            webhook_conn_id=str(webhook.get("http_conn_id") or defaults.webhook_conn_id),
            webhook_endpoint=str(webhook.get("endpoint") or ""),
            webhook_timeout_seconds=float(webhook.get("timeout_seconds") or defaults.webhook_timeout_seconds),
            airflow_ui_url=section.get("airflow_ui_url") or None,
            data_docs_url=str(section.get("data_docs_url") or defaults.data_docs_url),
            daily_deadline=_local_time(section.get("daily_deadline", "07:00")),
            historical_after_days=float(
                section.get("historical_after_days")
                if section.get("historical_after_days") is not None
                else defaults.historical_after_days
            ),
        )


def _local_time(value: Any) -> time:
    """``"07:00"``; an unquoted 07:00 reaches us from YAML 1.1 as the sexagesimal int 420."""
    if isinstance(value, int):
        return time(value // 60, value % 60)
    return time.fromisoformat(str(value))


def _addresses(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


# --------------------------------------------------------------------------- the message

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_THAI_PHONE = re.compile(r"(?<![\w/.:-])(?:\+66|0)\d{1,2}[- ]?\d{3}[- ]?\d{3,4}(?![\w/.:-])")
_LINE_USER_ID = re.compile(r"\bU[0-9a-f]{32}\b")


def scrub(text: str, limit: int = MAX_DETAILS_CHARS) -> str:
    """``text`` without anything shaped like personal contact data, cut to ``limit`` characters."""
    text = _EMAIL.sub("[e-mail removed]", str(text))
    text = _LINE_USER_ID.sub("[LINE user id removed]", text)
    text = _THAI_PHONE.sub("[phone removed]", text)
    return text if len(text) <= limit else text[:limit] + " …[cut]"


def _local(value: datetime | None) -> str:
    return value.astimezone(BANGKOK).isoformat(sep=" ", timespec="minutes") if value else "-"


@dataclass(frozen=True)
class Alert:
    """One alert, independent of how it is sent."""

    kind: str
    dag_id: str
    what: str  # one sentence: what happened
    details: str = ""  # exception text or the facts behind the alert (scrubbed)
    channel: str | None = None
    channel_name: str | None = None
    interval_start: datetime | None = None
    interval_end: datetime | None = None
    run_id: str | None = None
    task_id: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    validation: tuple[dict[str, Any], ...] = ()  # held batches: id, part, message, query, Data Docs URL

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r}")

    @property
    def interval_label(self) -> str:
        """``2019-01-15`` for one Bangkok day, else ``start → end`` (dates, end exclusive)."""
        if not (self.interval_start and self.interval_end):
            return "no interval"
        start, end = self.interval_start.astimezone(BANGKOK), self.interval_end.astimezone(BANGKOK)
        midnight = time(0, 0)
        if start.time() == midnight and end.time() == midnight and end.date() - start.date() == timedelta(days=1):
            return start.date().isoformat()
        return f"{start.date().isoformat()} → {end.date().isoformat()}"

    @property
    def interval_text(self) -> str:
        if not (self.interval_start and self.interval_end):
            return "no interval"
        return f"{_local(self.interval_start)} to {_local(self.interval_end)} (Asia/Bangkok, end exclusive)"

    @property
    def details_heading(self) -> str:
        return "What failed" if self.kind in ("task_failure", "quality_gate") else "Details"

    @property
    def subject(self) -> str:
        where = self.channel or self.dag_id
        return f"[complaints] {KINDS[self.kind]}: {where}, {self.interval_label} ({self.dag_id})"

    def facts(self) -> list[tuple[str, str]]:
        rows = [("DAG", self.dag_id)]
        if self.channel:
            rows.append(("Channel", f"{self.channel} ({self.channel_name})" if self.channel_name else self.channel))
        rows.append(("Interval", self.interval_text))
        if self.run_id:
            rows.append(("Run", self.run_id))
        if self.task_id:
            rows.append(("Task", self.task_id))
        return rows

    def text(self) -> str:
        """The message as plain text (webhook ``text``, logs)."""
        lines = [self.subject, "", self.what, ""]
        lines += [f"{label}: {value}" for label, value in self.facts()]
        if self.details:
            lines += ["", f"{self.details_heading}:", self.details]
        for batch in self.validation:
            lines += ["", f"Held batch {batch['batch_id']} ({batch['source_part']}): {batch.get('message') or ''}"]
            lines += [
                f"  Quarantined rows: {batch['quarantine_query']}",
                f"  Validation result: {batch['data_docs_url']}",
            ]
        if self.links:
            lines += ["", *(f"{label}: {url}" for label, url in self.links.items())]
        return "\n".join(lines)

    def html(self) -> str:
        """The message as the HTML body of an e-mail (everything escaped)."""
        esc = html.escape
        rows = "".join(f"<tr><th align='left'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self.facts())
        parts = [f"<p><strong>{esc(self.what)}</strong></p>", f"<table>{rows}</table>"]
        if self.details:
            parts.append(f"<h3>{esc(self.details_heading)}</h3><pre>{esc(self.details)}</pre>")
        if self.validation:
            items = "".join(
                f"<li>batch <code>{esc(b['batch_id'])}</code> ({esc(b['source_part'])}): {esc(b.get('message') or '')}"
                f"<br>quarantined rows: <code>{esc(b['quarantine_query'])}</code>"
                f"<br><a href='{esc(b['data_docs_url'])}'>validation result (Data Docs)</a></li>"
                for b in self.validation
            )
            parts.append(f"<h3>Validation result</h3><ul>{items}</ul>")
        if self.links:
            links = "".join(f"<li><a href='{esc(url)}'>{esc(label)}</a></li>" for label, url in self.links.items())
            parts.append(f"<h3>Links</h3><ul>{links}</ul>")
        return "<html><body>" + "".join(parts) + "</body></html>"

    def payload(self) -> dict[str, Any]:
        """The webhook's JSON document; ``text`` is the whole message for gateways that only relay text."""
        return {
            "source": "bkk-complaints-pipeline",
            "kind": self.kind,
            "title": self.subject,
            "text": self.text(),
            "what": self.what,
            "dag_id": self.dag_id,
            "channel": self.channel,
            "interval_start": self.interval_start.isoformat() if self.interval_start else None,
            "interval_end": self.interval_end.isoformat() if self.interval_end else None,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "details": self.details,
            "validation": [dict(b) for b in self.validation],
            "links": dict(self.links),
        }


# --------------------------------------------------------------------------- links


def airflow_ui_url(settings: AlertSettings) -> str:
    if settings.airflow_ui_url:
        return settings.airflow_ui_url.rstrip("/")
    from airflow.sdk.configuration import conf

    return str(conf.get("api", "base_url", fallback="http://localhost:8080/")).rstrip("/")


def run_url(settings: AlertSettings, dag_id: str, run_id: str) -> str:
    return f"{airflow_ui_url(settings)}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def task_url(settings: AlertSettings, dag_id: str, run_id: str, task_id: str) -> str:
    return f"{run_url(settings, dag_id, run_id)}/tasks/{quote(task_id, safe='')}"


class _KeepUnknown(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def data_docs_url(settings: AlertSettings, **values: str) -> str:
    """``alerts.data_docs_url`` with its placeholders filled; unknown placeholders are left as written."""
    values.setdefault("data_dir_url", data_dir().resolve().as_uri())
    return settings.data_docs_url.format_map(_KeepUnknown({k: v or "" for k, v in values.items()}))


def quarantine_query(batch_id: str) -> str:
    """The statement on-call runs to see a held batch's rows (``include/sql/alerts/quarantine_of_batch.sql``)."""
    lines = read_sql("alerts/quarantine_of_batch.sql").splitlines()
    sql = "\n".join(line for line in lines if not line.startswith("--"))
    literal = "'" + batch_id.replace("'", "''") + "'"
    return " ".join(sql.replace(":batch_id", literal).split())


# --------------------------------------------------------------------------- sending


class JsonWebhookNotifier(BaseNotifier):
    """POSTs a JSON document to the URL of an Airflow HTTP connection.

    The URL is the connection's host (a full URL, or host with schema and port) joined with
    ``endpoint``; login/password give basic auth and the connection's extra holds headers
    (e.g. ``{"Authorization": "Bearer <token>"}``). ``payload`` is sent as given; without one
    the notifier, used directly as an ``on_failure_callback``, sends the failure alert built
    from the context. Sync (``notify``, HttpHook) in task callbacks, async (``async_notify``,
    HttpAsyncHook) in the triggerer.
    """

    template_fields = ()  # the payload is data, never a Jinja template

    def __init__(
        self,
        payload: dict[str, Any] | None = None,
        http_conn_id: str = "complaints_alert_webhook",
        endpoint: str = "",
        timeout_seconds: float = 10.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.payload = payload
        self.http_conn_id = http_conn_id
        self.endpoint = endpoint
        self.timeout_seconds = timeout_seconds

    def _document(self, context: Any) -> dict[str, Any]:
        if self.payload is not None:
            return self.payload
        return failure_alert(context).payload()

    def notify(self, context: Any) -> None:
        from airflow.providers.http.hooks.http import HttpHook

        HttpHook(method="POST", http_conn_id=self.http_conn_id).run(
            endpoint=self.endpoint, json=self._document(context), extra_options={"timeout": self.timeout_seconds}
        )

    async def async_notify(self, context: Any) -> None:
        import aiohttp
        from airflow.providers.http.hooks.http import HttpAsyncHook

        hook = HttpAsyncHook(method="POST", http_conn_id=self.http_conn_id, retry_limit=1)
        async with hook.session() as http:
            await http.run(
                endpoint=self.endpoint,
                json=self._document(context),
                extra_options={"timeout": aiohttp.ClientTimeout(total=self.timeout_seconds)},
            )


def _channel_notifiers(alert: Alert, settings: AlertSettings) -> list[tuple[str, BaseNotifier]]:
    out: list[tuple[str, BaseNotifier]] = []
    for name in settings.notifiers:
        if name == "email":
            from airflow.providers.smtp.notifications.smtp import SmtpNotifier

            notifier: BaseNotifier = SmtpNotifier(
                to=list(settings.to),
                cc=list(settings.cc) or None,
                from_email=settings.from_email,
                subject=alert.subject,
                html_content=alert.html(),
                smtp_conn_id=settings.smtp_conn_id,
                custom_headers={"X-Complaints-Alert": alert.kind},
            )
        else:
            notifier = JsonWebhookNotifier(
                payload=alert.payload(),
                http_conn_id=settings.webhook_conn_id,
                endpoint=settings.webhook_endpoint,
                timeout_seconds=settings.webhook_timeout_seconds,
            )
        out.append((name, notifier))
    return out


_URL_PATH = re.compile(r"((?:https?://)[^/\s'\"]+|\burl: )/[^\s'\"]*")


def _failure(name: str, exc: Exception) -> str:
    """A notifier's error for logs, with URL paths masked (a webhook URL's path is often its secret)."""
    return _URL_PATH.sub(r"\1/***", f"{name}: {type(exc).__name__}: {exc}")


def _outcome(alert: Alert, sent: list[str], errors: list[str]) -> list[str]:
    if errors:
        log.error("alert %r: %s", alert.subject, "; ".join(errors))
    if errors and not sent:
        raise AlertDeliveryError(f"alert {alert.subject!r} not delivered: " + "; ".join(errors))
    return sent


def send_alert(alert: Alert, settings: AlertSettings | None = None) -> list[str]:
    """Send ``alert`` through every configured notifier; returns the ones that delivered it.

    The notifiers' ``notify`` is called directly: the message is final, so it is not rendered
    as a template. A failing notifier is logged and the others still run;
    :class:`AlertDeliveryError` only when none delivered.
    """
    settings = settings or AlertSettings.from_config()
    log.warning("ALERT %s\n%s", alert.kind, alert.text())
    sent, errors = [], []
    for name, notifier in _channel_notifiers(alert, settings):
        try:
            notifier.notify({})
            sent.append(name)
        except Exception as exc:
            errors.append(_failure(name, exc))
    return _outcome(alert, sent, errors)


async def asend_alert(alert: Alert, settings: AlertSettings | None = None) -> list[str]:
    """:func:`send_alert` for the triggerer: the notifiers' ``async_notify``."""
    settings = settings or AlertSettings.from_config()
    log.warning("ALERT %s\n%s", alert.kind, alert.text())
    sent, errors = [], []
    for name, notifier in _channel_notifiers(alert, settings):
        try:
            await notifier.async_notify({})
            sent.append(name)
        except Exception as exc:
            errors.append(_failure(name, exc))
    return _outcome(alert, sent, errors)


def is_historical(reference: datetime, now: datetime, settings: AlertSettings) -> bool:
    """True when ``reference`` (an interval end or a deadline) is further back than ``historical_after_days``."""
    return now - reference > timedelta(days=settings.historical_after_days)


# --------------------------------------------------------------------------- task failures


def _channel_name(code: str | None) -> str | None:
    channel = load_config().channels.get(code) if code else None
    return channel.name_en if channel else None


def _context_interval(context: Any) -> tuple[datetime | None, datetime | None]:
    try:
        from complaints.airflow_tasks import run_interval

        return run_interval(context)
    except Exception:
        return context.get("data_interval_start"), context.get("data_interval_end")


def _is_quality_gate(exc: BaseException | None) -> bool:
    return isinstance(exc, QualityGateError)


def held_batches(
    channel: str, since: datetime | None, settings: AlertSettings, dag_id: str = "", run_id: str = ""
) -> list[dict[str, Any]]:
    """The channel's batches held by the quarantine threshold since ``since`` (the failed try's start)."""
    from sqlalchemy import text

    from complaints.airflow_tasks import warehouse_engine

    since_utc = (since or datetime.now(UTC) - timedelta(days=1)).astimezone(UTC).replace(tzinfo=None)
    engine = warehouse_engine()
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(read_sql("alerts/rejected_batches_since.sql")),
                {"channel": channel, "since": since_utc, "rejected": BatchOutcome.REJECTED.value},
            ).mappings()
            return [
                {
                    "batch_id": row["batch_id"],
                    "source_part": row["source_part"],
                    "rows_read": int(row["rows_read"]),
                    "rows_quarantined": int(row["rows_quarantined"]),
                    "message": scrub(row["message"] or "", 500),
                    "quarantine_query": quarantine_query(row["batch_id"]),
                    "data_docs_url": data_docs_url(
                        settings, channel=channel, batch_id=row["batch_id"], dag_id=dag_id, run_id=run_id
                    ),
                }
                for row in rows
            ]
    finally:
        engine.dispose()


def failure_alert(context: Any, channel: str | None = None, settings: AlertSettings | None = None) -> Alert:
    """The alert for a failed task, from the context Airflow gives ``on_failure_callback``."""
    settings = settings or AlertSettings.from_config()
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    run_id = getattr(ti, "run_id", None) or context.get("run_id") or ""
    task_id = getattr(ti, "task_id", None)
    exc = context.get("exception")
    start, end = _context_interval(context)
    links = {}
    if run_id:
        links["Airflow run"] = run_url(settings, dag_id, run_id)
        if task_id:
            links["Task log"] = task_url(settings, dag_id, run_id, task_id)
    details = scrub(f"{type(exc).__name__}: {exc}") if exc is not None else "no exception was recorded"
    tries = getattr(ti, "try_number", None)
    quality_gate = _is_quality_gate(exc)
    # An IngestError (an unreadable part) may also report batches held in quarantine.
    held = quality_gate or bool(isinstance(exc, IngestError) and exc.held_batches)
    validation: list[dict[str, Any]] = []
    if held and channel:
        try:
            validation = held_batches(channel, getattr(ti, "start_date", None), settings, dag_id, run_id)
        except Exception as lookup_error:  # the alert goes out even when the warehouse is unreachable
            log.warning("could not read the held batches from the ledger: %s", lookup_error)
    if held and not validation:
        links["Validation results (Data Docs)"] = data_docs_url(
            settings, channel=channel or "", batch_id="", dag_id=dag_id, run_id=run_id
        )
    if quality_gate:
        kind = "quality_gate"
        what = (
            f"A batch's share of rows failing validation is over the "
            f"{load_config().max_failed_share:.0%} quarantine threshold; that batch was not loaded."
        )
    else:
        kind = "task_failure"
        what = f"Task {task_id} failed" + (f" (try {tries}); it will not be retried." if tries else ".")
    return Alert(
        kind=kind,
        dag_id=dag_id,
        what=what,
        details=details,
        channel=channel,
        channel_name=_channel_name(channel),
        interval_start=start,
        interval_end=end,
        run_id=run_id or None,
        task_id=task_id,
        links=links,
        validation=tuple(validation),
    )


class ComplaintsAlertNotifier(BaseNotifier):
    """``on_failure_callback`` of the complaints DAGs' tasks: builds the alert from the context
    (task failure, or quality gate for a ``QualityGateError``) and sends it through the
    configured notifiers. Airflow logs, and does not re-raise, an error a callback raises."""

    template_fields = ()

    def __init__(self, channel: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.channel = channel

    def notify(self, context: Any) -> None:
        send_alert(failure_alert(context, self.channel))


# --------------------------------------------------------------------------- stale channels


def stale_channel_alert(freshness: Any, dag_id: str, run_id: str | None, interval: tuple[datetime, datetime]) -> Alert:
    settings = AlertSettings.from_config()
    links = {"Airflow run": run_url(settings, dag_id, run_id)} if run_id else {}
    channel = freshness.channel
    return Alert(
        kind="stale_channel",
        dag_id=dag_id,
        what=(
            f"No new data from channel {channel} for {freshness.days_without_data:.1f} days "
            f"(limit {freshness.stale_after_days}); the daily run itself succeeded."
        ),
        details=freshness.describe()
        + f". Ledger: SELECT * FROM ingest_batch WHERE channel = '{channel}' ORDER BY interval_end DESC LIMIT 10",
        channel=channel,
        channel_name=_channel_name(channel),
        interval_start=interval[0],
        interval_end=interval[1],
        run_id=run_id,
        links=links,
    )


def freshness_check(
    engine: Any,
    channel_code: str,
    interval: tuple[datetime, datetime],
    dag_id: str,
    run_id: str | None = None,
    now: datetime | None = None,
    settings: AlertSettings | None = None,
) -> dict[str, Any]:
    """Check one channel as of the end of ``interval``; alert when stale. Never fails for staleness:
    only :class:`AlertDeliveryError` (stale and no notifier could deliver) is raised."""
    from complaints.freshness import channel_freshness

    settings = settings or AlertSettings.from_config()
    now = now or datetime.now(UTC)
    channel = load_config().channels[channel_code]
    freshness = channel_freshness(engine, channel, interval[1])
    log.info("%s", freshness.describe())
    result = {**freshness.as_dict(), "alert": "none"}
    if not freshness.stale:
        return result
    alert = stale_channel_alert(freshness, dag_id, run_id, interval)
    if is_historical(interval[1], now, settings):
        log.warning("stale, but the interval is historical (catch-up or backfill): logged, not sent\n%s", alert.text())
        result["alert"] = "logged: historical interval"
        return result
    if not settings.notifiers:
        log.warning("stale, and alerts.notifiers is empty: logged only\n%s", alert.text())
        result["alert"] = "logged: no notifiers"
        return result
    result["alert"] = "sent: " + ", ".join(send_alert(alert, settings))
    return result


def check_channel_freshness(channel_code: str, context: Any) -> dict[str, Any]:
    """The ``check_channel_freshness`` task: the run's interval and the warehouse from Airflow."""
    from complaints.airflow_tasks import run_interval, warehouse_engine

    interval = run_interval(context)
    ti = context.get("ti")
    engine = warehouse_engine()
    try:
        return freshness_check(
            engine, channel_code, interval, dag_id=ti.dag_id if ti else "?", run_id=ti.run_id if ti else None
        )
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- deadlines


def daily_deadline_interval(settings: AlertSettings | None = None) -> timedelta:
    """From the run's logical date (Bangkok midnight starting its day) to the deadline time the next morning."""
    deadline = (settings or AlertSettings.from_config()).daily_deadline
    return timedelta(days=1, hours=deadline.hour, minutes=deadline.minute)


def daily_deadline_alert(channel_code: str, settings: AlertSettings | None = None) -> DeadlineAlert:
    """The Deadline Alert of ``complaints_daily_<channel>``: succeeded by ``alerts.daily_deadline``
    (local time) the morning after the interval, else :class:`DeadlineMissedNotifier` runs in the
    triggerer. Assumes the daily schedule starts each interval at local midnight."""
    settings = settings or AlertSettings.from_config()
    at = settings.daily_deadline.strftime("%H:%M")
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=daily_deadline_interval(settings),
        callback=AsyncCallback(DeadlineMissedNotifier, kwargs={"channel": channel_code, "deadline_local_time": at}),
        name=f"daily load of {channel_code} done by {at}",
    )


class DAGWithDeadline(DAG):
    """``airflow.sdk.DAG`` whose ``test()`` runs without the DAG's Deadline Alerts.

    In Airflow 3.3.2, ``DAG.test()`` (and ``airflow dags test``) serialises the DAG in memory,
    which leaves ``dag.deadline`` holding encoded alerts instead of the ids the metadata
    database holds, and a run that *succeeds* then fails in ``DagRun.update_state`` with
    ``'dict' object has no attribute 'hex'`` (apache/airflow#73428; fix proposed in
    apache/airflow#73430). A test run has no scheduler to fire a deadline anyway. The
    scheduler reads the DAG from the metadata database and is not affected. Drop this class
    (use ``DAG``) once the fix is released.
    """

    def test(self, *args: Any, **kwargs: Any) -> Any:
        deadline = self.deadline
        self.deadline = None
        try:
            return super().test(*args, **kwargs)
        finally:
            self.deadline = deadline


def _parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def deadline_alert_message(context: Any, channel: str | None, deadline_local_time: str | None) -> Alert:
    """The alert from the context Airflow gives a deadline callback: ``dag_run`` (the run as the
    REST API shows it, JSON) and ``deadline`` (``id``, ``deadline_time``)."""
    settings = AlertSettings.from_config()
    run = context.get("dag_run") or {}
    deadline = context.get("deadline") or {}
    dag_id = str(run.get("dag_id") or "?")
    run_id = run.get("dag_run_id") or run.get("run_id")
    deadline_time = _parse_time(deadline.get("deadline_time"))
    at = deadline_local_time or (deadline_time.astimezone(BANGKOK).strftime("%H:%M") if deadline_time else "?")
    state = run.get("state") or "unknown"
    return Alert(
        kind="deadline_missed",
        dag_id=dag_id,
        what=f"The daily run had not succeeded by its deadline, {_local(deadline_time)} ({at} Bangkok time).",
        details=(
            f"Run state when the deadline passed: {state}; queued {_local(_parse_time(run.get('queued_at')))}, "
            f"started {_local(_parse_time(run.get('start_date')))}. A failed run has its own failure alert; "
            "a queued or running one is late (source slow or unreachable, workers busy)."
        ),
        channel=channel,
        channel_name=_channel_name(channel),
        interval_start=_parse_time(run.get("data_interval_start")),
        interval_end=_parse_time(run.get("data_interval_end")),
        run_id=run_id,
        links={"Airflow run": run_url(settings, dag_id, run_id)} if run_id else {},
    )


class DeadlineMissedNotifier(BaseNotifier):
    """The daily DAGs' Deadline Alert callback (``AsyncCallback``, awaited by the triggerer).

    Airflow instantiates it with the callback's kwargs and ``context`` and awaits it; the
    returned string is stored as the callback's output. Deadlines further back than
    ``alerts.historical_after_days`` (runs created long after their deadline: catch-up,
    backfill) are logged only.
    """

    template_fields = ()

    def __init__(self, channel: str | None = None, deadline_local_time: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.channel = channel
        self.deadline_local_time = deadline_local_time

    def _decide(self, context: Any) -> tuple[Alert, str | None]:
        alert = deadline_alert_message(context, self.channel, self.deadline_local_time)
        deadline_time = _parse_time((context.get("deadline") or {}).get("deadline_time"))
        if deadline_time and is_historical(deadline_time, datetime.now(UTC), AlertSettings.from_config()):
            log.warning("deadline missed by a historical run (catch-up, backfill): logged, not sent\n%s", alert.text())
            return alert, "logged: historical run"
        return alert, None

    async def async_notify(self, context: Any) -> str:
        alert, skipped = self._decide(context)
        if skipped:
            return skipped
        return "sent: " + ", ".join(await asend_alert(alert))

    def notify(self, context: Any) -> str:
        alert, skipped = self._decide(context)
        if skipped:
            return skipped
        return "sent: " + ", ".join(send_alert(alert))
