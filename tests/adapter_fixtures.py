"""What the adapter tests share: reading an interval channel's one part, and for the API
channels (LINE, Facebook) the interval, requests to the local API server, the source files
it serves, and source items with some fields changed."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from complaints.adapters import ExtractRequest, load_adapter
from complaints.canonical import ExtractedBatch
from complaints.config import load_config
from complaints.thai_time import BANGKOK

KEY = "test-pseudonym-key"
START = datetime(2019, 1, 15, tzinfo=BANGKOK)
END = START + timedelta(days=1)
DELETE = object()  # as a change's value: remove the field


def read_interval(request: ExtractRequest) -> ExtractedBatch:
    """The batch of the one part an interval channel (MIS, LINE, Facebook) plans for the request."""
    adapter = load_adapter(request.channel)
    (part,) = adapter.plan(request)
    return adapter.read(request, part)


def api_request(channel_code: str, base_url: str, token: str, page_size: int, **settings: Any) -> ExtractRequest:
    """A request for [START, END) to an API channel, with quick retries and small pages."""
    channel = load_config().channels[channel_code]
    fast = {"http_retries": 3, "http_backoff_factor": 0.01, "http_read_timeout": 5, "page_size": page_size}
    channel = dataclasses.replace(channel, settings={**channel.settings, **fast, **settings})
    return ExtractRequest(
        channel=channel,
        interval_start=START,
        interval_end=END,
        pseudonym_key=KEY,
        source_url=base_url,
        source_token=token,
    )


def write_source(data_dir: Path, file_name: str, items: list[Any]) -> None:
    """The JSON file ``<data_dir>/sources/<file_name>`` the local API server serves."""
    (data_dir / "sources").mkdir(exist_ok=True)
    (data_dir / "sources" / file_name).write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")


def with_changes(item: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``item`` with each change ``a__b=value`` set at ``item["a"]["b"]`` (``DELETE`` removes it)."""
    for dotted, value in changes.items():
        target = item
        *path, last = dotted.split("__")
        for name in path:
            target = target[name]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return item
