"""Traffy Fondue adapter: the platform's open-data CSV exports dropped into ``<data>/inbox/traffy_fondue/``.

Files are ``traffy_fondue_YYYYMMDD*.csv`` (CE export date), UTF-8 with or without BOM, in one of
two layouts, told apart by the header and read by column name (never by position):

* the **public open-data export** (``ticket_id, type, organization, comment, coords, photo,
  photo_after, address, subdistrict, district, province, timestamp, state, star, count_reopen,
  last_activity``; a real one is described in /work/shared/realdata/traffy/README.md);
* the **agency export of the Exchange API** (``GET /download-issues/v2``, NECTEC's
  traffy-nectec/exchange-api-doc: ``description`` for comment, ``latitude``/``longitude`` for
  coords, ``status`` for state, plus ``timestamp_finished`` and others).

An export can be hundreds of MB, so a file is read in **chunks** of at most ``chunk_rows`` rows
(channel setting, default 50,000), each chunk one part and one batch, and memory holds one
chunk at a time:

* ``plan`` streams each due file once (the stdlib CSV parser over a byte-counting line
  reader, the same one ``read`` uses, so quoted multi-line comments never split a chunk),
  computing its sha256 and the byte offset where every chunk starts. A part is
  ``"<file>#<first_row>-<last_row>@<start_byte>-<end_byte>"``: rows are the file's data
  rows numbered from 1 after the header; bytes are the chunk's span in the file.
* ``read`` seeks to the chunk's first byte and parses up to its last: the batch's
  ``source_part`` is the part, its ``checksum`` the **whole file's** sha256 and its
  ``file_name`` the file, so the loader counts a file delivered twice once while the
  chunks of one file load one after another (distinct batch ids). A chunk whose rows do not
  end where ``plan`` found them (the file changed since) fails with ``SourceError``.
* ``after_load`` moves the file to ``<data>/archive/traffy_fondue/`` only once *every*
  chunk of it has loaded in the run; a chunk held by the quarantine threshold or unreadable
  leaves the file in the inbox, and the next run reads all its chunks again (idempotently).

Rows: ``type`` is a set literal (``{ถนน,ทางเท้า}``, ``{}``) or a plain list; ``organization`` a
plain comma list in the real exports (``เขตพระโขนง,ฝ่ายเทศกิจ เขตพระโขนง``; ``", "`` in the
Exchange API's) or a set literal; ``coords`` is ``"lon,lat"``; ``timestamp``/``last_activity``
are UTC with fractional seconds and a ``+00`` offset in the open data (no offset: read as UTC
too), but naive **Bangkok time (UTC+7)** in the Exchange API's layout (its docs); ``state`` is
Thai. Tags, organizations and misspelled districts map through the channel's ``crosswalk:`` and
the shared aliases (include/config/pipeline.yaml); states by their Exchange API ``status_type``
(:func:`traffy_status`), else the label crosswalk. A label that maps to nothing is kept as
``unmapped`` with its raw value (``keep_unmapped_values``), never a silent NULL. A matter gets
one primary category (the first of its tags' categories in ``category_priority``), the others go
to ``secondary_categories``. ``star`` (0: not rated) and ``count_reopen`` are kept. A province
is matched with or without ``จังหวัด``; a row outside Bangkok is quarantined with that reason.
``last_activity`` up to ``clock_skew_tolerance_seconds`` before ``timestamp`` is the platform's
clock skew: set to the received time, the skew kept in ``clock_skew_ms``. A ticket without
``ticket_id`` (anonymous) gets a surrogate key (:func:`surrogate_ticket_id`, flagged in
``source_id_is_surrogate``). The export has no reporter identity (nothing to pseudonymise) and
no resolution text. The Exchange API adapter (``traffy_exchange``) reads the same records as
JSON (``get-issues/v2``) and converts them with :func:`convert`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache
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
    coordinate_pair,
    drop_folder,
    is_coordinate,
    name_date,
    rejected,
    swap_hint,
)
from complaints.adapters._csv_chunks import Chunk, FileRuns, Lines, chunk_rows, file_sha256, parse_span
from complaints.adapters._csv_chunks import scan as scan_chunks
from complaints.canonical import CanonicalComplaint, ExtractedBatch, RejectedRow
from complaints.config import (
    Channel,
    load_config,
    match_key,
    normalise_category,
    normalise_district,
    normalise_unit,
    province_key,
)
from complaints.config import normalise_status as _normalise_status
from complaints.paths import CONFIG_DIR
from complaints.thai_time import BANGKOK, to_bangkok

log = logging.getLogger(__name__)

FILE_PATTERN = re.compile(r"^traffy_fondue_(\d{4})(\d{2})(\d{2})[^/\\#]*\.csv$", re.IGNORECASE)
COLUMNS: tuple[str, ...] = (
    "ticket_id",
    "type",
    "organization",
    "comment",
    "photo",
    "photo_after",
    "coords",
    "address",
    "subdistrict",
    "district",
    "province",
    "timestamp",
    "state",
    "star",
    "count_reopen",
    "last_activity",
)
# The agency export of the Exchange API (``GET /download-issues/v2``, CSV with a UTF-8 BOM; NECTEC's
# traffy-nectec/exchange-api-doc, docs/query-apis.md and openapi.yaml): the get-issues columns
# without org_id. Its names differ from the open-data export's: description (comment), latitude
# and longitude (coords), status (state); organization and type are plain ", " lists.
EXCHANGE_COLUMNS: tuple[str, ...] = (
    "ticket_id",
    "type",
    "organization",
    "description",
    "latitude",
    "longitude",
    "district",
    "province",
    "timestamp",
    "status",
    "last_activity",
)
FORMATS: dict[str, tuple[str, ...]] = {"open-data export": COLUMNS, "Exchange API download-issues": EXCHANGE_COLUMNS}
DEFAULT_BANGKOK_PROVINCES = ("กรุงเทพมหานคร",)
# An update time this much before the received time is the source's clock skew, not an error
# (the real export has last_activity 8-72 ms before timestamp); the channel may set its own.
DEFAULT_CLOCK_SKEW_TOLERANCE_SECONDS = 1.0
# Prefix of the surrogate key of a ticket exported without ticket_id (see surrogate_ticket_id).
SURROGATE_PREFIX = "anon-"
ROW_KEY = "_row"  # added to quarantined raw rows: the row's number in the file (1 = first data row)
_PLAUSIBLE_YEARS = range(2000, 2101)
_TIMESTAMP_EXAMPLE = "2022-06-01 08:15:31.123456+00"


# -- plan / read / after_load ----------------------------------------------------------------


_runs = FileRuns("Traffy Fondue")  # the chunks of each file planned in this process, and those loaded


def plan(request: ExtractRequest) -> list[str]:
    """The chunks of every inbox file whose name date is before the interval end, oldest first.

    Files whose names do not follow ``traffy_fondue_YYYYMMDD*.csv`` are planned too, last, so
    ``read`` fails them loudly; so is a file that cannot be parsed (its bare name is the part
    and ``read`` raises the problem). Hidden files (``.name``) are ignored.
    """
    inbox = _inbox(request)
    if not inbox.is_dir():
        log.warning("Traffy Fondue inbox %s does not exist: nothing to read", inbox)
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
        try:
            checksum, chunks = scan(path, chunk_rows(request))
        except SourceError as exc:
            log.error("Traffy Fondue: %s", exc)
            parts.append(name)  # read() reports the problem as this part's failure
            continue
        file_parts = [chunk.part(name) for chunk in chunks]
        _runs.planned(path, checksum, file_parts)
        log.info("Traffy Fondue %s: %d rows in %d chunk(s)", name, sum(c.rows for c in chunks), len(chunks))
        parts += file_parts
    return parts + sorted(odd)


def read(request: ExtractRequest, part: str) -> ExtractedBatch:
    name, _, span = part.partition("#")  # valid file names hold no '#'
    path = _inbox(request) / name
    if _name_date(name) is None:
        raise SourceError(
            f"{_inbox(request) / part}: file name does not match traffy_fondue_YYYYMMDD.csv "
            "(a valid CE export date); rename or remove it"
        )
    if not path.is_file():
        raise SourceError(f"{path}: the file is no longer in the inbox")
    if not span:  # plan() could not parse the file: parse it again to say why
        scan(path, chunk_rows(request))
        raise SourceError(f"{path}: the file changed since it was planned; re-run to read it")
    chunk = parse_span(span)
    if chunk is None:
        raise SourceError(f"Traffy Fondue part {part!r} is not '<file>#<first_row>-<last_row>@<start>-<end>'")
    columns = _header(path)
    checksum = file_sha256(path)
    _runs.check_unchanged(path, checksum)
    size = path.stat().st_size
    batch = ExtractedBatch(channel=request.channel.code, source_part=part, checksum=checksum, file_name=name)
    row = chunk.first_row - 1
    with path.open("rb") as fh:
        lines = Lines(fh, path, chunk.start, chunk.end, decode=_utf8(path))
        reader = csv.reader(lines, strict=True)
        while (fields := _next_record(reader, lines, row + 1)) is not None:
            row += 1
            if row > chunk.last_row:
                break
            if not any(f.strip() for f in fields):
                continue
            shape = None
            if len(fields) < len(columns):
                if chunk.end == size and row == chunk.last_row:
                    raise SourceError(
                        f"{path} row {row} ({_where(path, lines.record_start)}): the last row has {len(fields)} "
                        f"of {len(columns)} fields: the file is truncated"
                    )
                shape = f"row has {len(fields)} fields, the header has {len(columns)}"
            extra = [f for f in fields[len(columns) :] if f.strip()]
            if extra:
                shape = f"row has {len(fields)} fields, the header has {len(columns)}"
            raw: dict[str, Any] = dict(zip(columns, fields, strict=False))
            if extra:
                raw["_extra_fields"] = extra
            add_to_batch(batch, convert(request, raw, {ROW_KEY: row}, shape))
    if row != chunk.last_row or lines.offset != chunk.end:
        raise SourceError(
            f"{path}: rows {chunk.first_row}-{chunk.last_row} were planned in bytes {chunk.start}-{chunk.end} "
            "but the file no longer has them there: it changed since it was planned; re-run"
        )
    return batch


def after_load(request: ExtractRequest, part: str, batch: ExtractedBatch) -> None:
    """Archive the file once every chunk of it has loaded (or was a duplicate delivery).

    A name already in the archive gets a ``.1``, ``.2``... suffix. A file whose bytes changed
    since it was read is left in the inbox for the next run.
    """
    name = batch.file_name or part.partition("#")[0]
    source = _inbox(request) / name
    if not source.is_file():
        log.warning("Traffy Fondue %s is no longer in the inbox; nothing to archive", source)
        return

    def replan() -> tuple[str, list[str]]:
        checksum, chunks = scan(source, chunk_rows(request))
        return checksum, [chunk.part(name) for chunk in chunks]

    if not _runs.complete_after(source, part, batch.checksum or "", replan):
        return
    archive = drop_folder(request, "archive_subdir", "archive/traffy_fondue", "Traffy Fondue")
    archive_file(source, archive, "Traffy Fondue")


# -- files -----------------------------------------------------------------------------------


def _inbox(request: ExtractRequest) -> Path:
    return drop_folder(request, "inbox_subdir", "inbox/traffy_fondue", "Traffy Fondue")


def _name_date(name: str) -> date | None:
    return name_date(FILE_PATTERN, name)


def _utf8(path: Path) -> Callable[[bytes, int], str]:
    """The export's line decoder: UTF-8, or SourceError naming the byte and line."""

    def decode(raw: bytes, at: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            where = _where(path, at + exc.start)
            raise SourceError(f"{path}: {where} is not UTF-8 ({exc.reason}): the export is damaged") from None

    return decode


def _where(path: Path, offset: int) -> str:
    """``"byte <offset> (line <n>)"``; the line is counted only when a message needs it."""
    line = 1
    with path.open("rb") as fh:
        remaining = offset
        while remaining > 0:
            block = fh.read(min(remaining, 1 << 20))
            if not block:
                break
            line += block.count(b"\n")
            remaining -= len(block)
    return f"byte {offset} (line {line})"


def _next_record(reader: Any, lines: Lines, row: int) -> list[str] | None:
    """The next CSV record (None at the end); malformed CSV is a SourceError naming row, byte and line."""
    path = lines.path
    lines.record_start = lines.offset
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        what = "the header" if row == 0 else f"row {row}"
        raise SourceError(
            f"{path} {what} (from {_where(path, lines.record_start)}): malformed CSV ({exc}); "
            "the file is probably truncated"
        ) from None


def _header_columns(path: Path, header: list[str] | None) -> list[str]:
    if header is None:
        raise SourceError(f"{path}: the file is empty (no header row)")
    columns = [match_key(cell) for cell in header]
    missing = {fmt: [name for name in names if name not in columns] for fmt, names in FORMATS.items()}
    if all(missing.values()):  # name the columns the nearest format lacks
        fmt, names = min(missing.items(), key=lambda item: len(item[1]))
        raise SourceError(
            f"{path} line 1: missing required column(s) {', '.join(names)} of the {fmt} (header: {', '.join(header)})"
        )
    return columns


def _header(path: Path) -> list[str]:
    with path.open("rb") as fh:
        lines = Lines(fh, path, decode=_utf8(path))
        return _header_columns(path, _next_record(csv.reader(lines, strict=True), lines, 0))


def scan(path: Path, rows_per_chunk: int) -> tuple[str, list[Chunk]]:
    """One streaming pass over a file: its sha256 and its chunks of at most ``rows_per_chunk`` rows.

    Raises SourceError when the file cannot be parsed (encoding, malformed or truncated CSV,
    missing columns). A file with a header and no rows is one empty chunk.
    """
    found = scan_chunks(
        path,
        rows_per_chunk,
        decode=_utf8(path),
        next_record=_next_record,
        check_header=lambda header: _header_columns(path, header),
    )
    return found.checksum, found.chunks


# -- rows (shared with the API adapter) -------------------------------------------------------


def convert(
    request: ExtractRequest,
    row: Mapping[str, Any],
    locator: dict[str, Any] | None = None,
    shape_problem: str | None = None,
) -> CanonicalComplaint | RejectedRow:
    """One Traffy record (a CSV row of text cells, or an API item with JSON values) as a
    canonical record, or a reject whose raw row carries ``locator`` (where it was found)."""
    channel = request.channel
    source_id = clean_text(row.get("ticket_id"))
    if shape_problem:  # the fields are not where the header says: reading them would only mislead
        return _reject(request, source_id, [shape_problem], row, locator)
    problems: list[str] = []
    province = clean_text(row.get("province"))
    if province is not None and province_key(province) not in _bangkok_provinces(channel):
        return _reject(request, source_id, [f"outside Bangkok: province {province!r}"], row, locator)
    exchange_layout = is_exchange_layout(row)
    naive = BANGKOK if exchange_layout else UTC  # the Exchange API writes naive UTC+7, the open data +00
    received_at = _timestamp(row.get("timestamp"), "timestamp", problems, required=True, naive=naive)
    updated_at = _timestamp(row.get("last_activity"), "last_activity", problems, required=True, naive=naive)
    finished_at = _timestamp(row.get("timestamp_finished"), "timestamp_finished", problems, naive=naive)
    if not exchange_layout:
        latitude, longitude = _lon_lat(row.get("coords"), problems)
    else:  # the Exchange API's two columns
        latitude, longitude = coordinate_pair(
            _blank_none(row.get("latitude")), _blank_none(row.get("longitude")), problems
        )
    tags = _set_literal(row.get("type"), "type", problems)
    organizations = _set_literal(row.get("organization"), "organization", problems)
    star = _whole_number(row.get("star"), "star", problems) or None  # the Exchange API's 0: not rated
    reopen_count = _whole_number(row.get("count_reopen"), "count_reopen", problems)
    if problems:
        return _reject(request, source_id, problems, row, locator)
    surrogate = None
    if source_id is None:  # an anonymous ticket: a key of its fields that do not change
        source_id, surrogate = surrogate_ticket_id(received_at, latitude, longitude, row.get("photo")), True
    skew_ms = None
    if updated_at < received_at and received_at - updated_at <= _clock_skew_tolerance(channel):
        skew_ms, updated_at = round((received_at - updated_at).total_seconds() * 1000), received_at

    category, secondary = primary_category(channel, tags)
    state = clean_text(row.get("state") if "state" in row else row.get("status"))
    status_code = traffy_status(channel, state, clean_text(row.get("status_type")))
    resolved = status_code in load_config().resolved_statuses
    if resolved and finished_at is not None:
        resolved_at: datetime | None = finished_at
    else:
        resolved_at = updated_at if resolved else None
    description = row.get("comment") if "comment" in row else row.get("description")
    return canonical_record(
        request,
        source_id=source_id,
        received_at=received_at,
        updated_at=updated_at,
        district=clean_text(row.get("district")),
        category=category,
        unit=responsible_unit(channel, organizations),
        unit_raw=deciding_organization(channel, organizations),
        status=state,
        description=clean_text(description),
        latitude=latitude,
        longitude=longitude,
        reporter=None,  # the open-data export carries no reporter identity
        acknowledged_at=None,
        resolved_at=resolved_at,
        resolution=None,  # nor a resolution text (only photo_after)
        secondary_categories=secondary,
        satisfaction_star=star,
        reopen_count=reopen_count,
        status_code=status_code,
        source_id_is_surrogate=surrogate,
        clock_skew_ms=skew_ms,
    )


def is_exchange_layout(row: Mapping[str, Any]) -> bool:
    """True for a record of the Exchange API (get-issues/v2 JSON, download-issues/v2 CSV: two
    coordinate fields ``latitude``/``longitude``), False for the open-data export (``coords``).
    The Exchange API's timestamps are naive Bangkok time (UTC+7; traffy-nectec/exchange-api-doc,
    docs/query-apis.md, docs/authentication.md), the open data's carry ``+00``."""
    return "coords" not in row and "latitude" in row


def surrogate_ticket_id(received_at: datetime, latitude: float | None, longitude: float | None, photo: Any) -> str:
    """The key of a ticket exported without ``ticket_id`` (the real export has anonymous ones):
    ``anon-`` and 16 hex digits of the sha256 of what a re-export repeats unchanged -- the
    received time to the microsecond (UTC), the coordinates and the photo URL -- and not of what
    changes (state, organizations, last_activity), so a later export maps onto the same matter."""
    text = clean_text(photo if not isinstance(photo, (list, tuple)) else ",".join(map(str, photo))) or ""
    place = "" if latitude is None or longitude is None else f"{latitude:.5f},{longitude:.5f}"
    key = "|".join(["traffy-anonymous", received_at.astimezone(UTC).isoformat(), place, text])
    return SURROGATE_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def traffy_status(channel: Channel, state: str | None, status_type: str | None = None) -> str | None:
    """The status code of a Traffy state, keyed on its ``status_type`` (the Exchange API's status
    list, ``GET /get-status-list/v2``: every state, the agency's own ones included, has one of a
    few types): the item's own ``status_type`` (API), else the state's type from the channel's
    ``state_status_types`` / ``status_list_file``, mapped by ``status_types``; a state without a
    known type goes through the label crosswalk. None: no mapping (the record stores it unmapped)."""
    types = {match_key(str(k)): str(v) for k, v in (channel.settings.get("status_types") or {}).items()}
    if status_type is None and state is not None:
        status_type = _state_status_types(channel).get(match_key(state))
    if status_type is not None and match_key(status_type) in types:
        return types[match_key(status_type)]
    return _normalise_status(state, channel)


def _state_status_types(channel: Channel) -> dict[str, str]:
    """match-keyed state label -> status_type: the channel's ``state_status_types`` over the
    saved status list its ``status_list_file`` names (relative to include/config/)."""
    table: dict[str, str] = {}
    name = channel.settings.get("status_list_file")
    if name:
        table.update(_status_list(str(CONFIG_DIR / str(name))))
    for label, status_type in (channel.settings.get("state_status_types") or {}).items():
        table[match_key(str(label))] = str(status_type)
    return table


@cache
def _status_list(path: str) -> dict[str, str]:
    with open(path, encoding="utf-8-sig") as fh:
        return status_types_from_status_list(json.load(fh))


def status_types_from_status_list(answer: Mapping[str, Any]) -> dict[str, str]:
    """match-keyed label (Thai ``status`` and English ``status_en``) -> ``status_type`` from a
    ``GET /get-status-list/v2`` answer (``{"status": "success", "results": [{"status": ...,
    "status_en": ..., "status_type": ...}]}``); items without a type, and the docs' elision
    markers, are skipped."""
    if answer.get("status") not in (None, "success") or not isinstance(answer.get("results"), list):
        raise SourceError(f"not a get-status-list answer: status {answer.get('status')!r}")
    table: dict[str, str] = {}
    for item in answer["results"]:
        if not isinstance(item, dict) or not clean_text(item.get("status_type")):
            continue
        for field in ("status", "status_en"):
            label = clean_text(item.get(field))
            if label:
                table[match_key(label)] = str(clean_text(item["status_type"]))
    return table


def _clock_skew_tolerance(channel: Channel) -> timedelta:
    seconds = channel.settings.get("clock_skew_tolerance_seconds", DEFAULT_CLOCK_SKEW_TOLERANCE_SECONDS)
    return timedelta(seconds=float(seconds))


def _blank_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def primary_category(channel: Channel, tags: list[str]) -> tuple[str | None, str | None]:
    """(label of the primary tag, the other tags' category codes comma-separated).

    The primary tag is the one whose category comes first in ``category_priority`` (unlisted
    categories after, in tag order). No tag: ``untagged_category``. Tags that map to no category
    keep their label in the secondary list; if no tag maps, the first one is returned (its
    unknown category sends the row to quarantine).
    """
    if not tags:
        return channel.settings.get("untagged_category"), None
    coded = [(tag, normalise_category(tag, channel)) for tag in tags]
    known = [(position, tag, code) for position, (tag, code) in enumerate(coded) if code]
    if not known:
        return tags[0], _joined(tags[1:])
    rank = {str(code): n for n, code in enumerate(channel.settings.get("category_priority") or [])}
    _, primary_tag, primary_code = min(known, key=lambda k: (rank.get(k[2], len(rank)), k[0]))
    others: list[str] = []
    for tag, code in coded:
        value = code or tag
        if value != primary_code and value not in others:
            others.append(value)
    return primary_tag, _joined(others)


def _joined(values: list[str]) -> str | None:
    return ",".join(v.replace(",", " ") for v in values) or None


def responsible_unit(channel: Channel, organizations: list[str]) -> str | None:
    """The label of the unit responsible, from the ``organization`` list, for ``canonical_record``.

    The first organization that is known decides: a district office ("เขตบางรัก",
    "สำนักงานเขตบางรัก") gives None, i.e. the district's section for the category (its default
    unit), any other a unit label. No organization: None as well. Only unknown ones: the first
    (whose unit stays empty).
    """
    deciding = deciding_organization(channel, organizations)
    return None if deciding is not None and _is_district_office(channel, deciding) else deciding


def deciding_organization(channel: Channel, organizations: list[str]) -> str | None:
    """The organization that decides the unit (see :func:`responsible_unit`): the first district
    office or known unit, else the first one; None without any. It is the raw value kept when the
    unit cannot be told (e.g. a district office and a category with no crosswalk line)."""
    for organization in organizations:
        if _is_district_office(channel, organization) or normalise_unit(organization, channel):
            return organization
    return organizations[0] if organizations else None


def _is_district_office(channel: Channel, organization: str) -> bool:
    key = match_key(organization)
    prefixes = sorted((match_key(p) for p in channel.settings.get("district_office_prefixes") or []), key=len)
    for prefix in reversed(prefixes):
        if key.startswith(prefix) and normalise_district(key[len(prefix) :].strip(), channel):
            return True
    return False


def _bangkok_provinces(channel: Channel) -> set[str | None]:
    """The channel's names of Bangkok, folded like a row's province (with or without จังหวัด)."""
    return {province_key(p) for p in channel.settings.get("bangkok_province_names") or DEFAULT_BANGKOK_PROVINCES}


def _reject(
    request: ExtractRequest,
    source_id: str | None,
    problems: list[str],
    row: Mapping[str, Any],
    locator: dict[str, Any] | None,
) -> RejectedRow:
    return rejected(request, source_id, problems, {**row, **(locator or {})}, ())


def _set_literal(value: Any, field: str, problems: list[str]) -> list[str]:
    """Labels of a set literal ``{a,b}`` / ``{"a b",c}`` / ``{}`` (or a JSON list, or one bare label)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items: list[Any] = list(value)
    else:
        text = clean_text(value)
        if text is None:
            return []
        if text.startswith("{") and text.endswith("}"):
            inner = text[1:-1].strip()
            if not inner:
                return []
            try:
                items = next(
                    csv.reader([inner], escapechar="\\", doublequote=False, skipinitialspace=True, strict=True)
                )
            except csv.Error:
                problems.append(f"{field} {text!r} is not a set literal like {{a,b}}")
                return []
        elif "{" in text or "}" in text:
            problems.append(f"{field} {text!r} is not a set literal like {{a,b}}")
            return []
        else:  # the real exports: a plain list, "a,b" (open data) or "a, b" (Exchange API)
            items = text.split(",")
    labels: list[str] = []
    for item in items:
        label = clean_text(item)
        if label and label.upper() != "NULL" and label not in labels:
            labels.append(label)
    return labels


def _lon_lat(value: Any, problems: list[str]) -> tuple[float | None, float | None]:
    """``coords`` as (latitude, longitude): the export writes ``"lon,lat"`` (the API ``[lon, lat]``)."""
    if value is None:
        return None, None
    if isinstance(value, (list, tuple)):
        parts = list(value)
        shown: Any = value
    else:
        text = clean_text(value)
        if text is None:
            return None, None
        parts, shown = [p.strip() for p in text.split(",")], text
    try:
        if len(parts) != 2 or any(isinstance(p, bool) for p in parts):
            raise ValueError
        lon, lat = float(parts[0]), float(parts[1])
    except (TypeError, ValueError):
        problems.append(f"coords {shown!r} is not 'lon,lat'")
        return None, None
    if not (is_coordinate(lat, LATITUDE_LIMIT) and is_coordinate(lon, LONGITUDE_LIMIT)):
        problems.append(f"coords {shown!r} is not a coordinate{swap_hint(lat, lon)}")
        return None, None
    return lat, lon


def _timestamp(
    value: Any, field: str, problems: list[str], *, required: bool = False, naive: tzinfo = UTC
) -> datetime | None:
    """A ``2022-06-01 08:15:31.123456+00`` timestamp as an aware Bangkok datetime. A timestamp
    without offset is in ``naive``: UTC in the open-data export, Bangkok time (UTC+7) in the
    Exchange API's answers and its download-issues CSV."""
    text = clean_text(value)
    if text is None:
        if required:
            problems.append(f"missing {field}")
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"{field} {text!r} is not a timestamp like {_TIMESTAMP_EXAMPLE}")
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=naive)
    if stamp.year not in _PLAUSIBLE_YEARS:
        problems.append(f"{field} {text!r} is not a plausible date (not between 2000 and 2100)")
        return None
    return stamp.astimezone(BANGKOK)


def _whole_number(value: Any, field: str, problems: list[str]) -> int | None:
    """``star`` / ``count_reopen``: empty is None; ``"4"``, ``"4.0"`` and 4 are 4; the range is validation's."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        problems.append(f"{field} {value!r} is not a whole number")
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        number = float("nan")
    if not number.is_integer():
        problems.append(f"{field} {value!r} is not a whole number")
        return None
    return int(number)
