"""1555 hotline adapter: daily export files dropped into ``<data>/inbox/1555/``.

Files are ``1555_YYYYMMDD*.csv`` or ``.xlsx`` (CE export date). CSV comes as UTF-8 (with or
without BOM) or Windows-874/TIS-620, with Thai headers (see docs/architecture.md); dates
are ``dd/mm/yyyy HH:MM`` in the Buddhist era. One file is one part and one batch:
``source_part`` is the file name and ``checksum`` the sha256 of its bytes (the loader uses
it to count a file delivered twice only once). ``after_load`` moves the file to
``<data>/archive/1555/``.

A file that cannot be read as a whole (undecodable, truncated, missing columns, not a
workbook) raises ``SourceError`` naming the file (and line); a row that cannot be parsed
becomes a ``RejectedRow`` whose raw content has the reporter's name and phone pseudonymised.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from complaints.adapters import ExtractRequest, SourceError
from complaints.adapters._common import (
    LATITUDE_LIMIT,
    LONGITUDE_LIMIT,
    add_to_batch,
    archive_file,
    canonical_record,
    clean_text,
    drop_folder,
    is_coordinate,
    name_date,
    rejected,
    swap_hint,
)
from complaints.canonical import CanonicalComplaint, ExtractedBatch, RejectedRow, sha256_of
from complaints.config import match_key
from complaints.thai_time import BANGKOK, BE_OFFSET, DateParseError, parse_be_datetime, to_bangkok

log = logging.getLogger(__name__)

FILE_PATTERN = re.compile(r"^1555_(\d{4})(\d{2})(\d{2})[^/\\]*\.(csv|xlsx)$", re.IGNORECASE)

TICKET_NO = "เลขที่รับแจ้ง"
RECEIVED = "วันที่รับแจ้ง"
REPORTER_NAME = "ชื่อผู้แจ้ง"
REPORTER_PHONE = "เบอร์โทรศัพท์"
DISTRICT = "เขต"
CATEGORY = "ประเภทเรื่อง"
DESCRIPTION = "รายละเอียด"
COORDINATES = "พิกัด"
UNIT = "หน่วยงานรับผิดชอบ"
STATUS = "สถานะ"
ACKNOWLEDGED = "วันที่ตอบรับ"
RESOLVED = "วันที่ดำเนินการเสร็จ"
RESOLUTION = "ผลการดำเนินการ"
UPDATED = "วันที่ปรับปรุงล่าสุด"

# Every documented column: a file without one of them is a changed export format, and
# loading it would silently lose that column's data.
REQUIRED_COLUMNS: tuple[str, ...] = (
    TICKET_NO,
    RECEIVED,
    REPORTER_NAME,
    REPORTER_PHONE,
    DISTRICT,
    CATEGORY,
    DESCRIPTION,
    COORDINATES,
    UNIT,
    STATUS,
    ACKNOWLEDGED,
    RESOLVED,
    RESOLUTION,
    UPDATED,
)
PERSONAL_FIELDS = (REPORTER_NAME, REPORTER_PHONE)
_GLOSS = {
    TICKET_NO: "ticket number",
    RECEIVED: "received",
    COORDINATES: "coordinates",
    ACKNOWLEDGED: "acknowledged",
    RESOLVED: "resolved",
    UPDATED: "last update",
}
_HEADER_KEYS = {match_key(name): name for name in REQUIRED_COLUMNS}
LINE_KEY = "_line"  # added to quarantined raw rows: where the row is in the file


# -- plan / read / after_load ----------------------------------------------------------------


def plan(request: ExtractRequest) -> list[str]:
    """Inbox files whose name date is before the interval end (Bangkok date), oldest first.

    Files whose names do not follow ``1555_YYYYMMDD*.csv|.xlsx`` are planned too, last, so
    that ``read`` fails them loudly instead of leaving them unnoticed in the inbox.
    Hidden files (``.name``) are ignored.
    """
    inbox = _inbox(request)
    if not inbox.is_dir():
        log.warning("1555 inbox %s does not exist: nothing to read", inbox)
        return []
    end_day = to_bangkok(request.interval_end).date()
    dated: list[tuple[date, str]] = []
    odd: list[str] = []
    for path in inbox.iterdir():
        if path.name.startswith(".") or not path.is_file():
            continue
        day = _name_date(path.name)
        if day is None:
            odd.append(path.name)
        elif day < end_day:
            dated.append((day, path.name))
    return [name for _, name in sorted(dated)] + sorted(odd)


def read(request: ExtractRequest, part: str) -> ExtractedBatch:
    path = _inbox(request) / part
    if _name_date(part) is None:
        raise SourceError(
            f"{path}: file name does not match 1555_YYYYMMDD.csv or 1555_YYYYMMDD.xlsx "
            "(a valid CE export date); rename or remove it"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the file: {exc}") from None
    if path.suffix.lower() == ".csv":
        header_line, header, rows = _csv_rows(path, data)
    else:
        header_line, header, rows = _xlsx_rows(path, data)
    columns = _check_header(path, header_line, header)

    batch = ExtractedBatch(channel=request.channel.code, source_part=part, checksum=sha256_of(data))
    is_csv = path.suffix.lower() == ".csv"
    last_line = rows[-1][0] if rows else None
    for line, cells in rows:
        shape_problem = None
        if len(cells) < len(columns):
            if not is_csv:  # a worksheet row may simply end before its trailing empty cells
                cells = cells + [None] * (len(columns) - len(cells))
            elif line == last_line:
                raise SourceError(
                    f"{path} line {line}: the last row has {len(cells)} of {len(columns)} fields: the file is truncated"
                )
            else:
                shape_problem = f"row has {len(cells)} fields, the header has {len(columns)}"
        extra = [c for c in cells[len(columns) :] if c is not None and str(c).strip()]
        if extra:
            shape_problem = f"row has {len(cells)} fields, the header has {len(columns)}"
        add_to_batch(batch, _convert(request, dict(zip(columns, cells, strict=False)), line, shape_problem, extra))
    return batch


def after_load(request: ExtractRequest, part: str, batch: ExtractedBatch) -> None:
    """Move the file from the inbox to the archive (also after a skipped duplicate delivery).

    A name already in the archive gets a ``.1``, ``.2``... suffix. A file whose bytes changed
    since it was read (re-delivered meanwhile) is left in the inbox for the next run.
    """
    source = _inbox(request) / part
    if not source.is_file():
        log.warning("1555 %s is no longer in the inbox; nothing to archive", source)
        return
    if batch.checksum and sha256_of(source.read_bytes()) != batch.checksum:
        log.warning("1555 %s changed since it was read; left in the inbox for the next run", source)
        return
    archive_file(source, drop_folder(request, "archive_subdir", "archive/1555", "1555"), "1555")


# -- files -----------------------------------------------------------------------------------


def _inbox(request: ExtractRequest) -> Path:
    return drop_folder(request, "inbox_subdir", "inbox/1555", "1555")


def _name_date(name: str) -> date | None:
    return name_date(FILE_PATTERN, name)


def _where(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    return f"byte 0x{data[offset]:02X} at offset {offset} (line {line})"


def _looks_like_utf16(data: bytes) -> bool:
    """A UTF-16 byte-order mark, or NUL in a third or more of the first 1,000 bytes (a stray NUL
    in a cell is not an encoding: it is stripped from the text like any other)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    head = data[:1000]
    return len(head) >= 20 and head.count(0) * 3 >= len(head)


def decode_csv_bytes(path: Path, data: bytes) -> str:
    """Text of a CSV export: UTF-8 (BOM or not), else Windows-874/TIS-620; SourceError otherwise."""
    if _looks_like_utf16(data):
        # Excel's "Unicode text": every other byte NUL. As Windows-874 it would "decode" to control
        # characters and fail later as a header without a single known column.
        raise SourceError(
            f"{path}: UTF-16 text (a UTF-16 byte-order mark or NUL bytes between the characters): "
            "export the file as UTF-8 or Windows-874 CSV"
        )
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError as exc:
            where = _where(data, exc.start + len(codecs.BOM_UTF8))
            raise SourceError(f"{path}: starts with a UTF-8 BOM but {where} is not UTF-8") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf8_where = _where(data, exc.start)
    # Thai in UTF-8 is E0 B8/B9 xx. A file full of those with a few bad bytes is damaged
    # UTF-8, and decoding it as Windows-874 would turn all its Thai into mojibake.
    thai_utf8 = len(re.findall(rb"\xe0[\xb8\xb9][\x80-\xbf]", data))
    bad = data.decode("utf-8", errors="replace").count("\ufffd")
    if thai_utf8 > 10 * bad:
        raise SourceError(f"{path}: UTF-8 text with an invalid {utf8_where}: the file is damaged")
    try:
        return data.decode("cp874")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: neither UTF-8 (invalid {utf8_where}) nor Windows-874/TIS-620 (invalid {_where(data, exc.start)})"
        ) from None


def _csv_rows(path: Path, data: bytes) -> tuple[int, list[Any], list[tuple[int, list[Any]]]]:
    """(header line, header, [(line, fields)]) of a CSV file; blank rows are skipped."""
    reader = csv.reader(io.StringIO(decode_csv_bytes(path, data), newline=""), strict=True)
    rows: list[tuple[int, list[Any]]] = []
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            where = f"line {reader.line_num}"
            if reader.line_num != start:
                where += f" (in the record starting at line {start})"
            raise SourceError(f"{path} {where}: malformed CSV ({exc}); the file is probably truncated") from None
        if any(str(f).strip() for f in fields):
            rows.append((start, fields))
    if not rows:
        raise SourceError(f"{path}: the file is empty (no header row)")
    return rows[0][0], rows[0][1], rows[1:]


def _xlsx_rows(path: Path, data: bytes) -> tuple[int, list[Any], list[tuple[int, list[Any]]]]:
    """(header row, header, [(row number, cells)]) of the first worksheet; empty rows are skipped."""
    import openpyxl  # only 1555 needs it; keeps importing the other adapters light
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise SourceError(f"{path}: not a readable .xlsx workbook ({exc}); the file may be truncated") from None
    try:
        sheet = workbook.worksheets[0]
        rows = [
            (number, list(cells))
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1)
            if any(c is not None and str(c).strip() for c in cells)
        ]
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SourceError(f"{path}: cannot read the first worksheet ({exc})") from None
    finally:
        workbook.close()
    if not rows:
        raise SourceError(f"{path}: the first worksheet is empty (no header row)")
    return rows[0][0], rows[0][1], rows[1:]


def _check_header(path: Path, line: int, header: list[Any]) -> list[str]:
    """Column names in file order, documented ones spelled canonically; SourceError if any is missing."""
    columns = []
    for cell in header:
        name = "" if cell is None else str(cell)
        columns.append(_HEADER_KEYS.get(match_key(name), name.strip()))
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise SourceError(
            f"{path} line {line}: missing required column(s) {', '.join(missing)} "
            f"(header: {', '.join(c for c in columns if c)})"
        )
    added = [c for c in columns if c and c not in REQUIRED_COLUMNS]
    if added:  # the export format grew: nothing is lost by loading, but someone should map them
        log.warning("%s line %d: column(s) %s are not in the documented format; ignored", path, line, ", ".join(added))
    return columns


# -- rows ------------------------------------------------------------------------------------


def _label(column: str) -> str:
    return f"{column} ({_GLOSS[column]})" if column in _GLOSS else column


def _convert(
    request: ExtractRequest, row: dict[str, Any], line: int, shape_problem: str | None, extra: list[Any]
) -> CanonicalComplaint | RejectedRow:
    problems: list[str] = []
    source_id = _ticket(row.get(TICKET_NO))
    if shape_problem:  # the fields are not where the header says: reading them would only mislead
        return _reject(request, row, line, extra, source_id, [shape_problem])
    if source_id is None:
        problems.append(f"missing {_label(TICKET_NO)}")
    received_at = _be_datetime(row.get(RECEIVED), RECEIVED, problems, required=True)
    updated_at = _be_datetime(row.get(UPDATED), UPDATED, problems, required=True)
    acknowledged_at = _be_datetime(row.get(ACKNOWLEDGED), ACKNOWLEDGED, problems)
    resolved_at = _be_datetime(row.get(RESOLVED), RESOLVED, problems)
    latitude, longitude = _lat_lon(row.get(COORDINATES), problems)

    if problems:
        return _reject(request, row, line, extra, source_id, problems)

    return canonical_record(
        request,
        source_id=source_id,
        received_at=received_at,
        updated_at=updated_at,
        district=_text(row.get(DISTRICT)),
        category=_text(row.get(CATEGORY)),
        unit=_text(row.get(UNIT)),
        status=_text(row.get(STATUS)),
        description=_text(row.get(DESCRIPTION)),
        latitude=latitude,
        longitude=longitude,
        reporter=_phone(row.get(REPORTER_PHONE)) or _text(row.get(REPORTER_NAME)),
        acknowledged_at=acknowledged_at,
        resolved_at=resolved_at,
        resolution=_text(row.get(RESOLUTION)),
    )


def _reject(
    request: ExtractRequest,
    row: dict[str, Any],
    line: int,
    extra: list[Any],
    source_id: str | None,
    problems: list[str],
) -> RejectedRow:
    """The row as read, with its surplus fields and its line in the file, for quarantine."""
    raw = dict(row)
    if extra:
        raw["_extra_fields"] = list(extra)
    raw[LINE_KEY] = line
    return rejected(request, source_id, problems, raw, PERSONAL_FIELDS)


def _text(value: Any) -> str | None:
    """A cell as clean text (see ``clean_text``); an .xlsx number cell that is a whole number
    reads without its ``.0``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(value)


def _ticket(value: Any) -> str | None:
    return _text(value)  # an .xlsx number cell 15550001.0 reads as "15550001"


def _phone(value: Any) -> str | None:
    """The phone as text; a number cell of an .xlsx has lost its leading 0 (812345678 → 0812345678)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = _text(value)
        return "0" + text if text and text.isdigit() and len(text) in (8, 9) else text
    return _text(value)


def _be_datetime(value: Any, column: str, problems: list[str], *, required: bool = False) -> datetime | None:
    """A ``dd/mm/yyyy HH:MM`` Buddhist-era cell (or an .xlsx date cell) as an aware Bangkok datetime."""
    if isinstance(value, datetime):  # an .xlsx date cell: a real date, BE if its year says so
        try:
            naive = value.replace(year=value.year - BE_OFFSET) if value.year >= 2400 else value
        except ValueError as exc:
            problems.append(f"{_label(column)}: impossible date {value.isoformat(sep=' ')}: {exc}")
            return None
        return naive.replace(tzinfo=BANGKOK) if naive.tzinfo is None else naive.astimezone(BANGKOK)
    if isinstance(value, date):
        return _be_datetime(datetime(value.year, value.month, value.day), column, problems, required=required)
    text = _text(value)
    if text is None:
        if required:
            problems.append(f"missing {_label(column)}")
        return None
    try:
        return parse_be_datetime(text)
    except DateParseError as exc:
        problems.append(f"{_label(column)}: {exc}")
        return None


def _lat_lon(value: Any, problems: list[str]) -> tuple[float | None, float | None]:
    text = _text(value)
    if text is None:
        return None, None
    parts = [p.strip() for p in text.split(",")]
    try:
        if len(parts) != 2:
            raise ValueError
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        problems.append(f"{_label(COORDINATES)} {text!r} is not 'lat,lon'")
        return None, None
    if not (is_coordinate(lat, LATITUDE_LIMIT) and is_coordinate(lon, LONGITUDE_LIMIT)):
        problems.append(f"{_label(COORDINATES)} {text!r} is not a coordinate{swap_hint(lat, lon)}")
        return None, None
    return lat, lon
