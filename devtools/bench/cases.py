"""The measured work, one function per case. Each runs in a fresh interpreter (see probe.py) and
returns its figures; the timer covers the work only, not the interpreter's start or imports
other than those the work itself triggers (Great Expectations is imported by the first batch,
as in a task)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from complaints.thai_time import BANGKOK

# A throw-away key per process: the rows are synthetic and every scratch warehouse is dropped.
BENCH_PSEUDONYM_KEY = secrets.token_hex(32)
CUTOFF = date(2019, 9, 30)  # end of fiscal year 2562: every synthetic matter is in its window
INTERVAL = (datetime(2018, 10, 1, tzinfo=BANGKOK), datetime(2019, 11, 1, tzinfo=BANGKOK))


def _request(channel: str, data_dir: Path | None = None, source_url: str | None = None) -> Any:
    from complaints.adapters import ExtractRequest
    from complaints.config import load_config

    return ExtractRequest(
        channel=load_config().channels[channel],
        interval_start=INTERVAL[0],
        interval_end=INTERVAL[1],
        pseudonym_key=BENCH_PSEUDONYM_KEY,
        source_url=source_url,
        data_dir=data_dir,
    )


def ingest(warehouse_url: str, channel: str, data_dir: str | None = None, source_url: str | None = None) -> dict:
    """The pipeline: plan, extract, validate (Great Expectations), load, ledger; as a daily task runs it."""
    from complaints.ingest import ingest_channel
    from complaints.warehouse import make_engine

    engine = make_engine(warehouse_url)
    started = time.perf_counter()
    summary = ingest_channel(_request(channel, Path(data_dir) if data_dir else None, source_url), engine)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": summary.rows_read,
        "loaded": summary.rows_loaded,
        "batches": len(summary.batches),
    }


def ingest_naive(warehouse_url: str, data_dir: str) -> dict:
    """The naive reference: the whole file in one DataFrame, validated whole, ``DataFrame.to_sql``.

    Same parser and the same expectation suite as the pipeline, so the difference is the
    streaming and the write path. It writes no status history and no ledger (less work).
    """
    import pandas as pd

    from complaints.adapters import hotline_1555
    from complaints.validation import records_frame, validate_records
    from complaints.warehouse import make_engine
    from devtools.bench.synth import HOTLINE_FILE

    engine = make_engine(warehouse_url)
    started = time.perf_counter()
    request = _request("hotline_1555", Path(data_dir))
    batch = hotline_1555.read(request, HOTLINE_FILE)  # the file's name: the whole file, one batch
    outcome = validate_records("hotline_1555", batch.records)
    frame = records_frame(outcome.valid)
    for column in ("received_at", "acknowledged_at", "resolved_at", "source_updated_at"):
        frame[column] = frame[column].dt.tz_convert("UTC").dt.tz_localize(None)
    frame["received_date"] = (frame["received_at"] + pd.Timedelta(hours=7)).dt.date
    frame["batch_id"] = "naive"
    frame.to_sql("complaint", engine, if_exists="append", index=False)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": batch.rows_read, "loaded": len(frame)}


def copy_floor(warehouse_url: str, data_dir: str) -> dict:
    """The floor: PostgreSQL's own COPY of the same file into an unindexed table of text columns."""
    from sqlalchemy import Column, MetaData, Table, Text

    from complaints.warehouse import make_engine
    from devtools.bench.synth import HOTLINE_FILE
    from devtools.demo.generate import HOTLINE_HEADERS

    engine = make_engine(warehouse_url)
    columns = [Column(f"c{n}", Text) for n in range(len(HOTLINE_HEADERS))]
    Table("copy_floor", MetaData(), *columns).create(engine)  # no primary key, no index
    raw = engine.raw_connection()
    started = time.perf_counter()
    try:
        cursor = raw.cursor()
        with (Path(data_dir) / "inbox" / "1555" / HOTLINE_FILE).open("rb") as fh:
            cursor.copy_expert("COPY copy_floor FROM STDIN WITH (FORMAT csv, HEADER true)", fh)
        raw.commit()
        seconds = time.perf_counter() - started
        cursor.execute("SELECT COUNT(*) FROM copy_floor")
        rows = cursor.fetchone()[0]
    finally:
        raw.close()
    return {"seconds": seconds, "rows": rows}


def daily_increment(warehouse_url: str, day: int, new: int = 3000, changed: int = 3000) -> dict:
    """One day's MIS changes: ``new`` matters received that day and ``changed`` older ones resolved.

    Validation and load as ``process_batch`` does them; the warehouse was filled by synth.fill_warehouse,
    whose matters W<5k> are MIS matters. ``day`` makes every repeat a new day (new ids, later times).
    """
    from complaints.canonical import ExtractedBatch
    from complaints.ingest import process_batch
    from complaints.validation import validate_records
    from complaints.warehouse import make_engine

    engine = make_engine(warehouse_url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT COUNT(*) FROM complaint")).scalar_one()
    moment = datetime(2019, 10, 1, 9, 0, tzinfo=BANGKOK) + timedelta(days=day)
    records = []
    for n in range(new + changed):
        is_new = n < new
        received = moment + timedelta(seconds=n) if is_new else moment - timedelta(days=30)
        records.append(
            {
                "channel": "mis",
                "source_id": f"D{day}-{n}" if is_new else f"W{5 * (1 + (n * 7919 + day * 104729) % (total // 5))}",
                "received_at": received,
                "district_code": "1001",
                "category_code": "roads",
                "description": "ถนนเป็นหลุมเป็นบ่อ ขอให้ซ่อมแซม",
                "latitude": 13.75,
                "longitude": 100.5,
                "reporter_pseudonym": None,
                "responsible_unit": "public_works",
                "status": "received" if is_new else "resolved",
                "acknowledged_at": None if is_new else received + timedelta(hours=1),
                "resolved_at": None if is_new else moment + timedelta(hours=8),
                "resolution_report": None if is_new else "ฝ่ายโยธาได้ซ่อมแซมผิวจราจรเรียบร้อยแล้ว",
                "source_updated_at": moment + timedelta(hours=8),
                "secondary_categories": None,
                "satisfaction_star": None,
                "reopen_count": None,
            }
        )
    batch = ExtractedBatch(channel="mis", source_part=f"bench-day-{day}", records=records)
    request = _request("mis")
    request = type(request)(
        **{**request.__dict__, "interval_start": moment, "interval_end": moment + timedelta(days=1)}
    )
    validate_records("mis", records[:1])  # Great Expectations' import (~10 s) is not the day's work
    started = time.perf_counter()
    report = process_batch(request, batch, engine)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": report.rows_read, "loaded": report.rows_loaded, "matters": total}


def quarterly(warehouse_url: str) -> dict:
    """The quarterly computation: every query of compute_indicator (figures, breakdowns, monthly...)."""
    from complaints.indicator.compute import compute_indicator
    from complaints.warehouse import make_engine

    engine = make_engine(warehouse_url)
    compute_indicator(engine, CUTOFF)  # the calendar is filled once, not part of a quarter's work
    started = time.perf_counter()
    result = compute_indicator(engine, CUTOFF)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "received": result.totals.received, "resolved": result.totals.resolved}


# Rows per chunk the naive reference converts to compact columns as it reads.
NAIVE_CHUNK_ROWS = 500_000


def _read_compact(engine: Any, name: str, dtypes: dict[str, Any]) -> Any:
    """A whole table read into pandas through a server-side cursor, ``NAIVE_CHUNK_ROWS`` rows
    at a time, each chunk converted to ``dtypes`` before the next is read: the peak is the
    compact frame plus one chunk, not the table as Python objects."""
    import pandas as pd

    from complaints.paths import read_sql

    with engine.connect().execution_options(stream_results=True, max_row_buffer=NAIVE_CHUNK_ROWS) as conn:
        chunks = [
            chunk.astype(dtypes)
            for chunk in pd.read_sql(text(read_sql(f"bench/{name}.sql")), conn, chunksize=NAIVE_CHUNK_ROWS)
        ]
    return pd.concat(chunks, ignore_index=True)


def quarterly_naive(warehouse_url: str) -> dict:
    """The naive reference: read the tables into pandas, take each matter's status as of the
    cut-off and count by channel, district, unit and category (the figures only; the pipeline
    also computes the monthly series, open matters, the response and quality parts).

    It reads only the columns it needs, codes as categoricals and source ids as categories of
    the complaint table's ids (history rows share them), so 10 M matters fit in memory; the
    computation is still pandas over whole tables."""
    import numpy as np
    import pandas as pd

    from complaints.fiscal import fiscal_year_be
    from complaints.indicator.business_calendar import end_of_day_bound
    from complaints.indicator.rubric import load_rubric
    from complaints.paths import read_sql
    from complaints.warehouse import make_engine

    engine = make_engine(warehouse_url)
    started = time.perf_counter()
    codes = pd.read_sql(text(read_sql("bench/naive_codes.sql")), engine)
    kinds = {k: pd.CategoricalDtype(sorted(g.code)) for k, g in codes.groupby("kind")}
    complaints = _read_compact(
        engine,
        "naive_complaints",
        {
            "channel": kinds["channel"],
            "district_code": kinds["district"],
            "category_code": kinds["category"],
            "responsible_unit": kinds["unit"],
            "received_date": "datetime64[s]",
        },
    )
    source_ids = pd.CategoricalDtype(pd.unique(complaints.source_id))
    complaints["source_id"] = complaints.source_id.astype(source_ids)
    history = _read_compact(
        engine,
        "naive_status_history",
        {"channel": kinds["channel"], "source_id": source_ids, "status": kinds["status"]},
    )
    resolved_by_code = (
        codes[codes.kind == "status"].set_index("code").is_resolved.reindex(kinds["status"].categories).to_numpy() == 1
    )
    window = complaints[complaints.received_date.between(pd.Timestamp(date(2018, 10, 1)), pd.Timestamp(CUTOFF))]
    history = history[history.changed_at < pd.Timestamp(end_of_day_bound(CUTOFF))].copy()
    history["is_resolved"] = resolved_by_code[history.status.cat.codes.to_numpy()]
    history = history.sort_values(["channel", "source_id", "changed_at", "is_resolved"])
    latest = history.drop_duplicates(["channel", "source_id"], keep="last")[["channel", "source_id", "is_resolved"]]
    matters = window.merge(latest, on=["channel", "source_id"], how="left")
    matters["resolved"] = matters.is_resolved.fillna(False).astype(np.int8)
    counted = matters[matters.channel.isin(load_rubric(fiscal_year_be(CUTOFF)).channels)]
    breakdowns = {
        key: matters.groupby(key, dropna=False, observed=True).resolved.agg(["count", "sum"])
        for key in ("channel", "district_code", "responsible_unit", "category_code")
    }
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "received": len(counted),
        "resolved": int(counted.resolved.sum()),
        "groups": sum(len(b) for b in breakdowns.values()),
    }


def report(warehouse_url: str, out_dir: str) -> dict:
    """PDF + XLSX + HTML of one quarter, from a computed indicator."""
    from complaints.indicator.compute import compute_indicator
    from complaints.report import render_report
    from complaints.warehouse import make_engine

    result = compute_indicator(make_engine(warehouse_url), CUTOFF)
    started = time.perf_counter()
    files = render_report(result, Path(out_dir))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "files": len(files), "bytes": sum(f.stat().st_size for f in files)}


CASES: dict[str, Callable[..., dict]] = {
    f.__name__: f for f in (ingest, ingest_naive, copy_floor, daily_increment, quarterly, quarterly_naive, report)
}
