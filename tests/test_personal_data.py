"""No personal data leaves extraction: known names, phone numbers, national id numbers and
LINE/Facebook user ids are fed through every channel (MIS, 1555, LINE, Facebook, Traffy Fondue),
in the personal fields and typed into descriptions, resolution texts and action notes, in rows
that load and rows that are quarantined. After ingest, the quarterly indicator, the report (PDF,
XLSX, HTML) and the Open311 GeoReport export published to the shared drive, and the overdue
digest, every cell of every warehouse table, every file the pipeline wrote (reports, GeoReport,
digest, Data Docs) and every captured log line and console output are scanned for those values.
The scanner is shown to find each kind of planted value, so a leak would fail the test."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from adapter_fixtures import START, empty_sqlite_mis, hotline_csv, hotline_row, with_changes
from complaints.adapters import ExtractRequest
from complaints.config import load_config
from complaints.ingest import ingest_channel
from complaints.overdue import compute_digest, publish_digest
from complaints.pseudonym import NATIONAL_ID_MASK, PHONE_MASK, mask_personal_numbers, pseudonymise
from complaints.publish import LocalFolderTarget
from complaints.quarterly import compute_and_store, publish_georeport, render_and_publish
from complaints.thai_time import BANGKOK
from complaints.warehouse import ensure_schema, make_engine
from conftest import PSEUDONYM_KEY
from devtools.demo.api_server import ApiServer
from test_adapter_facebook import _post
from test_adapter_line import _event
from test_adapter_mis import _complaint, _insert
from test_adapter_traffy_fondue import traffy_csv, traffy_row

# The personal values planted. Digit runs are also looked for with every non-digit removed from
# a value, so "089 765 4321" or "+66897654321" would be found as well.
NAME = "นางสาวรั่วไหล ทดสอบข้อมูล"
PHONE = "089-765-4321"
PHONE_SPELLINGS = ("0897654321", "+66 89 765 4321", "(02) 987-6543", "๐๘๙๗๖๕๔๓๒๑")
NATIONAL_ID = "3-1012-34567-89-1"
NATIONAL_ID_PLAIN = "3101234567891"
LINE_USER = "U5ec7e70f1e0a11ce0b0b0000deadbeef"
FB_USER = "100087654321987"
FB_NAME = "Somying Leakcheck"
RAW_VALUES = (NAME, PHONE, *PHONE_SPELLINGS, NATIONAL_ID, NATIONAL_ID_PLAIN, LINE_USER, FB_USER, FB_NAME)
DIGIT_RUNS = ("897654321", "29876543", NATIONAL_ID_PLAIN, FB_USER)
TYPED = f"ติดต่อกลับ {PHONE_SPELLINGS[0]} หรือ {PHONE_SPELLINGS[1]} บ้าน {PHONE_SPELLINGS[2]} บัตร {NATIONAL_ID}"
TYPED_2 = f"โทร {PHONE_SPELLINGS[3]} เลขบัตร {NATIONAL_ID_PLAIN}"

DAY = datetime(2019, 1, 15, tzinfo=BANGKOK)
CUTOFF = date(2019, 3, 31)
TOKEN = "personal-data-token"


@pytest.mark.parametrize(
    ("typed", "masked"),
    [
        ("โทร 0812345678 ด่วน", f"โทร {PHONE_MASK} ด่วน"),
        ("โทร.081-234-5678", f"โทร.{PHONE_MASK}"),
        ("สำนักงาน 02 123 4567 ต่อ 12", f"สำนักงาน {PHONE_MASK} ต่อ 12"),
        ("(02) 123-4567", PHONE_MASK),
        ("+66 81 234 5678/+66812345678", f"{PHONE_MASK}/{PHONE_MASK}"),
        ("เบอร์ ๐๘๑๒๓๔๕๖๗๘", f"เบอร์ {PHONE_MASK}"),
        ("บัตรประชาชน 1-2345-67890-12-3", f"บัตรประชาชน {NATIONAL_ID_MASK}"),
        ("เลข 1234567890123 ครับ", f"เลข {NATIONAL_ID_MASK} ครับ"),
        ("1 2345 67890 12 3", NATIONAL_ID_MASK),
    ],
)
def test_thai_phone_and_national_id_numbers_in_free_text_are_masked(typed, masked):
    assert mask_personal_numbers(typed) == masked


@pytest.mark.parametrize(
    "kept",
    [
        "เลขที่รับแจ้ง 6201150001 ซอย 36",  # a ticket number does not start with 0
        "15/01/2562 08:30 น.",
        "ค่าเสียหาย 1,250,000 บาท",
        "บ้านเลขที่ 12/345 หมู่ 6 รหัสไปรษณีย์ 10500",
        "พิกัด 13.7246,100.5293",
        "หมายเลขอ้างอิง 12345678901234",  # 14 digits: not an id
    ],
)
def test_numbers_that_are_not_phones_or_ids_are_kept(kept):
    assert mask_personal_numbers(kept) == kept


@dataclass
class Scan:
    """Where each planted value was found; ``places`` counts what was looked at."""

    leaks: list[str] = field(default_factory=list)
    places: int = 0
    rows: int = 0
    files_read: int = 0

    def text(self, value: Any, where: str) -> None:
        if value is None:
            return
        content = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        self.places += 1
        for candidate in (content, html.unescape(content)):
            found = [v for v in RAW_VALUES if v in candidate]
            digits = re.sub(r"\D", "", candidate.translate(_THAI_DIGITS))
            found += [f"digits {d}" for d in DIGIT_RUNS if d in digits]
            if found:
                self.leaks.append(f"{where}: {', '.join(found)}")
                return

    def database(self, engine: Engine) -> None:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for number, row in enumerate(conn.execute(text(f"SELECT * FROM {table}")).mappings()):
                    self.rows += 1
                    for column, value in row.items():
                        self.text(value, f"{table} row {number} {column}")

    def files(self, root: Path) -> None:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            self.files_read += 1
            if path.suffix == ".pdf":
                from pypdf import PdfReader

                for number, page in enumerate(PdfReader(path).pages, start=1):
                    self.text(page.extract_text(), f"{path} page {number}")
            elif path.suffix == ".xlsx":
                from openpyxl import load_workbook

                book = load_workbook(path, read_only=True)
                for sheet in book.worksheets:
                    for row in sheet.iter_rows(values_only=True):
                        for value in row:
                            self.text(value, f"{path} sheet {sheet.title}")
                book.close()
            else:
                self.text(path.read_bytes(), str(path))


_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")


# -- the sources -----------------------------------------------------------------------------


def _mis(data_dir: Path) -> str:
    url = empty_sqlite_mis(data_dir)
    updated = datetime(2019, 1, 15, 10, 0)
    person = {"complainant_name": NAME, "complainant_phone": PHONE, "detail": TYPED, "result_detail": TYPED_2}
    _insert(
        url,
        [
            _complaint("PD-MIS-1", updated, **person),
            _complaint("PD-MIS-2", updated, **person, subject=TYPED_2),
            _complaint("PD-MIS-3", updated, **person, district_name="เขตที่ไม่มีจริง"),  # quarantined by validation
            _complaint("PD-MIS-4", updated, **person, latitude="ไม่ทราบ"),  # quarantined by the adapter
        ],
        [("PD-MIS-1", datetime(2019, 1, 15, 9, 0), "อยู่ระหว่างดำเนินการ", f"โทรแจ้งผู้ร้อง {PHONE} แล้ว")],
    )
    return url


def _hotline(data_dir: Path) -> None:
    person = {"ชื่อผู้แจ้ง": NAME, "เบอร์โทรศัพท์": PHONE, "รายละเอียด": TYPED, "ผลการดำเนินการ": TYPED_2}
    rows = [
        hotline_row("PD1555-1", person),
        hotline_row("PD1555-2", {**person, "ชื่อผู้แจ้ง": "", "เบอร์โทรศัพท์": PHONE_SPELLINGS[1]}),
        hotline_row("PD1555-3", {**person, "วันที่รับแจ้ง": "15/01/2019 08:30"}),  # quarantined by the adapter
        hotline_row("PD1555-4", {**person, "เขต": "ปากเกร็ด"}),  # quarantined by validation
    ]
    inbox = data_dir / "inbox" / "1555"
    inbox.mkdir(parents=True)
    (inbox / "1555_20190115.csv").write_text(hotline_csv(rows), encoding="utf-8")


def _line_and_facebook(data_dir: Path) -> None:
    import json

    updated = START + timedelta(hours=3)
    events = [
        _event(1, updated, source__userId=LINE_USER, message__text=TYPED, complaint__resolution=TYPED_2),
        _event(2, updated, source__userId=LINE_USER, message__text=TYPED, timestamp="เมื่อวาน"),  # adapter
        _event(3, updated, source__userId=LINE_USER, message__text=TYPED, complaint__district="เมืองทอง"),
    ]
    sender = {"id": FB_USER, "name": FB_NAME}
    updated = START + timedelta(hours=20)  # after the posts' created_time
    posts = [
        _post(1, updated, message=TYPED, complaint__resolution=TYPED_2),
        _post(2, updated, message=TYPED_2, created_time="not a time"),  # adapter
        _post(3, updated, message=TYPED, complaint__district="นนทบุรี"),  # validation
    ]
    posts = [with_changes(p, {"from": dict(sender)}) for p in posts]
    (data_dir / "sources").mkdir(exist_ok=True)
    (data_dir / "sources" / "line_events.json").write_text(json.dumps(events, ensure_ascii=False), "utf-8")
    (data_dir / "sources" / "facebook_posts.json").write_text(json.dumps(posts, ensure_ascii=False), "utf-8")


def _line_webhook(engine: Engine, data_dir: Path) -> Any:
    """LINE webhooks (the sender's userId, a mentioned member's, typed numbers) POSTed signed to
    the receiver, stored in the warehouse's webhook inbox and ingested from there."""
    import base64
    import dataclasses
    import hashlib
    import hmac
    import json

    from fastapi.testclient import TestClient

    from complaints.webhooks.line import WEBHOOK_PATH, ReceiverSettings, create_app

    stamp = int((START + timedelta(hours=4)).timestamp() * 1000)
    source = {"type": "group", "groupId": "C0000000000000000000000000000pdpa", "userId": LINE_USER}
    mention = {"mentionees": [{"index": 0, "length": 4, "userId": LINE_USER, "type": "user"}]}
    events = [
        {
            "type": "message",
            "timestamp": stamp,
            "webhookEventId": "01PDPA00000000000000000001",
            "source": source,
            "message": {"id": "810001", "type": "text", "text": TYPED, "mention": mention},
        },
        {
            "type": "message",
            "timestamp": stamp + 60_000,
            "webhookEventId": "01PDPA00000000000000000002",
            "source": source,
            "message": {"id": "810002", "type": "location", "address": TYPED_2, "latitude": 13.72, "longitude": 100.52},
        },
        {
            "type": "message",
            "timestamp": stamp + 7_200_000,
            "webhookEventId": "01PDPA00000000000000000003",
            "source": {"type": "user", "userId": LINE_USER},
            "message": {"id": "810003", "type": "text", "text": TYPED_2},
        },
        {
            "type": "memberJoined",
            "timestamp": stamp,
            "webhookEventId": "01PDPA00000000000000000004",
            "source": source,
            "joined": {"members": [{"type": "user", "userId": LINE_USER}]},
        },
    ]
    body = json.dumps({"destination": "U0", "events": events}, ensure_ascii=False).encode("utf-8")
    secret = "pdpa-channel-secret"
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    settings = ReceiverSettings(channel_secret=secret, engine=engine, pseudonym_key=PSEUDONYM_KEY)
    answer = TestClient(create_app(lambda: settings)).post(
        WEBHOOK_PATH, content=body, headers={"X-Line-Signature": signature}
    )
    assert answer.status_code == 200, answer.text
    request = _request("line", data_dir, engine.url.render_as_string(hide_password=False))
    channel = dataclasses.replace(
        request.channel, settings={**request.channel.settings, "ingest_from": "webhook_inbox"}
    )
    return ingest_channel(dataclasses.replace(request, channel=channel), engine)


def _traffy(data_dir: Path) -> None:
    stamp = {"timestamp": "2019-01-15 02:00:00+00", "last_activity": "2019-01-15 03:00:00+00"}
    rows = [
        traffy_row("2019-PD0001", comment=TYPED, **stamp),
        traffy_row("2019-PD0002", comment=TYPED_2, coords="ไม่ใช่พิกัด", **stamp),  # adapter
        traffy_row("2019-PD0003", comment=TYPED, province="นนทบุรี", **stamp),
    ]
    inbox = data_dir / "inbox" / "traffy_fondue"
    inbox.mkdir(parents=True)
    (inbox / "traffy_fondue_20190115.csv").write_text(traffy_csv(rows), encoding="utf-8")


def _request(code: str, data_dir: Path, source_url: str | None = None, token: str | None = None) -> ExtractRequest:
    channel = load_config().channels[code]
    if code in ("line", "facebook"):
        import dataclasses

        channel = dataclasses.replace(channel, settings={**channel.settings, "http_retries": 1})
    return ExtractRequest(channel, DAY, DAY + timedelta(days=2), PSEUDONYM_KEY, source_url, token, data_dir)


@pytest.fixture
def pipeline_run(tmp_path, monkeypatch, caplog, capsys):
    """Every channel ingested, the indicator computed, the report and the digest published."""
    data_dir = tmp_path / "data"
    (data_dir / "shared-drive").mkdir(parents=True)
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(data_dir))
    caplog.set_level(logging.DEBUG)
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    ensure_schema(engine)

    mis_url = _mis(data_dir)
    _hotline(data_dir)
    _line_and_facebook(data_dir)
    _traffy(data_dir)
    summaries = {"mis": ingest_channel(_request("mis", data_dir, mis_url), engine)}
    for code in ("hotline_1555", "traffy_fondue"):
        summaries[code] = ingest_channel(_request(code, data_dir), engine)
    with ApiServer(data_dir, token=TOKEN, flaky=False) as server:
        for code in ("line", "facebook"):
            summaries[code] = ingest_channel(_request(code, data_dir, server.base_url, TOKEN), engine)
    line_webhook = _line_webhook(engine, data_dir)  # LINE as the platform delivers it: the inbox
    assert line_webhook.rows_read >= 2, line_webhook.as_dict()

    compute_and_store(engine, CUTOFF)
    published = render_and_publish(engine, CUTOFF)
    georeport = publish_georeport(engine, CUTOFF)  # descriptions and resolution notes, as JSON
    assert georeport
    digest = compute_digest(engine, date(2019, 1, 18), 3)
    publish_digest(digest, LocalFolderTarget(data_dir / "shared-drive"))
    yield engine, data_dir, summaries, published
    engine.dispose()


def test_no_personal_value_reaches_the_warehouse_quarantine_reports_or_logs(pipeline_run, caplog, capsys):
    engine, data_dir, summaries, published = pipeline_run
    # Every channel loaded rows and quarantined rows, so both paths were exercised.
    for code, summary in summaries.items():
        assert summary.rows_loaded >= 1 and summary.rows_quarantined >= 2, (code, summary.as_dict())
    assert {Path(p).suffix for p in published} == {".pdf", ".xlsx", ".html"}

    scan = Scan()
    scan.database(engine)
    written = [data_dir / "shared-drive", data_dir / "data-docs"]
    for root in written:
        assert root.is_dir() and any(root.rglob("*.*")), root
        scan.files(root)
    # The pipeline ran in the fixture: its log records are those of the setup phase.
    records = caplog.get_records("setup") + caplog.get_records("call")
    assert any("quarantined" in r.getMessage() for r in records)
    for record in records:
        scan.text(record.getMessage(), f"log {record.name}")
        scan.text(record.exc_text, f"log {record.name} traceback")
    out, err = capsys.readouterr()
    scan.text(out, "stdout")
    scan.text(err, "stderr")
    assert scan.leaks == [], "\n".join(scan.leaks)
    assert scan.places > 1000  # the scan looked at the whole run, not an empty warehouse
    print(
        f"personal-data scan: {scan.rows} warehouse rows, {scan.files_read} files, "
        f"{len(records)} log records, {scan.places} values scanned, {len(scan.leaks)} leaks"
    )

    # The free texts were kept, with the numbers masked, and the reporters are pseudonyms.
    with engine.connect() as conn:
        texts = dict(conn.execute(text("SELECT source_id, description FROM complaint")).all())
        pseudonyms = set(conn.execute(text("SELECT reporter_pseudonym FROM complaint")).scalars())
        notes = set(conn.execute(text("SELECT note FROM complaint_status_history WHERE note IS NOT NULL")).scalars())
    assert texts["PD1555-1"] == mask_personal_numbers(TYPED)
    assert texts["PD1555-1"].count(PHONE_MASK) == 3 and NATIONAL_ID_MASK in texts["PD1555-1"]
    assert pseudonymise(PHONE, PSEUDONYM_KEY) in pseudonyms and pseudonymise(LINE_USER, PSEUDONYM_KEY) in pseudonyms
    assert pseudonymise(FB_USER, PSEUDONYM_KEY) in pseudonyms
    assert f"โทรแจ้งผู้ร้อง {PHONE_MASK} แล้ว" in notes


def test_the_scanner_finds_each_kind_of_planted_value(tmp_path):
    """Control: the same scan over files and rows with planted values reports every one."""
    from openpyxl import Workbook

    from complaints.report.render import write_pdf

    control = tmp_path / "control"
    control.mkdir()
    write_pdf(f"<html><body><p>ผู้แจ้ง โทร {PHONE}</p></body></html>", control / "planted.pdf")
    book = Workbook()
    book.active.append(["เลขบัตร", NATIONAL_ID_PLAIN])
    book.save(control / "planted.xlsx")
    (control / "planted.html").write_text(f"<td>{html.escape(FB_NAME)}</td>", encoding="utf-8")
    (control / "planted.json").write_text(f'{{"userId": "{LINE_USER}"}}', encoding="utf-8")
    (control / "clean.html").write_text(f"<td>{PHONE_MASK} {NATIONAL_ID_MASK}</td>", encoding="utf-8")
    scan = Scan()
    scan.files(control)
    found = sorted({re.sub(r" (page|sheet) .*", "", leak.split(": ")[0]) for leak in scan.leaks})
    assert [Path(f).name for f in found] == ["planted.html", "planted.json", "planted.pdf", "planted.xlsx"]

    engine = create_engine(f"sqlite:///{tmp_path / 'control.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE complaint (source_id TEXT, description TEXT)"))
        conn.execute(
            text("INSERT INTO complaint VALUES (:a, :b), (:c, :d)"),
            {"a": "x", "b": "โทร 089 765 4321", "c": "y", "d": mask_personal_numbers(TYPED)},
        )
    scan = Scan()
    scan.database(engine)
    engine.dispose()
    assert scan.leaks == ["complaint row 0 description: digits 897654321"]
