"""Traffy Fondue: the open-data CSV export as it really is (set literals, lon/lat, +00 fractional
timestamps, Thai states, district spellings, provinces outside Bangkok, re-exported tickets,
multi-line comments with quotes and emoji), read in bounded chunks; and the loader's duplicate
logic for chunked files. The Exchange API read path is tested in test_traffy_exchange.py."""

# ruff: noqa: E501  (SAMPLE below is an export verbatim: its rows are as long as real ones)

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from complaints import warehouse
from complaints.adapters import ExtractRequest, SourceError
from complaints.adapters import traffy_fondue as traffy
from complaints.canonical import CANONICAL_COLUMNS
from complaints.config import PipelineConfig, load_config, normalise_category, normalise_district
from complaints.ingest import QualityGateError, ingest_channel
from complaints.thai_time import BANGKOK
from complaints.warehouse import ensure_schema, make_engine
from conftest import PSEUDONYM_KEY

PROJECT_ROOT = Path(__file__).resolve().parents[1]
HEADER = list(traffy.COLUMNS)

# An export as the platform writes it: quoted set literals, "lon,lat", UTC "+00" times with a
# varying number of fractional digits, Thai states, a comment over three lines with doubled
# quotes and emoji, district names with and without เขต and misspelled, and two provinces that
# are not Bangkok. 2022-AGUTWY is exported twice: the newer row (by last_activity) comes first.
SAMPLE = textwrap.dedent(
    """\
    ticket_id,type,organization,comment,photo,photo_after,coords,address,subdistrict,district,province,timestamp,state,star,count_reopen,last_activity
    2022-AGUTWY,"{ถนน,ท่อระบายน้ำ}","{เขตบางรัก,สำนักการระบายน้ำ}","ถนนหน้าตลาดทรุด น้ำขังทุกครั้งที่ฝนตก
    ""อันตรายมาก"" รถล้มไปแล้ว 2 คัน 😡🙏
    ช่วยด่วนครับ",https://storage.googleapis.com/traffy_public_bucket/attachment/2022-06/a1.jpg,https://storage.googleapis.com/traffy_public_bucket/attachment/2022-06/a1-after.jpg,"100.52931,13.72461","ถนนเจริญกรุง แขวงสี่พระยา เขตบางรัก กรุงเทพมหานคร 10500 ประเทศไทย",สี่พระยา,บางรัก,กรุงเทพมหานคร,2022-06-01 08:15:31.123456+00,เสร็จสิ้น,4,1,2022-06-03 02:30:00.5+00
    2022-BXQ7KM,{},{},ไฟดับทั้งซอย มืดมาก 🌧️,https://storage.googleapis.com/traffy_public_bucket/attachment/2022-06/b2.jpg,,"100.53741,13.76539",,สามเสนใน,เขตพญาไทย,กรุงเทพมหานคร,2022-06-01 12:00:00+00,รอรับเรื่อง,,0,2022-06-01 12:00:00+00
    2022-CNTB01,{น้ำท่วม},{เทศบาลนครนนทบุรี},น้ำท่วมขังหน้าหมู่บ้าน,,,"100.51440,13.86210","ถนนรัตนาธิเบศร์ ตำบลบางกระสอ อำเภอเมืองนนทบุรี นนทบุรี",บางกระสอ,เมืองนนทบุรี,นนทบุรี,2022-06-01 13:00:00.25+00,รอรับเรื่อง,,0,2022-06-01 13:00:00.25+00
    2022-AGUTWY,"{ถนน,ท่อระบายน้ำ}","{เขตบางรัก,สำนักการระบายน้ำ}","ถนนหน้าตลาดทรุด น้ำขังทุกครั้งที่ฝนตก
    ""อันตรายมาก"" รถล้มไปแล้ว 2 คัน 😡🙏
    ช่วยด่วนครับ",https://storage.googleapis.com/traffy_public_bucket/attachment/2022-06/a1.jpg,,"100.52931,13.72461","ถนนเจริญกรุง แขวงสี่พระยา เขตบางรัก กรุงเทพมหานคร 10500 ประเทศไทย",สี่พระยา,บางรัก,กรุงเทพมหานคร,2022-06-01 08:15:31.123456+00,กำลังดำเนินการ,,0,2022-06-01 09:00:00.1+00
    2022-DKL3PQ,"{แสงสว่าง,""ป้าย จราจร"",สายไฟ}","{การไฟฟ้านครหลวง,สำนักงานเขตดินแดง}",เสาไฟล้มพาดถนน,,,"100.56120,13.76990",,ดินแดง,ดินแดง,กรุงเทพมหานคร,2022-06-02 01:02:03.000007+00,ส่งต่อ,,0,2022-06-02 03:00:00+00
    2022-EZZ9RT,{ต้นไม้},{บริษัท ทรู คอร์ปอเรชั่น จำกัด (มหาชน)},กิ่งไม้พันสายเคเบิล,,,,,,เขตบางรักษ์,กรุงเทพมหานคร,2022-06-02 04:00:00.999+00,กำลังดำเนินการ,,0,2022-06-02 05:00:00+00
    2022-FPK1ST,{ความสะอาด},{เทศบาลนครปากเกร็ด},ขยะล้น,,,"100.49830,13.91290",,ปากเกร็ด,ปากเกร็ด,นนทบุรี,2022-06-02 06:00:00+00,เสร็จสิ้น,5,0,2022-06-02 09:00:00+00
    2022-GHJ2UV,{ทางเท้า},{สำนักงานเขตสัมพันธวงศ์},ทางเท้าแตก,,,"100.51310,13.73870",,จักรวรรดิ,สัมพันธ์วงศ์,,2022-06-02 07:00:00+00,เสร็จสิ้น,,2,2022-06-02 08:00:00+00
    """
)


def _channel(**settings):
    channel = load_config().channels["traffy_fondue"]
    return dataclasses.replace(channel, settings={**channel.settings, **settings})


def _request(data_dir: Path, end: datetime = datetime(2022, 6, 10, tzinfo=BANGKOK), **settings) -> ExtractRequest:
    return ExtractRequest(
        channel=_channel(**settings),
        interval_start=end.replace(day=1),
        interval_end=end,
        pseudonym_key=PSEUDONYM_KEY,
        data_dir=data_dir,
    )


def _inbox(data_dir: Path) -> Path:
    inbox = data_dir / "inbox" / "traffy_fondue"
    inbox.mkdir(parents=True, exist_ok=True)
    return inbox


def _drop(data_dir: Path, name: str, content: str | bytes) -> Path:
    path = _inbox(data_dir) / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def _read_all(request: ExtractRequest) -> list:
    return [traffy.read(request, part) for part in traffy.plan(request)]


def traffy_row(ticket: str, **changes: str) -> dict[str, str]:
    row = {
        "ticket_id": ticket,
        "type": "{ถนน}",
        "organization": "{เขตบางรัก}",
        "comment": 'ถนนเป็นหลุม\n"อันตราย" 🚧',
        "photo": "https://storage.googleapis.com/traffy_public_bucket/attachment/2022-06/x.jpg",
        "photo_after": "",
        "coords": "100.52931,13.72461",
        "address": "ถนนเจริญกรุง แขวงสี่พระยา เขตบางรัก กรุงเทพมหานคร 10500",
        "subdistrict": "สี่พระยา",
        "district": "บางรัก",
        "province": "กรุงเทพมหานคร",
        "timestamp": "2022-06-01 08:15:31.123456+00",
        "state": "กำลังดำเนินการ",
        "star": "",
        "count_reopen": "0",
        "last_activity": "2022-06-01 09:00:00.5+00",
    }
    row.update(changes)
    return row


def traffy_csv(rows: list[dict[str, str]], header: list[str] = HEADER) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return buffer.getvalue()


# -- config ----------------------------------------------------------------------------------


def test_the_crosswalk_maps_traffy_labels_to_configured_codes_and_refuses_unknown_codes() -> None:
    channel = load_config().channels["traffy_fondue"]
    assert normalise_category("PM2.5", channel) == "odour_pollution"
    assert normalise_category("ความสะอาด", channel) == "waste"
    assert normalise_category("ความสะอาด") is None  # Traffy's labels are Traffy's: other channels unchanged
    assert normalise_district("เขตพญาไทย", channel) == "1014"
    assert normalise_district("พญาไทย") is None
    for kind, table in channel.crosswalk.items():
        assert set(table.values()) <= set(load_config().codes(kind)), kind
    raw = json.loads(json.dumps(load_config().raw))
    raw["channels"]["traffy_fondue"]["crosswalk"]["categories"]["ถนน"] = "potholes"
    with pytest.raises(ValueError, match=r"traffy_fondue: crosswalk.categories maps 'ถนน' to unknown code 'potholes'"):
        _ = PipelineConfig(raw).channels


# -- the real-shaped sample --------------------------------------------------------------------


def test_every_quirk_of_a_real_export_is_read(tmp_path: Path) -> None:
    _drop(tmp_path, "traffy_fondue_20220602.csv", SAMPLE)
    request = _request(tmp_path)
    [part] = traffy.plan(request)
    assert part.startswith("traffy_fondue_20220602.csv#1-8@")
    batch = traffy.read(request, part)
    assert batch.rows_read == 8 and batch.file_name == "traffy_fondue_20220602.csv"
    assert batch.checksum == hashlib.sha256(SAMPLE.encode("utf-8")).hexdigest()
    records = {}
    for record in batch.records:  # the re-exported ticket twice: the loader keeps the newer
        records.setdefault(record["source_id"], []).append(record)
    assert tuple(batch.records[0]) == CANONICAL_COLUMNS

    newer, older = records["2022-AGUTWY"]
    assert newer["received_at"] == datetime(2022, 6, 1, 15, 15, 31, 123456, tzinfo=BANGKOK)
    assert str(newer["received_at"].tzinfo) == "Asia/Bangkok"
    assert newer["source_updated_at"] == datetime(2022, 6, 3, 9, 30, 0, 500000, tzinfo=BANGKOK)
    assert (newer["latitude"], newer["longitude"]) == (13.72461, 100.52931)  # "lon,lat" in the file
    assert (newer["district_code"], newer["status"], newer["resolved_at"]) == (
        "1004",
        "resolved",
        newer["source_updated_at"],
    )
    # {ถนน,ท่อระบายน้ำ}: drainage comes first in category_priority; the district office → the unit by the type
    assert (newer["category_code"], newer["secondary_categories"], newer["responsible_unit"]) == (
        "drainage",
        "roads",
        "public_works",
    )
    assert (newer["satisfaction_star"], newer["reopen_count"]) == (4, 1)
    assert newer["description"] == 'ถนนหน้าตลาดทรุด น้ำขังทุกครั้งที่ฝนตก\n"อันตรายมาก" รถล้มไปแล้ว 2 คัน 😡🙏\nช่วยด่วนครับ'
    assert newer["reporter_pseudonym"] is None and newer["resolution_report"] is None
    assert (older["status"], older["resolved_at"], older["satisfaction_star"]) == ("in_progress", None, None)

    [untagged] = records["2022-BXQ7KM"]  # {} type and organization; misspelled district with เขต
    assert (untagged["category_code"], untagged["secondary_categories"]) == ("other", None)
    assert (untagged["district_code"], untagged["responsible_unit"], untagged["status"]) == (
        "1014",
        "administration",
        "received",
    )
    assert untagged["reopen_count"] == 0 and untagged["satisfaction_star"] is None

    [forwarded] = records["2022-DKL3PQ"]  # a quoted tag with a space (matched without it), an agency first
    assert (forwarded["category_code"], forwarded["secondary_categories"]) == ("lighting", "traffic")
    assert (forwarded["responsible_unit"], forwarded["status"], forwarded["district_code"]) == (
        "mea",
        "forwarded",
        "1026",
    )
    assert forwarded["received_at"].microsecond == 7

    [unknown] = records["2022-EZZ9RT"]  # a misspelling nobody knows: quarantined by validation
    assert (unknown["district_code"], unknown["latitude"]) == (None, None)
    # an organization no crosswalk line names: 'unmapped' beside its raw label, never a silent NULL
    assert (unknown["responsible_unit"], unknown["unmapped_unit"]) == ("unmapped", "บริษัท ทรู คอร์ปอเรชั่น จำกัด (มหาชน)")

    [misspelled] = records["2022-GHJ2UV"]  # no province: the district decides; สำนักงานเขต... is the office
    assert (misspelled["district_code"], misspelled["responsible_unit"], misspelled["reopen_count"]) == (
        "1013",
        "public_works",
        2,
    )

    outside = {r.source_id: r for r in batch.rejects}
    assert set(outside) == {"2022-CNTB01", "2022-FPK1ST"}
    assert outside["2022-CNTB01"].reason == "outside Bangkok: province 'นนทบุรี'"
    assert outside["2022-FPK1ST"].raw[traffy.ROW_KEY] == 7 and outside["2022-FPK1ST"].raw["district"] == "ปากเกร็ด"


def test_row_problems_become_rejects_with_reasons(tmp_path: Path) -> None:
    rows = [
        traffy_row("BAD-1", timestamp="01/06/2565 08:15"),
        traffy_row("BAD-2", coords="13.7,100.5,7"),
        traffy_row("BAD-3", type="{ถนน,ทางเท้า"),
        traffy_row("BAD-4", star="ห้าดาว"),
        traffy_row("", last_activity=""),
        traffy_row("OK-1", star="5.0", count_reopen=""),
    ]
    _drop(tmp_path, "traffy_fondue_20220602.csv", traffy_csv(rows))
    [batch] = _read_all(_request(tmp_path))
    reasons = {r.source_id: r.reason for r in batch.rejects}
    assert "timestamp '01/06/2565 08:15' is not a timestamp like 2022-06-01 08:15:31.123456+00" in reasons["BAD-1"]
    assert reasons["BAD-2"] == "coords '13.7,100.5,7' is not 'lon,lat'"
    assert reasons["BAD-3"] == "type '{ถนน,ทางเท้า' is not a set literal like {a,b}"
    assert reasons["BAD-4"] == "star 'ห้าดาว' is not a whole number"
    assert reasons[None] == "missing last_activity"  # no ticket_id is no error (anonymous tickets)
    [ok] = batch.records
    assert (ok["satisfaction_star"], ok["reopen_count"]) == (5, None)


# -- chunks ------------------------------------------------------------------------------------


def test_plan_chunks_due_files_by_rows_and_lists_odd_names_last(tmp_path: Path) -> None:
    content = traffy_csv([traffy_row(f"T-{i}") for i in range(7)])
    _drop(tmp_path, "traffy_fondue_20220601.csv", content)
    _drop(tmp_path, "traffy_fondue_20220610.csv", content)  # not due before the interval end
    _drop(tmp_path, ".traffy_fondue_20220601.csv.swp", b"x")
    _drop(tmp_path, "bangkok_traffy.csv", b"x")
    parts = traffy.plan(_request(tmp_path, chunk_rows=3))
    spans = [p.split("#")[1].split("@")[0] for p in parts[:3]]
    assert spans == ["1-3", "4-6", "7-7"] and parts[3] == "bangkok_traffy.csv"
    assert all(p.startswith("traffy_fondue_20220601.csv#") for p in parts[:3])
    header_end = len(content.split("\n", 1)[0]) + 1
    starts_ends = [tuple(int(x) for x in p.split("@")[1].split("-")) for p in parts[:3]]
    assert starts_ends[0][0] == header_end and starts_ends[-1][1] == len(content.encode("utf-8"))
    assert all(a[1] == b[0] for a, b in itertools.pairwise(starts_ends))  # contiguous
    with pytest.raises(SourceError, match=r"bangkok_traffy\.csv: file name does not match traffy_fondue_YYYYMMDD"):
        traffy.read(_request(tmp_path), parts[3])


def test_chunks_hold_at_most_n_rows_carry_the_whole_files_checksum_and_split_no_multiline_comment(
    tmp_path: Path,
) -> None:
    rows = [traffy_row(f"T-{i:03d}", comment=f'บรรทัดแรก {i}\nบรรทัดสอง "{i}"\n🙏') for i in range(25)]
    path = _drop(tmp_path, "traffy_fondue_20220601.csv", "\ufeff" + traffy_csv(rows))  # with a BOM
    batches = _read_all(_request(tmp_path, chunk_rows=10))
    assert [b.rows_read for b in batches] == [10, 10, 5]
    assert {b.checksum for b in batches} == {hashlib.sha256(path.read_bytes()).hexdigest()}
    assert len({b.source_part for b in batches}) == 3
    assert [r["source_id"] for b in batches for r in b.records] == [f"T-{i:03d}" for i in range(25)]
    assert batches[1].records[0]["description"] == 'บรรทัดแรก 10\nบรรทัดสอง "10"\n🙏'


def test_a_file_that_changed_since_it_was_planned_fails_its_chunk(tmp_path: Path) -> None:
    path = _drop(tmp_path, "traffy_fondue_20220601.csv", traffy_csv([traffy_row(f"T-{i}") for i in range(6)]))
    request = _request(tmp_path, chunk_rows=3)
    parts = traffy.plan(request)
    path.write_text(traffy_csv([traffy_row(f"LONGER-TICKET-ID-{i}") for i in range(6)]), encoding="utf-8")
    with pytest.raises(SourceError, match=r"changed since it was planned"):
        traffy.read(request, parts[1])


def test_unreadable_files_fail_by_name_and_place(tmp_path: Path) -> None:
    good = traffy_csv([traffy_row("T-1"), traffy_row("T-2", comment="ยาว\nหลายบรรทัด")])
    _drop(tmp_path, "traffy_fondue_20220601.csv", good[: good.rindex("หลาย")])  # cut inside a quoted comment
    _drop(tmp_path, "traffy_fondue_20220602.csv", good.encode("utf-8").replace(b"T-2", b"T-\xff"))
    _drop(tmp_path, "traffy_fondue_20220603.csv", traffy_csv([traffy_row("T-1")], header=HEADER[:-1]))
    _drop(tmp_path, "traffy_fondue_20220604.csv", "")
    request = _request(tmp_path)
    parts = traffy.plan(request)
    assert parts == [f"traffy_fondue_2022060{d}.csv" for d in (1, 2, 3, 4)]  # no chunks: read() says why
    messages = []
    for part in parts:
        with pytest.raises(SourceError) as failure:
            traffy.read(request, part)
        messages.append(str(failure.value))
    assert "traffy_fondue_20220601.csv row 2 (from byte" in messages[0] and "(line 4))" in messages[0]
    assert "truncated" in messages[0]
    assert "traffy_fondue_20220602.csv: byte" in messages[1] and "(line 4) is not UTF-8" in messages[1]
    assert "traffy_fondue_20220603.csv line 1: missing required column(s) last_activity" in messages[2]
    assert "traffy_fondue_20220604.csv: the file is empty" in messages[3]


# -- through the loader, on both databases -----------------------------------------------------


@pytest.fixture
def engine(warehouse_url):
    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def rows_of(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_a_re_exported_ticket_with_a_newer_state_updates_the_warehouse_and_its_history(engine, tmp_path):
    _drop(tmp_path, "traffy_fondue_20220601.csv", traffy_csv([traffy_row("2022-AGUTWY")]))
    resolved = traffy_row(
        "2022-AGUTWY", state="เสร็จสิ้น", star="4", count_reopen="1", last_activity="2022-06-03 02:30:00.5+00"
    )
    _drop(tmp_path, "traffy_fondue_20220603.csv", traffy_csv([resolved, traffy_row("2022-BXQ7KM")]))
    summary = ingest_channel(_request(tmp_path), engine)
    assert [b.outcome for b in summary.batches] == ["loaded", "loaded"]
    assert rows_of(
        engine, "SELECT status, satisfaction_star, reopen_count FROM complaint WHERE source_id = '2022-AGUTWY'"
    ) == [("resolved", 4, 1)]
    history = rows_of(
        engine,
        "SELECT status FROM complaint_status_history WHERE source_id = '2022-AGUTWY' ORDER BY changed_at",
    )
    assert history == [("received",), ("in_progress",), ("resolved",)]
    # Replaying the older export afterwards changes nothing.
    _drop(tmp_path, "traffy_fondue_20220601_again.csv", traffy_csv([traffy_row("2022-AGUTWY"), traffy_row("X")]))
    ingest_channel(_request(tmp_path), engine)
    assert rows_of(engine, "SELECT status FROM complaint WHERE source_id = '2022-AGUTWY'") == [("resolved",)]


def test_the_sample_loads_with_its_quarantine_reasons_and_the_file_is_archived(engine, tmp_path):
    _drop(tmp_path, "traffy_fondue_20220602.csv", SAMPLE)
    summary = ingest_channel(_request(tmp_path), engine)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (8, 4, 4)
    reasons = dict(rows_of(engine, "SELECT source_id, reasons FROM quarantine ORDER BY source_id, reasons"))
    assert reasons["2022-CNTB01"] == "outside Bangkok: province 'นนทบุรี'"
    assert reasons["2022-FPK1ST"] == "outside Bangkok: province 'นนทบุรี'"
    assert reasons["2022-EZZ9RT"] == "unknown or missing district"
    assert reasons["2022-AGUTWY"] == "superseded by a more recent row with the same source id in the same batch"
    assert rows_of(
        engine,
        "SELECT category_code, secondary_categories, responsible_unit FROM complaint WHERE source_id = '2022-AGUTWY'",
    ) == [("drainage", "roads", "public_works")]
    assert not (_inbox(tmp_path) / "traffy_fondue_20220602.csv").exists()
    assert (tmp_path / "archive" / "traffy_fondue" / "traffy_fondue_20220602.csv").exists()


def test_a_chunked_file_loads_chunk_by_chunk_is_archived_after_the_last_and_a_resend_counts_once(engine, tmp_path):
    content = traffy_csv([traffy_row(f"T-{i:03d}") for i in range(25)])
    _drop(tmp_path, "traffy_fondue_20220601.csv", content)
    _drop(tmp_path, "traffy_fondue_20220601_resend.csv", content)
    summary = ingest_channel(_request(tmp_path, chunk_rows=10), engine)
    assert [(b.outcome, b.rows_read) for b in summary.batches] == [
        ("loaded", 10),
        ("loaded", 10),
        ("loaded", 5),
        ("duplicate_delivery", 0),
        ("duplicate_delivery", 0),
        ("duplicate_delivery", 0),
    ]
    assert "same content as traffy_fondue_20220601.csv" in summary.batches[3].message
    assert rows_of(engine, "SELECT COUNT(*) FROM complaint") == [(25,)]
    assert rows_of(engine, "SELECT COUNT(DISTINCT batch_id), COUNT(*) FROM ingest_batch") == [(6, 6)]
    assert rows_of(engine, "SELECT file_name FROM ingested_file") == [("traffy_fondue_20220601.csv",)]
    assert sorted(p.name for p in (tmp_path / "archive" / "traffy_fondue").iterdir()) == [
        "traffy_fondue_20220601.csv",
        "traffy_fondue_20220601_resend.csv",
    ]
    assert list(_inbox(tmp_path).iterdir()) == []


def test_a_chunk_held_by_the_quarantine_threshold_keeps_the_file_in_the_inbox(engine, tmp_path):
    rows = [traffy_row(f"T-{i:03d}") for i in range(60)]
    for i in range(25, 30):  # 5 of the second chunk's 20 rows outside Bangkok: 25 % > 5 %
        rows[i]["province"] = "ปทุมธานี"
    path = _drop(tmp_path, "traffy_fondue_20220601.csv", traffy_csv(rows))
    with pytest.raises(QualityGateError, match=r"traffy_fondue_20220601\.csv#21-40@"):
        ingest_channel(_request(tmp_path, chunk_rows=20), engine)
    assert rows_of(engine, "SELECT outcome FROM ingest_batch ORDER BY source_part") == [
        ("loaded",),
        ("rejected",),
        ("loaded",),
    ]
    assert rows_of(engine, "SELECT COUNT(*) FROM complaint") == [(40,)]
    assert path.exists(), "a file with a held chunk stays in the inbox for a re-run"
    assert rows_of(engine, "SELECT SUM(rows_read) - SUM(rows_loaded) - SUM(rows_quarantined) FROM ingest_batch") == [
        (0,)
    ]


def _big_export(path: Path, rows: int) -> int:
    """A realistic export of ``rows`` rows, written fast; returns how many are outside Bangkok."""
    districts = ["เขตบางรัก", "บางรัก", "พญาไทย", "เขตดินแดง", "สัมพันธ์วงศ์", "จตุจักร"]
    types = ["{ถนน}", "{ถนน,ทางเท้า}", "{}", "{ความสะอาด}", '{"ป้าย จราจร",จราจร}', "{น้ำท่วม,ถนน}"]
    outside = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for i in range(rows):
            province = "กรุงเทพมหานคร"
            if i % 97 == 0:
                province, outside = "นนทบุรี", outside + 1
            second, micro = divmod(i, 7)
            writer.writerow(
                [
                    f"2022-{i:07d}",
                    types[i % len(types)],
                    "{เขตบางรัก}" if i % 3 else "{การไฟฟ้านครหลวง,เขตบางรัก}",
                    f'ร้องเรียนจุดที่ {i}\nรายละเอียด "{i % 13}" 🙏' if i % 5 == 0 else f"ถนนชำรุดจุดที่ {i}",
                    f"https://storage.googleapis.com/traffy_public_bucket/attachment/2022-06/{i:032x}.jpg",
                    "",
                    f"100.{52000 + i % 900:05d},13.{72000 + i % 700:05d}",
                    "ถนนเจริญกรุง แขวงสี่พระยา เขตบางรัก กรุงเทพมหานคร 10500",
                    "สี่พระยา",
                    districts[i % len(districts)],
                    province,
                    f"2022-06-01 {second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{micro}1+00",
                    ("รอรับเรื่อง", "กำลังดำเนินการ", "ส่งต่อ", "เสร็จสิ้น")[i % 4],
                    str(1 + i % 5) if i % 4 == 3 else "",
                    str(i % 3),
                    "2022-06-02 10:00:00.5+00",
                ]
            )
    return outside


def test_conservation_over_a_100k_row_export_in_bounded_chunks(sqlite_url, tmp_path):
    rows = 100_003
    outside = _big_export(_inbox(tmp_path) / "traffy_fondue_20220602.csv", rows)
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    summary = ingest_channel(_request(tmp_path, chunk_rows=25_000), engine)
    assert [b.rows_read for b in summary.batches] == [25_000, 25_000, 25_000, 25_000, 3]
    ledger = rows_of(
        engine, "SELECT SUM(rows_read), SUM(rows_loaded), SUM(rows_quarantined), COUNT(*) FROM ingest_batch"
    )
    assert ledger == [(rows, rows - outside, outside, 5)]
    assert rows_of(engine, "SELECT COUNT(*) FROM complaint") == [(rows - outside,)]
    assert rows_of(engine, "SELECT COUNT(*) FROM quarantine") == [(outside,)]
    assert rows_of(engine, "SELECT MAX(rows_read) FROM ingest_batch") == [(25_000,)]
    assert (tmp_path / "archive" / "traffy_fondue" / "traffy_fondue_20220602.csv").exists()
    engine.dispose()


_PEAK_RSS = """
import resource, sys
from datetime import datetime
from pathlib import Path
import dataclasses
from complaints.adapters import ExtractRequest
from complaints.adapters import traffy_fondue as traffy
from complaints.config import load_config
from complaints.thai_time import BANGKOK

channel = load_config().channels["traffy_fondue"]
channel = dataclasses.replace(channel, settings={**channel.settings, "chunk_rows": 2000})
request = ExtractRequest(channel, datetime(2022, 6, 1, tzinfo=BANGKOK), datetime(2022, 6, 10, tzinfo=BANGKOK),
                         "k", data_dir=Path(sys.argv[1]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
largest = rows = 0
for part in traffy.plan(request):
    batch = traffy.read(request, part)
    largest, rows = max(largest, batch.rows_read), rows + batch.rows_read
    del batch
print(rows, largest, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_reading_holds_one_chunk_at_a_time_whatever_the_file_size(tmp_path):
    """Peak memory of reading a 120,000-row export and a 6,000-row one in 2,000-row chunks is
    the same (within a few MB); the big file's rows alone would take hundreds of MB."""
    growth = {}
    for rows in (6_000, 120_000):
        data = tmp_path / str(rows)
        _big_export(_inbox(data) / "traffy_fondue_20220602.csv", rows)
        out = subprocess.run(
            [sys.executable, "-c", _PEAK_RSS, str(data)],
            check=True,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(PROJECT_ROOT / "plugins"), "PATH": "/usr/bin:/bin"},
        ).stdout.split()
        read, largest, growth[rows] = (int(x) for x in out)
        assert (read, largest) == (rows, 2000)
    assert growth[120_000] - growth[6_000] < 16 * 1024, growth  # ru_maxrss is in KiB


# -- the real export's format (synthetic rows in tests/fixtures/) -------------------------------

FIXTURES = Path(__file__).resolve().parent / "fixtures"
OPEN_DATA_FIXTURE = FIXTURES / "traffy_open_data_real_format.csv"  # the teamchadchart export's format
EXCHANGE_FIXTURE = FIXTURES / "traffy_download_issues_format.csv"  # the Exchange API's download-issues


def _fixture_batch(tmp_path: Path, fixture: Path, **settings):
    _drop(tmp_path, "traffy_fondue_20230512.csv", fixture.read_bytes())
    request = _request(tmp_path, end=datetime(2026, 12, 1, tzinfo=BANGKOK), **settings)
    [batch] = _read_all(request)
    return batch


def test_the_real_open_data_format_is_read_prefix_skew_anonymous_tickets_and_comma_lists(tmp_path: Path) -> None:
    batch = _fixture_batch(tmp_path, OPEN_DATA_FIXTURE)
    assert OPEN_DATA_FIXTURE.read_bytes().startswith(b"\xef\xbb\xbf")
    records = {r["source_id"]: r for r in batch.records}
    assert [(r.source_id, r.reason) for r in batch.rejects] == [("2023-SYNT05", "outside Bangkok: province 'ยโสธร'")]
    prefixed = records["2023-SYNT01"]  # จังหวัดกรุงเทพมหานคร; last_activity 72.138 ms before timestamp
    assert (prefixed["district_code"], prefixed["responsible_unit"], prefixed["category_code"]) == (
        "1009",
        "public_works",
        "roads",
    )
    assert prefixed["clock_skew_ms"] == 72 and prefixed["source_updated_at"] == prefixed["received_at"]
    [anonymous] = [r for r in batch.records if r["source_id_is_surrogate"]]
    assert anonymous["source_id"].startswith(traffy.SURROGATE_PREFIX) and anonymous["clock_skew_ms"] == 8
    assert (anonymous["category_code"], anonymous["secondary_categories"]) == ("footpath", "waste")
    agency_first = records["2SYN03"]  # "สำนักการโยธา กทม.,เขตบึงกุ่ม": the crosswalk line names the department
    assert (agency_first["responsible_unit"], agency_first["category_code"]) == ("bma_public_works", "other")
    transparency = records["2023-SYNT04"]  # no crosswalk line for กรุงเทพโปร่งใส: unmapped with its label
    assert (transparency["responsible_unit"], transparency["unmapped_unit"]) == ("unmapped", "กรุงเทพโปร่งใส")
    assert (transparency["status"], transparency["satisfaction_star"]) == ("resolved", 5)
    new_state = records["2023-SYNT06"]  # a state of the later exports the crosswalk lacks
    assert (new_state["status"], new_state["unmapped_status"]) == ("unmapped", "ศึกษาปัญหา")
    new_tag = records["2023-SYNT08"]  # an unknown tag: category unmapped, and so the unit the category decides
    assert (new_tag["category_code"], new_tag["unmapped_category"]) == ("unmapped", "หมวดที่ไม่มีในระบบ")
    assert (new_tag["responsible_unit"], new_tag["unmapped_unit"]) == ("unmapped", "เขตสาทร")  # the office deciding
    assert new_tag["district_code"] == "1028"  # province "Bangkok" in English
    skewed = records["2023-SYNT07"]  # 5 s before: beyond the 1 s tolerance, left for validation to refuse
    assert skewed["clock_skew_ms"] is None and skewed["source_updated_at"] < skewed["received_at"]
    for record in batch.records:
        assert record["responsible_unit"] is not None
        for kind in ("unit", "category", "status"):
            code = record["responsible_unit" if kind == "unit" else f"{kind}_code" if kind == "category" else kind]
            assert (code == "unmapped") == (record[f"unmapped_{kind}"] is not None), (record["source_id"], kind)


def test_an_anonymous_ticket_keeps_its_surrogate_key_when_re_exported_with_a_newer_state(tmp_path: Path) -> None:
    first = traffy_row("", organization="เขตคลองเตย", state="รอรับเรื่อง", last_activity="2022-06-01 09:00:00+00")
    later = traffy_row("", organization="เขตคลองเตย,ฝ่ายเทศกิจ เขตคลองเตย", state="เสร็จสิ้น")
    later["last_activity"] = "2022-06-05 10:00:00+00"
    other = traffy_row("", timestamp="2022-06-01 08:15:31.123457+00")  # one microsecond later: another matter
    _drop(tmp_path, "traffy_fondue_20220601.csv", traffy_csv([first, other]))
    _drop(tmp_path, "traffy_fondue_20220605.csv", traffy_csv([later]))
    batches = _read_all(_request(tmp_path))
    (a, b), (c,) = (batch.records for batch in batches)
    assert a["source_id"] == c["source_id"] != b["source_id"]
    assert a["source_id_is_surrogate"] is True and (a["status"], c["status"]) == ("received", "resolved")


def test_clock_skew_follows_the_configured_tolerance(tmp_path: Path) -> None:
    row = traffy_row("T-SKEW", timestamp="2022-06-01 08:15:31.5+00", last_activity="2022-06-01 08:15:31+00")
    _drop(tmp_path, "traffy_fondue_20220601.csv", traffy_csv([row]))
    [[tolerated]] = [b.records for b in _read_all(_request(tmp_path))]
    assert tolerated["clock_skew_ms"] == 500
    [[strict]] = [b.records for b in _read_all(_request(tmp_path, clock_skew_tolerance_seconds=0.1))]
    assert strict["clock_skew_ms"] is None and strict["source_updated_at"] < strict["received_at"]


def test_the_exchange_api_download_issues_csv_is_read_by_its_own_column_names(tmp_path: Path) -> None:
    batch = _fixture_batch(tmp_path, EXCHANGE_FIXTURE)
    records = {r["source_id"]: r for r in batch.records}
    assert [(r.source_id, r.reason) for r in batch.rejects] == [("2026-SYNE04", "outside Bangkok: province 'ปทุมธานี'")]
    first = records["2026-SYNE01"]  # "เขตบางรัก, ฝ่ายโยธา เขตบางรัก": ", " separated, district with เขต
    assert (first["latitude"], first["longitude"]) == (13.72461, 100.52931)
    assert (first["district_code"], first["category_code"], first["responsible_unit"], first["status"]) == (
        "1004",
        "footpath",
        "public_works",
        "received",
    )
    assert first["description"] == "ทางเท้าแตก (ข้อความสังเคราะห์)"
    forwarded = records["2026-SYNE02"]
    assert (forwarded["status"], forwarded["unmapped_status"], forwarded["responsible_unit"]) == (
        "unmapped",
        "ส่งต่อ(ใหม่)",
        "bma_public_works",
    )
    finished = records["2026-SYNE03"]  # English district and province; timestamp_finished is the resolution
    assert (finished["district_code"], finished["status"], finished["satisfaction_star"]) == ("1026", "resolved", 4)
    # naive times in the Exchange API's layout are Bangkok time (UTC+7), not UTC
    assert finished["resolved_at"] == datetime(2026, 8, 22, 11, 0, 0, 250000, tzinfo=BANGKOK)
    assert finished["received_at"] == datetime(2026, 8, 21, 9, 0, 0, 500000, tzinfo=BANGKOK)
    assert finished["received_at"].astimezone(UTC) == datetime(2026, 8, 21, 2, 0, 0, 500000, tzinfo=UTC)


def test_states_map_by_their_status_type_from_the_exchange_api_status_list(tmp_path: Path) -> None:
    answer = {
        "status": "success",
        "results": [
            {"status": "ศึกษาปัญหา", "status_en": "Studying", "status_type": "inprogress"},
            {"status": "ส่งต่อ(ใหม่)", "status_en": None, "status_type": "waiting"},
            {"...": "ตัดรายการ"},  # the docs' elision marker
        ],
    }
    (tmp_path / "status_list.json").write_text(json.dumps(answer, ensure_ascii=False), encoding="utf-8")
    assert traffy.status_types_from_status_list(answer) == {
        "ศึกษาปัญหา": "inprogress",
        "studying": "inprogress",
        "ส่งต่อ(ใหม่)": "waiting",
    }
    channel = _channel(status_list_file=str(tmp_path / "status_list.json"))  # an absolute path wins
    assert traffy.traffy_status(channel, "ศึกษาปัญหา") == "in_progress"
    assert traffy.traffy_status(channel, "ส่งต่อ(ใหม่)") == "received"
    assert traffy.traffy_status(channel, "อะไรก็ไม่รู้", "inprogress") == "in_progress"  # the item's own type
    assert traffy.traffy_status(channel, "เสร็จสิ้น") == "resolved"  # no type known: the label crosswalk
    assert traffy.traffy_status(_channel(), "ศึกษาปัญหา") is None  # without the list: unmapped downstream
    real = Path("/work/shared/realdata/apis/traffy/get-status-list-v2.response.json")
    if real.is_file():  # the documented example answer
        types = traffy.status_types_from_status_list(json.loads(real.read_text(encoding="utf-8")))
        assert types["รอรับเรื่อง"] == "waiting" and types["in progress"] == "inprogress"


def test_unmapped_values_load_are_summarised_and_hold_a_batch_only_over_their_own_threshold(engine, tmp_path):
    unknown_org = [traffy_row(f"U-{i}", organization="หน่วยงานใหม่") for i in range(3)]
    fine = [traffy_row(f"F-{i:02d}") for i in range(57)]
    _drop(tmp_path, "traffy_fondue_20220601.csv", traffy_csv(fine + unknown_org))  # 3 of 60: 5 %, not over
    summary = ingest_channel(_request(tmp_path), engine)
    assert [b.outcome for b in summary.batches] == ["loaded"]
    assert summary.unmapped_values == [{"kind": "unit", "raw_value": "หน่วยงานใหม่", "rows": 3}]
    assert rows_of(engine, "SELECT COUNT(*) FROM complaint WHERE responsible_unit IS NULL") == [(0,)]
    [summary_row] = warehouse.unmapped_values_summary(engine, "traffy_fondue")
    assert (summary_row["kind"], summary_row["raw_value"], summary_row["complaints"]) == ("unit", "หน่วยงานใหม่", 3)
    assert warehouse.unmapped_values_summary(engine, "mis") == []

    new_states = [traffy_row(f"S-{i}", state="ขั้นตอนทางกฎหมาย") for i in range(4)]  # 4 of 24: over 5 %
    _drop(
        tmp_path, "traffy_fondue_20220602.csv", traffy_csv([traffy_row(f"G-{i:02d}") for i in range(20)] + new_states)
    )
    with pytest.raises(QualityGateError, match="values the pipeline cannot read yet") as held:
        ingest_channel(_request(tmp_path), engine)
    assert "status 'ขั้นตอนทางกฎหมาย' (4)" in str(held.value) and "failed validation" not in str(held.value)
    reasons = rows_of(engine, "SELECT DISTINCT reasons FROM quarantine")
    assert reasons == [("held: batch over the unmapped-values threshold",)]


def test_province_spellings_fold_to_one_name_with_or_without_the_province_word() -> None:
    from complaints.config import province_key

    bangkok = {"กรุงเทพมหานคร", "จังหวัดกรุงเทพมหานคร", " จังหวัด กรุงเทพมหานคร ", "จ.กรุงเทพมหานคร"}
    assert {province_key(p) for p in bangkok} == {"กรุงเทพมหานคร"}
    assert province_key("Bangkok Province") == province_key("bangkok") == "bangkok"
    assert province_key("Changwat Yasothon") == province_key("Yasothon Province") == "yasothon"
    assert province_key("จังหวัดยโสธร") == province_key("ยโสธร") == "ยโสธร"
    assert province_key("จังหวัด") == "จังหวัด" and province_key("") is None  # the bare word is no province
