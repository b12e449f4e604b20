"""Open311 GeoReport v2: reading a city's endpoint as a channel (served by the local API server),
and writing the warehouse's complaints in the same shape, read back by the same reader."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from complaints import config as config_module
from complaints.adapters import ExtractRequest, SourceError
from complaints.adapters.open311 import convert
from complaints.canonical import RejectedRow
from complaints.config import CONFIG_ENV, load_config
from complaints.ingest import ingest_channel
from complaints.open311_export import requests_by_day, services, write_georeport_files
from complaints.pseudonym import PHONE_MASK
from complaints.thai_time import BANGKOK
from complaints.warehouse import ensure_schema, make_engine
from devtools.demo.api_server import ApiServer
from test_indicator_compute import indicator_warehouse, load, matter

START = datetime(2019, 1, 15, tzinfo=BANGKOK)
END = START + timedelta(days=1)
KEY = "test-pseudonym-key"

# A city's channel entry, as another city would write it in its pipeline.yaml.
OPEN311_CHANNEL = {
    "name_th": "ระบบ Open311 ของเมือง",
    "name_en": "City Open311 GeoReport v2 endpoint",
    "adapter": "complaints.adapters.open311",
    "connection_id": "complaints_open311_api",
    "start_date": "2018-10-01",
    "max_requests": 5,
    "lookback_days": 30,
    "http_retries": 3,
    "http_backoff_factor": 0.01,
    "http_read_timeout": 5,
    "crosswalk": {
        "categories": {"001": "roads", "Pothole in street": "roads", "Graffiti": "other"},
        "districts": {"10500": "1004"},
    },
}


@pytest.fixture
def open311_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Bangkok's config plus an Open311 channel, chosen with COMPLAINTS_CONFIG as a city would."""
    raw = dict(load_config().raw)
    raw["channels"] = {**raw["channels"], "open311": OPEN311_CHANNEL}
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    _forget_config()
    yield
    monkeypatch.delenv(CONFIG_ENV)
    _forget_config()


def _forget_config() -> None:
    config_module.load_config.cache_clear()
    config_module._lookups.cache_clear()


def _request(base_url: str, **settings: Any) -> ExtractRequest:
    channel = load_config().channels["open311"]
    return ExtractRequest(
        channel=dataclasses.replace(channel, settings={**channel.settings, **settings}),
        interval_start=START,
        interval_end=END,
        pseudonym_key=KEY,
        source_url=f"{base_url}/open311/v2",
    )


def service_request(number: int, requested: str, updated: str | None = None, **fields: Any) -> dict[str, Any]:
    """A GeoReport v2 request as a city's server answers it."""
    return {
        "service_request_id": str(number),
        "status": "open",
        "status_notes": None,
        "service_name": "Pothole in street",
        "service_code": "001",
        "description": "หลุมบนถนนหน้าซอย",
        "agency_responsible": "สำนักการโยธา",
        "service_notice": None,
        "requested_datetime": requested,
        "updated_datetime": updated,
        "expected_datetime": None,
        "address": "ถนนสีลม แขวงสุริยวงศ์ เขตบางรัก",
        "address_id": None,
        "zipcode": None,
        "lat": 13.7246,
        "long": 100.5293,
        "media_url": None,
        **fields,
    }


def serve(data_dir: Path, items: list[Any]) -> None:
    (data_dir / "sources").mkdir(parents=True, exist_ok=True)
    (data_dir / "sources" / "open311_requests.json").write_text(json.dumps(items, ensure_ascii=False), "utf-8")


def test_a_city_request_becomes_a_canonical_complaint_through_the_channel_crosswalk(open311_config):
    request = _request("http://unused")
    closed = service_request(
        7,
        "2019-01-15T01:00:00Z",
        "2019-01-15T09:30:00+07:00",
        status="closed",
        status_notes="ซ่อมผิวถนนเรียบร้อยแล้ว",
        lat="13.72",
        long="100.52",
        address=None,
        zipcode=10500,
    )
    record = convert(request, closed)
    assert not isinstance(record, RejectedRow)
    assert record["source_id"] == "7" and record["channel"] == "open311"
    assert record["received_at"] == datetime(2019, 1, 15, 8, 0, tzinfo=BANGKOK)
    assert record["status"] == "resolved" and record["resolved_at"] == datetime(2019, 1, 15, 9, 30, tzinfo=BANGKOK)
    assert record["resolution_report"] == "ซ่อมผิวถนนเรียบร้อยแล้ว"
    assert record["district_code"] == "1004"  # the zipcode, through crosswalk.districts
    assert record["category_code"] == "roads" and record["responsible_unit"] == "bma_public_works"
    assert (record["latitude"], record["longitude"]) == (13.72, 100.52)
    assert record["reporter_pseudonym"] is None

    opened = convert(request, service_request(8, "2019-01-15T10:00:00+07:00", service_code="999"))
    assert not isinstance(opened, RejectedRow)
    assert opened["status"] == "received" and opened["resolved_at"] is None and opened["resolution_report"] is None
    assert opened["district_code"] == "1004"  # "เขตบางรัก" in the address
    assert opened["category_code"] == "roads"  # unknown code, known service_name
    assert opened["source_updated_at"] == opened["received_at"]  # no updated_datetime


def test_unreadable_requests_are_rejected_with_reasons_and_personal_fields_pseudonymised(open311_config):
    request = _request("http://unused")
    cases = {
        "naive": service_request(1, "2019-01-15 10:00:00"),
        "not a date": service_request(2, "15/01/2562"),
        "no id": service_request(3, "2019-01-15T10:00:00+07:00", service_request_id=None),
        "half a pair": service_request(4, "2019-01-15T10:00:00+07:00", lat=None),
        "no status": service_request(5, "2019-01-15T10:00:00+07:00", status=None, phone="0812345678"),
    }
    reasons = {}
    for name, item in cases.items():
        reject = convert(request, item)
        assert isinstance(reject, RejectedRow), name
        reasons[name] = reject.reason
    assert "has no UTC offset" in reasons["naive"]
    assert "requested_datetime '15/01/2562' is not an ISO 8601 datetime" in reasons["not a date"]
    assert reasons["no id"] == "missing service_request_id"
    assert "only one of latitude/longitude" in reasons["half a pair"]
    assert reasons["no status"] == "missing status"
    leaked = convert(request, cases["no status"])
    assert "0812345678" not in json.dumps(leaked.raw) and leaked.raw["phone"].startswith("pseudonym:")


def test_date_windows_at_the_server_cap_are_halved_until_every_request_is_read_once(open311_config, tmp_path):
    # 23 requests on the interval's day, 3 of them on one second (where two halves meet, the
    # inclusive end_date returns them twice), against a server that answers at most 5.
    moments = [START + timedelta(minutes=47 * i) for i in range(20)] + [START + timedelta(hours=12)] * 3
    items = [service_request(100 + i, m.isoformat()) for i, m in enumerate(moments)]
    serve(tmp_path, items)
    with ApiServer(tmp_path, flaky=True, open311_max_requests=5) as server:
        batch = _read(_request(server.base_url, lookback_days=0))
        windows = len(server.hits)
    assert sorted(r["source_id"] for r in batch.records) == sorted(str(100 + i) for i in range(23))
    assert batch.rejects == []
    assert windows > 5  # the day had to be split many times; each window also answered a 503 once


def test_a_run_keeps_the_changes_of_its_interval_from_the_lookback_window(open311_config, tmp_path):
    old_updated_today = service_request(
        1, (START - timedelta(days=20)).isoformat(), (START + timedelta(hours=3)).isoformat()
    )
    old_updated_before = service_request(
        2, (START - timedelta(days=20)).isoformat(), (START - timedelta(days=2)).isoformat()
    )
    too_old = service_request(3, (START - timedelta(days=40)).isoformat(), (START + timedelta(hours=3)).isoformat())
    new_today = service_request(4, (START + timedelta(hours=5)).isoformat())
    serve(tmp_path, [old_updated_today, old_updated_before, too_old, new_today])
    with ApiServer(tmp_path, flaky=False) as server:
        batch = _read(_request(server.base_url))
    assert sorted(r["source_id"] for r in batch.records) == ["1", "4"]


def test_a_server_that_keeps_failing_or_caps_one_second_fails_naming_the_window(open311_config, tmp_path):
    serve(tmp_path, [service_request(i, START.isoformat()) for i in range(6)])
    capped = pytest.raises(SourceError, match=r"Open311 requests .*cap of 5.* within one second")
    with ApiServer(tmp_path, flaky=False, open311_max_requests=5) as server, capped:
        _read(_request(server.base_url, lookback_days=0))
    with (
        ApiServer(tmp_path, flaky=False, faults={("open311", 1): "error"}) as server,
        pytest.raises(SourceError, match=r"Open311 requests 2019-01-14T17:00:00Z\.\.2019-01-15T17:00:00Z .*HTTP 500"),
    ):
        _read(_request(server.base_url, lookback_days=0))


def _read(request: ExtractRequest):
    from complaints.adapters import open311

    (part,) = open311.plan(request)
    return open311.read(request, part)


def test_a_city_channel_loads_through_the_same_ingest_with_conservation(open311_config, tmp_path, warehouse_url):
    items = [service_request(i, (START + timedelta(minutes=30 * i)).isoformat()) for i in range(48)]
    items[3]["service_code"], items[3]["service_name"] = "777", "Unknown service"
    items[4]["lat"] = "north"
    serve(tmp_path, items)
    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    with ApiServer(tmp_path, flaky=True, open311_max_requests=10) as server:
        summary = ingest_channel(_request(server.base_url, lookback_days=0), engine)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (48, 46, 2)
    with engine.connect() as conn:
        loaded = conn.execute(text("SELECT COUNT(*) FROM complaint WHERE channel = 'open311'")).scalar_one()
        reasons = [r for (r,) in conn.execute(text("SELECT reasons FROM quarantine WHERE channel = 'open311'"))]
        ledger = conn.execute(
            text("SELECT rows_read, rows_loaded, rows_quarantined FROM ingest_batch WHERE channel = 'open311'")
        ).one()
    assert loaded == summary.rows_loaded
    assert ledger.rows_read == ledger.rows_loaded + ledger.rows_quarantined == summary.rows_read
    assert len(reasons) == 2
    assert any("category" in r for r in reasons) and any("latitude 'north' is not a number" in r for r in reasons)
    engine.dispose()


@pytest.fixture
def exported_warehouse(warehouse_url):
    engine = next(indicator_warehouse(warehouse_url))
    received = datetime(2019, 1, 15, 9, 0, tzinfo=BANGKOK)
    load(
        engine,
        matter("A-1", received, ("resolved", received + timedelta(days=1)), report="เก็บแล้ว โทร 081-234-5678"),
        matter("A-2", received + timedelta(hours=2), ("resolved", datetime(2019, 3, 5, tzinfo=BANGKOK))),
        matter("A-3", datetime(2019, 1, 16, 23, 30, tzinfo=BANGKOK), unit=None, district="1030", category="roads"),
    )
    yield engine
    engine.dispose()


def test_the_export_writes_a_georeport_file_per_day_as_of_the_cut_off_without_personal_data(
    exported_warehouse, tmp_path
):
    days = requests_by_day(exported_warehouse, date(2019, 2, 28))
    assert sorted(days) == [date(2019, 1, 15), date(2019, 1, 16)]
    first, second = days[date(2019, 1, 15)]
    assert first["service_request_id"] == "mis-A-1" and first["status"] == "closed"
    assert first["status_notes"] == f"เก็บแล้ว โทร {PHONE_MASK}"
    assert first["requested_datetime"] == "2019-01-15T09:00:00+07:00"
    assert first["updated_datetime"] == "2019-01-16T09:00:00+07:00"
    assert second["status"] == "open" and second["status_notes"] is None  # resolved after the cut-off
    assert second["updated_datetime"] == second["requested_datetime"]
    (late,) = days[date(2019, 1, 16)]
    assert late["address"] == "เขตจตุจักร กรุงเทพมหานคร" and late["agency_responsible"] is None
    assert late["service_code"] == "roads" and late["service_name"] == "ถนน"

    files = write_georeport_files(exported_warehouse, date(2019, 2, 28), tmp_path / "open311")
    assert [f.name for f in files] == ["services.json", "requests-2019-01-15.json", "requests-2019-01-16.json"]
    published = "".join(f.read_text("utf-8") for f in files)
    assert "pseudonym-of-the-reporter" not in published and "081-234-5678" not in published
    codes = {s["service_code"] for s in json.loads(files[0].read_text("utf-8"))}
    assert codes == {c.code for c in load_config().categories} == {s["service_code"] for s in services()}


def test_the_published_export_reads_back_through_the_open311_reader(exported_warehouse, open311_config, tmp_path):
    files = write_georeport_files(exported_warehouse, date(2019, 2, 28), tmp_path / "published")
    serve(tmp_path, [item for f in files[1:] for item in json.loads(f.read_text("utf-8"))])
    with ApiServer(tmp_path, flaky=False) as server:
        request = dataclasses.replace(
            _request(server.base_url, lookback_days=0),
            interval_start=datetime(2019, 1, 15, tzinfo=BANGKOK),
            interval_end=datetime(2019, 1, 17, tzinfo=BANGKOK),
        )
        batch = _read(request)
    read_back = {r["source_id"]: r for r in batch.records}
    assert batch.rejects == [] and sorted(read_back) == ["mis-A-1", "mis-A-2", "mis-A-3"]
    assert read_back["mis-A-1"]["status"] == "resolved" and read_back["mis-A-1"]["district_code"] == "1004"
    assert read_back["mis-A-1"]["category_code"] == "waste"
    assert read_back["mis-A-1"]["responsible_unit"] == "cleansing_parks"
    assert read_back["mis-A-2"]["status"] == "received"  # open as of the cut-off: resolved after it
    assert read_back["mis-A-3"]["district_code"] == "1030" and read_back["mis-A-3"]["status"] == "received"
    assert read_back["mis-A-3"]["received_at"] == datetime(2019, 1, 16, 23, 30, tzinfo=BANGKOK)
