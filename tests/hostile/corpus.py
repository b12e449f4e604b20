"""The hostile-input corpus: broken and malicious sources, each with the outcome it must have.

A case writes one source (a 1555 or Traffy Fondue file drop, LINE events served by the local
API server, or MIS rows in a SQLite MIS database) into a data directory, and states what the
ingest run must do with it: the exact rows loaded, the quarantine reason of every quarantined
row (by source id), or the error that fails the run naming the file and line. Hostile rows
travel with enough good rows that a batch stays under the quarantine threshold, as a real
day's file would; the cases where the threshold itself is the outcome say so.

Cases are generated in code rather than stored as files so that each one reads as what it is
(and the encodings, NUL bytes and 10 MB fields are exact). ``tests/hostile/test_hostile_input.py``
runs them through the real adapters and ``complaints.ingest.ingest_channel``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from adapter_fixtures import HOTLINE_HEADER, hotline_row
from complaints.thai_time import BANGKOK, BE_OFFSET

# Strings an attacker types into any field: they must be stored verbatim as data or refused,
# never executed.
INJECTIONS = (
    "'; DROP TABLE complaint; --",
    "1' OR '1'='1",
    '"); DELETE FROM quarantine; --',
    "x'); UPDATE complaint SET status='resolved' WHERE ('1'='1",
    "1; TRUNCATE ingest_batch",
    "Robert'); DROP TABLE dim_district;--",
)
SCRIPT = "<script>alert('xss')</script><img src=x onerror=alert(1)>"
ZWSP, ZWJ, ZWNBSP = "\u200b", "\u200d", "\ufeff"
TEN_MB = 10 * 1024 * 1024
SWAPPED = r" \(latitude and longitude swapped\?\)"


def _be(moment: datetime) -> str:
    """``dd/mm/yyyy HH:MM`` in the Buddhist era, as the 1555 export writes dates."""
    return f"{moment.day:02d}/{moment.month:02d}/{moment.year + BE_OFFSET} {moment.hour:02d}:{moment.minute:02d}"


def _future(days: int) -> datetime:
    return datetime.now(BANGKOK).replace(second=0, microsecond=0) + timedelta(days=days)


@dataclass(frozen=True)
class Case:
    name: str
    channel: str  # hotline_1555 | traffy_fondue | line | mis
    source: Callable[[Path], None]  # writes the source under the data directory
    loaded: int  # complaint rows after the run
    quarantined: dict[str, str] = field(default_factory=dict)  # source id -> regex its reasons match
    error: str | None = None  # regex the run's error must match (then nothing of that part loads)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)  # source id -> column values in complaint
    log: str | None = None  # regex a warning of the run must match
    # Where hostile values are stored (not only parsed), the case also runs on PostgreSQL.
    stores_hostile_values: bool = False


# -- 1555 file drops -------------------------------------------------------------------------

HOTLINE_FILE = "1555_20190115.csv"


def filler(count: int, prefix: str = "F") -> list[dict[str, str]]:
    return [hotline_row(f"{prefix}{n:04d}") for n in range(count)]


def hotline_bytes(
    rows: list[dict[str, str]],
    *,
    header: list[str] = HOTLINE_HEADER,
    encoding: str = "utf-8",
    bom: bool = False,
    newline: str = "\r\n",
) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode(encoding)


def drop_1555(content: bytes | Callable[[], bytes], name: str = HOTLINE_FILE) -> Callable[[Path], None]:
    def write(data_dir: Path) -> None:
        inbox = data_dir / "inbox" / "1555"
        inbox.mkdir(parents=True, exist_ok=True)
        (inbox / name).write_bytes(content() if callable(content) else content)

    return write


def with_hostile(*rows: dict[str, str], good: int = 40, **kwargs: Any) -> Callable[[Path], None]:
    """A 1555 file of ``good`` ordinary rows with ``rows`` among them (after the first ten)."""
    ordinary = filler(good)
    return drop_1555(lambda: hotline_bytes([*ordinary[:10], *rows, *ordinary[10:]], **kwargs))


def _line_of(ticket: str, rows: list[dict[str, str]]) -> int:
    return 2 + [r["เลขที่รับแจ้ง"] for r in rows].index(ticket)


THAI_DESCRIPTION = "ทางเท้าหน้าตลาดบางรักชำรุด กระเบื้องแตก คนเดินสะดุดล้ม"


def _utf8_file_with_a_windows_874_row() -> bytes:
    rows = filler(40)
    good = hotline_bytes(rows[:20])
    bad_row = hotline_bytes([hotline_row("W0001", {"รายละเอียด": "ท่อแตกน้ำไหลนองถนน"})], encoding="cp874")
    bad_row = bad_row.split(b"\r\n", 1)[1]  # the row without its header
    rest = hotline_bytes(rows[20:]).split(b"\r\n", 1)[1]
    return good + bad_row + rest


def _nul_rows() -> list[dict[str, str]]:
    return [
        hotline_row("N0001", {"รายละเอียด": "ถนน\x00ชำรุด\x00\x00 มีหลุม"}),
        hotline_row("N0002\x00", {"เขต": "\x00เขตบางรัก"}),
    ]


_DUPLICATE_OLD = hotline_row("D0001", {"รายละเอียด": "รายงานครั้งแรก", "วันที่ปรับปรุงล่าสุด": "15/01/2562 09:00"})
_DUPLICATE_NEW = hotline_row(
    "D0001", {"รายละเอียด": "รายงานฉบับแก้ไข", "สถานะ": "เสร็จสิ้น", "วันที่ปรับปรุงล่าสุด": "15/01/2562 17:00"}
)
_DUPLICATE_TIE_A = hotline_row("D0002", {"รายละเอียด": "เวอร์ชัน A"})
_DUPLICATE_TIE_B = hotline_row("D0002", {"รายละเอียด": "เวอร์ชัน B"})

_RENAMED = [("เขตพื้นที่" if h == "เขต" else h) for h in HOTLINE_HEADER]
_MISSING = [h for h in HOTLINE_HEADER if h != "พิกัด"]
_ADDED = [*HOTLINE_HEADER[:6], "อีเมลผู้แจ้ง", *HOTLINE_HEADER[6:]]


def _injection_rows() -> tuple[list[dict[str, str]], dict[str, str], int]:
    """One row per 1555 column carrying an injection string: (rows, expected quarantine, loaded).

    Injected into the ticket number, description, resolution, reporter name and phone, the row
    loads (ids and texts stored verbatim, the reporter pseudonymised); into a label (district,
    category, status) it is an unknown label; into a date or the coordinates, a parse error.
    An unknown unit label loads with no unit (the category's default applies only to a missing one).
    """
    rows, quarantined, loaded = [], {}, 0
    outcome = {
        "เลขที่รับแจ้ง": None,
        "รายละเอียด": None,
        "ผลการดำเนินการ": None,
        "ชื่อผู้แจ้ง": None,
        "เบอร์โทรศัพท์": None,
        "หน่วยงานรับผิดชอบ": None,
        "เขต": "unknown or missing district",
        "ประเภทเรื่อง": "unknown or missing category",
        "สถานะ": "unknown or missing status",
        "วันที่รับแจ้ง": r"วันที่รับแจ้ง \(received\): not a dd/mm/yyyy",
        "วันที่ตอบรับ": r"วันที่ตอบรับ \(acknowledged\): not a dd/mm/yyyy",
        "วันที่ดำเนินการเสร็จ": r"วันที่ดำเนินการเสร็จ \(resolved\): not a dd/mm/yyyy",
        "วันที่ปรับปรุงล่าสุด": r"วันที่ปรับปรุงล่าสุด \(last update\): not a dd/mm/yyyy",
        "พิกัด": r"พิกัด \(coordinates\) .* is not 'lat,lon'",
    }
    for number, (column, reason) in enumerate(outcome.items()):
        injection = INJECTIONS[number % len(INJECTIONS)]
        ticket = injection if column == "เลขที่รับแจ้ง" else f"S{number:04d}"
        rows.append(hotline_row(ticket, {column: injection}))
        if reason is None:
            loaded += 1
        else:
            quarantined[ticket] = reason
    return rows, quarantined, loaded


_INJECTION_ROWS, _INJECTION_QUARANTINE, _INJECTION_LOADED = _injection_rows()


def hotline_cases() -> list[Case]:
    future = _future(3)
    return [
        Case(
            "1555 Windows-874 file is recognised and read as Thai",
            "hotline_1555",
            drop_1555(lambda: hotline_bytes(filler(30), encoding="cp874")),
            loaded=30,
            stored={"F0007": {"description": THAI_DESCRIPTION, "district_code": "1004"}},
            stores_hostile_values=True,
        ),
        Case(
            "1555 UTF-8 file with one Windows-874 row fails naming the byte and line",
            "hotline_1555",
            drop_1555(_utf8_file_with_a_windows_874_row),
            loaded=0,
            error=rf"{HOTLINE_FILE}: UTF-8 text with an invalid byte 0x[0-9A-F]{{2}} at offset \d+ \(line 22\)",
        ),
        Case(
            "1555 Thai UTF-8 that the source read as Windows-874 is quarantined as mojibake",
            "hotline_1555",
            with_hostile(
                hotline_row("M0001", {"รายละเอียด": THAI_DESCRIPTION.encode("utf-8").decode("cp874", errors="ignore")}),
                hotline_row("M0002", {"รายละเอียด": THAI_DESCRIPTION.encode("utf-8").decode("latin-1")}),
            ),
            loaded=40,
            quarantined={
                "M0001": r"description is mojibake \(wrong text encoding\)",
                "M0002": r"description is mojibake \(wrong text encoding\)",
            },
        ),
        Case(
            "1555 UTF-16 export fails with what to do",
            "hotline_1555",
            drop_1555(lambda: hotline_bytes(filler(5), encoding="utf-16")),
            loaded=0,
            error=rf"{HOTLINE_FILE}: UTF-16 text .*export the file as UTF-8 or Windows-874 CSV",
        ),
        Case(
            "1555 BOM and CRLF, LF and CR line ends in one file load",
            "hotline_1555",
            drop_1555(
                lambda: (
                    hotline_bytes(filler(10, "A"), bom=True)
                    + hotline_bytes(filler(10, "B"), newline="\n").split(b"\n", 1)[1]
                    + hotline_bytes(filler(10, "C"), newline="\r").split(b"\r", 1)[1]
                )
            ),
            loaded=30,
            stored={"A0000": {"district_code": "1004"}, "C0009": {"description": THAI_DESCRIPTION}},
        ),
        Case(
            "1555 BOM followed by bytes that are not UTF-8 fails naming the line",
            "hotline_1555",
            drop_1555(lambda: hotline_bytes(filler(3), bom=True) + "ถนน,ชำรุด\r\n".encode("cp874")),
            loaded=0,
            error=rf"{HOTLINE_FILE}: starts with a UTF-8 BOM but byte 0x[0-9A-F]{{2}} at offset \d+ \(line 5\)",
        ),
        Case(
            "1555 NUL bytes inside cells are stripped and the rows load",
            "hotline_1555",
            with_hostile(*_nul_rows()),
            loaded=42,
            stored={"N0001": {"description": "ถนนชำรุด มีหลุม"}, "N0002": {"district_code": "1004"}},
            stores_hostile_values=True,
        ),
        Case(
            "1555 a 10 MB description is quarantined for its length and the file loads",
            "hotline_1555",
            with_hostile(hotline_row("L0001", {"รายละเอียด": "ก" * TEN_MB})),
            loaded=40,
            quarantined={"L0001": r"description longer than 20,000 characters"},
            stores_hostile_values=True,
        ),
        Case(
            "1555 HTML and script in text fields are stored verbatim as data",
            "hotline_1555",
            with_hostile(hotline_row("H0001", {"รายละเอียด": SCRIPT, "ผลการดำเนินการ": "<b>ok</b>&amp;"})),
            loaded=41,
            stored={"H0001": {"description": SCRIPT, "resolution_report": "<b>ok</b>&amp;"}},
            stores_hostile_values=True,
        ),
        Case(
            "1555 SQL injection in every column is stored verbatim or quarantined, never executed",
            "hotline_1555",
            with_hostile(*_INJECTION_ROWS, good=20 * len(_INJECTION_QUARANTINE)),
            loaded=20 * len(_INJECTION_QUARANTINE) + _INJECTION_LOADED,
            quarantined=_INJECTION_QUARANTINE,
            stored={
                INJECTIONS[0]: {"source_id": INJECTIONS[0]},
                "S0001": {"description": INJECTIONS[1]},
                "S0002": {"resolution_report": INJECTIONS[2]},
                "S0005": {"responsible_unit": None},
            },
            stores_hostile_values=True,
        ),
        Case(
            "1555 zero-width and emoji characters inside Thai words",
            "hotline_1555",
            with_hostile(
                hotline_row(
                    "Z0001",
                    {
                        "เขต": f"เขตบาง{ZWSP}รัก",
                        "ประเภทเรื่อง": f"ทาง{ZWJ}เท้า",
                        "หน่วยงานรับผิดชอบ": f"ฝ่าย{ZWNBSP}โยธา",
                        "รายละเอียด": f"ทาง{ZWSP}เท้า😡ชำรุด🙏🏽 ขยะ{ZWJ}ล้น",
                    },
                ),
                hotline_row("Z0002", {"เขต": "เขตบาง🙏รัก"}),
            ),
            loaded=41,
            quarantined={"Z0002": "unknown or missing district"},
            stored={
                "Z0001": {
                    "district_code": "1004",
                    "category_code": "footpath",
                    "responsible_unit": "public_works",
                    "description": f"ทาง{ZWSP}เท้า😡ชำรุด🙏🏽 ขยะ{ZWJ}ล้น",
                }
            },
            stores_hostile_values=True,
        ),
        Case(
            "1555 Christian-era years where the Buddhist era is promised are quarantined",
            "hotline_1555",
            with_hostile(
                hotline_row("E0001", {"วันที่รับแจ้ง": "15/01/2019 08:30"}),
                hotline_row("E0002", {"วันที่ตอบรับ": "15/01/2019 10:00"}),
            ),
            loaded=40,
            quarantined={
                "E0001": r"วันที่รับแจ้ง \(received\): year 2019 is not Buddhist era",
                "E0002": r"วันที่ตอบรับ \(acknowledged\): year 2019 is not Buddhist era",
            },
        ),
        Case(
            "1555 a year converted to the Buddhist era twice and future dates are quarantined",
            "hotline_1555",
            with_hostile(
                hotline_row(
                    "B0001",
                    {
                        "วันที่รับแจ้ง": "15/01/3105 08:30",
                        "วันที่ตอบรับ": "15/01/3105 10:00",
                        "วันที่ปรับปรุงล่าสุด": "15/01/3105 16:45",
                    },
                ),
                hotline_row(
                    "B0002",
                    {"วันที่รับแจ้ง": _be(future), "วันที่ตอบรับ": _be(future), "วันที่ปรับปรุงล่าสุด": _be(future)},
                ),
                hotline_row("B0003", {"สถานะ": "เสร็จสิ้น", "วันที่ดำเนินการเสร็จ": _be(future)}),
                good=60,
            ),
            loaded=60,
            quarantined={
                "B0001": r"received date before 2010-01-01 or in the future.*update time in the future",
                "B0002": r"received date before 2010-01-01 or in the future",
                "B0003": r"resolved date in the future",
            },
        ),
        Case(
            "1555 swapped coordinates and coordinates outside Bangkok are quarantined",
            "hotline_1555",
            with_hostile(
                hotline_row("C0001", {"พิกัด": "100.5293,13.7246"}),
                hotline_row("C0002", {"พิกัด": "18.7883,98.9853"}),  # Chiang Mai
                hotline_row("C0003", {"พิกัด": "13.7246,200.5"}),
                good=60,
            ),
            loaded=60,
            quarantined={
                "C0001": r"พิกัด \(coordinates\) '100.5293,13.7246' is not a coordinate" + SWAPPED,
                "C0002": r"latitude outside Bangkok.*longitude outside Bangkok",
                "C0003": r"พิกัด \(coordinates\) '13.7246,200.5' is not a coordinate",
            },
        ),
        Case(
            "1555 duplicate ids with different content: the newer row loads, the other is quarantined",
            "hotline_1555",
            with_hostile(_DUPLICATE_NEW, _DUPLICATE_OLD, _DUPLICATE_TIE_A, _DUPLICATE_TIE_B, good=80),
            loaded=82,
            quarantined={
                "D0001": "superseded by a more recent row with the same source id in the same batch",
                "D0002": "superseded by a more recent row with the same source id in the same batch",
            },
            stored={
                "D0001": {"description": "รายงานฉบับแก้ไข", "status": "resolved"},
                "D0002": {"description": "เวอร์ชัน B"},
            },
            stores_hostile_values=True,
        ),
        Case(
            "1555 an added column is ignored with a warning naming it",
            "hotline_1555",
            drop_1555(lambda: hotline_bytes(filler(20), header=_ADDED)),
            loaded=20,
            log=rf"{HOTLINE_FILE} line 1: column\(s\) อีเมลผู้แจ้ง are not in the documented format; ignored",
        ),
        Case(
            "1555 a renamed column fails the file naming the column and line",
            "hotline_1555",
            drop_1555(lambda: hotline_bytes(filler(20), header=_RENAMED)),
            loaded=0,
            error=rf"{HOTLINE_FILE} line 1: missing required column\(s\) เขต \(header: .*เขตพื้นที่",
        ),
        Case(
            "1555 a missing column fails the file naming the column and line",
            "hotline_1555",
            drop_1555(lambda: hotline_bytes(filler(20), header=_MISSING)),
            loaded=0,
            error=rf"{HOTLINE_FILE} line 1: missing required column\(s\) พิกัด \(header:",
        ),
    ]


# -- Traffy Fondue file drops ----------------------------------------------------------------

TRAFFY_FILE = "traffy_fondue_20220601.csv"


def traffy_drop(rows: list[dict[str, str]], header: list[str] | None = None) -> Callable[[Path], None]:
    from test_adapter_traffy_fondue import HEADER, traffy_csv

    def write(data_dir: Path) -> None:
        inbox = data_dir / "inbox" / "traffy_fondue"
        inbox.mkdir(parents=True, exist_ok=True)
        (inbox / TRAFFY_FILE).write_text(traffy_csv(rows, header or HEADER), encoding="utf-8")

    return write


def traffy_filler(count: int) -> list[dict[str, str]]:
    from test_adapter_traffy_fondue import traffy_row

    return [traffy_row(f"2022-F{n:05d}") for n in range(count)]


def traffy_cases() -> list[Case]:
    from test_adapter_traffy_fondue import HEADER, traffy_row

    return [
        Case(
            "Traffy coordinates given lat,lon instead of lon,lat are quarantined as swapped",
            "traffy_fondue",
            traffy_drop(
                [*traffy_filler(40), traffy_row("2022-SWAP01", coords="13.72461,100.52931")],
            ),
            loaded=40,
            quarantined={
                "2022-SWAP01": r"coords '13.72461,100.52931' is not a coordinate \(latitude and longitude swapped\?\)"
            },
        ),
        Case(
            "Traffy a broken set literal, a Buddhist-era timestamp and injections in the tags",
            "traffy_fondue",
            traffy_drop(
                [
                    *traffy_filler(80),
                    traffy_row("2022-SET001", type="{ถนน,ทางเท้า"),
                    traffy_row("2022-BE0001", timestamp="2565-06-01 08:15:31+00"),
                    traffy_row("2022-INJ001", type='{"\'; DROP TABLE complaint; --"}'),
                    traffy_row("2022-INJ002", comment=INJECTIONS[1] + SCRIPT),
                ],
            ),
            loaded=82,
            quarantined={
                "2022-SET001": r"type '\{ถนน,ทางเท้า' is not a set literal",
                "2022-BE0001": r"timestamp '2565-06-01 08:15:31\+00' is not a plausible date",
            },
            stored={
                "2022-INJ002": {"description": INJECTIONS[1] + SCRIPT},
                # a tag no crosswalk line names: loaded as 'unmapped', the raw label stored verbatim as data
                "2022-INJ001": {"category_code": "unmapped", "unmapped_category": "'; DROP TABLE complaint; --"},
            },
            stores_hostile_values=True,
        ),
        Case(
            "Traffy a renamed column fails the file naming it",
            "traffy_fondue",
            traffy_drop(traffy_filler(5), [("coordinates" if h == "coords" else h) for h in HEADER]),
            loaded=0,
            error=rf"{TRAFFY_FILE} line 1: missing required column\(s\) coords",
        ),
    ]


# -- LINE events from the local API server ---------------------------------------------------


def line_events(events: list[dict[str, Any]]) -> Callable[[Path], None]:
    def write(data_dir: Path) -> None:
        (data_dir / "sources").mkdir(parents=True, exist_ok=True)
        (data_dir / "sources" / "line_events.json").write_text(json.dumps(events, ensure_ascii=False), "utf-8")

    return write


def line_cases() -> list[Case]:
    from adapter_fixtures import START
    from test_adapter_line import _event

    def event(n: int, **changes: Any) -> dict[str, Any]:
        return _event(n, START + timedelta(hours=1, minutes=n % 600), **changes)

    injected = {
        "webhookEventId": INJECTIONS[0],
        "source__userId": INJECTIONS[1],
        "message__text": INJECTIONS[2] + SCRIPT,
        "complaint__resolution": INJECTIONS[3],
        "complaint__assignedUnit": INJECTIONS[4],
        "location__address": INJECTIONS[5],
    }
    be_as_ce = int(datetime(2562, 1, 15, 9, tzinfo=BANGKOK).timestamp() * 1000)
    return [
        Case(
            "LINE SQL injection and script in every text field, a Buddhist-era year read as CE, a renamed field",
            "line",
            line_events(
                [
                    *[event(n) for n in range(60)],
                    event(900, **injected),
                    event(901, complaint__district=INJECTIONS[0]),
                    event(902, timestamp=be_as_ce),
                    {**{k: v for k, v in event(903).items() if k != "webhookEventId"}, "eventId": "01HQLINE000903"},
                ],
            ),
            loaded=61,
            quarantined={
                "01HQLINE000901": "unknown or missing district",
                "01HQLINE000902": r"timestamp \d+ is not plausible epoch milliseconds \(not between 2000 and 2100\)",
                None: "missing webhookEventId",
            },
            stored={
                INJECTIONS[0]: {
                    "description": INJECTIONS[2] + SCRIPT,
                    "resolution_report": INJECTIONS[3],
                    "responsible_unit": None,
                }
            },
            stores_hostile_values=True,
        ),
    ]


# -- MIS rows --------------------------------------------------------------------------------


def mis_rows(complaints: list[dict[str, Any]]) -> Callable[[Path], None]:
    from adapter_fixtures import empty_sqlite_mis
    from test_adapter_mis import _insert

    def write(data_dir: Path) -> None:
        _insert(empty_sqlite_mis(data_dir), complaints, [])

    return write


def mis_cases() -> list[Case]:
    from test_adapter_mis import _complaint

    updated = datetime(2019, 1, 15, 10, 0)
    return [
        Case(
            "MIS a Buddhist-era year 2562 stored as a Christian-era date does not pass",
            "mis",
            mis_rows(
                [
                    *[_complaint(f"BR-{n:04d}", updated) for n in range(40)],
                    _complaint("BR-2562", updated, received_at=datetime(2562, 1, 14, 9, 30)),
                    _complaint("BR-INJ", updated, detail=INJECTIONS[3], district_name=INJECTIONS[0]),
                ]
            ),
            loaded=40,
            quarantined={
                "BR-2562": r"received date before 2010-01-01 or in the future.*updated before received",
                "BR-INJ": "unknown or missing district",
            },
            stores_hostile_values=True,
        ),
    ]


def all_cases() -> list[Case]:
    return [*hotline_cases(), *traffy_cases(), *line_cases(), *mis_cases()]
