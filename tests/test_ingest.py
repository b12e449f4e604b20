"""The ingest run over real 1555 file drops, on both warehouse databases: what is loaded,
what is quarantined, what fails the run, and that nothing is lost or counted twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from adapter_fixtures import hotline_csv, hotline_row
from complaints.adapters import ExtractRequest
from complaints.config import load_config
from complaints.ingest import IngestError, QualityGateError, ingest_channel
from complaints.thai_time import BANGKOK
from complaints.warehouse import ensure_schema, make_engine
from conftest import PSEUDONYM_KEY
from invariants import assert_conservation

REPORTER_NAME, REPORTER_PHONE = "นางสาวมาลี ศรีสุข", "081-234-5678"


@pytest.fixture
def engine(warehouse_url):
    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def request(data_dir: Path) -> ExtractRequest:
    return ExtractRequest(
        channel=load_config().channels["hotline_1555"],
        interval_start=datetime(2019, 1, 15, tzinfo=BANGKOK),
        interval_end=datetime(2019, 1, 17, tzinfo=BANGKOK),
        pseudonym_key=PSEUDONYM_KEY,
        data_dir=data_dir,
    )


def drop(data_dir: Path, name: str, rows: list[dict[str, str]]) -> Path:
    inbox = data_dir / "inbox" / "1555"
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_bytes(b"\xef\xbb\xbf" + hotline_csv(rows).encode("utf-8"))
    return path


def good_rows(prefix: str, count: int) -> list[dict[str, str]]:
    return [hotline_row(f"{prefix}{i:04d}") for i in range(count)]


def scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def test_rows_read_equal_rows_loaded_plus_quarantined_and_bad_rows_keep_their_reason(engine, tmp_path):
    rows = [
        *good_rows("A", 70),
        hotline_row("A9001", {"เขต": "เขตเมืองทอง"}),
        hotline_row("", {}),
        hotline_row("A9002", {"วันที่รับแจ้ง": "15/01/2019 08:30"}),
    ]
    drop(tmp_path, "1555_20190115.csv", rows)
    summary = ingest_channel(request(tmp_path), engine)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (73, 70, 3)
    assert scalar(engine, "SELECT COUNT(*) FROM complaint") == 70
    with engine.connect() as conn:
        reasons = dict(conn.execute(text("SELECT source_id, reasons FROM quarantine")).all())
    assert reasons["A9001"] == "unknown or missing district"
    assert "not Buddhist era" in reasons["A9002"]
    assert any("missing" in r for sid, r in reasons.items() if sid is None)
    assert scalar(engine, "SELECT outcome FROM ingest_batch") == "loaded_with_warnings"


def test_a_batch_over_the_quarantine_threshold_loads_nothing_and_keeps_every_row(engine, tmp_path):
    rows = [*good_rows("B", 30), *[hotline_row(f"B9{i:03d}", {"เขต": "ปากเกร็ด"}) for i in range(5)]]
    path = drop(tmp_path, "1555_20190115.csv", rows)
    with pytest.raises(QualityGateError, match=r"5 of 35 rows \(14.3%\) failed validation"):
        ingest_channel(request(tmp_path), engine)
    assert scalar(engine, "SELECT COUNT(*) FROM complaint") == 0
    assert scalar(engine, "SELECT COUNT(*) FROM quarantine") == 35  # the good rows are held, not lost
    assert scalar(engine, "SELECT rows_read - rows_loaded - rows_quarantined FROM ingest_batch") == 0
    assert path.exists(), "a rejected file stays in the inbox for a re-run"


def test_an_unreadable_file_fails_the_run_by_name_and_line_while_the_other_files_load(engine, tmp_path):
    drop(tmp_path, "1555_20190115.csv", good_rows("C", 5))
    broken = drop(tmp_path, "1555_20190116.csv", good_rows("D", 3))
    broken.write_bytes(broken.read_bytes().rsplit(b",", 4)[0])  # cut inside the last row
    with pytest.raises(IngestError, match=r"1555_20190116\.csv line 4"):
        ingest_channel(request(tmp_path), engine)
    assert scalar(engine, "SELECT COUNT(*) FROM complaint") == 5
    assert broken.exists()
    assert (tmp_path / "archive" / "1555" / "1555_20190115.csv").exists()


def test_a_file_delivered_twice_is_counted_once(engine, tmp_path):
    first = drop(tmp_path, "1555_20190115.csv", good_rows("E", 10))
    content = first.read_bytes()
    ingest_channel(request(tmp_path), engine)
    (tmp_path / "inbox" / "1555" / "1555_20190115_resend.csv").write_bytes(content)
    summary = ingest_channel(request(tmp_path), engine)
    assert [b.outcome for b in summary.batches] == ["duplicate_delivery"]
    assert "1555_20190115.csv" in summary.batches[0].message
    assert scalar(engine, "SELECT COUNT(*) FROM complaint") == 10
    assert scalar(engine, "SELECT COUNT(*) FROM ingest_batch") == 2


def test_a_file_and_its_copy_in_the_same_run_are_counted_once(engine, tmp_path):
    # batches are written in the background: the copy's duplicate check must see the first file loaded
    first = drop(tmp_path, "1555_20190115.csv", good_rows("F", 10))
    (tmp_path / "inbox" / "1555" / "1555_20190116.csv").write_bytes(first.read_bytes())
    summary = ingest_channel(request(tmp_path), engine)
    assert [b.outcome for b in summary.batches] == ["loaded", "duplicate_delivery"]
    assert scalar(engine, "SELECT COUNT(*) FROM complaint") == 10
    assert sorted(p.name for p in (tmp_path / "archive" / "1555").iterdir()) == [
        "1555_20190115.csv",
        "1555_20190116.csv",
    ]


def test_a_failed_write_fails_the_run_and_leaves_the_file_in_the_inbox(engine, tmp_path, monkeypatch):
    drop(tmp_path, "1555_20190115.csv", good_rows("G", 5))
    drop(tmp_path, "1555_20190116.csv", good_rows("H", 5))

    def failing_write(*args, **kwargs):
        raise OSError("connection lost")

    monkeypatch.setattr("complaints.ingest.write_batch", failing_write)
    with pytest.raises(OSError, match="connection lost"):
        ingest_channel(request(tmp_path), engine)
    assert sorted(p.name for p in (tmp_path / "inbox" / "1555").iterdir()) == ["1555_20190115.csv", "1555_20190116.csv"]
    assert scalar(engine, "SELECT COUNT(*) FROM ingest_batch") == 0


def test_a_newer_snapshot_of_a_matter_updates_it_and_extends_its_history(engine, tmp_path):
    drop(tmp_path, "1555_20190115.csv", [hotline_row("F0001")])
    resolved = {
        "สถานะ": "เสร็จสิ้น",
        "วันที่ดำเนินการเสร็จ": "16/01/2562 11:00",
        "ผลการดำเนินการ": "ฝ่ายโยธาซ่อมทางเท้าเรียบร้อยแล้ว",
        "วันที่ปรับปรุงล่าสุด": "16/01/2562 11:00",
    }
    drop(tmp_path, "1555_20190116.csv", [hotline_row("F0001", resolved)])
    ingest_channel(request(tmp_path), engine)
    assert scalar(engine, "SELECT status FROM complaint") == "resolved"
    with engine.connect() as conn:
        history = [s for (s,) in conn.execute(text("SELECT status FROM complaint_status_history ORDER BY changed_at"))]
    assert history == ["received", "acknowledged", "in_progress", "resolved"]


def test_no_reporter_name_or_phone_reaches_the_warehouse(engine, tmp_path):
    drop(tmp_path, "1555_20190115.csv", [*good_rows("G", 3), hotline_row("G9999", {"เขต": "ปากเกร็ด"})])
    ingest_channel(request(tmp_path), engine)
    digits = REPORTER_PHONE.replace("-", "")
    with engine.connect() as conn:
        for table in ("complaint", "complaint_status_history", "quarantine", "ingest_batch"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):  # table names from the tuple above
                dumped = " ".join(str(v) for v in row)
                assert REPORTER_NAME not in dumped and REPORTER_PHONE not in dumped and digits not in dumped, table
    assert scalar(engine, "SELECT COUNT(DISTINCT reporter_pseudonym) FROM complaint") == 1


def test_a_file_read_in_chunks_loads_or_quarantines_every_row_once_and_is_archived_after_its_last_chunk(
    engine, tmp_path
):
    rows = good_rows("K", 90)
    rows[40] = hotline_row("K0040", {"วันที่รับแจ้ง": "15/01/2019 08:30"})  # Christian era: the parser rejects it
    rows[75] = hotline_row("K0075", {"เขต": "ปากเกร็ด"})  # not a Bangkok district: validation quarantines it
    path = drop(tmp_path, "1555_20190115.csv", rows)
    content = path.read_bytes()
    channel = load_config().channels["hotline_1555"]
    chunked = replace(request(tmp_path), channel=replace(channel, settings={**channel.settings, "chunk_rows": 30}))

    summary = ingest_channel(chunked, engine)
    assert [b.source_part.partition("@")[0] for b in summary.batches] == [
        "1555_20190115.csv#1-30",
        "1555_20190115.csv#31-60",
        "1555_20190115.csv#61-90",
    ]
    assert [(b.rows_read, b.rows_loaded, b.rows_quarantined) for b in summary.batches] == [
        (30, 30, 0),
        (30, 29, 1),
        (30, 29, 1),
    ]
    delivered = {"hotline_1555": [r["เลขที่รับแจ้ง"] for r in rows]}
    checked = assert_conservation(engine, delivered=delivered)
    assert (checked.rows_read, checked.rows_loaded, checked.rows_quarantined) == (90, 88, 2)
    assert scalar(engine, "SELECT COUNT(DISTINCT checksum) FROM ingest_batch") == 1  # the whole file's
    assert not path.exists()
    assert (tmp_path / "archive" / "1555" / "1555_20190115.csv").read_bytes() == content

    path.write_bytes(content)  # the same file delivered again: its chunks load again, idempotently
    again = ingest_channel(chunked, engine)
    assert [b.batch_id for b in again.batches] == [b.batch_id for b in summary.batches]
    checked = assert_conservation(engine, delivered=delivered)
    assert (checked.batches, checked.rows_read, checked.complaints) == (3, 90, 88)


def test_a_part_without_a_file_is_validated_while_the_previous_part_loads(engine, tmp_path, monkeypatch):
    """API page ranges and MIS slices read nothing from the warehouse before their write, so the
    next one's validation overlaps the previous write (a file's batch waits: its duplicate check)."""
    import threading
    from types import SimpleNamespace

    from complaints import ingest
    from complaints.adapters import hotline_1555

    drop(tmp_path, "1555_20190115.csv", good_rows("OV-A", 3))
    drop(tmp_path, "1555_20190116.csv", good_rows("OV-B", 3))

    def read_as_api_part(req, part):
        batch = hotline_1555.read(req, part)
        return replace(batch, checksum=None, file_name=None)

    adapter = SimpleNamespace(plan=hotline_1555.plan, read=read_as_api_part, after_load=lambda *args: None)
    monkeypatch.setattr(ingest, "load_adapter", lambda channel: adapter)

    second_validated = threading.Event()
    overlapped: list[bool] = []
    real_validate, real_write = ingest.validate_records, ingest.write_batch

    def validate(channel, records, *args, **kwargs):
        if any(r["source_id"].startswith("OV-B") for r in records):
            second_validated.set()
        return real_validate(channel, records, *args, **kwargs)

    def write(*args, **kwargs):
        if not overlapped:  # the first part's write holds until the second part is validated
            overlapped.append(second_validated.wait(timeout=20))
        real_write(*args, **kwargs)

    monkeypatch.setattr(ingest, "validate_records", validate)
    monkeypatch.setattr(ingest, "write_batch", write)
    summary = ingest_channel(request(tmp_path), engine)

    assert overlapped == [True]
    assert summary.rows_loaded == 6
    assert scalar(engine, "SELECT COUNT(*) FROM complaint") == 6
    assert scalar(engine, "SELECT SUM(rows_loaded) FROM ingest_batch") == 6
