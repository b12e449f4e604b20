"""What the daily overdue digest DAG's tasks call: run context and Airflow Connections in,
plain calls to :mod:`complaints.overdue` out. Kept apart from the DAG file so it parses
without SQLAlchemy or openpyxl."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from complaints.thai_time import BANGKOK

log = logging.getLogger(__name__)


def digest_as_of(context: dict[str, Any]) -> date:
    """The ``as_of`` param of a manual run, else the Bangkok day before the run's logical date
    (the 06:00 run of 12 April lists the states at the end of 11 April, the last day the
    midnight loads covered)."""
    params = context.get("params") or {}
    if params.get("as_of"):
        return date.fromisoformat(str(params["as_of"]))
    moment = (context.get("logical_date") or context["dag_run"].run_after).astimezone(BANGKOK)
    # Date arithmetic on a plain date: pendulum 3 subtracts a timedelta from a DateTime whose tzinfo
    # is a zoneinfo.ZoneInfo in UTC and drops the zone (06:00 Bangkok - 1 day = 23:00 two days back).
    return date(moment.year, moment.month, moment.day) - timedelta(days=1)


def publish_overdue_digest(context: dict[str, Any]) -> dict[str, Any]:
    """Compute the digest, publish every unit's files, return the summary for the e-mail task."""
    from complaints.airflow_tasks import reporting_engine, warehouse_engine
    from complaints.overdue import compute_digest, digest_settings, publish_digest
    from complaints.publish import target_from_config

    settings = digest_settings()
    engine, writer = reporting_engine(), warehouse_engine()
    try:
        digest = compute_digest(engine, digest_as_of(context), settings.look_ahead_business_days, writer=writer)
    finally:
        engine.dispose()
        writer.dispose()
    summary = publish_digest(digest, target_from_config(settings.publish))
    totals = summary.totals
    log.info(
        "overdue digest as of %s: %d matter(s) in %d unit folder(s) (acknowledgement breached %d / due soon %d, "
        "resolution breached %d / due soon %d); stale channels: %s",
        summary.as_of,
        totals.matters,
        len(summary.units),
        totals.ack_breached,
        totals.ack_due_soon,
        totals.res_breached,
        totals.res_due_soon,
        summary.stale_channels or "none",
    )
    return summary.to_dict()


def email_overdue_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """E-mail the summary to ``overdue_digest.recipients``; no recipients configured = nothing sent."""
    from complaints.overdue import DigestSummary, digest_settings, send_summary_email

    settings = digest_settings()
    if not settings.recipients:
        log.warning("overdue_digest.recipients is empty in include/config/pipeline.yaml: no e-mail sent")
        return {"sent": False, "recipients": 0}
    send_summary_email(DigestSummary.from_dict(summary), settings.recipients, settings.from_email)
    return {"sent": True, "recipients": len(settings.recipients)}
