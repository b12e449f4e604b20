"""What the daily DAG's tasks call: Airflow Connections and run context in, plain calls out.

Kept apart from the DAG file so the DAG parses without importing pandas, Great
Expectations or SQLAlchemy, and apart from ``ingest`` so that stays Airflow-free.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from complaints.thai_time import BANGKOK

log = logging.getLogger(__name__)

WAREHOUSE_CONN_ID = "complaints_warehouse"
# The reporting queries' read-only login; without this connection they use the warehouse's.
REPORTING_CONN_ID = "complaints_warehouse_reporting"
PSEUDONYM_KEY_CONN_ID = "complaints_pseudonym_key"
# Shorter keys are guessable: a pseudonym could then be reversed by hashing every phone number.
MIN_PSEUDONYM_KEY_CHARS = 16

_DRIVERS = {"postgres": "postgresql+psycopg2", "postgresql": "postgresql+psycopg2", "mysql": "mysql+pymysql"}


def sqlalchemy_url(conn: Any) -> str:
    """SQLAlchemy URL of an Airflow Connection: ``extra.sqlalchemy_url`` if set, else built from its fields."""
    extra = conn.extra_dejson or {}
    if extra.get("sqlalchemy_url"):
        return str(extra["sqlalchemy_url"])
    if conn.conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    driver = _DRIVERS.get(conn.conn_type, conn.conn_type)
    auth = ""
    if conn.login:
        auth = quote(conn.login, safe="")
        if conn.password:
            auth += ":" + quote(conn.password, safe="")
        auth += "@"
    port = f":{conn.port}" if conn.port else ""
    return f"{driver}://{auth}{conn.host}{port}/{conn.schema or ''}"


def http_base_url(conn: Any) -> str:
    extra = conn.extra_dejson or {}
    if extra.get("base_url"):
        return str(extra["base_url"]).rstrip("/")
    scheme = conn.schema or "https"
    port = f":{conn.port}" if conn.port else ""
    return f"{scheme}://{conn.host}{port}"


def _get_connection(conn_id: str) -> Any:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def warehouse_engine() -> Any:
    from complaints.warehouse import make_engine

    return make_engine(sqlalchemy_url(_get_connection(WAREHOUSE_CONN_ID)))


def reporting_engine() -> Any:
    """The engine the reporting queries read through: the ``complaints_warehouse_reporting``
    connection (a read-only role, see include/sql/roles/), else the warehouse connection."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    from complaints.warehouse import make_engine

    try:
        conn = _get_connection(REPORTING_CONN_ID)
    except AirflowNotFoundException:
        log.info("no %s connection: reporting queries use %s", REPORTING_CONN_ID, WAREHOUSE_CONN_ID)
        conn = _get_connection(WAREHOUSE_CONN_ID)
    return make_engine(sqlalchemy_url(conn))


def pseudonym_key() -> str:
    """The pseudonymisation key: the password of the ``complaints_pseudonym_key`` connection
    (a secrets backend or an ``AIRFLOW_CONN_*`` variable), never a value from the repository."""
    key = _get_connection(PSEUDONYM_KEY_CONN_ID).password or ""
    if len(key) < MIN_PSEUDONYM_KEY_CHARS:
        raise ValueError(
            f"the {PSEUDONYM_KEY_CONN_ID} connection's password must be a random secret of at least "
            f"{MIN_PSEUDONYM_KEY_CHARS} characters (32+ random bytes recommended)"
        )
    return key


def run_interval(context: dict[str, Any]) -> tuple[datetime, datetime]:
    """The run's data interval, or the ``interval_start``/``interval_end`` params (Bangkok dates)
    when a backfill or the demo asks for a longer window through the same code."""
    params = context.get("params") or {}
    start = context["data_interval_start"]
    end = context["data_interval_end"]
    if params.get("interval_start"):
        start = datetime.fromisoformat(str(params["interval_start"])).replace(tzinfo=BANGKOK)
    if params.get("interval_end"):
        end = datetime.fromisoformat(str(params["interval_end"])).replace(tzinfo=BANGKOK)
    if end <= start:
        raise ValueError(f"empty interval: {start.isoformat()} .. {end.isoformat()}")
    return start.astimezone(BANGKOK), end.astimezone(BANGKOK)


def prepare_warehouse() -> None:
    prepare_warehouse_engine(warehouse_engine())


def prepare_warehouse_engine(engine: Any) -> None:
    """The schema, dimensions and calendar every daily run checks first (runs of several
    channels do it at the same time, so it must be safe to race)."""
    from complaints.indicator.business_calendar import (
        calendar_covers,
        create_calendar_table,
        default_calendar_range,
        ensure_calendar,
    )
    from complaints.warehouse import ensure_schema

    ensure_schema(engine)
    create_calendar_table(engine)
    first, last = default_calendar_range()
    if not calendar_covers(engine, first, last):
        ensure_calendar(engine, first, last)


def ingest(channel_code: str, context: dict[str, Any]) -> dict[str, Any]:
    from complaints.adapters import ExtractRequest
    from complaints.config import load_config
    from complaints.ingest import ingest_channel
    from complaints.paths import data_dir

    channel = load_config().channels[channel_code]
    start, end = run_interval(context)
    source_url = token = login = None
    if channel.settings.get("connection_id"):
        conn = _get_connection(channel.settings["connection_id"])
        if conn.conn_type in ("http", "https"):
            source_url, token, login = http_base_url(conn), conn.password, conn.login
        else:
            source_url = sqlalchemy_url(conn)
    request = ExtractRequest(
        channel=channel,
        interval_start=start,
        interval_end=end,
        pseudonym_key=pseudonym_key(),
        source_url=source_url,
        source_token=token,
        source_login=login,
        data_dir=data_dir(),
    )
    summary = ingest_channel(request, warehouse_engine())
    return summary.as_dict()


def quarterly_cutoff(context: dict[str, Any]) -> date:
    """The ``cutoff`` param of a manual run, else the last day of the run's data interval."""
    params = context.get("params") or {}
    if params.get("cutoff"):
        return date.fromisoformat(str(params["cutoff"]))
    # Take the calendar date first: pendulum's arithmetic on zoned datetimes is not plain date arithmetic.
    return context["data_interval_end"].astimezone(BANGKOK).date() - timedelta(days=1)


def daily_loads_cover_cutoff(context: dict[str, Any]) -> bool:
    """True when every channel's data reaches the cut-off day, or when waiting is over."""
    from complaints.config import load_config
    from complaints.quarterly import stale_channels

    cutoff = quarterly_cutoff(context)
    stale = stale_channels(reporting_engine(), cutoff)
    if not stale:
        return True
    waited = datetime.now(UTC) - context["dag_run"].start_date
    limit = timedelta(hours=float(load_config().raw["quarterly"]["wait_for_daily_loads_hours"]))
    if waited >= limit:
        log.warning("computing with stale channels after waiting %s: %s (the report marks them)", waited, stale)
        return True
    log.info("waiting for the daily loads of %s to reach %s", stale, cutoff.isoformat())
    return False


def compute_quarterly_indicator(context: dict[str, Any]) -> dict[str, Any]:
    from complaints.quarterly import compute_and_store

    result = compute_and_store(warehouse_engine(), quarterly_cutoff(context), reporting_engine())
    return {
        "fiscal_year_be": result.fiscal_year_be,
        "cutoff": result.cutoff.isoformat(),
        "received": result.totals.received,
        "resolved": result.totals.resolved,
        "in_progress": result.totals.in_progress,
        "pct_resolved": str(result.totals.pct_resolved),
        "score": str(result.score.total),
        "stale_channels": [f.channel for f in result.freshness if f.stale],
    }


def publish_quarterly_report(context: dict[str, Any]) -> list[str]:
    from complaints.quarterly import render_and_publish

    params = context.get("params") or {}
    return render_and_publish(reporting_engine(), quarterly_cutoff(context), params.get("unit") or None)


def publish_quarterly_georeport(context: dict[str, Any]) -> int:
    from complaints.quarterly import publish_georeport

    params = context.get("params") or {}
    return len(publish_georeport(reporting_engine(), quarterly_cutoff(context), params.get("unit") or None))
