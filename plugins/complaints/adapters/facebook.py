"""Facebook page adapter: Graph-API-shaped cursor paging (see docs/architecture.md).

One part per run, the interval itself (``"<start>..<end>"``, ISO timestamps in Bangkok time).
The first request is ``GET {base}/v19.0/{page_id}/complaints?since=&until=&limit=&access_token=``
(the API filters on ``updated_time`` in ``[since, until)``); then ``paging.next``, an absolute
URL, is followed until it is absent. The page id is the channel setting ``page_id``
(default ``104857``, the demo page). The reporter is the pseudonymised ``from.id``.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from complaints.adapters import ExtractRequest, SourceError, redact_raw
from complaints.adapters.http_client import ApiClient, JsonPage, RetrySettings
from complaints.canonical import CanonicalComplaint, ExtractedBatch, RejectedRow, json_safe
from complaints.config import (
    default_unit_for,
    normalise_category,
    normalise_district,
    normalise_status,
    normalise_unit,
)
from complaints.pseudonym import pseudonymise
from complaints.thai_time import BANGKOK, to_bangkok

API_VERSION = "v19.0"
DEFAULT_PAGE_ID = "104857"
DEFAULT_PAGE_SIZE = 100
MAX_PAGES = 100_000
PERSONAL_FIELDS = ("id", "name")  # of the post's "from" object
GRAPH_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # 2019-01-15T07:05:00+0000


def plan(request: ExtractRequest) -> list[str]:
    return [_interval_part(request.interval_start, request.interval_end)]


def read(request: ExtractRequest, part: str) -> ExtractedBatch:
    start, end = _parse_interval_part(part)
    settings = request.channel.settings
    page_id = str(settings.get("page_id", DEFAULT_PAGE_ID))
    batch = ExtractedBatch(channel=request.channel.code, source_part=part)
    url: str = f"{API_VERSION}/{page_id}/complaints"
    params: dict[str, Any] | None = {
        "since": math.floor(start.timestamp()),
        "until": math.ceil(end.timestamp()),
        "limit": int(settings.get("page_size", DEFAULT_PAGE_SIZE)),
    }
    followed: set[str] = set()
    with ApiClient(
        request.source_url or "",
        request.source_token,
        auth="query",
        retry=RetrySettings.from_settings(settings),
    ) as client:
        for page in range(1, MAX_PAGES + 1):
            answer = client.get_json(url, params, what=f"Facebook page {page}")
            posts, next_url = _page_content(answer, client.base_url)
            for post in posts:
                item = _convert(request, post)
                if isinstance(item, RejectedRow):
                    batch.rejects.append(item)
                else:
                    batch.records.append(item)
            if next_url is None:
                return batch
            if next_url in followed:
                answer.fail("paging.next points back to a page already read")
            followed.add(next_url)
            url, params = next_url, None
    raise SourceError(f"Facebook {part}: more than {MAX_PAGES} pages; does paging.next ever end?")


def after_load(request: ExtractRequest, part: str, batch: ExtractedBatch) -> None:
    """Nothing to acknowledge: the API is read-only and re-reading an interval is idempotent."""


# -- one page --------------------------------------------------------------------------------


def _page_content(answer: JsonPage, base_url: str) -> tuple[list[Any], str | None]:
    data = answer.data
    if not isinstance(data, dict):
        answer.fail(f"expected a JSON object with 'data', got {type(data).__name__}")
    if "error" in data:
        answer.fail(f"the API answered an error: {data['error']!r}")
    posts = data.get("data")
    if not isinstance(posts, list):
        answer.fail(f"'data' is missing or not a list (keys: {sorted(data)})")
    paging = data.get("paging")
    if paging is None:
        return posts, None
    if not isinstance(paging, dict):
        answer.fail(f"'paging' is not an object: {paging!r}")
    next_url = paging.get("next")
    if next_url is None:
        return posts, None
    target, base = urlsplit(str(next_url)), urlsplit(base_url)
    if target.scheme not in ("http", "https") or not target.netloc:
        answer.fail(f"paging.next {next_url!r} is not an absolute http(s) URL")
    if (target.scheme, target.netloc.lower()) != (base.scheme, base.netloc.lower()):
        # the token travels in the query string: never send it to another host
        answer.fail(f"paging.next points to another host ({target.scheme}://{target.netloc}), not {base_url}")
    if not posts:
        answer.fail("paging.next is set on an empty page; refusing to page on forever")
    return posts, str(next_url)


# -- one post --------------------------------------------------------------------------------


def _convert(request: ExtractRequest, post: Any) -> CanonicalComplaint | RejectedRow:
    key = request.pseudonym_key
    if not isinstance(post, dict):
        reason = f"post is not a JSON object: {type(post).__name__}"
        return RejectedRow(None, reason, {"post": json_safe(post)})
    problems: list[str] = []
    source_id = _text(post.get("id"))
    if source_id is None:
        problems.append("missing id")
    complaint = post.get("complaint")
    if not isinstance(complaint, dict):
        problems.append(f"complaint {complaint!r} is not an object")
        complaint = {}
    received_at = _graph_time(post.get("created_time"), "created_time", problems, required=True)
    updated_at = _graph_time(post.get("updated_time"), "updated_time", problems, required=True)
    acknowledged_at = _graph_time(complaint.get("acknowledged_time"), "complaint.acknowledged_time", problems)
    resolved_at = _graph_time(complaint.get("resolved_time"), "complaint.resolved_time", problems)
    latitude, longitude = _place(post.get("place"), problems)
    sender = post.get("from") if isinstance(post.get("from"), dict) else {}

    if problems:
        raw = json_safe(post)
        if isinstance(raw.get("from"), dict):
            raw["from"] = redact_raw(raw["from"], PERSONAL_FIELDS, key)
        return RejectedRow(source_id, "; ".join(problems), raw)

    category = normalise_category(_text(complaint.get("category")))
    unit_label = _text(complaint.get("assigned_unit"))
    return CanonicalComplaint(
        channel=request.channel.code,
        source_id=source_id,
        received_at=received_at,
        district_code=normalise_district(_text(complaint.get("district"))),
        category_code=category,
        description=_text(post.get("message")),
        latitude=latitude,
        longitude=longitude,
        reporter_pseudonym=pseudonymise(_text(sender.get("id")) or _text(sender.get("name")), key),
        responsible_unit=normalise_unit(unit_label) if unit_label else default_unit_for(category),
        status=normalise_status(_text(complaint.get("status"))),
        acknowledged_at=acknowledged_at,
        resolved_at=resolved_at,
        resolution_report=_text(complaint.get("resolution")),
        source_updated_at=updated_at,
    )


def _text(value: Any) -> str | None:
    """NFC text without NUL bytes or surrounding blanks; None when empty."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value)).replace("\x00", "").strip()
    return text or None


def _graph_time(value: Any, field: str, problems: list[str], *, required: bool = False) -> datetime | None:
    if value is None or value == "":
        if required:
            problems.append(f"missing {field}")
        return None
    try:
        return datetime.strptime(str(value), GRAPH_TIME_FORMAT).astimezone(BANGKOK)
    except ValueError as exc:
        problems.append(f"{field} {value!r} is not a Graph API time like 2019-01-15T07:05:00+0000 ({exc})")
        return None


def _place(value: Any, problems: list[str]) -> tuple[float | None, float | None]:
    if value is None:
        return None, None
    location = value.get("location") if isinstance(value, dict) else None
    if location is None and isinstance(value, dict):
        return None, None  # a place without coordinates (a named page, say)
    if not isinstance(location, dict):
        problems.append(f"place {value!r} has no location object")
        return None, None
    before = len(problems)
    lat = _coordinate(location.get("latitude"), "place.location.latitude", 90.0, problems)
    lon = _coordinate(location.get("longitude"), "place.location.longitude", 180.0, problems)
    if len(problems) == before and (lat is None) != (lon is None):
        problems.append(
            f"place.location has only one of latitude/longitude: {location.get('latitude')!r}, "
            f"{location.get('longitude')!r}"
        )
    return lat, lon


def _coordinate(value: Any, field: str, limit: float, problems: list[str]) -> float | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        problems.append(f"{field} {value!r} is not a number")
        return None
    if not math.isfinite(number) or abs(number) > limit:
        problems.append(f"{field} {value!r} is not a coordinate")
        return None
    return number


# -- the interval part ---------------------------------------------------------------------


def _interval_part(start: datetime, end: datetime) -> str:
    return f"{to_bangkok(start).isoformat()}..{to_bangkok(end).isoformat()}"


def _parse_interval_part(part: str) -> tuple[datetime, datetime]:
    try:
        first, last = part.split("..")
        start, end = datetime.fromisoformat(first), datetime.fromisoformat(last)
    except ValueError:
        raise SourceError(f"Facebook part {part!r} is not '<start>..<end>' in ISO format") from None
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise SourceError(f"Facebook part {part!r}: need timezone-aware start < end")
    return start.astimezone(BANGKOK), end.astimezone(BANGKOK)
