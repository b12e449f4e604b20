"""Open311 GeoReport v2: read any city's ``requests.json`` endpoint as a complaint channel.

GeoReport v2 (https://wiki.open311.org/GeoReport_v2) is the open standard many cities' 311
systems speak. A channel entry in ``include/config/pipeline.yaml`` with
``adapter: complaints.adapters.open311`` and ``connection_id: <an HTTP connection>`` (host =
the endpoint's base URL, e.g. ``https://311.city.gov/open311/v2``; password = ``api_key`` if the
server wants one) makes the city's requests a channel; its ``crosswalk:`` maps the city's
``service_code``/``service_name`` to categories and ``agency_responsible`` to units.

``GET {base}/requests.json?start_date=<ISO>&end_date=<ISO>[&jurisdiction_id=<id>]`` answers a
JSON list of requests::

    [{"service_request_id": "638344", "status": "closed", "status_notes": "Duplicate request.",
      "service_name": "Sidewalk and Curb Issues", "service_code": "006",
      "description": null, "agency_responsible": null, "service_notice": null,
      "requested_datetime": "2010-04-14T06:37:38-08:00", "updated_datetime": "2010-04-14T15:37:38-08:00",
      "expected_datetime": null, "address": "8TH AVE and JUDAH ST", "address_id": 545483,
      "zipcode": 94122, "lat": 37.762221815, "long": -122.4651145, "media_url": null}]

**Paging by date window.** The standard has no page parameter: ``start_date``/``end_date``
filter on ``requested_datetime`` and a server answers at most its own cap of requests
(``max_requests`` in the channel's settings, 1000 by default, as most servers do). A window
whose answer reaches the cap is split in two halves and each is asked again, until every
answer is below the cap; a one-second window still at the cap fails with a message.

**Which requests a run reads.** The standard filters on the request's creation, not on its
last update, so a run over ``[start, end)`` asks for the requests created in
``[end - lookback_days, end)`` and keeps those whose ``updated_datetime`` (or, without one,
``requested_datetime``) falls in ``[start, end)``: each change is read by the run of the
interval it happened in, and an update to a request older than ``lookback_days`` (90 by
default) is not seen. Servers that filter on update time under other parameter names (an
extension some cities offer) are read with ``start_param``/``end_param`` set to those names
and ``lookback_days: 0``.

``status`` is ``open`` or ``closed`` (a crosswalk may map other words a server uses);
``closed`` sets ``resolved_at`` to ``updated_datetime`` and ``status_notes`` becomes the
resolution report. The district comes from the channel's ``district_field`` (a server
extension naming the district), else the ``zipcode`` through ``crosswalk.districts``, else
a ``เขต<name>`` in ``address``. GeoReport's GET answers carry no reporter; fields some servers
add anyway (``email``, ``phone``, ``first_name``, ``last_name``, ``account_id``,
``device_id``) are never stored, and are pseudonymised in quarantined rows.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from complaints.adapters import ExtractRequest
from complaints.adapters._common import (
    add_to_batch,
    canonical_record,
    clean_text,
    coordinate_pair,
    interval_part,
    is_missing,
    not_an_object,
    parse_interval_part,
    rejected,
)
from complaints.adapters.http_client import ApiClient, JsonPage
from complaints.canonical import CanonicalComplaint, ExtractedBatch, RejectedRow
from complaints.config import normalise_category, normalise_district
from complaints.thai_time import to_bangkok

REQUESTS_PATH = "requests.json"
DEFAULT_MAX_REQUESTS = 1000
DEFAULT_LOOKBACK_DAYS = 90
SMALLEST_WINDOW = timedelta(seconds=1)  # the resolution of the date parameters
PERSONAL_FIELDS = ("email", "phone", "first_name", "last_name", "account_id", "device_id")
_DISTRICT_IN_ADDRESS = re.compile(r"เขต\s*([^\s,]+)")


def plan(request: ExtractRequest) -> list[str]:
    return [interval_part(request.interval_start, request.interval_end)]


def read(request: ExtractRequest, part: str) -> ExtractedBatch:
    start, end = parse_interval_part(part, "Open311")
    settings = request.channel.settings
    lookback = timedelta(days=float(settings.get("lookback_days", DEFAULT_LOOKBACK_DAYS)))
    batch = ExtractedBatch(channel=request.channel.code, source_part=part)
    with ApiClient.for_request(request, auth="query", token_param="api_key") as client:
        for item in _requests_created_between(client, request, min(start, end - lookback), end):
            if not isinstance(item, dict):
                add_to_batch(batch, not_an_object("service request", item))
                continue
            changed = _changed_at(item)
            if changed is not None and not start <= changed < end:
                continue  # another interval's change: that interval's run reads it
            add_to_batch(batch, convert(request, item))
    return batch


def after_load(request: ExtractRequest, part: str, batch: ExtractedBatch) -> None:
    """Nothing to acknowledge: the endpoint is read-only and re-reading an interval is idempotent."""


def _requests_created_between(client: ApiClient, request: ExtractRequest, start: datetime, end: datetime) -> list[Any]:
    """Every request the server has created in ``[start, end]``, halving windows that hit its cap.

    ``end_date`` is inclusive in the standard, so a request created on the second where two
    windows meet comes twice: it is kept once (by ``service_request_id``).
    """
    settings = request.channel.settings
    cap = int(settings.get("max_requests", DEFAULT_MAX_REQUESTS))
    start_param, end_param = settings.get("start_param", "start_date"), settings.get("end_param", "end_date")
    fixed = {"jurisdiction_id": settings["jurisdiction_id"]} if settings.get("jurisdiction_id") else {}
    by_id: dict[str, Any] = {}
    without_id: list[Any] = []
    windows = [(start.replace(microsecond=0), end)]
    while windows:
        window_start, window_end = windows.pop()
        what = f"Open311 requests {_iso(window_start)}..{_iso(window_end)}"
        answer = client.get_json(
            REQUESTS_PATH, {**fixed, start_param: _iso(window_start), end_param: _iso(window_end)}, what=what
        )
        items = _request_list(answer)
        if len(items) >= cap:
            if window_end - window_start <= SMALLEST_WINDOW:
                answer.fail(f"{len(items)} requests (the server's cap of {cap}) within one second: cannot page further")
            middle = (window_start + (window_end - window_start) / 2).replace(microsecond=0)
            windows += [(middle, window_end), (window_start, middle)]
            continue
        for item in items:
            key = item.get("service_request_id") if isinstance(item, dict) else None
            if key is None:
                without_id.append(item)
            else:
                by_id.setdefault(str(key), item)
    return [*by_id.values(), *without_id]


def _request_list(answer: JsonPage) -> list[Any]:
    if isinstance(answer.data, list):
        return answer.data
    if isinstance(answer.data, dict) and isinstance(answer.data.get("service_requests"), list):
        return answer.data["service_requests"]  # the JSON rendering of the XML root some servers use
    answer.fail(f"expected a JSON list of service requests, got {type(answer.data).__name__}")
    raise AssertionError  # fail() raised


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any, field: str, problems: list[str], *, required: bool = False) -> datetime | None:
    """A GeoReport datetime (ISO 8601 with an offset or ``Z``) in Bangkok time; a problem if it is not one."""
    if is_missing(value, field, problems, required=required):
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        problems.append(f"{field} {value!r} is not an ISO 8601 datetime")
        return None
    if moment.tzinfo is None:
        problems.append(f"{field} {value!r} has no UTC offset")
        return None
    return to_bangkok(moment)


def _changed_at(item: dict[str, Any]) -> datetime | None:
    """When the request last changed, for the interval filter; None when unreadable (it is then kept
    and its conversion quarantines it with the reason)."""
    problems: list[str] = []
    return parse_time(item.get("updated_datetime"), "updated_datetime", problems) or parse_time(
        item.get("requested_datetime"), "requested_datetime", problems
    )


def _district(request: ExtractRequest, item: dict[str, Any]) -> str | None:
    channel = request.channel
    field = channel.settings.get("district_field")
    if field and clean_text(item.get(field)):
        return clean_text(item.get(field))
    zipcode = clean_text(item.get("zipcode"))
    if zipcode and zipcode in channel.crosswalk.get("districts", {}):
        return zipcode
    address = clean_text(item.get("address")) or ""
    for name in _DISTRICT_IN_ADDRESS.findall(address):
        if normalise_district(name, channel):
            return name
    return None


def _category_label(request: ExtractRequest, item: dict[str, Any]) -> str | None:
    """``service_code`` when the crosswalk or the aliases know it, else ``service_name``."""
    code, name = clean_text(item.get("service_code")), clean_text(item.get("service_name"))
    return code if code and normalise_category(code, request.channel) else (name or code)


def convert(request: ExtractRequest, item: dict[str, Any]) -> CanonicalComplaint | RejectedRow:
    """One GeoReport service request as a canonical record, or a reject with its problems."""
    problems: list[str] = []
    source_id = clean_text(item.get("service_request_id"))
    if source_id is None:
        problems.append("missing service_request_id")
    received = parse_time(item.get("requested_datetime"), "requested_datetime", problems, required=True)
    updated = parse_time(item.get("updated_datetime"), "updated_datetime", problems) or received
    latitude, longitude = coordinate_pair(item.get("lat"), item.get("long"), problems)
    status = clean_text(item.get("status"))
    if status is None:
        problems.append("missing status")
    if problems or received is None or updated is None or source_id is None:
        return rejected(request, source_id, problems, item, PERSONAL_FIELDS)
    closed = (status or "").lower() == "closed"
    return canonical_record(
        request,
        source_id=source_id,
        received_at=received,
        updated_at=updated,
        district=_district(request, item),
        category=_category_label(request, item),
        unit=clean_text(item.get("agency_responsible")),
        status=status,
        description=clean_text(item.get("description")),
        latitude=latitude,
        longitude=longitude,
        reporter=None,
        acknowledged_at=None,
        resolved_at=updated if closed else None,
        resolution=clean_text(item.get("status_notes")) if closed else None,
    )
