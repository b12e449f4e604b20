"""Facebook page adapter: Graph-API-shaped cursor paging (see docs/architecture.md).

One part per run, the interval itself (``"<start>..<end>"``, ISO timestamps in Bangkok time).
The first request is ``GET {base}/v19.0/{page_id}/complaints?since=&until=&limit=&access_token=``
(the API filters on ``updated_time`` in ``[since, until)``); then ``paging.next``, an absolute
URL, is followed until it is absent. The page id is the channel setting ``page_id``
(default ``104857``, the demo page). The reporter is the pseudonymised ``from.id``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from complaints.adapters import ExtractRequest, SourceError
from complaints.adapters._common import (
    add_to_batch,
    canonical_record,
    clean_text,
    coordinate_pair,
    interval_part,
    is_missing,
    json_object,
    not_an_object,
    parse_interval_part,
    rejected,
)
from complaints.adapters.http_client import ApiClient, JsonPage
from complaints.canonical import CanonicalComplaint, ExtractedBatch, RejectedRow
from complaints.thai_time import BANGKOK

API_VERSION = "v19.0"
DEFAULT_PAGE_ID = "104857"
DEFAULT_PAGE_SIZE = 100
MAX_PAGES = 100_000
PERSONAL_FIELDS = ("id", "name")  # of the post's "from" object
GRAPH_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # 2019-01-15T07:05:00+0000


def plan(request: ExtractRequest) -> list[str]:
    return [interval_part(request.interval_start, request.interval_end)]


def read(request: ExtractRequest, part: str) -> ExtractedBatch:
    start, end = parse_interval_part(part, "Facebook")
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
    with ApiClient.for_request(request, auth="query") as client:
        for page in range(1, MAX_PAGES + 1):
            answer = client.get_json(url, params, what=f"Facebook page {page}")
            posts, next_url = _page_content(answer, client.base_url)
            for post in posts:
                add_to_batch(batch, _convert(request, post))
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
    if not isinstance(post, dict):
        return not_an_object("post", post)
    problems: list[str] = []
    source_id = clean_text(post.get("id"))
    if source_id is None:
        problems.append("missing id")
    complaint = json_object(post, "complaint", problems)
    received_at = _graph_time(post.get("created_time"), "created_time", problems, required=True)
    updated_at = _graph_time(post.get("updated_time"), "updated_time", problems, required=True)
    acknowledged_at = _graph_time(complaint.get("acknowledged_time"), "complaint.acknowledged_time", problems)
    resolved_at = _graph_time(complaint.get("resolved_time"), "complaint.resolved_time", problems)
    latitude, longitude = _place(post.get("place"), problems)

    if problems:
        return rejected(request, source_id, problems, post, PERSONAL_FIELDS, within="from")

    sender = json_object(post, "from")
    return canonical_record(
        request,
        source_id=source_id,
        received_at=received_at,
        updated_at=updated_at,
        district=clean_text(complaint.get("district")),
        category=clean_text(complaint.get("category")),
        unit=clean_text(complaint.get("assigned_unit")),
        status=clean_text(complaint.get("status")),
        description=clean_text(post.get("message")),
        latitude=latitude,
        longitude=longitude,
        reporter=clean_text(sender.get("id")) or clean_text(sender.get("name")),
        acknowledged_at=acknowledged_at,
        resolved_at=resolved_at,
        resolution=clean_text(complaint.get("resolution")),
    )


def _graph_time(value: Any, field: str, problems: list[str], *, required: bool = False) -> datetime | None:
    if is_missing(value, field, problems, required=required):
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
    return coordinate_pair(location.get("latitude"), location.get("longitude"), problems, where="place.location")
