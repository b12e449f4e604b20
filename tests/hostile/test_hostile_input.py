"""Every case of the hostile-input corpus (corpus.py) through the real adapters and ingest, on
SQLite and PostgreSQL: the stated outcome (rows loaded, each quarantine reason, or the error
naming file and line), conservation (ledger and quarantine agree with what was read), and an
intact warehouse (every table there, dimensions as configured, injection strings stored as
data, SQLite's integrity and foreign-key checks clean)."""

from __future__ import annotations

import dataclasses
import logging
import re
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import pytest
from corpus import Case, all_cases
from sqlalchemy import Engine, inspect, text

from complaints.adapters import ExtractRequest
from complaints.config import load_config
from complaints.ingest import IngestError, QualityGateError, ingest_channel
from complaints.thai_time import BANGKOK
from complaints.warehouse import ensure_schema, make_engine
from conftest import PSEUDONYM_KEY
from devtools.demo.api_server import ApiServer

CASES = all_cases()
TOKEN = "hostile-corpus-token"
TABLES = {
    "complaint",
    "complaint_status_history",
    "dim_category",
    "dim_channel",
    "dim_district",
    "dim_status",
    "dim_unit",
    "indicator_snapshot",
    "ingest_batch",
    "ingested_file",
    "quarantine",
}
INTERVALS = {
    "hotline_1555": (datetime(2019, 1, 15, tzinfo=BANGKOK), datetime(2019, 1, 17, tzinfo=BANGKOK)),
    "traffy_fondue": (datetime(2022, 6, 1, tzinfo=BANGKOK), datetime(2022, 6, 10, tzinfo=BANGKOK)),
    "line": (datetime(2019, 1, 15, tzinfo=BANGKOK), datetime(2019, 1, 16, tzinfo=BANGKOK)),
    "mis": (datetime(2019, 1, 15, tzinfo=BANGKOK), datetime(2019, 1, 16, tzinfo=BANGKOK)),
}


# Every case on SQLite; on PostgreSQL too where hostile values get stored (parsing is the same).
RUNS = [
    pytest.param(case, database, id=f"{database}-{case.name}")
    for case in CASES
    for database in (("sqlite", "postgres") if case.stores_hostile_values else ("sqlite",))
]


@pytest.fixture
def case_engine(request, tmp_path):
    database = request.node.callspec.params["database"]
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}" if database == "sqlite" else request.getfixturevalue("pg_url")
    engine = make_engine(url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def run_case(case: Case, engine: Engine, data_dir: Path) -> Exception | None:
    """Write the case's source, ingest it; the run's error, if it failed."""
    case.source(data_dir)
    channel = load_config().channels[case.channel]
    start, end = INTERVALS[case.channel]
    with ExitStack() as stack:
        source_url = token = None
        if case.channel == "line":
            server = stack.enter_context(ApiServer(data_dir, token=TOKEN, flaky=False))
            source_url, token = server.base_url, TOKEN
            channel = dataclasses.replace(channel, settings={**channel.settings, "http_retries": 1, "page_size": 25})
        elif case.channel == "mis":
            source_url = f"sqlite:///{data_dir / 'mis.sqlite'}"
        request = ExtractRequest(channel, start, end, PSEUDONYM_KEY, source_url, token, data_dir)
        try:
            ingest_channel(request, engine)
        except (IngestError, QualityGateError) as exc:
            return exc
    return None


def rows(engine: Engine, sql: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def assert_conservation(engine: Engine) -> int:
    """Every ledger row: read = loaded + quarantined, and the quarantine holds exactly its rows.
    Returns the rows read over all batches."""
    ledger = rows(engine, "SELECT batch_id, rows_read, rows_loaded, rows_quarantined FROM ingest_batch")
    held = dict(rows(engine, "SELECT batch_id, COUNT(*) FROM quarantine GROUP BY batch_id"))
    assert set(held) <= {b for b, *_ in ledger}, "quarantined rows of a batch without a ledger row"
    for batch_id, read, loaded, quarantined in ledger:
        assert read == loaded + quarantined, (batch_id, read, loaded, quarantined)
        assert held.get(batch_id, 0) == quarantined, batch_id
    return sum(r[1] for r in ledger)


def assert_intact(engine: Engine) -> None:
    """Every table still there, the dimensions exactly as configured, no dangling references."""
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= TABLES
    cfg = load_config()
    expected = {
        "dim_channel": len(cfg.channels),
        "dim_district": len(cfg.districts),
        # each with the one code for labels no crosswalk line maps yet (config.UNMAPPED)
        "dim_category": len(cfg.categories) + 1,
        "dim_unit": len(cfg.units) + 1,
        "dim_status": len(cfg.statuses) + 1,
    }
    for table, count in expected.items():
        assert rows(engine, f"SELECT COUNT(*) FROM {table}") == [(count,)], table
    assert rows(
        engine,
        "SELECT COUNT(*) FROM complaint c LEFT JOIN dim_district d ON d.district_code = c.district_code "
        "WHERE d.district_code IS NULL",
    ) == [(0,)]
    if engine.dialect.name == "sqlite":
        assert rows(engine, "PRAGMA integrity_check") == [("ok",)]
        assert rows(engine, "PRAGMA foreign_key_check") == []


@pytest.mark.parametrize(("case", "database"), RUNS)
def test_hostile_input_has_its_stated_outcome_and_loses_nothing(case: Case, database, case_engine, tmp_path, caplog):
    engine = case_engine
    caplog.set_level(logging.WARNING)
    error = run_case(case, engine, tmp_path)

    if case.error:
        assert error is not None, f"{case.name}: the run should have failed"
        assert re.search(case.error, str(error)), f"{case.name}: {error}"
    else:
        assert error is None, f"{case.name}: {error}"
    read = assert_conservation(engine)
    assert_intact(engine)

    assert rows(engine, "SELECT COUNT(*) FROM complaint") == [(case.loaded,)]
    reasons: dict[str | None, list[str]] = {}
    for source_id, reason in rows(engine, "SELECT source_id, reasons FROM quarantine"):
        reasons.setdefault(source_id, []).append(reason)
    assert set(reasons) == set(case.quarantined), reasons
    for source_id, pattern in case.quarantined.items():
        assert all(re.search(pattern, r) for r in reasons[source_id]), (source_id, reasons[source_id])
    assert read == case.loaded + sum(len(r) for r in reasons.values())

    for source_id, values in case.stored.items():
        columns = ", ".join(values)
        stored = rows(engine, f"SELECT {columns} FROM complaint WHERE source_id = :sid", sid=source_id)
        assert stored == [tuple(values.values())], (source_id, stored)
    if case.log:
        assert any(re.search(case.log, r.getMessage()) for r in caplog.records), case.log


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_a_failed_file_stays_in_the_inbox_for_a_corrected_delivery(database, case_engine, tmp_path):
    engine = case_engine
    case = next(c for c in CASES if "renamed column fails the file" in c.name and c.channel == "hotline_1555")
    assert run_case(case, engine, tmp_path) is not None
    assert [p.name for p in (tmp_path / "inbox" / "1555").iterdir()] == ["1555_20190115.csv"]
    assert rows(engine, "SELECT COUNT(*) FROM ingest_batch") == [(0,)]
