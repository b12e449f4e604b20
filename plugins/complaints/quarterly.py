"""The quarterly run: freshness check, compute-and-store, render-and-publish.

The indicator is computed once (``compute_indicator``) and stored as a snapshot in the
warehouse; the report is rendered from that snapshot, so every published file shows
exactly the stored figures, and re-running the publish step re-publishes the same numbers.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from complaints.config import load_config
from complaints.fiscal import fiscal_quarter, fiscal_year_be
from complaints.indicator.business_calendar import end_of_day_bound
from complaints.indicator.compute import compute_indicator, run_query
from complaints.indicator.result import IndicatorResult, result_from_json, result_to_json
from complaints.paths import read_sql
from complaints.vocabulary import COVERING_OUTCOMES

log = logging.getLogger(__name__)

GEOREPORT_FOLDER = "open311"


def stale_channels(engine: Engine, cutoff: date) -> list[str]:
    """Channels whose loaded data does not yet reach the end of the cut-off day."""
    with engine.connect() as conn:
        rows = run_query(
            conn,
            "freshness",
            {"asof_before": end_of_day_bound(cutoff), "covering_outcomes": list(COVERING_OUTCOMES)},
        )
    return [r["channel"] for r in rows if r["stale"]]


def compute_and_store(engine: Engine, cutoff: date, reporting: Engine | None = None) -> IndicatorResult:
    """Compute through ``reporting`` (the read-only reporting role, default ``engine``) and store
    the snapshot through ``engine``, the one login here that may write."""
    result = compute_indicator(reporting or engine, cutoff, writer=engine)
    with engine.begin() as conn:
        conn.execute(
            text(read_sql("indicator/upsert_snapshot.sql")),
            {
                "fiscal_year_be": result.fiscal_year_be,
                "cutoff": result.cutoff,
                "rubric_version": result.rubric_version,
                "result_json": result_to_json(result),
                "computed_at": datetime.now(UTC).replace(tzinfo=None),
            },
        )
    return result


def load_snapshot(engine: Engine, cutoff: date) -> IndicatorResult:
    with engine.connect() as conn:
        row = conn.execute(
            text(read_sql("indicator/select_snapshot.sql")),
            {"fiscal_year_be": fiscal_year_be(cutoff), "cutoff": cutoff},
        ).first()
    if row is None:
        raise LookupError(f"no indicator computed for cut-off {cutoff.isoformat()}: run the compute task first")
    return result_from_json(row[0])


def render_and_publish(engine: Engine, cutoff: date, unit: str | None = None) -> list[str]:
    """Render the stored snapshot in every format and publish the files atomically."""
    from complaints.publish import publish_reports, target_from_config
    from complaints.report import render_report

    settings = load_config().raw["quarterly"]
    unit = unit or settings["report_unit"]
    result = load_snapshot(engine, cutoff)
    with tempfile.TemporaryDirectory(prefix="kpi-report-") as work:
        files = render_report(result, Path(work), unit=unit)
        published = publish_reports(
            files, target_from_config(settings["publish"]), result.fiscal_year_be, result.quarter, unit
        )
    for path in published:
        log.info("published %s", path)
    return published


def publish_georeport(engine: Engine, cutoff: date, unit: str | None = None) -> list[str]:
    """Publish the fiscal year's matters as of ``cutoff`` in Open311 GeoReport v2 JSON beside the
    reports, in their folder's ``open311/`` (``complaints.open311_export``)."""
    from complaints.open311_export import write_georeport_files
    from complaints.publish import publication_folder, publish_files, target_from_config

    settings = load_config().raw["quarterly"]
    unit = unit or settings["report_unit"]
    with tempfile.TemporaryDirectory(prefix="open311-") as work:
        files = write_georeport_files(engine, cutoff, Path(work))
        folder = publication_folder(fiscal_year_be(cutoff), fiscal_quarter(cutoff), unit) / GEOREPORT_FOLDER
        published = publish_files(files, target_from_config(settings["publish"]), folder)
    log.info("published %d Open311 GeoReport v2 file(s) to %s", len(published), folder)
    return published
