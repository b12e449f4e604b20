"""The warehouse's complaints as Open311 GeoReport v2 JSON, so others read Bangkok's data in the standard shape.

Written with each quarterly report, as of its cut-off: ``services.json`` (the GeoReport
service list: one service per configured category) and one ``requests-<YYYY-MM-DD>.json`` per
day of the fiscal year so far, holding the matters of every channel received that day with
their status as of the end of the cut-off day. A file is what ``GET requests.json`` would
answer for that day, so any GeoReport client (``complaints.adapters.open311`` among them)
reads the published folder served over HTTP.

* ``service_request_id`` is ``<channel>-<source id>``; ``service_code`` the category code;
  ``agency_responsible`` the unit's Thai name; ``address`` the district (``เขต<name>``).
* ``status`` is ``closed`` for a resolved status, else ``open``; ``status_notes`` is the
  resolution report of a closed matter.
* No personal data: no reporter pseudonym, and phone and national id numbers typed into the
  description or the resolution report are masked here too (whatever the warehouse holds).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, String, bindparam, text

from complaints.config import load_config
from complaints.fiscal import fiscal_year_be, fiscal_year_start
from complaints.indicator.business_calendar import as_date, end_of_day_bound
from complaints.indicator.rubric import load_rubric
from complaints.paths import read_sql
from complaints.pseudonym import mask_personal_numbers
from complaints.thai_time import aware_utc, to_bangkok

SERVICES_FILE = "services.json"
REQUESTS_FILE = "requests-{day}.json"


def services() -> list[dict[str, Any]]:
    """The GeoReport service list: the configured categories."""
    return [
        {
            "service_code": c.code,
            "service_name": c.name_th,
            "description": c.name_en,
            "metadata": False,
            "type": "realtime",
            "keywords": ", ".join(c.extra.get("aliases", [])),
            "group": c.extra.get("default_unit") or "",
        }
        for c in load_config().categories
    ]


def _bangkok_iso(naive_utc: Any) -> str:
    return to_bangkok(aware_utc(naive_utc)).isoformat()


def service_request(row: dict[str, Any]) -> dict[str, Any]:
    """One warehouse row of ``open311/requests_as_of.sql`` as a GeoReport v2 service request."""
    closed = bool(row["is_resolved"])
    return {
        "service_request_id": f"{row['channel']}-{row['source_id']}",
        "status": "closed" if closed else "open",
        "status_notes": mask_personal_numbers(row["resolution_report"]) if closed else None,
        "service_name": row["category_name_th"],
        "service_code": row["category_code"],
        "description": mask_personal_numbers(row["description"]),
        "agency_responsible": row["unit_name_th"],
        "service_notice": None,
        "requested_datetime": _bangkok_iso(row["received_at"]),
        "updated_datetime": _bangkok_iso(row["updated_at"]),
        "expected_datetime": None,
        "address": f"เขต{row['district_name_th']} กรุงเทพมหานคร",
        "address_id": None,
        "zipcode": None,
        "lat": row["latitude"],
        "long": row["longitude"],
        "media_url": None,
    }


def requests_by_day(engine: Engine, cutoff: date) -> dict[date, list[dict[str, Any]]]:
    """The fiscal year's matters up to ``cutoff`` as service requests, grouped by received day."""
    fiscal_year = fiscal_year_be(cutoff)
    statement = text(read_sql("open311/requests_as_of.sql")).bindparams(
        bindparam("reopen_statuses", expanding=True, type_=String)
    )
    params = {
        "fy_start": fiscal_year_start(fiscal_year),
        "cutoff": cutoff,
        "asof_before": end_of_day_bound(cutoff),
        "reopen_statuses": list(load_rubric(fiscal_year).reopen_statuses),
    }
    days: dict[date, list[dict[str, Any]]] = defaultdict(list)
    with engine.connect() as conn:
        for row in conn.execute(statement, params).mappings():
            day = row["received_date"]
            days[as_date(day)].append(service_request(dict(row)))
    return dict(days)


def write_georeport_files(engine: Engine, cutoff: date, out_dir: Path) -> list[Path]:
    """``services.json`` and a requests file for every day from 1 October to ``cutoff`` that has matters."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / SERVICES_FILE]
    written[0].write_text(json.dumps(services(), ensure_ascii=False, indent=1), encoding="utf-8")
    for day, requests in sorted(requests_by_day(engine, cutoff).items()):
        path = out_dir / REQUESTS_FILE.format(day=day.isoformat())
        path.write_text(json.dumps(requests, ensure_ascii=False, indent=1), encoding="utf-8")
        written.append(path)
    return written
