"""1555 hotline file-drop adapter: encodings, Buddhist-era dates, row rejects, broken files, archiving."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import hashlib
import io
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from adapter_fixtures import HOTLINE_HEADER, hotline_csv, hotline_row
from complaints.adapters import ExtractRequest, SourceError, load_adapter
from complaints.adapters import hotline_1555 as hotline
from complaints.canonical import CANONICAL_COLUMNS
from complaints.config import load_config
from complaints.pseudonym import pseudonymise
from complaints.thai_time import BANGKOK

KEY = "test-pseudonym-key"
HEADER = HOTLINE_HEADER
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _request(data_dir: Path, end: datetime = datetime(2019, 1, 16, tzinfo=BANGKOK)) -> ExtractRequest:
    channel = load_config().channels["hotline_1555"]
    return ExtractRequest(
        channel=channel,
        interval_start=datetime(2019, 1, 15, tzinfo=BANGKOK),
        interval_end=end,
        pseudonym_key=KEY,
        data_dir=data_dir,
    )


def _inbox(data_dir: Path) -> Path:
    inbox = data_dir / "inbox" / "1555"
    inbox.mkdir(parents=True, exist_ok=True)
    return inbox


def _drop(data_dir: Path, name: str, content: bytes) -> Path:
    path = _inbox(data_dir) / name
    path.write_bytes(content)
    return path


def _read(data_dir: Path, name: str):
    return hotline.read(_request(data_dir), name)


ROWS = [
    hotline_row("6201150001"),
    hotline_row(
        "6201150002",
        {
            "เขต": "สาทร",
            "ประเภทเรื่อง": "ขยะ",
            "หน่วยงานรับผิดชอบ": "",
            "สถานะ": "เสร็จสิ้น",
            "วันที่ดำเนินการเสร็จ": "16/01/2562 09:15",
            "ผลการดำเนินการ": "เก็บขยะเรียบร้อยแล้ว",
            "พิกัด": "",
            "เบอร์โทรศัพท์": "",
            "ชื่อผู้แจ้ง": "นายสมชาย ใจดี",
        },
    ),
    hotline_row(
        "6201150003",
        {
            "เขต": "ป้อมปราบศัตรูพ่าย",
            "ประเภทเรื่อง": "เสียงดัง",
            "สถานะ": "รับเรื่องแล้ว",
            "วันที่ตอบรับ": "",
            "หน่วยงานรับผิดชอบ": "ฝ่ายสิ่งแวดล้อมและสุขาภิบาล",
        },
    ),
]


def _assert_the_three_rows(batch) -> None:
    assert batch.rejects == []
    assert [r["source_id"] for r in batch.records] == ["6201150001", "6201150002", "6201150003"]
    first, second, third = batch.records
    assert tuple(first) == CANONICAL_COLUMNS
    assert first["received_at"] == datetime(2019, 1, 15, 8, 30, tzinfo=BANGKOK)
    assert str(first["received_at"].tzinfo) == "Asia/Bangkok"
    assert first["acknowledged_at"] == datetime(2019, 1, 15, 10, 0, tzinfo=BANGKOK)
    assert first["source_updated_at"] == datetime(2019, 1, 15, 16, 45, tzinfo=BANGKOK)
    assert (first["district_code"], first["category_code"], first["responsible_unit"], first["status"]) == (
        "1004",
        "footpath",
        "public_works",
        "in_progress",
    )
    assert (first["latitude"], first["longitude"]) == (13.7246, 100.5293)
    assert first["description"] == "ทางเท้าหน้าตลาดบางรักชำรุด กระเบื้องแตก คนเดินสะดุดล้ม"
    assert first["reporter_pseudonym"] == pseudonymise("0812345678", KEY)  # the phone, whatever its format
    assert (second["district_code"], second["responsible_unit"], second["status"]) == (
        "1028",
        "cleansing_parks",
        "resolved",
    )  # missing unit -> the category's default unit
    assert second["resolved_at"] == datetime(2019, 1, 16, 9, 15, tzinfo=BANGKOK)
    assert second["resolution_report"] == "เก็บขยะเรียบร้อยแล้ว"
    assert (second["latitude"], second["longitude"]) == (None, None)
    assert second["reporter_pseudonym"] == pseudonymise("นายสมชาย ใจดี", KEY)  # no phone -> the name
    assert (third["district_code"], third["category_code"], third["status"]) == ("1008", "noise", "received")
    assert third["acknowledged_at"] is None
    text = json.dumps(batch.records, default=str, ensure_ascii=False)
    assert "081-234-5678" not in text and "มาลี" not in text and "สมชาย" not in text


# -- plan -----------------------------------------------------------------------------------


def test_plan_lists_inbox_files_dated_before_the_interval_end_oldest_first(tmp_path: Path) -> None:
    for name in [
        "1555_20190115.csv",
        "1555_20190114.xlsx",
        "1555_20190115_2.csv",
        "1555_20190116.csv",
        "1555_20190201.csv",
        ".1555_20190113.csv.swp",
        "notes.txt",
        "1555_20190231.csv",
    ]:
        _drop(tmp_path, name, b"x")
    (_inbox(tmp_path) / "1555_20190110.csv").mkdir()
    assert hotline.plan(_request(tmp_path)) == [
        "1555_20190114.xlsx",
        "1555_20190115.csv",
        "1555_20190115_2.csv",
        "1555_20190231.csv",
        "notes.txt",  # not a valid name: planned so that read() fails them loudly
    ]


def test_plan_of_a_missing_inbox_is_empty(tmp_path: Path) -> None:
    assert hotline.plan(_request(tmp_path)) == []


def test_a_file_whose_name_does_not_match_fails_read_naming_the_file(tmp_path: Path) -> None:
    _drop(tmp_path, "notes.txt", b"hello")
    with pytest.raises(SourceError, match=r"notes\.txt: file name does not match 1555_YYYYMMDD"):
        _read(tmp_path, "notes.txt")


# -- encodings and formats --------------------------------------------------------------------


def test_reads_a_utf8_bom_csv_with_crlf_and_buddhist_era_dates(tmp_path: Path) -> None:
    content = codecs.BOM_UTF8 + hotline_csv(ROWS).encode("utf-8")
    _drop(tmp_path, "1555_20190115.csv", content)
    batch = _read(tmp_path, "1555_20190115.csv")
    _assert_the_three_rows(batch)
    assert batch.source_part == "1555_20190115.csv"
    assert batch.checksum == hashlib.sha256(content).hexdigest()
    assert batch.channel == "hotline_1555"


def test_reads_a_utf8_csv_without_bom(tmp_path: Path) -> None:
    _drop(tmp_path, "1555_20190115.csv", hotline_csv(ROWS).encode("utf-8"))
    _assert_the_three_rows(_read(tmp_path, "1555_20190115.csv"))


def test_reads_a_windows_874_csv(tmp_path: Path) -> None:
    content = hotline_csv(ROWS).encode("cp874")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    _drop(tmp_path, "1555_20190115.csv", content)
    _assert_the_three_rows(_read(tmp_path, "1555_20190115.csv"))


def test_reads_an_xlsx_export(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "รายงาน 1555"
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append([row[h] or None for h in HEADER])
    sheet["A2"] = 6201150001  # a ticket number typed as a number
    sheet["D2"] = 812345678  # a phone typed as a number has lost its leading 0
    sheet["B2"] = datetime(2562, 1, 15, 8, 30)  # a date cell holding the Buddhist-era year
    sheet["K2"] = datetime(2019, 1, 15, 10, 0)  # a real (Christian-era) date cell, shown as BE by Excel
    buffer = io.BytesIO()
    workbook.save(buffer)
    _drop(tmp_path, "1555_20190115.xlsx", buffer.getvalue())
    batch = _read(tmp_path, "1555_20190115.xlsx")
    _assert_the_three_rows(batch)
    assert batch.checksum == hashlib.sha256(buffer.getvalue()).hexdigest()


def test_headers_in_another_order_with_stray_spaces_and_extra_columns_are_accepted(tmp_path: Path) -> None:
    header = ["หมายเหตุ", *[f" {h} " for h in reversed(HEADER)]]
    rows = [{f" {k} ": v for k, v in row.items()} | {"หมายเหตุ": "-"} for row in ROWS]
    _drop(tmp_path, "1555_20190115.csv", hotline_csv(rows, header).encode("utf-8"))
    _assert_the_three_rows(_read(tmp_path, "1555_20190115.csv"))


def test_description_is_nfc_without_nul_bytes_and_keeps_emoji(tmp_path: Path) -> None:
    row = hotline_row("6201150001", {"รายละเอียด": "น้ำท\u0e48\u0e27มขัง\x00หน้าบ้าน ท\u0e48\u0e38อตัน 🌧️"})
    _drop(tmp_path, "1555_20190115.csv", hotline_csv([row]).encode("utf-8"))
    (record,) = _read(tmp_path, "1555_20190115.csv").records
    assert record["description"] == "น้ำท\u0e48\u0e27มขังหน้าบ้าน ท\u0e38\u0e48อตัน 🌧️"


# -- rows that become rejects ---------------------------------------------------------------------


def test_unparseable_rows_are_rejected_with_field_and_value_and_the_rest_load(tmp_path: Path) -> None:
    rows = [
        hotline_row("6201150001"),
        hotline_row("6201150002", {"วันที่รับแจ้ง": "15/01/2019 08:30"}),  # Christian-era year where BE is promised
        hotline_row("6201150003", {"วันที่รับแจ้ง": "31/02/2562 08:30"}),  # no 31 February
        hotline_row(""),  # no ticket number
        hotline_row("6201150005", {"พิกัด": "13.72;100.52"}),
        hotline_row("6201150006", {"วันที่ปรับปรุงล่าสุด": ""}),
        hotline_row("6201150007", {"เขต": "เขตเมืองทองธานี"}),  # unknown district: a record, for validation to quarantine
    ]
    _drop(tmp_path, "1555_20190115.csv", hotline_csv(rows).encode("utf-8"))
    batch = _read(tmp_path, "1555_20190115.csv")
    assert batch.rows_read == 7 == len(batch.records) + len(batch.rejects)
    assert [r["source_id"] for r in batch.records] == ["6201150001", "6201150007"]
    assert batch.records[1]["district_code"] is None
    reasons = {r.source_id: r.reason for r in batch.rejects}
    assert reasons["6201150002"] == (
        "วันที่รับแจ้ง (received): year 2019 is not Buddhist era (expected 25xx): '15/01/2019 08:30'"
    )
    assert reasons["6201150003"].startswith("วันที่รับแจ้ง (received): impossible date '31/02/2562 08:30'")
    assert reasons[None] == "missing เลขที่รับแจ้ง (ticket number)"
    assert reasons["6201150005"] == "พิกัด (coordinates) '13.72;100.52' is not 'lat,lon'"
    assert reasons["6201150006"] == "missing วันที่ปรับปรุงล่าสุด (last update)"


def test_rejected_rows_keep_pseudonyms_never_the_reporter_name_or_phone(tmp_path: Path) -> None:
    rows = [hotline_row("6201150002", {"วันที่รับแจ้ง": "15/01/2019 08:30"})]
    _drop(tmp_path, "1555_20190115.csv", hotline_csv(rows).encode("utf-8"))
    (reject,) = _read(tmp_path, "1555_20190115.csv").rejects
    assert reject.raw["เบอร์โทรศัพท์"] == "pseudonym:" + pseudonymise("081-234-5678", KEY)
    assert reject.raw["ชื่อผู้แจ้ง"] == "pseudonym:" + pseudonymise("นางสาวมาลี ศรีสุข", KEY)
    assert reject.raw["วันที่รับแจ้ง"] == "15/01/2019 08:30"
    assert reject.raw["_line"] == 2
    text = json.dumps(reject.raw, ensure_ascii=False)
    assert "081-234-5678" not in text and "มาลี" not in text


def test_a_middle_row_with_missing_fields_is_rejected_not_the_file(tmp_path: Path) -> None:
    text = (
        hotline_csv([hotline_row("6201150001")])
        + "6201150002,15/01/2562 09:00\r\n"
        + hotline_csv([hotline_row("6201150003")]).split("\r\n", 1)[1]
    )
    _drop(tmp_path, "1555_20190115.csv", text.encode("utf-8"))
    batch = _read(tmp_path, "1555_20190115.csv")
    assert [r["source_id"] for r in batch.records] == ["6201150001", "6201150003"]
    assert [(r.source_id, r.reason) for r in batch.rejects] == [("6201150002", "row has 2 fields, the header has 14")]


def test_blank_lines_are_not_rows(tmp_path: Path) -> None:
    text = hotline_csv(ROWS[:1]) + "\r\n" + ",,,,,,,,,,,,,\r\n"
    _drop(tmp_path, "1555_20190115.csv", text.encode("utf-8"))
    batch = _read(tmp_path, "1555_20190115.csv")
    assert (len(batch.records), len(batch.rejects)) == (1, 0)


# -- files that cannot be read -----------------------------------------------------------------


def test_a_file_truncated_in_its_last_row_fails_naming_file_and_line(tmp_path: Path) -> None:
    text = hotline_csv(ROWS)
    _drop(tmp_path, "1555_20190115.csv", text[: text.rindex("รับเรื่องแล้ว")].encode("utf-8"))
    with pytest.raises(SourceError, match=r"1555_20190115\.csv line 4: the last row has 10 of 14 fields"):
        _read(tmp_path, "1555_20190115.csv")


def test_a_file_truncated_inside_a_quoted_field_fails_naming_file_and_line(tmp_path: Path) -> None:
    rows = [*ROWS, hotline_row("6201150004", {"รายละเอียด": "ไฟฟ้าส่องสว่างดับ\nทั้งซอย, มืดมาก"})]
    text = hotline_csv(rows)
    _drop(tmp_path, "1555_20190115.csv", text[: text.index("ทั้งซอย")].encode("utf-8"))
    with pytest.raises(SourceError, match=r"1555_20190115\.csv line 5: malformed CSV \(unexpected end of data\)"):
        _read(tmp_path, "1555_20190115.csv")


def test_a_file_in_neither_utf8_nor_windows_874_is_refused_naming_the_byte(tmp_path: Path) -> None:
    content = hotline_csv(ROWS).encode("cp874")
    content = content[:200] + b"\xff" + content[200:]
    _drop(tmp_path, "1555_20190115.csv", content)
    line = content[:200].count(b"\n") + 1
    with pytest.raises(
        SourceError,
        match=rf"neither UTF-8 .* nor Windows-874/TIS-620 \(invalid byte 0xFF at "
        rf"offset 200 \(line {line}\)\)",
    ):
        _read(tmp_path, "1555_20190115.csv")


def test_damaged_utf8_is_refused_rather_than_read_as_windows_874(tmp_path: Path) -> None:
    content = hotline_csv(ROWS).encode("utf-8")
    position = content.index("ตลาด".encode()) + 2  # the last byte of ต (E0 B8 95)
    content = content[:position] + b"A" + content[position + 1 :]
    _drop(tmp_path, "1555_20190115.csv", content)
    with pytest.raises(
        SourceError,
        match=rf"UTF-8 text with an invalid byte 0x.. at offset {position - 2} "
        r"\(line 2\): the file is damaged",
    ):
        _read(tmp_path, "1555_20190115.csv")


def test_a_missing_required_column_fails_listing_the_missing_headers(tmp_path: Path) -> None:
    header = [h for h in HEADER if h not in ("สถานะ", "พิกัด")]
    _drop(tmp_path, "1555_20190115.csv", hotline_csv(ROWS, header).encode("utf-8"))
    with pytest.raises(SourceError, match=r"1555_20190115\.csv line 1: missing required column\(s\) พิกัด, สถานะ"):
        _read(tmp_path, "1555_20190115.csv")


def test_an_empty_file_and_a_broken_workbook_fail_naming_the_file(tmp_path: Path) -> None:
    _drop(tmp_path, "1555_20190115.csv", b"")
    _drop(tmp_path, "1555_20190116.xlsx", b"PK\x03\x04 truncated workbook")
    with pytest.raises(SourceError, match=r"1555_20190115\.csv: the file is empty"):
        _read(tmp_path, "1555_20190115.csv")
    with pytest.raises(SourceError, match=r"1555_20190116\.xlsx: not a readable \.xlsx workbook"):
        _read(tmp_path, "1555_20190116.xlsx")


# -- after_load --------------------------------------------------------------------------------------


def test_after_load_moves_the_file_to_the_archive_and_suffixes_a_name_already_there(tmp_path: Path) -> None:
    request = _request(tmp_path)
    adapter = load_adapter(request.channel)
    content = hotline_csv(ROWS).encode("utf-8")
    for expected in ("1555_20190115.csv", "1555_20190115.1.csv", "1555_20190115.2.csv"):
        _drop(tmp_path, "1555_20190115.csv", content)
        (part,) = adapter.plan(request)
        adapter.after_load(request, part, adapter.read(request, part))
        assert not (_inbox(tmp_path) / "1555_20190115.csv").exists()
        assert (tmp_path / "archive" / "1555" / expected).read_bytes() == content
    assert adapter.plan(request) == []


def test_after_load_leaves_a_file_that_changed_since_it_was_read(tmp_path: Path) -> None:
    request = _request(tmp_path)
    path = _drop(tmp_path, "1555_20190115.csv", hotline_csv(ROWS).encode("utf-8"))
    batch = hotline.read(request, "1555_20190115.csv")
    path.write_bytes(hotline_csv(ROWS[:1]).encode("utf-8"))  # re-delivered meanwhile
    hotline.after_load(request, "1555_20190115.csv", batch)
    assert path.exists()
    assert not (tmp_path / "archive" / "1555" / "1555_20190115.csv").exists()


# -- large files in chunks ---------------------------------------------------------------------


def _chunked_request(data_dir: Path, rows: int) -> ExtractRequest:
    channel = load_config().channels["hotline_1555"]
    channel = dataclasses.replace(channel, settings={**channel.settings, "chunk_rows": rows})
    return dataclasses.replace(_request(data_dir), channel=channel)


def _varied_rows(count: int) -> list[dict[str, str]]:
    """Rows with quoted multi-line descriptions, commas and quotes, and a parse reject every 7th."""
    rows = []
    for n in range(count):
        changes = {"รายละเอียด": f'ท่อแตก จุดที่ {n},\n"ด่วน" น้ำไหลนองถนน'} if n % 3 == 0 else {}
        if n % 7 == 5:
            changes["วันที่รับแจ้ง"] = "15/01/2019 08:30"  # Christian era: rejected by the parser
        rows.append(hotline_row(f"62011{n:05d}", changes))
    return rows


def _encoded(rows: list[dict[str, str]], encoding: str, newline: str) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=newline, quoting=csv.QUOTE_ALL)
    writer.writerow(HEADER)
    writer.writerows([[row[h] for h in HEADER] for row in rows])
    return buffer.getvalue().encode(encoding)


@pytest.mark.parametrize(
    ("encoding", "newline"), [("utf-8-sig", "\r\n"), ("utf-8", "\n"), ("cp874", "\r\n"), ("utf-8", "\r")]
)
def test_a_file_larger_than_chunk_rows_is_read_in_chunks_giving_the_rows_of_the_whole_file(
    tmp_path: Path, encoding: str, newline: str
) -> None:
    rows = _varied_rows(23)
    content = _encoded(rows, encoding, newline)
    _drop(tmp_path, "1555_20190115.csv", content)
    request = _chunked_request(tmp_path, 5)
    parts = hotline.plan(request)
    assert [p.split("@")[0] for p in parts] == [
        f"1555_20190115.csv#{first}-{min(first + 4, 23)}" for first in range(1, 24, 5)
    ]
    batches = [hotline.read(request, part) for part in parts]
    whole = hotline.read(request, "1555_20190115.csv")  # the bare name: the whole file, one batch
    assert [b.rows_read for b in batches] == [5, 5, 5, 5, 3]
    assert {b.checksum for b in batches} == {whole.checksum} == {hashlib.sha256(content).hexdigest()}
    assert {b.file_name for b in batches} == {"1555_20190115.csv"}
    assert [r for b in batches for r in b.records] == whole.records
    assert [r.raw for b in batches for r in b.rejects] == [r.raw for r in whole.rejects]
    assert whole.rows_read == 23 and len(whole.rejects) == 3
    # a quarantined row in a later chunk names its physical line (a row takes two lines when its
    # description does)
    starts = [2 + n + sum(r["รายละเอียด"].count("\n") for r in rows[:n]) for n in range(len(rows))]
    assert {r.source_id: r.raw["_line"] for r in whole.rejects} == {
        row["เลขที่รับแจ้ง"]: line for row, line in zip(rows, starts, strict=True) if row["วันที่รับแจ้ง"].endswith("2019 08:30")
    }
    assert whole.records[3]["description"] == 'ท่อแตก จุดที่ 3,\n"ด่วน" น้ำไหลนองถนน'


def test_a_file_of_at_most_chunk_rows_rows_is_one_part_named_by_the_file(tmp_path: Path) -> None:
    _drop(tmp_path, "1555_20190115.csv", _encoded(_varied_rows(5), "utf-8", "\r\n"))
    assert hotline.plan(_chunked_request(tmp_path, 5)) == ["1555_20190115.csv"]


def test_a_chunk_of_a_file_that_changed_since_it_was_planned_is_refused(tmp_path: Path) -> None:
    path = _drop(tmp_path, "1555_20190115.csv", _encoded(_varied_rows(12), "utf-8", "\r\n"))
    request = _chunked_request(tmp_path, 5)
    first, *_ = hotline.plan(request)
    path.write_bytes(_encoded(_varied_rows(13), "utf-8", "\r\n"))  # re-delivered with one more row
    with pytest.raises(SourceError, match=r"changed since it was planned"):
        hotline.read(request, first)


def test_the_last_chunk_of_a_truncated_file_fails_naming_the_line(tmp_path: Path) -> None:
    text = hotline_csv([hotline_row(f"62011{n:05d}") for n in range(12)])
    _drop(tmp_path, "1555_20190115.csv", text[: text.rindex("อยู่ระหว่างดำเนินการ")].encode("utf-8"))
    request = _chunked_request(tmp_path, 5)
    *earlier, last = hotline.plan(request)
    assert [hotline.read(request, part).rows_read for part in earlier] == [5, 5]
    with pytest.raises(SourceError, match=r"1555_20190115\.csv line 13: the last row has 10 of 14 fields"):
        hotline.read(request, last)


def test_after_load_archives_a_chunked_file_once_every_chunk_has_loaded(tmp_path: Path) -> None:
    content = _encoded(_varied_rows(12), "utf-8", "\r\n")
    path = _drop(tmp_path, "1555_20190115.csv", content)
    request = _chunked_request(tmp_path, 5)
    parts = hotline.plan(request)
    assert len(parts) == 3
    for part in parts:
        assert path.exists(), "archived before every chunk loaded"
        hotline.after_load(request, part, hotline.read(request, part))
    assert not path.exists()
    assert (tmp_path / "archive" / "1555" / "1555_20190115.csv").read_bytes() == content


_PEAK_RSS = """
import dataclasses, resource, sys
from datetime import datetime
from pathlib import Path
from complaints.adapters import ExtractRequest
from complaints.adapters import hotline_1555 as hotline
from complaints.config import load_config
from complaints.thai_time import BANGKOK

channel = load_config().channels["hotline_1555"]
channel = dataclasses.replace(channel, settings={**channel.settings, "chunk_rows": 2000})
request = ExtractRequest(channel, datetime(2019, 1, 15, tzinfo=BANGKOK), datetime(2019, 1, 16, tzinfo=BANGKOK),
                         "k", data_dir=Path(sys.argv[1]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
largest = rows = 0
for part in hotline.plan(request):
    batch = hotline.read(request, part)
    largest, rows = max(largest, batch.rows_read), rows + batch.rows_read
    del batch
print(rows, largest, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def _big_1555_file(path: Path, rows: int) -> None:
    """A Windows-874 export of ``rows`` rows (the encoding that is decided over the whole file)."""
    template = hotline_row("x", {"รายละเอียด": "ท่อระบายน้ำอุดตัน\nน้ำท่วมขังหน้าซอย, ทุกครั้งที่ฝนตก"})
    with path.open("w", encoding="cp874", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow([f"62{n:08d}", *(template[h] for h in HEADER[1:])])


def test_reading_a_large_file_holds_one_chunk_at_a_time_whatever_the_file_size(tmp_path: Path) -> None:
    """Peak memory of reading a 120,000-row file and a 6,000-row one in 2,000-row chunks is the
    same (within a few MB); the big file's rows alone would take hundreds of MB."""
    growth = {}
    for rows in (6_000, 120_000):
        data = tmp_path / str(rows)
        _big_1555_file(_inbox(data) / "1555_20190115.csv", rows)
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
