"""Facebook adapter against the real local API server (no mocking of HTTP)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapter_fixtures import DELETE, END, KEY, START, api_request, read_interval, with_changes, write_source
from complaints.adapters import ExtractRequest, SourceError
from complaints.adapters import facebook as facebook_adapter
from complaints.adapters.http_client import JsonPage
from complaints.canonical import CANONICAL_COLUMNS
from complaints.pseudonym import pseudonymise
from complaints.thai_time import BANGKOK
from devtools.demo.api_server import ApiServer

TOKEN = "fb-page-access-token"


def _graph(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _post(n: int, updated: datetime, **changes) -> dict:
    post = {
        "id": f"104857_2019011507{n:04d}",
        "created_time": "2019-01-15T07:05:00+0000",
        "updated_time": _graph(updated),
        "message": f"ถนนหน้าวัดหัวลำโพงเป็นหลุมลึก รถจักรยานยนต์ล้มบ่อย จุดที่ {n} 😡",
        "from": {"id": f"2958310447{n:04d}", "name": "สมชาย ใจดี"},
        "place": {"location": {"latitude": 13.7316, "longitude": 100.5291}},
        "complaint": {
            "district": "บางรัก",
            "category": "ถนน",
            "assigned_unit": "ฝ่ายโยธา",
            "status": "อยู่ระหว่างดำเนินการ",
            "acknowledged_time": "2019-01-15T09:00:00+0000",
            "resolved_time": None,
            "resolution": None,
        },
    }
    return with_changes(post, changes)


def _write(data_dir: Path, posts: list[dict]) -> None:
    write_source(data_dir, "facebook_posts.json", posts)


def _request(base_url: str, token: str = TOKEN, **settings) -> ExtractRequest:
    return api_request("facebook", base_url, token, page_size=3, **settings)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    # 8 posts in the window (pages of 3: 3 pages), 2 outside it
    posts = [_post(n, START + timedelta(hours=2 * n, minutes=1)) for n in range(8)]
    posts += [_post(100, END), _post(101, START - timedelta(seconds=1))]
    _write(tmp_path, posts)
    return tmp_path


def test_follows_paging_next_through_transient_503s_with_exact_counts(data_dir: Path) -> None:
    with ApiServer(data_dir, token=TOKEN, flaky=True) as server:
        batch = read_interval(_request(server.base_url))
        hits = dict(server.hits)
    assert len(batch.records) == 8
    assert batch.rejects == []
    assert batch.rows_read == len(batch.records) + len(batch.rejects)
    assert sorted(r["source_id"] for r in batch.records) == sorted(f"104857_2019011507{n:04d}" for n in range(8))
    assert len(hits) == 3
    assert all(count == 2 for count in hits.values())


def test_maps_a_post_to_a_canonical_record_in_bangkok_time(data_dir: Path) -> None:
    with ApiServer(data_dir, token=TOKEN, flaky=False) as server:
        batch = read_interval(_request(server.base_url))
    record = next(r for r in batch.records if r["source_id"] == "104857_20190115070000")
    assert tuple(record) == CANONICAL_COLUMNS
    assert record["received_at"] == datetime(2019, 1, 15, 14, 5, tzinfo=BANGKOK)  # 07:05 UTC
    assert str(record["received_at"].tzinfo) == "Asia/Bangkok"
    assert record["acknowledged_at"] == datetime(2019, 1, 15, 16, 0, tzinfo=BANGKOK)
    assert record["resolved_at"] is None
    assert record["source_updated_at"] == datetime(2019, 1, 15, 0, 1, tzinfo=BANGKOK)
    assert (
        record["district_code"],
        record["category_code"],
        record["responsible_unit"],
        record["status"],
    ) == ("1004", "roads", "public_works", "in_progress")
    assert (record["latitude"], record["longitude"]) == (13.7316, 100.5291)
    assert record["reporter_pseudonym"] == pseudonymise("29583104470000", KEY)
    text = json.dumps(record, default=str, ensure_ascii=False)
    assert "29583104470000" not in text and "สมชาย" not in text


def test_absent_place_unknown_labels_and_missing_unit(tmp_path: Path) -> None:
    updated = START + timedelta(hours=3)
    _write(
        tmp_path,
        [
            _post(1, updated, place=DELETE),
            _post(2, updated, complaint__district="เขตปากเกร็ด", complaint__status="รอพิจารณา"),
            _post(3, updated, complaint__assigned_unit=None, complaint__category="เสียงดัง"),
        ],
    )
    with ApiServer(tmp_path, token=TOKEN, flaky=False) as server:
        batch = read_interval(_request(server.base_url))
    by_n = {r["source_id"][-1]: r for r in batch.records}
    assert batch.rejects == []
    assert (by_n["1"]["latitude"], by_n["1"]["longitude"]) == (None, None)
    assert (by_n["2"]["district_code"], by_n["2"]["status"]) == (None, None)
    assert (by_n["3"]["category_code"], by_n["3"]["responsible_unit"]) == ("noise", "environment_sanitation")


def test_unparseable_posts_are_rejected_with_the_field_and_a_redacted_raw_row(tmp_path: Path) -> None:
    updated = START + timedelta(hours=3)
    _write(
        tmp_path,
        [
            _post(1, updated),
            _post(2, updated, created_time="15/01/2019 07:05"),
            _post(3, updated, place={"location": {"latitude": "north", "longitude": 100.5}}),
            _post(4, updated, complaint__acknowledged_time="2019-02-31T09:00:00+0000"),
        ],
    )
    with ApiServer(tmp_path, token=TOKEN, flaky=False) as server:
        batch = read_interval(_request(server.base_url))
    assert batch.rows_read == 4 == len(batch.records) + len(batch.rejects)
    reasons = {r.source_id[-1]: r.reason for r in batch.rejects}
    assert reasons["2"].startswith("created_time '15/01/2019 07:05' is not a Graph API time")
    assert reasons["3"] == "place.location.latitude 'north' is not a number"
    assert reasons["4"].startswith("complaint.acknowledged_time '2019-02-31T09:00:00+0000'")
    for reject in batch.rejects:
        assert reject.raw["from"]["id"] == "pseudonym:" + pseudonymise(f"2958310447000{reject.source_id[-1]}", KEY)
        assert reject.raw["from"]["name"].startswith("pseudonym:")
        assert "สมชาย" not in json.dumps(reject.raw, ensure_ascii=False)


def test_a_page_that_stays_5xx_raises_source_error_naming_the_page_without_the_token(data_dir: Path) -> None:
    with (
        ApiServer(data_dir, token=TOKEN, flaky=True, faults={("facebook", 2): "error"}) as server,
        pytest.raises(SourceError) as caught,
    ):
        read_interval(_request(server.base_url))
    message = str(caught.value)
    assert message.startswith("Facebook page 2 (http://127.0.0.1:")
    assert "after=" in message and "access_token=***" in message
    assert TOKEN not in message
    assert "HTTP 500 after 3 retries" in message


def test_a_page_that_is_not_json_raises_source_error(data_dir: Path) -> None:
    with (
        ApiServer(data_dir, token=TOKEN, flaky=True, faults={("facebook", 3): "malformed"}) as server,
        pytest.raises(SourceError, match=r"Facebook page 3 .*not valid JSON") as caught,
    ):
        read_interval(_request(server.base_url))
    assert TOKEN not in str(caught.value)


def test_a_wrong_token_raises_a_clear_source_error(data_dir: Path) -> None:
    with (
        ApiServer(data_dir, token=TOKEN, flaky=True) as server,
        pytest.raises(SourceError, match=r"Facebook page 1 .*refused the token \(HTTP 401\)") as caught,
    ):
        read_interval(_request(server.base_url, token="stale-token"))
    assert "stale-token" not in str(caught.value)


def test_a_configured_page_id_is_used(data_dir: Path) -> None:
    with ApiServer(data_dir, token=TOKEN, flaky=False, page_id="777") as server:
        assert len(read_interval(_request(server.base_url, page_id="777")).records) == 8
        with pytest.raises(SourceError, match="HTTP 404"):
            read_interval(_request(server.base_url))


def test_paging_next_to_another_host_is_refused_so_the_token_stays_home() -> None:
    page = JsonPage(
        what="Facebook page 1",
        url="http://127.0.0.1:9/v19.0/104857/complaints",
        data={"data": [{"id": "1"}], "paging": {"next": "https://evil.example/next?access_token=x"}},
    )
    with pytest.raises(SourceError, match="another host"):
        facebook_adapter._page_content(page, "http://127.0.0.1:9/")


def test_an_error_object_in_a_200_answer_raises_source_error() -> None:
    page = JsonPage(what="Facebook page 1", url="u", data={"error": {"message": "rate limited", "code": 4}})
    with pytest.raises(SourceError, match="rate limited"):
        facebook_adapter._page_content(page, "http://127.0.0.1:9/")
