"""1555 hotline adapter: daily export files dropped into ``<data>/inbox/1555/``.

Files are ``1555_YYYYMMDD*.csv`` or ``.xlsx`` (CE export date). CSV comes as UTF-8 (with or
without BOM) or Windows-874/TIS-620, with Thai headers (see docs/architecture.md); dates
are ``dd/mm/yyyy HH:MM`` in the Buddhist era. A CSV file of at most ``chunk_rows`` rows
(channel setting, default 50,000) is one part and one batch whose ``source_part`` is the file
name; a larger one (a backfill of months in one file) is read in chunks of that many rows,
each one part and one batch, as the Traffy Fondue exports are (``_csv_chunks``), so memory
holds one chunk whatever the file's size. Every batch of a file carries the sha256 of the
whole file's bytes as ``checksum`` (the loader uses it to count a file delivered twice only
once). An .xlsx workbook is one part, read whole. ``after_load`` moves the file to
``<data>/archive/1555/`` once all its parts have loaded.

A file that cannot be read as a whole (undecodable, truncated, missing columns, not a
workbook) raises ``SourceError`` naming the file (and line); a row that cannot be parsed
becomes a ``RejectedRow`` whose raw content has the reporter's name and phone pseudonymised.
"""

from __future__ import annotations

import codecs
import csv
import logging
import re
import threading
import zipfile
from dataclasses import dataclass
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
from complaints.adapters._csv_chunks import (
    Chunk,
    Decoder,
    FileRuns,
    Lines,
    Scan,
    chunk_rows,
    file_sha256,
    parse_span,
)
from complaints.adapters._csv_chunks import scan as scan_chunks
from complaints.canonical import CanonicalComplaint, ExtractedBatch, RejectedRow
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

_runs = FileRuns("1555")  # the parts of each file planned in this process, and those loaded


def plan(request: ExtractRequest) -> list[str]:
    """The parts of every inbox file whose name date is before the interval end (Bangkok date),
    oldest first.

    A CSV file of at most ``chunk_rows`` rows is one part named by the file; a larger one is
    planned as chunks (``<file>#<first_row>-<last_row>@<start>-<end>``, see ``_csv_chunks``),
    found by one streaming pass over it. An .xlsx workbook is one part, read whole. A file that
    cannot be parsed is planned by its name, so that ``read`` raises its problem. Files whose
    names do not follow ``1555_YYYYMMDD*.csv|.xlsx`` are planned too, last, so that ``read``
    fails them loudly instead of leaving them unnoticed in the inbox. Hidden files (``.name``)
    are ignored.
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
    parts: list[str] = []
    for _, name in sorted(dated):
        path = inbox / name
        if not _is_csv(path):
            parts.append(name)
            continue
        try:
            found = _scan(path, chunk_rows(request))
        except SourceError as exc:
            log.error("1555: %s", exc)
            parts.append(name)  # read() reports the problem as this part's failure
            continue
        file_parts = _parts(name, found)
        _runs.planned(path, found.checksum, file_parts)
        if len(file_parts) > 1:
            log.info("1555 %s: %d rows in %d chunks", name, found.chunks[-1].last_row, len(file_parts))
        parts += file_parts
    return parts + sorted(odd)


def read(request: ExtractRequest, part: str) -> ExtractedBatch:
    """One part: a whole file (its name) or one chunk of a large CSV file (``<file>#<span>``).

    The batch's ``checksum`` is the whole file's sha256 and its ``file_name`` the file, so a
    file delivered twice counts once while the chunks of one file load one after another.
    """
    name, _, span = part.partition("#")  # valid file names hold no '#'
    path = _inbox(request) / name
    if _name_date(name) is None:
        raise SourceError(
            f"{_inbox(request) / part}: file name does not match 1555_YYYYMMDD.csv or 1555_YYYYMMDD.xlsx "
            "(a valid CE export date); rename or remove it"
        )
    if not path.is_file():
        raise SourceError(f"{path}: cannot read the file: it is no longer in the inbox")
    if not _is_csv(path):
        return _read_workbook(request, path, part)
    found = _scan(path, chunk_rows(request))
    _runs.check_unchanged(path, found.checksum)
    chunks = found.chunks  # the bare file name: the whole file
    if span:
        chunk = parse_span(span)
        if chunk is None:
            raise SourceError(f"1555 part {part!r} is not '<file>#<first_row>-<last_row>@<start>-<end>'")
        chunks = [c for c in found.chunks if c == chunk]
        if not chunks:
            raise SourceError(
                f"{path}: rows {chunk.first_row}-{chunk.last_row} were planned in bytes {chunk.start}-{chunk.end} "
                "but the file no longer has them there: it changed since it was planned; re-run"
            )
    batch = ExtractedBatch(channel=request.channel.code, source_part=part, checksum=found.checksum, file_name=name)
    for chunk in chunks:
        _read_chunk(request, path, found, chunk, batch)
    return batch


def after_load(request: ExtractRequest, part: str, batch: ExtractedBatch) -> None:
    """Move the file from the inbox to the archive (also after a skipped duplicate delivery)
    once every part of it has loaded.

    A name already in the archive gets a ``.1``, ``.2``... suffix. A file whose bytes changed
    since it was read (re-delivered meanwhile) is left in the inbox for the next run.
    """
    name = batch.file_name or part.partition("#")[0]
    source = _inbox(request) / name
    if not source.is_file():
        log.warning("1555 %s is no longer in the inbox; nothing to archive", source)
        return

    def replan() -> tuple[str, list[str]]:
        if not _is_csv(source):
            return file_sha256(source), [name]
        found = _scan(source, chunk_rows(request))
        return found.checksum, _parts(name, found)

    checksum = batch.checksum or file_sha256(source)
    if _runs.complete_after(source, part, checksum, replan):
        archive_file(source, drop_folder(request, "archive_subdir", "archive/1555", "1555"), "1555")


# -- files -----------------------------------------------------------------------------------


def _inbox(request: ExtractRequest) -> Path:
    return drop_folder(request, "inbox_subdir", "inbox/1555", "1555")


def _name_date(name: str) -> date | None:
    return name_date(FILE_PATTERN, name)


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def _parts(name: str, found: _Found) -> list[str]:
    """A file of one chunk is one part named by the file (as before chunking); else its chunks."""
    return [name] if len(found.chunks) == 1 else [chunk.part(name) for chunk in found.chunks]


def _where(offset: int, byte: int, line: int) -> str:
    return f"byte 0x{byte:02X} at offset {offset} (line {line})"


def _looks_like_utf16(head: bytes) -> bool:
    """A UTF-16 byte-order mark, or NUL in a third or more of the first 1,000 bytes (a stray NUL
    in a cell is not an encoding: it is stripped from the text like any other)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    head = head[:1000]
    return len(head) >= 20 and head.count(0) * 3 >= len(head)


def _is_cp874(byte: int) -> bool:
    try:
        bytes([byte]).decode("cp874")
    except UnicodeDecodeError:
        return False
    return True


_THAI_UTF8 = re.compile(rb"\xe0[\xb8\xb9][\x80-\xbf]")
_CP874_VALID = bytes(b for b in range(256) if _is_cp874(b))


class _Sniffer:
    """Decides a CSV file's encoding line by line while it is scanned, as one look at its whole
    bytes would: UTF-8 (BOM or not), else Windows-874/TIS-620; SourceError otherwise.

    Until the encoding is known the lines are decoded as UTF-8 with undecodable bytes kept as
    surrogates: the CSV structure is ASCII either way, and a field is as many characters as it
    will be (Windows-874 is one byte a character)."""

    def __init__(self, path: Path, bom: bool) -> None:
        self.path, self.bom = path, bom
        self.newlines = 0  # "\n" before the line being decoded
        self.utf8_error: tuple[int, int, int] | None = None  # (offset, byte, line) of the first non-UTF-8 byte
        self.cp874_error: tuple[int, int, int] | None = None

    def decode(self, raw: bytes, at: int) -> str:
        line = self.newlines + 1
        self.newlines += raw.endswith(b"\n")
        if self.cp874_error is None:
            undecodable = raw.translate(None, _CP874_VALID)
            if undecodable:
                position = raw.index(undecodable[:1])
                self.cp874_error = (at + position, raw[position], line)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.utf8_error is None:
                self.utf8_error = (at + exc.start, raw[exc.start], line)
            return raw.decode("utf-8", errors="surrogateescape")

    def encoding(self) -> str:
        """The file's encoding once every line has been decoded."""
        path = self.path
        if self.utf8_error is None:
            return "utf-8"
        utf8_where = _where(*self.utf8_error)
        if self.bom:
            raise SourceError(f"{path}: starts with a UTF-8 BOM but {utf8_where} is not UTF-8")
        # Thai in UTF-8 is E0 B8/B9 xx. A file full of those with a few bad bytes is damaged
        # UTF-8, and decoding it as Windows-874 would turn all its Thai into mojibake.
        thai_utf8, bad = self._utf8_damage()
        if thai_utf8 > 10 * bad:
            raise SourceError(f"{path}: UTF-8 text with an invalid {utf8_where}: the file is damaged")
        if self.cp874_error is None:
            return "cp874"
        cp874_where = _where(*self.cp874_error)
        raise SourceError(
            f"{path}: neither UTF-8 (invalid {utf8_where}) nor Windows-874/TIS-620 (invalid {cp874_where})"
        )

    def _utf8_damage(self) -> tuple[int, int]:
        """(Thai characters in UTF-8, characters a lenient UTF-8 decode replaces) in the whole file:
        another pass, only for a file that is not valid UTF-8."""
        thai = bad = 0

        def tally(raw: bytes, at: int) -> str:
            nonlocal thai, bad
            thai += len(_THAI_UTF8.findall(raw))
            bad += raw.decode("utf-8", errors="replace").count("\ufffd")
            return ""

        with self.path.open("rb") as fh:
            for _ in Lines(fh, self.path, decode=tally):
                pass
        return thai, bad


@dataclass
class _Found:
    """A scanned CSV file: its chunks and checksum, its encoding and its columns."""

    checksum: str
    encoding: str
    columns: list[str]
    chunks: list[Chunk]
    last_row: int  # the last row with a non-blank field


_scans: dict[str, tuple[tuple[int, int, int], _Found]] = {}  # path -> ((size, mtime_ns, chunk_rows), scan)
_scans_lock = threading.Lock()


def _scan(path: Path, rows_per_chunk: int) -> _Found:
    """One streaming pass over a CSV file (remembered per path, size, mtime and chunk size): its
    encoding, checksum, columns and chunks; SourceError naming the file (and line) when it
    cannot be read. Problems are reported in the order one look at the whole file gives them:
    its encoding first, then its CSV structure, then its header."""
    try:
        stat = path.stat()
        with path.open("rb") as fh:
            head = fh.read(1000)
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the file: {exc}") from None
    version = (stat.st_size, stat.st_mtime_ns, rows_per_chunk)
    with _scans_lock:
        known = _scans.get(str(path))
    if known and known[0] == version:
        return known[1]
    if _looks_like_utf16(head):
        # Excel's "Unicode text": every other byte NUL. As Windows-874 it would "decode" to control
        # characters and fail later as a header without a single known column.
        raise SourceError(
            f"{path}: UTF-16 text (a UTF-16 byte-order mark or NUL bytes between the characters): "
            "export the file as UTF-8 or Windows-874 CSV"
        )
    sniffer = _Sniffer(path, bom=head.startswith(codecs.BOM_UTF8))
    try:
        found = scan_chunks(
            path, rows_per_chunk, decode=sniffer.decode, next_record=_next_record, skip_blank_before_header=True
        )
    except SourceError:
        # the structure broke before the end: an encoding problem anywhere in the file comes first
        sniffer = _Sniffer(path, bom=sniffer.bom)
        with path.open("rb") as fh:
            for _ in Lines(fh, path, decode=sniffer.decode):
                pass
        sniffer.encoding()
        raise
    encoding = sniffer.encoding()
    header = found.header
    if encoding != "utf-8":  # the scan decoded it provisionally: read it again as what it is
        header = _read_header(path, found, encoding)
    result = _Found(
        found.checksum, encoding, _check_header(path, found.header_line, header), found.chunks, found.last_row
    )
    with _scans_lock:
        _scans[str(path)] = (version, result)
    return result


def _read_header(path: Path, found: Scan, encoding: str) -> list[str]:
    with path.open("rb") as fh:
        lines = Lines(fh, path, found.header_start, found.chunks[0].start, decode=_decoder(path, encoding))
        return next(csv.reader(lines, strict=True))


def _decoder(path: Path, encoding: str) -> Decoder:
    """Lines in the encoding the scan found; a line that is not means the file changed since."""

    def decode(raw: bytes, at: int) -> str:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{path}: byte {at + exc.start} is not {encoding} as the rest of the file: "
                "it changed since it was planned; re-run to read it"
            ) from None

    return decode


def _next_record(reader: Any, lines: Lines, row: int) -> list[str] | None:
    """The next CSV record (None at the end); malformed CSV is a SourceError naming the lines."""
    start = lines.line + 1
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        where = f"line {lines.line}"
        if lines.line != start:
            where += f" (in the record starting at line {start})"
        raise SourceError(f"{lines.path} {where}: malformed CSV ({exc}); the file is probably truncated") from None


def _read_chunk(request: ExtractRequest, path: Path, found: _Found, chunk: Chunk, batch: ExtractedBatch) -> None:
    """The rows of one chunk into ``batch``; blank rows are skipped."""
    columns = found.columns
    row = chunk.first_row - 1
    with path.open("rb") as fh:
        lines = Lines(fh, path, chunk.start, chunk.end, decode=_decoder(path, found.encoding), first_line=chunk.line)
        reader = csv.reader(lines, strict=True)
        while True:
            line = lines.line + 1
            cells = _next_record(reader, lines, row + 1)
            if cells is None:
                break
            row += 1
            if row > chunk.last_row:
                break
            if not any(cell.strip() for cell in cells):
                continue
            shape_problem = None
            if len(cells) < len(columns):
                if row == found.last_row:
                    raise SourceError(
                        f"{path} line {line}: the last row has {len(cells)} of {len(columns)} fields: "
                        "the file is truncated"
                    )
                shape_problem = f"row has {len(cells)} fields, the header has {len(columns)}"
            extra = [c for c in cells[len(columns) :] if c.strip()]
            if extra:
                shape_problem = f"row has {len(cells)} fields, the header has {len(columns)}"
            add_to_batch(batch, _convert(request, dict(zip(columns, cells, strict=False)), line, shape_problem, extra))
    if row != chunk.last_row or lines.offset != chunk.end:
        raise SourceError(
            f"{path}: rows {chunk.first_row}-{chunk.last_row} were planned in bytes {chunk.start}-{chunk.end} "
            "but the file no longer has them there: it changed since it was planned; re-run"
        )


def _read_workbook(request: ExtractRequest, path: Path, part: str) -> ExtractedBatch:
    """An .xlsx export, read whole (one part): openpyxl's read-only mode streams the sheet, but
    a daily workbook is small and Excel caps a sheet at about a million rows."""
    header_line, header, rows = _xlsx_rows(path)
    columns = _check_header(path, header_line, header)
    batch = ExtractedBatch(
        channel=request.channel.code, source_part=part, checksum=file_sha256(path), file_name=path.name
    )
    for line, cells in rows:
        if len(cells) < len(columns):  # a worksheet row may simply end before its trailing empty cells
            cells = cells + [None] * (len(columns) - len(cells))
        extra = [c for c in cells[len(columns) :] if c is not None and str(c).strip()]
        shape_problem = f"row has {len(cells)} fields, the header has {len(columns)}" if extra else None
        add_to_batch(batch, _convert(request, dict(zip(columns, cells, strict=False)), line, shape_problem, extra))
    return batch


def _xlsx_rows(path: Path) -> tuple[int, list[Any], list[tuple[int, list[Any]]]]:
    """(header row, header, [(row number, cells)]) of the first worksheet; empty rows are skipped."""
    import openpyxl  # only 1555 needs it; keeps importing the other adapters light
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
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
