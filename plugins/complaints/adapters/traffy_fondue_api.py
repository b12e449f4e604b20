"""Traffy Fondue, second read path: the platform's paged JSON API (the same records as the CSV export).

Select it in the channel's entry of include/config/pipeline.yaml with
``adapter: complaints.adapters.traffy_fondue_api`` and ``connection_id: <an HTTP connection>``
(base URL; password = bearer token when the API wants one). The channel code, crosswalk and
everything downstream stay the same.

``GET {base}/traffy/v1/tickets?last_activity_start=<ISO UTC>&last_activity_end=<ISO UTC>&offset=<n>&limit=<k>``
filters on ``last_activity`` in ``[start, end)``, sorted by (last_activity, ticket_id), and answers::

    {"total": 1234, "offset": 0, "limit": 1000,
     "results": [{"ticket_id": "2022-AGUTWY", "type": ["ถนน", "ทางเท้า"], "organization": ["เขตบางรัก"],
                  "comment": "...", "photo": "https://...", "photo_after": null, "coords": [100.5293, 13.7246],
                  "address": "...", "subdistrict": "สี่พระยา", "district": "บางรัก", "province": "กรุงเทพมหานคร",
                  "timestamp": "2022-06-01 08:15:31.123456+00", "state": "กำลังดำเนินการ", "star": null,
                  "count_reopen": 0, "last_activity": "2022-06-02 01:00:00.5+00"}]}

(``type``/``organization`` may also come as set-literal strings and ``coords`` as ``"lon,lat"``,
as in the export.) Pages are read by ``offset`` until ``total`` is reached; transient 5xx
answers are retried (``complaints.adapters.http_client``). One part per interval, like LINE.
A ticket updated while the pages are read moves to a later ``last_activity``, i.e. into the
next interval, which the next run reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from complaints.adapters import ExtractRequest, SourceError
from complaints.adapters._common import add_to_batch, interval_part, not_an_object, parse_interval_part
from complaints.adapters.http_client import ApiClient, JsonPage
from complaints.adapters.traffy_fondue import convert
from complaints.canonical import ExtractedBatch

API_PATH = "traffy/v1/tickets"
DEFAULT_PAGE_SIZE = 1000
MAX_PAGES = 100_000  # a guard against a server whose total never comes within reach


def plan(request: ExtractRequest) -> list[str]:
    return [interval_part(request.interval_start, request.interval_end)]


def read(request: ExtractRequest, part: str) -> ExtractedBatch:
    start, end = parse_interval_part(part, "Traffy Fondue API")
    page_size = int(request.channel.settings.get("page_size", DEFAULT_PAGE_SIZE))
    batch = ExtractedBatch(channel=request.channel.code, source_part=part)
    params = {"last_activity_start": _utc(start), "last_activity_end": _utc(end), "limit": page_size}
    offset = 0
    with ApiClient.for_request(request, auth="bearer") as client:
        for page in range(1, MAX_PAGES + 1):
            answer = client.get_json(API_PATH, {**params, "offset": offset}, what=f"Traffy Fondue page {page}")
            results, total = _page_content(answer, offset)
            for index, item in enumerate(results):
                if isinstance(item, dict):
                    add_to_batch(batch, convert(request, item, {"_offset": offset + index}))
                else:
                    add_to_batch(batch, not_an_object("ticket", item))
            offset += len(results)
            if offset >= total:
                return batch
            if not results:
                answer.fail(f"an empty page at offset {offset} of {total}; refusing to page on forever")
    raise SourceError(f"Traffy Fondue API {part}: more than {MAX_PAGES} pages; does total ever come within reach?")


def after_load(request: ExtractRequest, part: str, batch: ExtractedBatch) -> None:
    """Nothing to acknowledge: the API is read-only and re-reading an interval is idempotent."""


def _page_content(answer: JsonPage, offset: int) -> tuple[list[Any], int]:
    data = answer.data
    if not isinstance(data, dict):
        answer.fail(f"expected a JSON object with 'results' and 'total', got {type(data).__name__}")
    results, total = data.get("results"), data.get("total")
    if not isinstance(results, list):
        answer.fail(f"'results' is missing or not a list (keys: {sorted(data)})")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        answer.fail(f"'total' is missing or not a count: {total!r}")
    if "offset" in data and data["offset"] != offset:
        answer.fail(f"asked for offset {offset}, got offset {data['offset']!r}")
    return results, total


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
