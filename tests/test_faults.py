"""Faults the loads must survive, each followed by the conservation check (tests/invariants.py):
API pages that fail in the middle of paging, files delivered twice or corrected, status updates
that arrive before their complaint. Process kills and dropped connections are in
test_faults_killed.py."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from adapter_fixtures import api_request, day_request, drop_hotline_file, hotline_row, write_source
from complaints.adapters import ExtractRequest
from complaints.adapters._common import interval_part
from complaints.canonical import CanonicalComplaint, ExtractedBatch, StatusEvent
from complaints.ingest import IngestError, ingest_channel, process_batch
from complaints.thai_time import BANGKOK
from devtools.demo.api_server import ApiServer
from invariants import assert_conservation

TOKEN = "fault-test-token"
DAY = datetime(2019, 1, 15, tzinfo=BANGKOK)


def rows(engine, sql: str, **params: Any) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def scalar(engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


# --------------------------------------------------------------------------- API pages


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _graph(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def line_event(n: int, updated: datetime) -> dict[str, Any]:
    return {
        "type": "message",
        "webhookEventId": f"01HQFAULT{n:05d}",
        "timestamp": _ms(updated - timedelta(hours=2)),
        "source": {"type": "user", "userId": f"Ufault{n:06d}"},
        "message": {"type": "text", "id": f"9{n:06d}", "text": f"ไฟถนนดับหน้าซอย {n}"},
        "complaint": {
            "district": "เขตบางรัก",
            "category": "ขยะ",
            "assignedUnit": "ฝ่ายรักษาความสะอาดและสวนสาธารณะ",
            "status": "อยู่ระหว่างดำเนินการ",
            "updatedAt": _ms(updated),
        },
    }


def facebook_post(n: int, updated: datetime) -> dict[str, Any]:
    return {
        "id": f"104857_20190115{n:05d}",
        "created_time": _graph(updated - timedelta(hours=1)),
        "updated_time": _graph(updated),
        "message": f"ถนนเป็นหลุม จุดที่ {n}",
        "from": {"id": f"77{n:06d}", "name": "ผู้แจ้ง"},
        "complaint": {"district": "บางรัก", "category": "ถนน", "assigned_unit": "ฝ่ายโยธา", "status": "รับเรื่องแล้ว"},
    }


@pytest.fixture
def api_sources(tmp_path: Path) -> Path:
    """10 LINE events (pages of 4: 3 pages) and 7 Facebook posts (pages of 3: 3 pages) on DAY."""
    write_source(tmp_path, "line_events.json", [line_event(n, DAY + timedelta(hours=n + 1)) for n in range(10)])
    write_source(tmp_path, "facebook_posts.json", [facebook_post(n, DAY + timedelta(hours=n + 1)) for n in range(7)])
    return tmp_path


def api_channel_request(code: str, base_url: str, **settings: Any) -> ExtractRequest:
    return api_request(code, base_url, TOKEN, page_size=4 if code == "line" else 3, **settings)


@pytest.mark.parametrize(
    ("fault", "requests_for_the_page", "says"),  # flaky: every page first answers one transient 503
    [
        ("error", 4, r"LINE page 2 \(.*page=2.*\): still HTTP 500 after 3 retries"),
        ("slow", 4, r"LINE page 2 \(.*page=2.*\): no answer after 3 retries .*timed out"),
        ("malformed", 2, r"LINE page 2 \(.*page=2.*\): the body is not valid JSON"),
    ],
)
def test_an_api_page_failing_mid_paging_fails_the_interval_by_page_and_loads_none_of_it(
    engine, api_sources, fault, requests_for_the_page, says
):
    """Page 1 was read fine; page 2 fails for good. The LINE interval is not marked done (no ledger
    row, no complaint of page 1 loaded); Facebook, on the same server and warehouse, loads; once
    the API is healthy the LINE retry loads the interval with exact counts."""
    settings = {"http_backoff_factor": 0.1, "http_read_timeout": 0.4}
    with ApiServer(api_sources, token=TOKEN, flaky=True, faults={("line", 2): fault}, slow_seconds=1.5) as server:
        with pytest.raises(IngestError, match=says):
            ingest_channel(api_channel_request("line", server.base_url, **settings), engine)
        page2 = next(key for key in server.hits if "page=2" in key)
        assert server.hits[page2] == requests_for_the_page
        if requests_for_the_page > 2:  # retried with growing pauses: urllib3 sleeps 0, 0.2, 0.4 s here
            gaps = [b - a for a, b in itertools.pairwise(server.hit_times[page2])]
            assert gaps[-1] >= 0.4 and gaps[-2] >= 0.2, gaps
        assert rows(engine, "SELECT * FROM ingest_batch WHERE channel = 'line'") == []
        assert scalar(engine, "SELECT COUNT(*) FROM complaint WHERE channel = 'line'") == 0

        facebook = ingest_channel(api_channel_request("facebook", server.base_url), engine)
        assert (facebook.rows_read, facebook.rows_loaded, facebook.rows_quarantined) == (7, 7, 0)

        server.faults.clear()  # the API recovers; the run is retried
        line = ingest_channel(api_channel_request("line", server.base_url), engine)
    assert (line.rows_read, line.rows_loaded, line.rows_quarantined) == (10, 10, 0)
    assert rows(engine, "SELECT channel, COUNT(*) FROM complaint GROUP BY channel ORDER BY channel") == [
        ("facebook", 7),
        ("line", 10),
    ]
    assert_conservation(
        engine,
        delivered={
            "line": [f"01HQFAULT{n:05d}" for n in range(10)],
            "facebook": [f"104857_20190115{n:05d}" for n in range(7)],
        },
    )


# --------------------------------------------------------------------------- files twice, corrected


def test_a_file_dropped_twice_counts_once_and_a_corrected_file_wins_with_both_in_the_history(engine, tmp_path):
    name = "1555_20190115.csv"
    original = [hotline_row(f"H{i:04d}") for i in range(19)] + [hotline_row("H0019", {"เขต": "เขตเมืองทอง"})]
    drop_hotline_file(tmp_path, name, original)
    first = ingest_channel(day_request("hotline_1555", DAY, tmp_path), engine)
    assert (first.rows_read, first.rows_loaded, first.rows_quarantined) == (20, 19, 1)

    drop_hotline_file(tmp_path, name, original)  # the same file, same name, dropped again
    again = ingest_channel(day_request("hotline_1555", DAY, tmp_path), engine)
    assert [b.batch_id for b in again.batches] == [b.batch_id for b in first.batches]
    assert scalar(engine, "SELECT COUNT(*) FROM ingest_batch") == 1
    assert scalar(engine, "SELECT COUNT(*) FROM complaint") == 19
    assert scalar(engine, "SELECT COUNT(*) FROM quarantine") == 1

    corrected = [dict(r) for r in original]
    corrected[5]["รายละเอียด"] = "แก้ไข: ทางเท้าหน้าตลาดบางรักชำรุด 3 จุด"  # same update time: the correction must win
    corrected[19]["เขต"] = "เขตบางรัก"  # the quarantined row, fixed
    correction_bytes = drop_hotline_file(tmp_path, name, corrected)
    fixed = ingest_channel(day_request("hotline_1555", DAY, tmp_path), engine)
    assert (fixed.rows_read, fixed.rows_loaded, fixed.rows_quarantined) == (20, 20, 0)
    assert scalar(engine, "SELECT COUNT(*) FROM complaint") == 20  # no double counting
    assert scalar(engine, "SELECT description FROM complaint WHERE source_id = 'H0005'").startswith("แก้ไข:")
    assert scalar(engine, "SELECT district_code FROM complaint WHERE source_id = 'H0019'") == "1004"
    history = rows(engine, "SELECT source_part, rows_read, rows_loaded, rows_quarantined FROM ingest_batch")
    assert sorted(history) == [(name, 20, 19, 1), (name, 20, 20, 0)]  # both deliveries kept
    assert scalar(engine, "SELECT COUNT(DISTINCT checksum) FROM ingest_batch") == 2
    assert scalar(engine, "SELECT COUNT(*) FROM ingested_file WHERE file_name = :n", n=name) == 2

    drop_hotline_file(tmp_path, name, original)  # the old export replayed after the correction
    replay = ingest_channel(day_request("hotline_1555", DAY, tmp_path), engine)
    assert [b.outcome for b in replay.batches] == ["duplicate_delivery"]
    assert "replaced by the correction" in replay.batches[0].message
    assert scalar(engine, "SELECT description FROM complaint WHERE source_id = 'H0005'").startswith("แก้ไข:")
    assert scalar(engine, "SELECT COUNT(*) FROM ingest_batch") == 2
    archived = sorted(p.name for p in (tmp_path / "archive" / "1555").iterdir())
    assert len(archived) == 4 and (tmp_path / "archive" / "1555" / archived[-1]).exists()
    assert correction_bytes in [p.read_bytes() for p in (tmp_path / "archive" / "1555").iterdir()]
    assert_conservation(engine, delivered={"hotline_1555": [f"H{i:04d}" for i in range(20)]})


# --------------------------------------------------------------------------- out of order


def mis_record(source_id: str, **changes: Any) -> CanonicalComplaint:
    record: dict[str, Any] = dict(
        channel="mis",
        source_id=source_id,
        received_at=DAY.replace(hour=9),
        district_code="1004",
        category_code="waste",
        description="ขยะล้นถังหน้าตลาด",
        latitude=None,
        longitude=None,
        reporter_pseudonym=None,
        responsible_unit="cleansing_parks",
        status="resolved",
        acknowledged_at=DAY.replace(hour=10),
        resolved_at=DAY.replace(hour=15),
        resolution_report="เก็บขยะแล้ว",
        source_updated_at=DAY.replace(hour=15),
        secondary_categories=None,
        satisfaction_star=None,
        reopen_count=None,
    )
    record.update(changes)
    return record  # type: ignore[return-value]


def batch_of(day: datetime, records: list[CanonicalComplaint], events: list[StatusEvent]) -> ExtractedBatch:
    part = interval_part(day, day + timedelta(days=1))
    return ExtractedBatch(channel="mis", source_part=part, records=records, status_events=events)


def history_of(engine, source_id: str) -> list[tuple]:
    return rows(
        engine,
        "SELECT status, note FROM complaint_status_history "
        "WHERE channel = 'mis' AND source_id = :s ORDER BY changed_at",
        s=source_id,
    )


def test_a_status_update_arriving_before_its_complaint_is_held_then_applied_when_it_arrives(engine):
    """Day 1 brings only the action 'in progress' of M-1 (its complaint row is late). Day 2 brings
    M-1 with its other actions. The early action must end up in M-1's history, not be lost."""
    early = StatusEvent("mis", "M-1", "in_progress", DAY.replace(hour=11), "ส่งเจ้าหน้าที่ลงพื้นที่")
    day1 = process_batch(day_request("mis", DAY), batch_of(DAY, [], [early]), engine)
    assert (day1.rows_read, day1.rows_loaded) == (0, 0)
    assert history_of(engine, "M-1") == []
    assert rows(engine, "SELECT source_id, status, applied_batch_id FROM held_status_event") == [
        ("M-1", "in_progress", None)
    ]
    assert scalar(engine, "SELECT status_events_held FROM ingest_batch WHERE batch_id = :b", b=day1.batch_id) == 1
    assert_conservation(engine)

    day2 = DAY + timedelta(days=1)
    arrived = [
        StatusEvent("mis", "M-1", "received", DAY.replace(hour=9)),
        StatusEvent("mis", "M-1", "acknowledged", DAY.replace(hour=10)),
        StatusEvent("mis", "M-1", "resolved", DAY.replace(hour=15), "เก็บขยะแล้ว"),
    ]
    late = process_batch(day_request("mis", day2), batch_of(day2, [mis_record("M-1")], arrived), engine)
    assert late.rows_loaded == 1
    assert history_of(engine, "M-1") == [
        ("received", None),
        ("acknowledged", None),
        ("in_progress", "ส่งเจ้าหน้าที่ลงพื้นที่"),
        ("resolved", "เก็บขยะแล้ว"),
    ]
    assert rows(engine, "SELECT batch_id, applied_batch_id FROM held_status_event") == [(day1.batch_id, late.batch_id)]
    assert_conservation(engine, delivered={"mis": ["M-1"]})

    # re-running both days changes nothing
    process_batch(day_request("mis", DAY), batch_of(DAY, [], [early]), engine)
    process_batch(day_request("mis", day2), batch_of(day2, [mis_record("M-1")], arrived), engine)
    assert len(history_of(engine, "M-1")) == 4
    assert scalar(engine, "SELECT COUNT(*) FROM held_status_event") == 1
    assert_conservation(engine, delivered={"mis": ["M-1"]})


def test_actions_of_a_quarantined_complaint_are_held_and_an_update_for_a_loaded_one_applies_at_once(engine):
    """M-2 fails validation (no district): its actions are held, not dropped, and applied when its
    corrected row loads. M-3 is already loaded: a lone later action for it enters the history at once."""
    m2_actions = [
        StatusEvent("mis", "M-2", "received", DAY.replace(hour=9)),
        StatusEvent("mis", "M-2", "acknowledged", DAY.replace(hour=10)),
    ]
    m3 = mis_record("M-3", status="acknowledged", resolved_at=None, source_updated_at=DAY.replace(hour=10))
    first = process_batch(
        day_request("mis", DAY),
        batch_of(DAY, [mis_record("M-2", district_code=None), m3], m2_actions),
        engine,
    )
    assert (first.rows_read, first.rows_loaded, first.rows_quarantined) == (2, 1, 1)
    assert scalar(engine, "SELECT COUNT(*) FROM held_status_event WHERE applied_batch_id IS NULL") == 2
    assert_conservation(engine)

    day2 = DAY + timedelta(days=1)
    lone = StatusEvent("mis", "M-3", "resolved", day2.replace(hour=8), "ซ่อมเสร็จ")
    fixed = mis_record("M-2", status="acknowledged", resolved_at=None, source_updated_at=day2.replace(hour=9))
    process_batch(day_request("mis", day2), batch_of(day2, [fixed], [lone]), engine)
    assert [s for s, _ in history_of(engine, "M-2")] == ["received", "acknowledged"]
    assert ("resolved", "ซ่อมเสร็จ") in history_of(engine, "M-3")
    assert scalar(engine, "SELECT COUNT(*) FROM held_status_event WHERE applied_batch_id IS NULL") == 0
    assert_conservation(engine, delivered={"mis": ["M-2", "M-3"]})
