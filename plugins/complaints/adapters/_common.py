"""What the source adapters share: text cleaning, missing values, coordinates, the interval
part of the interval-read channels, the canonical record built from source labels, and the
quarantined reject with its personal fields pseudonymised.

Each adapter keeps its source-specific parsing (its timestamps, its field names, its raw
row layout) and passes its own names in, so messages still name the source's fields.
"""

from __future__ import annotations

import csv
import logging
import math
import re
import shutil
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from complaints.adapters import ExtractRequest, SourceError, redact_raw
from complaints.canonical import CanonicalComplaint, ExtractedBatch, RejectedRow, StatusEvent, json_safe
from complaints.config import (
    UNMAPPED,
    default_unit_for,
    load_config,
    normalise_category,
    normalise_district,
    normalise_status,
    normalise_unit,
)
from complaints.pseudonym import mask_personal_numbers, pseudonymise
from complaints.thai_time import BANGKOK, to_bangkok

log = logging.getLogger(__name__)

LATITUDE_LIMIT = 90.0
LONGITUDE_LIMIT = 180.0

# The largest CSV field the file-drop adapters parse. The stdlib default (128 KiB) fails a
# file with one long description as "malformed CSV"; above the configured
# quarantine.max_text_chars the row is parsed and then quarantined with that reason instead.
CSV_FIELD_LIMIT = 64 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))

# -- values ----------------------------------------------------------------------------------


def clean_text(value: Any) -> str | None:
    """NFC text without NUL bytes or surrounding blanks; None when empty."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value)).replace("\x00", "").strip()
    return text or None


def is_missing(value: Any, field: str, problems: list[str], *, required: bool = True) -> bool:
    """True when ``value`` is absent (None or ""); a required one adds ``missing <field>`` to ``problems``."""
    if value is None or value == "":
        if required:
            problems.append(f"missing {field}")
        return True
    return False


def json_object(container: dict[str, Any], name: str, problems: list[str] | None = None) -> dict[str, Any]:
    """``container[name]`` when it is a JSON object, else ``{}``; with ``problems``, a non-object is one."""
    value = container.get(name)
    if isinstance(value, dict):
        return value
    if problems is not None:
        problems.append(f"{name} {value!r} is not an object")
    return {}


# -- coordinates -----------------------------------------------------------------------------


def is_coordinate(number: float, limit: float) -> bool:
    """A finite number within ``[-limit, limit]`` (90 for a latitude, 180 for a longitude)."""
    return math.isfinite(number) and abs(number) <= limit


def swap_hint(latitude: float, longitude: float) -> str:
    """`` (latitude and longitude swapped?)`` when the pair, swapped, lies in Bangkok; else ``""``."""
    bounds = load_config().bangkok_bounds
    swapped = bounds["lat_min"] <= longitude <= bounds["lat_max"] and bounds["lon_min"] <= latitude <= bounds["lon_max"]
    return " (latitude and longitude swapped?)" if swapped else ""


def coordinate(value: Any, field: str, limit: float, problems: list[str]) -> float | None:
    """One coordinate from a number or numeric text; None when absent, a problem when not a coordinate."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        problems.append(f"{field} {value!r} is not a number")
        return None
    if not is_coordinate(number, limit):
        problems.append(f"{field} {value!r} is not a coordinate")
        return None
    return number


def coordinate_pair(
    lat_value: Any, lon_value: Any, problems: list[str], *, where: str | None = None
) -> tuple[float | None, float | None]:
    """Latitude and longitude given as two values: both, or neither; half a pair is a problem.

    ``where`` names the object holding them (``"location"``): the fields are then
    ``location.latitude`` and ``location.longitude``; without it, ``latitude`` and ``longitude``.
    """
    prefix = f"{where}." if where else ""
    before = len(problems)
    try:
        hint = swap_hint(float(lat_value), float(lon_value))
    except (TypeError, ValueError):
        hint = ""
    if hint and not is_coordinate(float(lat_value), LATITUDE_LIMIT):
        problems.append(f"{prefix}latitude/longitude {lat_value!r}, {lon_value!r} is not a coordinate{hint}")
        return None, None
    lat = coordinate(lat_value, f"{prefix}latitude", LATITUDE_LIMIT, problems)
    lon = coordinate(lon_value, f"{prefix}longitude", LONGITUDE_LIMIT, problems)
    if len(problems) == before and (lat is None) != (lon is None):
        half = f"{where} has only one of latitude/longitude" if where else "only one of latitude/longitude is set"
        problems.append(f"{half}: {lat_value!r}, {lon_value!r}")
    return lat, lon


# -- the interval part (channels read one interval per run) ----------------------------------


def interval_part(start: datetime, end: datetime) -> str:
    """``"<start>..<end>"``, ISO timestamps in Bangkok time."""
    return f"{to_bangkok(start).isoformat()}..{to_bangkok(end).isoformat()}"


def parse_interval_part(part: str, source: str) -> tuple[datetime, datetime]:
    """The interval of a part made by :func:`interval_part`; ``source`` names the channel in errors."""
    try:
        first, last = part.split("..")
        start, end = datetime.fromisoformat(first), datetime.fromisoformat(last)
    except ValueError:
        raise SourceError(f"{source} part {part!r} is not '<start>..<end>' in ISO format") from None
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise SourceError(f"{source} part {part!r}: need timezone-aware start < end")
    return start.astimezone(BANGKOK), end.astimezone(BANGKOK)


# -- records and rejects ---------------------------------------------------------------------


def canonical_record(
    request: ExtractRequest,
    *,
    source_id: str,
    received_at: datetime,
    updated_at: datetime,
    district: str | None,
    category: str | None,
    unit: str | None,
    status: str | None,
    description: str | None,
    latitude: float | None,
    longitude: float | None,
    reporter: str | None,
    acknowledged_at: datetime | None,
    resolved_at: datetime | None,
    resolution: str | None,
    secondary_categories: str | None = None,
    satisfaction_star: int | None = None,
    reopen_count: int | None = None,
    status_code: str | None = None,
    unit_raw: str | None = None,
    source_id_is_surrogate: bool | None = None,
    clock_skew_ms: int | None = None,
) -> CanonicalComplaint:
    """The canonical record of one parsed source row.

    ``district``, ``category``, ``unit`` and ``status`` are the source's (cleaned) labels and
    become config codes here (the channel's ``crosswalk:`` first, then the shared aliases); a
    missing unit label takes the category's default unit, an unknown one stays None.
    ``reporter`` is pseudonymised here and never stored raw; phone and national id numbers
    typed into ``description`` and ``resolution`` are masked here, once for every channel. The
    last three fields only some channels have (Traffy Fondue); the others leave them None.

    ``status_code``: the status when the adapter has already mapped it (Traffy's status_type),
    else ``status`` is normalised here. A channel with ``keep_unmapped_values: true`` stores a
    label that maps to no code as ``UNMAPPED`` with the raw label in ``unmapped_<kind>``
    (validation counts them against their own threshold). A unit that cannot be told at all (no
    unit label and a category without a default unit) is unmapped too, with ``unit_raw`` (the
    source's own value behind it: Traffy's district office, which means its section for the
    category) or else the category label. Without the setting such a label leaves the code None
    (a missing category or status is quarantined by validation).
    """
    channel = request.channel
    category_code = normalise_category(category, channel)
    status_code = status_code or normalise_status(status, channel)
    unit_code = normalise_unit(unit, channel) if unit else default_unit_for(category_code)
    unmapped: dict[str, str | None] = {"unit": None, "category": None, "status": None}
    if channel.settings.get("keep_unmapped_values"):
        if category and category_code is None:
            category_code, unmapped["category"] = UNMAPPED, category
        if status and status_code is None:
            status_code, unmapped["status"] = UNMAPPED, status
        if unit_code is None and (unit or unit_raw or category):
            unit_code, unmapped["unit"] = UNMAPPED, unit or unit_raw or category
    return CanonicalComplaint(
        channel=channel.code,
        source_id=source_id,
        received_at=received_at,
        district_code=normalise_district(district, channel),
        category_code=category_code,
        description=mask_personal_numbers(description),
        latitude=latitude,
        longitude=longitude,
        reporter_pseudonym=pseudonymise(reporter, request.pseudonym_key),
        responsible_unit=unit_code,
        status=status_code,
        acknowledged_at=acknowledged_at,
        resolved_at=resolved_at,
        resolution_report=mask_personal_numbers(resolution),
        source_updated_at=updated_at,
        secondary_categories=secondary_categories,
        satisfaction_star=satisfaction_star,
        reopen_count=reopen_count,
        unmapped_unit=unmapped["unit"],
        unmapped_category=unmapped["category"],
        unmapped_status=unmapped["status"],
        source_id_is_surrogate=source_id_is_surrogate,
        clock_skew_ms=clock_skew_ms,
    )


def rejected(
    request: ExtractRequest,
    source_id: str | None,
    problems: list[str],
    raw: dict[str, Any],
    personal_fields: tuple[str, ...],
    *,
    within: str | None = None,
) -> RejectedRow:
    """A row for quarantine: the problems as its reason, the raw row with ``personal_fields``
    pseudonymised (those of the object ``raw[within]`` when ``within`` is given) and phone and
    national id numbers masked in every other text, the reason included (it quotes values)."""
    safe = mask_numbers_in_raw(json_safe(raw), personal_fields)
    if within is None:
        safe = redact_raw(safe, personal_fields, request.pseudonym_key)
    elif isinstance(safe.get(within), dict):
        safe[within] = redact_raw(safe[within], personal_fields, request.pseudonym_key)
    return RejectedRow(source_id, mask_personal_numbers("; ".join(problems)) or "", safe)


def mask_numbers_in_raw(value: Any, personal_fields: tuple[str, ...] = ()) -> Any:
    """A JSON-safe raw row with :func:`mask_personal_numbers` applied to every string in it,
    except the ``personal_fields`` (they are pseudonymised whole, and a pseudonym's hex digits
    must not be masked)."""
    if isinstance(value, dict):
        return {k: v if k in personal_fields else mask_numbers_in_raw(v, personal_fields) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_numbers_in_raw(v, personal_fields) for v in value]
    if isinstance(value, str):
        return mask_personal_numbers(value)
    return value


def not_an_object(kind: str, value: Any) -> RejectedRow:
    """The reject of an API item that is not even a JSON object (``kind``: "event", "post")."""
    return RejectedRow(None, f"{kind} is not a JSON object: {type(value).__name__}", {kind: json_safe(value)})


def add_to_batch(
    batch: ExtractedBatch, item: CanonicalComplaint | RejectedRow, events: Iterable[StatusEvent] = ()
) -> None:
    """A converted row into its batch: a reject to ``rejects``, a record (and its status events) to ``records``."""
    if isinstance(item, RejectedRow):
        batch.rejects.append(item)
    else:
        batch.records.append(item)
        batch.status_events.extend(events)


# -- file drops ----------------------------------------------------------------------------


def drop_folder(request: ExtractRequest, setting: str, default: str, source: str) -> Path:
    """``<data dir>/<the channel's inbox_subdir or archive_subdir>`` of a file-drop channel."""
    if request.data_dir is None:
        raise SourceError(f"{source}: no data directory in the request (COMPLAINTS_DATA_DIR)")
    return Path(request.data_dir) / request.channel.settings.get(setting, default)


def name_date(pattern: re.Pattern[str], name: str) -> date | None:
    """The export date a drop file's name carries (groups 1-3: CE year, month, day), or None."""
    match = pattern.match(name)
    if not match:
        return None
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    if year >= 2400:  # a Buddhist-era date in the name would never come due
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def archive_file(source_path: Path, archive: Path, source: str) -> Path:
    """Move a loaded file into the archive; a name already there gets a ``.1``, ``.2``... suffix."""
    archive.mkdir(parents=True, exist_ok=True)
    target = archive / source_path.name
    number = 1
    while target.exists():
        target = archive / f"{source_path.stem}.{number}{source_path.suffix}"
        number += 1
    shutil.move(str(source_path), str(target))
    log.info("%s %s archived as %s", source, source_path.name, target)
    return target
