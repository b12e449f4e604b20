"""MIS adapter on both databases the MIS is read from: SQLite (demo) and PostgreSQL (production)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from adapter_fixtures import empty_sqlite_mis, read_interval
from complaints.adapters import ExtractRequest, SourceError, mis
from complaints.canonical import CANONICAL_COLUMNS, StatusEvent
from complaints.config import load_config
from complaints.ingest import ingest_channel
from complaints.pseudonym import pseudonymise
from complaints.thai_time import BANGKOK
from devtools.demo.mis_schema import create_mis_schema
from invariants import assert_conservation

KEY = "test-pseudonym-key"
PG_URL = os.environ.get("COMPLAINTS_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
DAY = datetime(2019, 1, 15, tzinfo=BANGKOK)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def mis_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty MIS schema: a SQLite file, or a fresh schema in the real PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'mis.sqlite'}"
        engine = create_engine(url)
        create_mis_schema(engine)
        engine.dispose()
        yield url
        return
    schema = f"t_mis_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        engine = create_engine(url)
        create_mis_schema(engine)
        engine.dispose()
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _complaint(no: str, updated_at: datetime, **changes) -> dict:
    row = {
        "complaint_no": no,
        "received_at": datetime(2019, 1, 14, 9, 30),
        "district_name": "เขตบางรัก",
        "category_name": "ท่อระบายน้ำ",
        "subject": "ท่อระบายน้ำอุดตัน",
        "detail": "น้ำท่วมขังหน้าซอยเจริญกรุง 36 ทุกครั้งที่ฝนตก",
        "complainant_name": "นายสมชาย ใจดี",
        "complainant_phone": "081-234-5678",
        "latitude": 13.7246,
        "longitude": 100.5152,
        "assigned_unit": "ฝ่ายโยธา",
        "status": "อยู่ระหว่างดำเนินการ",
        "result_detail": None,
        "updated_at": updated_at,
    }
    row.update(changes)
    return row


def _insert(url: str, complaints: list[dict], actions: list[tuple]) -> None:
    """actions: (complaint_no, action_at, status label, note); action ids are assigned in order."""
    engine = create_engine(url)
    columns = list(_complaint("x", DAY))
    with engine.begin() as conn:
        if complaints:
            conn.execute(
                text(
                    f"INSERT INTO mis_complaint ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
                ),
                complaints,
            )
        if actions:
            conn.execute(
                text(
                    "INSERT INTO mis_complaint_action (action_id, complaint_no, action_at, status, note) "
                    "VALUES (:id, :no, :at, :status, :note)"
                ),
                [
                    {"id": i, "no": no, "at": at, "status": status, "note": note}
                    for i, (no, at, status, note) in enumerate(actions, start=1)
                ],
            )
    engine.dispose()


def _request(url: str, start: datetime = DAY, end: datetime = DAY + timedelta(days=1)) -> ExtractRequest:
    return ExtractRequest(
        channel=load_config().channels["mis"],
        interval_start=start,
        interval_end=end,
        pseudonym_key=KEY,
        source_url=url,
    )


def test_plan_is_one_part_for_the_interval_in_bangkok_time() -> None:
    start = datetime(2018, 12, 31, 17, 0, tzinfo=UTC)
    request = _request("sqlite://", start, start + timedelta(days=1))
    assert mis.plan(request) == ["2019-01-01T00:00:00+07:00..2019-01-02T00:00:00+07:00"]


def test_selects_complaints_updated_in_the_half_open_interval(mis_url: str) -> None:
    _insert(
        mis_url,
        [
            _complaint("BR-0001", datetime(2019, 1, 15, 0, 0)),  # exactly the start: in
            _complaint("BR-0002", datetime(2019, 1, 15, 23, 59, 59)),
            _complaint("BR-0003", datetime(2019, 1, 16, 0, 0)),  # exactly the end: out
            _complaint("BR-0004", datetime(2019, 1, 14, 23, 59, 59)),
        ],
        [],
    )
    # the same Bangkok day, given in UTC: the adapter converts to the MIS's naive Bangkok time
    utc_start = datetime(2019, 1, 14, 17, 0, tzinfo=UTC)
    batch = read_interval(_request(mis_url, utc_start, utc_start + timedelta(days=1)))
    assert sorted(r["source_id"] for r in batch.records) == ["BR-0001", "BR-0002"]
    assert batch.rows_read == len(batch.records) + len(batch.rejects) == 2


def test_maps_a_complaint_to_a_canonical_record(mis_url: str) -> None:
    _insert(mis_url, [_complaint("BR-0001", datetime(2019, 1, 15, 16, 20))], [])
    (record,) = read_interval(_request(mis_url)).records
    assert tuple(record) == CANONICAL_COLUMNS
    assert record["channel"] == "mis"
    assert record["received_at"] == datetime(2019, 1, 14, 9, 30, tzinfo=BANGKOK)
    assert str(record["received_at"].tzinfo) == "Asia/Bangkok"
    assert record["source_updated_at"] == datetime(2019, 1, 15, 16, 20, tzinfo=BANGKOK)
    assert (
        record["district_code"],
        record["category_code"],
        record["responsible_unit"],
        record["status"],
    ) == (
        "1004",
        "drainage",
        "public_works",
        "in_progress",
    )
    assert record["description"] == "ท่อระบายน้ำอุดตัน\nน้ำท่วมขังหน้าซอยเจริญกรุง 36 ทุกครั้งที่ฝนตก"
    assert (record["latitude"], record["longitude"]) == (13.7246, 100.5152)
    assert record["reporter_pseudonym"] == pseudonymise("0812345678", KEY)
    text_of_record = json.dumps(record, default=str, ensure_ascii=False)
    assert "081-234-5678" not in text_of_record and "สมชาย" not in text_of_record


def test_actions_become_status_events_with_first_acknowledgement_and_last_resolution(mis_url: str) -> None:
    updated = datetime(2019, 1, 15, 18, 0)
    _insert(
        mis_url,
        [
            _complaint("BR-0001", updated, status="เสร็จสิ้น", result_detail="ลอกท่อระบายน้ำเรียบร้อยแล้ว"),
            _complaint("BR-0002", updated, status="เปิดเรื่องใหม่"),
            _complaint("BR-0003", updated, status="รับเรื่องแล้ว"),
        ],
        [
            ("BR-0001", datetime(2019, 1, 14, 9, 30), "รับเรื่องแล้ว", "รับเรื่องทางระบบ"),
            ("BR-0001", datetime(2019, 1, 14, 11, 0), "ตอบรับ", None),
            ("BR-0001", datetime(2019, 1, 14, 13, 0), "ตอบรับ", "ตอบรับซ้ำ"),
            ("BR-0001", datetime(2019, 1, 15, 10, 0), "เสร็จสิ้น", "ลอกท่อแล้ว"),
            ("BR-0001", datetime(2019, 1, 15, 12, 0), "เปิดเรื่องอีกครั้ง", "ผู้ร้องแจ้งว่ายังท่วม"),
            ("BR-0001", datetime(2019, 1, 15, 17, 0), "ดำเนินการเรียบร้อย", "ลอกท่อซ้ำ"),
            ("BR-0002", datetime(2019, 1, 14, 10, 0), "ตอบรับ", None),
            ("BR-0002", datetime(2019, 1, 15, 9, 0), "เสร็จสิ้น", None),
            ("BR-0002", datetime(2019, 1, 15, 11, 0), "เปิดเรื่องใหม่", None),
        ],
    )
    batch = read_interval(_request(mis_url))
    records = {r["source_id"]: r for r in batch.records}
    first, reopened, fresh = records["BR-0001"], records["BR-0002"], records["BR-0003"]
    assert first["status"] == "resolved"
    assert first["acknowledged_at"] == datetime(2019, 1, 14, 11, 0, tzinfo=BANGKOK)
    assert first["resolved_at"] == datetime(2019, 1, 15, 17, 0, tzinfo=BANGKOK)
    assert first["resolution_report"] == "ลอกท่อระบายน้ำเรียบร้อยแล้ว"
    assert reopened["status"] == "reopened"
    assert reopened["acknowledged_at"] == datetime(2019, 1, 14, 10, 0, tzinfo=BANGKOK)
    assert reopened["resolved_at"] is None  # resolved once, but not any more
    assert (fresh["acknowledged_at"], fresh["resolved_at"]) == (None, None)
    events = [e for e in batch.status_events if e.source_id == "BR-0001"]
    assert events == [
        StatusEvent("mis", "BR-0001", "received", datetime(2019, 1, 14, 9, 30, tzinfo=BANGKOK), "รับเรื่องทางระบบ"),
        StatusEvent("mis", "BR-0001", "acknowledged", datetime(2019, 1, 14, 11, 0, tzinfo=BANGKOK), None),
        StatusEvent("mis", "BR-0001", "acknowledged", datetime(2019, 1, 14, 13, 0, tzinfo=BANGKOK), "ตอบรับซ้ำ"),
        StatusEvent("mis", "BR-0001", "resolved", datetime(2019, 1, 15, 10, 0, tzinfo=BANGKOK), "ลอกท่อแล้ว"),
        StatusEvent("mis", "BR-0001", "reopened", datetime(2019, 1, 15, 12, 0, tzinfo=BANGKOK), "ผู้ร้องแจ้งว่ายังท่วม"),
        StatusEvent("mis", "BR-0001", "resolved", datetime(2019, 1, 15, 17, 0, tzinfo=BANGKOK), "ลอกท่อซ้ำ"),
    ]
    assert len(batch.status_events) == 9  # BR-0003 has no actions: the loader derives its history
    assert all(e.changed_at.utcoffset() == timedelta(hours=7) for e in batch.status_events)


def test_an_action_with_an_unknown_status_rejects_the_complaint_with_a_redacted_raw_row(mis_url: str) -> None:
    updated = datetime(2019, 1, 15, 18, 0)
    _insert(
        mis_url,
        [_complaint("BR-0001", updated), _complaint("BR-0002", updated)],
        [
            ("BR-0001", datetime(2019, 1, 14, 9, 30), "รับเรื่องแล้ว", None),
            ("BR-0001", datetime(2019, 1, 14, 10, 0), "รอพิจารณา", None),
            ("BR-0002", datetime(2019, 1, 14, 9, 30), "รับเรื่องแล้ว", None),
        ],
    )
    batch = read_interval(_request(mis_url))
    assert batch.rows_read == 2 == len(batch.records) + len(batch.rejects)
    (reject,) = batch.rejects
    assert reject.source_id == "BR-0001"
    assert reject.reason == "action 2 status 'รอพิจารณา' is not a known status"
    assert reject.raw["complainant_phone"] == "pseudonym:" + pseudonymise("081-234-5678", KEY)
    assert reject.raw["complainant_name"].startswith("pseudonym:")
    assert [a["status"] for a in reject.raw["actions"]] == ["รับเรื่องแล้ว", "รอพิจารณา"]
    raw_text = json.dumps(reject.raw, ensure_ascii=False)
    assert "081-234-5678" not in raw_text and "สมชาย" not in raw_text
    assert [e.source_id for e in batch.status_events] == ["BR-0002"]  # no events of a rejected complaint


def test_unknown_labels_make_records_with_none_and_a_missing_unit_takes_the_default(mis_url: str) -> None:
    updated = datetime(2019, 1, 15, 18, 0)
    _insert(
        mis_url,
        [
            _complaint("BR-0001", updated, district_name="เขตบางพลี", status="รอพิจารณา"),
            _complaint("BR-0002", updated, category_name="ขยะ", assigned_unit=None),
            _complaint("BR-0003", updated, assigned_unit="กองที่ไม่มีจริง"),
        ],
        [],
    )
    records = {r["source_id"]: r for r in read_interval(_request(mis_url)).records}
    assert (records["BR-0001"]["district_code"], records["BR-0001"]["status"]) == (None, None)
    assert records["BR-0002"]["responsible_unit"] == "cleansing_parks"
    assert records["BR-0003"]["responsible_unit"] is None


def test_half_a_coordinate_pair_is_rejected(mis_url: str) -> None:
    updated = datetime(2019, 1, 15, 18, 0)
    _insert(
        mis_url,
        [
            _complaint("BR-0001", updated, longitude=None),
            _complaint("BR-0002", updated, latitude=None, longitude=None),
        ],
        [],
    )
    batch = read_interval(_request(mis_url))
    assert [(r.source_id, r.reason) for r in batch.rejects] == [
        ("BR-0001", "only one of latitude/longitude is set: 13.7246, None")
    ]
    (record,) = batch.records
    assert (record["latitude"], record["longitude"]) == (None, None)


def _year_of_complaints(count: int) -> tuple[list[dict], list[tuple]]:
    """``count`` complaints updated every 4 hours from 1 October 2018, three actions each."""
    complaints, actions = [], []
    start = datetime(2018, 10, 1, 8, 0)
    for n in range(count):
        updated = start + timedelta(hours=4 * n)
        complaints.append(_complaint(f"MIS-{n:05d}", updated, received_at=updated - timedelta(days=1)))
        actions += [
            (f"MIS-{n:05d}", updated - timedelta(days=1), "รับเรื่องแล้ว", None),
            (f"MIS-{n:05d}", updated - timedelta(hours=20), "ตอบรับ", None),
            (f"MIS-{n:05d}", updated, "กำลังดำเนินการ", None),
        ]
    return complaints, actions


YEAR = (datetime(2018, 10, 1, tzinfo=BANGKOK), datetime(2019, 10, 1, tzinfo=BANGKOK))


def test_a_long_interval_with_many_complaints_and_actions_is_read_whole(mis_url: str) -> None:
    _insert(mis_url, *_year_of_complaints(1500))
    batch = read_interval(_request(mis_url, *YEAR))
    assert len(batch.records) == 1500 and batch.rejects == []
    assert len(batch.status_events) == 4500
    assert len({r["source_id"] for r in batch.records}) == 1500


def _limited(request: ExtractRequest, batch_complaints: int) -> ExtractRequest:
    settings = {**request.channel.settings, "batch_complaints": batch_complaints}
    return dataclasses.replace(request, channel=dataclasses.replace(request.channel, settings=settings))


def test_an_interval_over_batch_complaints_is_read_in_time_slices_each_complaint_once_with_its_actions(
    mis_url: str,
) -> None:
    _insert(mis_url, *_year_of_complaints(1500))
    request = _limited(_request(mis_url, *YEAR), 200)
    parts = mis.plan(request)
    assert parts == mis.plan(request), "the same data plans the same parts (the same batch ids)"
    spans = [part.split("..") for part in parts]
    assert spans[0][0] == YEAR[0].isoformat() and spans[-1][1] == YEAR[1].isoformat()
    assert all(previous[1] == following[0] for previous, following in itertools.pairwise(spans)), "gap or overlap"
    batches = [mis.read(request, part) for part in parts]
    assert len(batches) >= 1500 // 200 and max(len(b.records) for b in batches) <= 200
    whole = read_interval(_request(mis_url, *YEAR))
    assert sorted(r["source_id"] for b in batches for r in b.records) == sorted(r["source_id"] for r in whole.records)
    for batch in batches:  # every complaint's actions came with it
        assert {e.source_id for e in batch.status_events} == {r["source_id"] for r in batch.records}
        assert len(batch.status_events) == 3 * len(batch.records)


def test_complaints_changed_within_one_second_beyond_the_limit_stay_one_part(mis_url: str, caplog) -> None:
    moment = datetime(2019, 1, 15, 14, 5, 7)
    _insert(
        mis_url,
        [_complaint(f"BR-{n:04d}", moment) for n in range(5)] + [_complaint("BR-9", moment.replace(hour=20))],
        [],
    )
    request = _limited(_request(mis_url), 2)
    parts = mis.plan(request)
    counts = [len(mis.read(request, part).records) for part in parts]
    assert counts == [5, 1]
    assert "5 complaints changed within one second, read as one part" in caplog.text


def test_sqlite_text_that_is_no_timestamp_null_ids_and_nul_bytes_are_handled(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mis.sqlite'}"
    engine = create_engine(url)
    create_mis_schema(engine)
    engine.dispose()
    updated = datetime(2019, 1, 15, 18, 0)
    _insert(
        url,
        [
            _complaint("BR-0001", updated, received_at="15/01/2562 09:30"),
            _complaint("BR-0002", updated, detail="ท\u0e48\u0e38อตัน\x00 น้ำเน่า 🤢", latitude="13.7x"),
            _complaint("BR-0003", updated, detail="ท\u0e48\u0e38อตัน\x00 น้ำเน่า 🤢"),
            _complaint(None, updated),  # SQLite lets a TEXT primary key be NULL, twice
            _complaint(None, updated),
        ],
        [],
    )
    batch = read_interval(_request(url))
    reasons = sorted((r.source_id or "", r.reason) for r in batch.rejects)
    assert reasons == [
        ("", "missing complaint_no"),
        ("", "missing complaint_no"),
        ("BR-0001", "received_at '15/01/2562 09:30' is not a timestamp"),
        ("BR-0002", "latitude '13.7x' is not a number"),
    ]
    assert batch.rows_read == 5
    (record,) = batch.records
    assert record["description"] == "ท่อระบายน้ำอุดตัน\nท\u0e38\u0e48อตัน น้ำเน่า 🤢"


def test_an_unreachable_database_raises_source_error_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg2://etl:hunter2@127.0.0.1:1/mis"
    with pytest.raises(SourceError) as caught:
        read_interval(_request(url))
    message = str(caught.value)
    assert message.startswith("MIS 2019-01-15T00:00:00+07:00..2019-01-16T00:00:00+07:00 from ")
    assert "hunter2" not in message and "***" in message


def test_a_malformed_part_raises_source_error(mis_url: str) -> None:
    with pytest.raises(SourceError, match=r"not '<start>\.\.<end>'"):
        mis.read(_request(mis_url), "2019-01-15")


def test_reading_twice_gives_the_same_batch(mis_url: str) -> None:
    _insert(
        mis_url,
        [_complaint("BR-0001", datetime(2019, 1, 15, 18, 0))],
        [("BR-0001", datetime(2019, 1, 14, 9, 30), "รับเรื่องแล้ว", None)],
    )
    request = _request(mis_url)
    first, second = read_interval(request), read_interval(request)
    assert first == second
    assert dataclasses.asdict(first)["source_part"] == "2019-01-15T00:00:00+07:00..2019-01-16T00:00:00+07:00"


def test_an_interval_read_in_parts_loads_or_quarantines_every_complaint_once_and_reruns_idempotently(
    engine, tmp_path: Path
) -> None:
    """On both warehouses: a backfill read in time slices of at most 100 complaints, with a
    complaint the adapter rejects and one validation quarantines in later parts."""
    url = empty_sqlite_mis(tmp_path)
    complaints, actions = _year_of_complaints(600)
    complaints[550]["district_name"] = "เขตเมืองทองธานี"  # not a Bangkok district: fails validation
    actions = [(no, at, "สถานะแปลก" if no == "MIS-00500" else status, note) for no, at, status, note in actions]
    _insert(url, complaints, actions)
    request = _limited(_request(url, *YEAR), 100)

    summary = ingest_channel(request, engine)
    assert len(summary.batches) >= 6 and max(b.rows_read for b in summary.batches) <= 100
    checked = assert_conservation(engine, delivered={"mis": [c["complaint_no"] for c in complaints]})
    assert (checked.rows_read, checked.rows_loaded, checked.rows_quarantined) == (600, 598, 2)
    with engine.connect() as conn:
        quarantined = dict(conn.execute(text("SELECT source_id, reasons FROM quarantine")).all())
    assert sorted(quarantined) == ["MIS-00500", "MIS-00550"]
    assert "status 'สถานะแปลก' is not a known status" in quarantined["MIS-00500"]

    again = ingest_channel(request, engine)  # a re-run: the same parts, the same batches
    assert [b.batch_id for b in again.batches] == [b.batch_id for b in summary.batches]
    checked = assert_conservation(engine, delivered={"mis": [c["complaint_no"] for c in complaints]})
    assert (checked.batches, checked.rows_read, checked.complaints) == (len(summary.batches), 600, 598)
