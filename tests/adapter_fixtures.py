"""What the adapter and ingest tests share: realistic 1555 export rows, reading an interval
channel's one part, and for the API channels (LINE, Facebook) the interval, requests to the
local API server, the source files it serves, and source items with some fields changed."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from complaints.adapters import ExtractRequest, load_adapter
from complaints.adapters.hotline_1555 import REQUIRED_COLUMNS as REQUIRED_1555_COLUMNS
from complaints.canonical import ExtractedBatch
from complaints.config import load_config
from complaints.thai_time import BANGKOK

KEY = "test-pseudonym-key"
START = datetime(2019, 1, 15, tzinfo=BANGKOK)
END = START + timedelta(days=1)
DELETE = object()  # as a change's value: remove the field
HOTLINE_HEADER = list(REQUIRED_1555_COLUMNS)


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


def hotline_row(ticket: str = "6201150001", changes: dict[str, str] | None = None) -> dict[str, str]:
    """A realistic 1555 export row; ``changes`` is a dict, not keywords: Python NFKC-folds identifiers, and
    NFKC splits the ำ (sara am) of headers such as วันที่ดำเนินการเสร็จ."""
    row = {
        "เลขที่รับแจ้ง": ticket,
        "วันที่รับแจ้ง": "15/01/2562 08:30",
        "ชื่อผู้แจ้ง": "นางสาวมาลี ศรีสุข",
        "เบอร์โทรศัพท์": "081-234-5678",
        "เขต": "เขตบางรัก",
        "ประเภทเรื่อง": "ทางเท้า",
        "รายละเอียด": "ทางเท้าหน้าตลาดบางรักชำรุด กระเบื้องแตก คนเดินสะดุดล้ม",
        "พิกัด": "13.7246,100.5293",
        "หน่วยงานรับผิดชอบ": "ฝ่ายโยธา",
        "สถานะ": "อยู่ระหว่างดำเนินการ",
        "วันที่ตอบรับ": "15/01/2562 10:00",
        "วันที่ดำเนินการเสร็จ": "",
        "ผลการดำเนินการ": "",
        "วันที่ปรับปรุงล่าสุด": "15/01/2562 16:45",
    }
    row.update(changes or {})
    return row


def hotline_csv(rows: list[dict[str, str]], header: list[str] = HOTLINE_HEADER) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return buffer.getvalue()


def day_request(channel_code: str, day: datetime, data_dir: Path | None = None) -> ExtractRequest:
    """A request for the Bangkok day starting at ``day`` (file channels read ``data_dir``'s inbox)."""
    return ExtractRequest(
        channel=load_config().channels[channel_code],
        interval_start=day,
        interval_end=day + timedelta(days=1),
        pseudonym_key=KEY,
        data_dir=data_dir,
    )


def drop_hotline_file(data_dir: Path, name: str, rows: list[dict[str, str]]) -> bytes:
    """Write a 1555 export (UTF-8 with BOM) into ``data_dir``'s 1555 inbox; returns its bytes."""
    inbox = data_dir / "inbox" / "1555"
    inbox.mkdir(parents=True, exist_ok=True)
    content = b"\xef\xbb\xbf" + hotline_csv(rows).encode("utf-8")
    (inbox / name).write_bytes(content)
    return content


def empty_sqlite_mis(data_dir: Path) -> str:
    """URL of a new SQLite MIS database ``<data_dir>/mis.sqlite`` with the MIS schema and no rows."""
    from sqlalchemy import create_engine

    from devtools.demo.mis_schema import create_mis_schema

    url = f"sqlite:///{data_dir / 'mis.sqlite'}"
    engine = create_engine(url)
    create_mis_schema(engine)
    engine.dispose()
    return url
