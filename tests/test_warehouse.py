"""The warehouse code on both databases it supports: PostgreSQL and SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from complaints.canonical import StatusEvent
from complaints.warehouse import BatchLedger, ensure_schema, load_summary, make_engine, write_batch
from conftest import bkk
from test_validation import record


def ledger(batch_id: str = "b1", rows: int = 1, quarantined: int = 0) -> BatchLedger:
    return BatchLedger(
        batch_id=batch_id,
        channel="mis",
        interval_start=bkk(2019, 1, 15),
        interval_end=bkk(2019, 1, 16),
        source_part="2019-01-15",
        rows_read=rows + quarantined,
        rows_loaded=rows,
        rows_quarantined=quarantined,
        checksum=None,
        outcome="loaded",
        message=None,
    )


def table(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


@pytest.fixture
def engine(warehouse_url):
    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def test_schema_creation_is_repeatable_and_seeds_dimensions_from_config(engine):
    ensure_schema(engine)
    assert table(engine, "SELECT COUNT(*) FROM dim_district") == [(50,)]
    assert table(engine, "SELECT name_th FROM dim_district WHERE district_code = '1004'") == [("บางรัก",)]
    assert table(engine, "SELECT status_code FROM dim_status WHERE is_resolved = TRUE") == [("resolved",)]
    assert {r[0] for r in table(engine, "SELECT channel_code FROM dim_channel")} == {
        "mis",
        "hotline_1555",
        "line",
        "facebook",
        "traffy_fondue",
    }


def test_received_date_is_the_bangkok_calendar_day_and_times_are_stored_in_utc(engine):
    late_evening = record(
        "N-1",
        received_at=bkk(2019, 3, 31, 23, 30),
        acknowledged_at=None,
        resolved_at=None,
        status="received",
        source_updated_at=bkk(2019, 3, 31, 23, 30),
    )
    write_batch(engine, ledger(), [late_evening], [], [])
    [(received_date, received_at)] = table(engine, "SELECT received_date, received_at FROM complaint")
    assert str(received_date) == "2019-03-31"
    assert str(received_at).startswith("2019-03-31 16:30:00")


def test_reloading_the_same_batch_leaves_the_warehouse_identical(engine):
    rows = [record("A-1"), record("A-2", district_code="1001")]
    events = [
        StatusEvent("mis", "A-1", "received", bkk(2019, 1, 15, 9, 0)),
        StatusEvent("mis", "A-1", "resolved", bkk(2019, 1, 16, 9, 0)),
    ]
    quarantine = [("A-3", ["unknown or missing district"], {"source_id": "A-3"})]
    for _ in range(2):
        write_batch(engine, ledger(rows=2, quarantined=1), rows, events, quarantine)
    assert table(engine, "SELECT COUNT(*) FROM complaint") == [(2,)]
    assert table(engine, "SELECT COUNT(*) FROM complaint_status_history") == [(2,)]
    assert table(engine, "SELECT source_id, reasons FROM quarantine") == [("A-3", "unknown or missing district")]
    assert table(engine, "SELECT rows_read, rows_loaded, rows_quarantined FROM ingest_batch") == [(3, 2, 1)]


def test_an_older_snapshot_never_overwrites_a_newer_one(engine):
    newer = record("A-1")
    older = record("A-1", status="in_progress", resolved_at=None, source_updated_at=bkk(2019, 1, 15, 12, 0))
    write_batch(engine, ledger("new"), [newer], [], [])
    write_batch(engine, ledger("old"), [older], [], [])
    assert table(engine, "SELECT status, batch_id FROM complaint") == [("resolved", "new")]


def test_text_with_tabs_newlines_backslashes_and_thai_is_stored_exactly(engine):
    # PostgreSQL receives a batch through COPY's text format, where these characters are escapes
    description = "ถนน\tเป็นหลุม\nซอย 5\\6 \\N\r\nจบ"
    write_batch(engine, ledger(), [record("A-1", description=description, resolution_report="")], [], [])
    assert table(engine, "SELECT description, resolution_report FROM complaint") == [(description, "")]


def test_a_source_id_twice_in_one_batch_keeps_its_most_recent_row_and_the_later_on_a_tie(engine):
    newer = record("A-1", status="resolved")
    older = record("A-1", status="in_progress", resolved_at=None, source_updated_at=bkk(2019, 1, 15, 12, 0))
    tie_first = record("A-2", district_code="1001")
    tie_second = record("A-2", district_code="1002")
    write_batch(engine, ledger(rows=4), [newer, older, tie_first, tie_second], [], [])
    assert table(engine, "SELECT source_id, status, district_code FROM complaint ORDER BY source_id") == [
        ("A-1", "resolved", record("A-1")["district_code"]),
        ("A-2", "resolved", "1002"),
    ]


def test_a_status_change_delivered_twice_in_one_batch_is_recorded_once_with_the_first_note(engine):
    at = bkk(2019, 1, 15, 9, 0)
    events = [StatusEvent("mis", "A-1", "received", at, "first"), StatusEvent("mis", "A-1", "received", at, "again")]
    write_batch(engine, ledger(), [record("A-1")], events, [])
    assert table(engine, "SELECT status, note FROM complaint_status_history") == [("received", "first")]


def test_a_failing_batch_writes_nothing_at_all(engine):
    good = record("A-1")
    bad = record("A-2", district_code="9999")  # violates the district foreign key
    with pytest.raises(IntegrityError):
        write_batch(engine, ledger(rows=2), [good, bad], [], [("Q", ["x"], {})])
    assert table(engine, "SELECT COUNT(*) FROM complaint") == [(0,)]
    assert table(engine, "SELECT COUNT(*) FROM quarantine") == [(0,)]
    assert table(engine, "SELECT COUNT(*) FROM ingest_batch") == [(0,)]


def test_load_summary_counts_per_channel(engine):
    write_batch(
        engine,
        ledger(),
        [record("A-1")],
        [StatusEvent("mis", "A-1", "received", bkk(2019, 1, 15))],
        [(None, ["missing source id"], {})],
    )
    summary = {r["channel"]: r for r in load_summary(engine)}
    assert (summary["mis"]["complaints"], summary["mis"]["status_changes"], summary["mis"]["quarantined"]) == (1, 1, 1)
    assert summary["line"]["complaints"] == 0


# The complaint table as the first release created it, before secondary_categories,
# satisfaction_star and reopen_count existed.
_FIRST_RELEASE_COMPLAINT = """
CREATE TABLE complaint (
    channel TEXT NOT NULL, source_id TEXT NOT NULL, received_at TIMESTAMP NOT NULL,
    received_date DATE NOT NULL, district_code TEXT NOT NULL, category_code TEXT NOT NULL,
    description TEXT, latitude DOUBLE PRECISION, longitude DOUBLE PRECISION,
    reporter_pseudonym TEXT, responsible_unit TEXT, status TEXT NOT NULL,
    acknowledged_at TIMESTAMP, resolved_at TIMESTAMP, resolution_report TEXT,
    source_updated_at TIMESTAMP NOT NULL, batch_id TEXT NOT NULL,
    PRIMARY KEY (channel, source_id)
)
"""


def test_an_existing_warehouse_gets_the_new_columns_and_the_migration_is_safe_to_re_run(warehouse_url):
    from sqlalchemy import inspect

    from complaints.warehouse import add_missing_columns

    engine = make_engine(warehouse_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(_FIRST_RELEASE_COMPLAINT))
            conn.execute(
                text(
                    "INSERT INTO complaint VALUES ('mis', 'OLD-1', '2019-01-15 02:00:00', '2019-01-15', '1004', "
                    "'waste', NULL, NULL, NULL, NULL, NULL, 'received', NULL, NULL, NULL, '2019-01-15 02:00:00', 'b0')"
                )
            )
        ensure_schema(engine)  # creates the other tables, adds the three columns
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("complaint")}
        assert {"secondary_categories", "satisfaction_star", "reopen_count"} <= columns
        assert add_missing_columns(engine) == []  # a re-run adds nothing and does not fail
        ensure_schema(engine)
        assert table(engine, "SELECT source_id, satisfaction_star, reopen_count FROM complaint") == [
            ("OLD-1", None, None)
        ]
        rated = record("A-1", secondary_categories="roads,footpath", satisfaction_star=4, reopen_count=1)
        write_batch(engine, ledger(), [rated, record("A-2")], [], [])
        assert table(
            engine,
            "SELECT source_id, secondary_categories, satisfaction_star, reopen_count FROM complaint "
            "WHERE source_id LIKE 'A-%' ORDER BY source_id",
        ) == [("A-1", "roads,footpath", 4, 1), ("A-2", None, None, None)]
    finally:
        engine.dispose()
