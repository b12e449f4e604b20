"""LINE adapter against the real local API server (no mocking of HTTP)."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from adapter_fixtures import END, KEY, START, api_request, read_interval, with_changes, write_source
from complaints.adapters import ExtractRequest, SourceError
from complaints.adapters import line as line_adapter
from complaints.canonical import CANONICAL_COLUMNS
from complaints.pseudonym import pseudonymise
from complaints.thai_time import BANGKOK
from devtools.demo.api_server import ApiServer

TOKEN = "line-channel-token"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _event(n: int, updated: datetime, **changes) -> dict:
    event = {
        "type": "message",
        "webhookEventId": f"01HQLINE{n:06d}",
        "timestamp": _ms(updated - timedelta(hours=3)),
        "source": {"type": "user", "userId": f"U4af4980629a0f{n:04d}"},
        "message": {"type": "text", "id": f"46851{n:05d}", "text": f"ขยะล้นถังหน้าซอยสีลม {n} ส่งกลิ่นเหม็นมาก 🙏"},
        "location": {"latitude": 13.7246, "longitude": 100.5293, "address": "ถนนสีลม แขวงสุริยวงศ์ เขตบางรัก"},
        "complaint": {
            "district": "เขตบางรัก",
            "category": "ขยะ",
            "assignedUnit": "ฝ่ายรักษาความสะอาดและสวนสาธารณะ",
            "status": "เสร็จสิ้น",
            "acknowledgedAt": _ms(updated - timedelta(hours=2)),
            "resolvedAt": _ms(updated),
            "resolution": "เก็บขยะเรียบร้อยแล้ว",
            "updatedAt": _ms(updated),
        },
    }
    return with_changes(event, changes)


def _write(data_dir: Path, events: list[dict]) -> None:
    write_source(data_dir, "line_events.json", events)


def _request(base_url: str, token: str = TOKEN, **settings) -> ExtractRequest:
    return api_request("line", base_url, token, page_size=4, **settings)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    # 10 events in the window (3 pages of 4 with page_size 4), 2 outside it
    events = [_event(n, START + timedelta(hours=2 * n, minutes=5)) for n in range(10)]
    events += [_event(100, END), _event(101, START - timedelta(seconds=1))]
    _write(tmp_path, events)
    return tmp_path


def test_plan_is_one_part_for_the_interval_in_bangkok_time() -> None:
    request = _request("http://127.0.0.1:1")
    assert line_adapter.plan(request) == ["2019-01-15T00:00:00+07:00..2019-01-16T00:00:00+07:00"]


def test_reads_every_page_through_transient_503s_with_exact_counts(data_dir: Path) -> None:
    with ApiServer(data_dir, token=TOKEN, flaky=True) as server:
        batch = read_interval(_request(server.base_url))
        hits = dict(server.hits)
    assert len(batch.records) == 10
    assert batch.rejects == []
    assert batch.rows_read == len(batch.records) + len(batch.rejects)
    assert sorted(r["source_id"] for r in batch.records) == [f"01HQLINE{n:06d}" for n in range(10)]
    assert len(hits) == 3  # pages 1..3
    assert all(count == 2 for count in hits.values())  # each page: one 503, one retry


def test_maps_an_event_to_a_canonical_record_in_bangkok_time(data_dir: Path) -> None:
    with ApiServer(data_dir, token=TOKEN, flaky=False) as server:
        batch = read_interval(_request(server.base_url))
    record = next(r for r in batch.records if r["source_id"] == "01HQLINE000000")
    assert tuple(record) == CANONICAL_COLUMNS
    assert record["received_at"] == datetime(2019, 1, 14, 21, 5, tzinfo=BANGKOK)
    assert record["received_at"].utcoffset() == timedelta(hours=7)
    assert record["source_updated_at"] == datetime(2019, 1, 15, 0, 5, tzinfo=BANGKOK)
    assert record["resolved_at"] == record["source_updated_at"]
    assert record["acknowledged_at"] == datetime(2019, 1, 14, 22, 5, tzinfo=BANGKOK)
    assert (
        record["district_code"],
        record["category_code"],
        record["responsible_unit"],
        record["status"],
    ) == ("1004", "waste", "cleansing_parks", "resolved")
    assert (record["latitude"], record["longitude"]) == (13.7246, 100.5293)
    assert record["description"] == "ขยะล้นถังหน้าซอยสีลม 0 ส่งกลิ่นเหม็นมาก 🙏"
    assert record["resolution_report"] == "เก็บขยะเรียบร้อยแล้ว"
    assert record["reporter_pseudonym"] == pseudonymise("U4af4980629a0f0000", KEY)
    assert "U4af4980629a0f0000" not in json.dumps(record, default=str, ensure_ascii=False)


def test_null_location_unknown_district_and_missing_unit_still_make_records(tmp_path: Path) -> None:
    updated = START + timedelta(hours=1)
    _write(
        tmp_path,
        [
            _event(1, updated, location=None),
            _event(2, updated, complaint__district="เขตนอกกรุงเทพ"),
            _event(3, updated, complaint__assignedUnit=None, complaint__category="ถนน"),
            _event(4, updated, complaint__assignedUnit="ฝ่ายที่ไม่มีจริง"),
        ],
    )
    with ApiServer(tmp_path, token=TOKEN, flaky=False) as server:
        batch = read_interval(_request(server.base_url))
    by_id = {r["source_id"][-1]: r for r in batch.records}
    assert batch.rejects == []
    assert (by_id["1"]["latitude"], by_id["1"]["longitude"]) == (None, None)
    assert by_id["2"]["district_code"] is None
    assert by_id["3"]["responsible_unit"] == "public_works"  # default unit of roads
    assert by_id["4"]["responsible_unit"] is None  # an unknown label is not replaced by the default


def test_unparseable_events_are_rejected_with_the_field_and_a_redacted_raw_row(tmp_path: Path) -> None:
    updated = START + timedelta(hours=1)
    _write(
        tmp_path,
        [
            _event(1, updated),
            _event(2, updated, location={"latitude": "13.7x", "longitude": 100.5}),
            _event(3, updated, webhookEventId=None),
            _event(4, updated, timestamp="yesterday"),
            _event(5, updated, location={"latitude": 13.72}),
        ],
    )
    with ApiServer(tmp_path, token=TOKEN, flaky=False) as server:
        batch = read_interval(_request(server.base_url))
    assert batch.rows_read == 5 == len(batch.records) + len(batch.rejects)
    reasons = {r.source_id: r.reason for r in batch.rejects}
    assert reasons["01HQLINE000002"] == "location.latitude '13.7x' is not a number"
    assert reasons[None] == "missing webhookEventId"
    assert reasons["01HQLINE000004"] == "timestamp 'yesterday' is not epoch milliseconds"
    assert "only one of latitude/longitude" in reasons["01HQLINE000005"]
    for reject in batch.rejects:
        user_id = reject.raw["source"]["userId"]
        assert user_id.startswith("pseudonym:")
        assert "U4af4980629a0f" not in json.dumps(reject.raw, ensure_ascii=False)


def test_description_is_nfc_without_nul_bytes_and_keeps_emoji(tmp_path: Path) -> None:
    # tone mark before the vowel below: NFC reorders it (canonical combining classes 107 > 103)
    _write(tmp_path, [_event(1, START + timedelta(hours=1), message__text="ท\u0e48\u0e38อตัน\x00 น้ำท่วมขัง 🌧️ ")])
    with ApiServer(tmp_path, token=TOKEN, flaky=False) as server:
        (record,) = read_interval(_request(server.base_url)).records
    assert record["description"] == "ท\u0e38\u0e48อตัน น้ำท่วมขัง 🌧️"


def test_a_page_that_stays_5xx_raises_source_error_naming_the_page(data_dir: Path) -> None:
    with ApiServer(data_dir, token=TOKEN, flaky=True, faults={("line", 2): "error"}) as server:
        base_url = server.base_url
        with pytest.raises(SourceError) as caught:
            read_interval(_request(base_url))
    message = str(caught.value)
    assert "LINE page 2" in message
    assert f"{base_url}/v1/complaints?" in message and "page=2" in message
    assert "HTTP 500 after 3 retries" in message


def test_a_page_that_is_not_json_raises_source_error(data_dir: Path) -> None:
    with (
        ApiServer(data_dir, token=TOKEN, flaky=True, faults={("line", 3): "malformed"}) as server,
        pytest.raises(SourceError, match=r"LINE page 3 .*page=3.*not valid JSON"),
    ):
        read_interval(_request(server.base_url))


def test_a_wrong_token_raises_a_clear_source_error(data_dir: Path) -> None:
    with (
        ApiServer(data_dir, token=TOKEN, flaky=True) as server,
        pytest.raises(SourceError, match=r"LINE page 1 .*refused the token \(HTTP 401\)"),
    ):
        read_interval(_request(server.base_url, token="expired-token"))


def test_an_unreachable_server_raises_source_error_after_retries() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SourceError, match=r"LINE page 1 .*no answer after 3 retries"):
        read_interval(_request(f"http://127.0.0.1:{port}"))


def test_a_server_that_never_answers_times_out_and_raises_source_error() -> None:
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(SourceError, match=r"LINE page 1 .*no answer after 1 retries.*timed out"):
            read_interval(_request(url, http_retries=1, http_read_timeout=0.2))


def test_a_page_of_the_wrong_shape_raises_source_error(tmp_path: Path) -> None:
    # an API that answers a list instead of {"events": ..., "hasNext": ...}
    page = line_adapter.JsonPage(what="LINE page 1", url="http://x/v1/complaints?page=1", data=[1, 2])
    with pytest.raises(SourceError, match=r"LINE page 1 \(http://x/v1/complaints\?page=1\): expected a JSON object"):
        line_adapter._page_content(page, 1)
    page = line_adapter.JsonPage(what="LINE page 1", url="u", data={"events": [], "hasNext": "yes"})
    with pytest.raises(SourceError, match="hasNext"):
        line_adapter._page_content(page, 1)
