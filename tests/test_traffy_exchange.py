"""The Traffy Fondue Exchange API client and adapter (complaints.adapters.traffy_exchange) against a
real local HTTP server implementing the documented API (devtools.demo.traffy_exchange_server):
log-in and token refresh, the get-issues windows, the 5,000 cap and the download-issues fallback,
the credit ledger and budget, fail/warning envelopes, timelines as status history, UTC+7 times,
schema drift, and the refusal of intervals the API cannot reach. Tickets are synthetic."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from complaints.adapters import ExtractRequest
from complaints.adapters import traffy_exchange as ex
from complaints.config import load_config
from complaints.errors import IngestError
from complaints.ingest import ingest_channel
from complaints.thai_time import BANGKOK
from complaints.warehouse import ensure_schema, make_engine
from conftest import PSEUDONYM_KEY
from devtools.demo.traffy_exchange_server import TraffyExchangeServer, bangkok_naive

REAL = Path("/work/shared/realdata/apis/traffy")
USER, PASSWORD = "agency-user", "agency-pass-123"
ORG = "151"


def ticket(ticket_id: str, last_activity: datetime, *, status: str = "รอรับเรื่อง", **changes: Any) -> dict[str, Any]:
    """A synthetic ticket in get-issue/v1's shape; times as the API writes them (naive UTC+7)."""
    received = last_activity - timedelta(hours=3)
    item: dict[str, Any] = {
        "ticket_id": ticket_id,
        "org_ids": [151],
        "type": "ถนน",
        "organization": "เขตบางรัก",
        "description": "ถนนชำรุด (ข้อความสังเคราะห์)",
        "photo": "https://storage.googleapis.com/traffy_public_bucket/attachment/synthetic.jpeg",  # a string
        "latitude": 13.72461,
        "longitude": 100.52931,
        "address": "แขวงสี่พระยา เขตบางรัก กรุงเทพมหานคร",
        "subdistrict": "สี่พระยา",
        "district": "บางรัก",
        "province": "กรุงเทพมหานคร",
        "timestamp": bangkok_naive(received),
        "photo_after": None,
        "timestamp_inprogress": None,
        "timestamp_finished": None,
        "org_finished": None,
        "status": status,
        "confirmed": False,
        "star": None,
        "count_reopen": 0,
        "last_activity": bangkok_naive(last_activity),
        "orgs": [{"org_id": "151", "org": "เขตบางรัก", "status": status}],  # org_id as a string: drift
        "timeline": [{"timestamp": bangkok_naive(received), "status": "รอรับเรื่อง", "org_id": None}],
    }
    item.update(changes)
    return item


def now() -> datetime:
    return datetime.now(UTC)


def channel(**exchange: Any):
    base = load_config().channels["traffy_fondue"]
    block = {"org_id": [ORG], "duration": "3days", "monthly_credit_budget": 900, "alert_share": 0.8, **exchange}
    settings = {**base.settings, "exchange_api": block, "http_retries": 1, "http_backoff_factor": 0.01}
    return dataclasses.replace(base, adapter="complaints.adapters.traffy_exchange", settings=settings)


def request_for(server: TraffyExchangeServer, tmp_path: Path, engine: Any, start: datetime, **exchange: Any):
    return ExtractRequest(
        channel=channel(**exchange),
        interval_start=start,
        interval_end=start + timedelta(days=1),
        pseudonym_key=PSEUDONYM_KEY,
        source_url=server.base_url,
        source_token=PASSWORD,
        source_login=USER,
        data_dir=tmp_path,
        warehouse=engine,
    )


@pytest.fixture
def engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    ensure_schema(engine)
    ex._clients.clear()
    yield engine
    ex._clients.clear()
    engine.dispose()


def rows(engine: Any, query: str, **params: Any) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(query), params)]


def yesterday() -> datetime:
    return (now().astimezone(BANGKOK) - timedelta(hours=20)).replace(minute=0, second=0, microsecond=0)


# -- log-in and the token ----------------------------------------------------------------------


def test_the_client_logs_in_once_sends_the_bearer_token_and_refreshes_it_before_it_expires(caplog):
    caplog.set_level(logging.DEBUG)
    offset = [timedelta(0)]
    with TraffyExchangeServer([ticket("2026-TOK001", now())], {USER: PASSWORD}, token_seconds=3600) as server:
        client = ex.ExchangeClient(
            server.base_url, USER, PASSWORD, token_refresh_margin=timedelta(minutes=5), clock=lambda: now() + offset[0]
        )
        client.get_issues(ORG, ex.Duration.TODAY)
        client.get_issues(ORG, ex.Duration.TODAY)
        assert server.endpoints_called() == ["get-auth/v1", "get-issues/v2", "get-issues/v2"]
        token = next(iter(server.tokens))
        assert server.auth_headers[-1] == f"Bearer {token}"
        offset[0] = timedelta(minutes=56)  # 4 minutes before the expiry: inside the refresh margin
        client.get_issues(ORG, ex.Duration.TODAY)
        assert server.endpoints_called()[3:] == ["get-auth/v1", "get-issues/v2"]
        client.close()
    assert len(server.tokens) == 2
    for issued in server.tokens:  # never logged, nor shown by the client's repr
        assert issued not in caplog.text and issued not in repr(client)
    assert PASSWORD not in caplog.text and PASSWORD not in repr(client)


def test_a_token_the_api_calls_expired_is_renewed_and_the_call_repeated_once():
    server = TraffyExchangeServer([ticket("2026-TOK002", now())], {USER: PASSWORD})
    with server, ex.ExchangeClient(server.base_url, USER, PASSWORD) as client:
        client.get_issues(ORG, ex.Duration.TODAY)
        server.expire_tokens()
        answer = client.get_issues(ORG, ex.Duration.TODAY)
    assert answer.status is ex.ApiStatus.SUCCESS and len(ex.issue_items(answer)) == 1
    assert server.endpoints_called() == [
        "get-auth/v1",
        "get-issues/v2",
        "get-issues/v2",
        "get-auth/v1",
        "get-issues/v2",
    ]


def test_a_wrong_password_is_a_clear_error_that_does_not_show_the_password():
    server = TraffyExchangeServer([], {USER: PASSWORD})
    with (
        server,
        ex.ExchangeClient(server.base_url, USER, "wrong-secret-xyz") as client,
        pytest.raises(ex.ExchangeApiError, match=r"get-auth/v1 .* failed: Invalid username") as caught,
    ):
        client.get_issues(ORG, ex.Duration.TODAY)
    assert "wrong-secret-xyz" not in str(caught.value)


# -- windows, upsert, UTC ----------------------------------------------------------------------


def test_the_daily_run_reads_the_overlapping_3days_window_and_stores_utc(tmp_path, engine):
    recent = now().astimezone(BANGKOK) - timedelta(hours=2)
    two_days = now().astimezone(BANGKOK) - timedelta(days=2)
    tickets = [
        ticket("2026-WIN001", recent),
        ticket("2026-WIN002", two_days),
        ticket("2026-OLD001", now() - timedelta(days=5)),
    ]
    with TraffyExchangeServer(tickets, {USER: PASSWORD}) as server:
        summary = ingest_channel(request_for(server, tmp_path, engine, yesterday()), engine)
        assert [q["duration"] for m, e, q in server.calls if e == "get-issues/v2"] == ["3days"]
        assert summary.rows_loaded == 2
        summary_today = ingest_channel(request_for(server, tmp_path, engine, yesterday(), duration="today"), engine)
        assert [q["duration"] for m, e, q in server.calls if e == "get-issues/v2"] == ["3days", "today"]
        assert summary_today.rows_loaded == 1  # the 1-day window: WIN001 only, upserted again
    stored = dict(rows(engine, "SELECT source_id, received_at FROM complaint WHERE channel = 'traffy_fondue'"))
    assert sorted(stored) == ["2026-WIN001", "2026-WIN002"]
    naive_bkk = datetime.fromisoformat(tickets[0]["timestamp"])  # naive Bangkok time as the API sent it
    expected_utc = naive_bkk - timedelta(hours=7)
    assert str(stored["2026-WIN001"]).startswith(expected_utc.isoformat(sep=" ")[:19])


def test_a_today_window_that_cannot_reach_the_interval_start_takes_the_3days_window(tmp_path, engine):
    start = now().astimezone(BANGKOK) - timedelta(days=2)
    with TraffyExchangeServer([ticket("2026-WIN003", start + timedelta(hours=1))], {USER: PASSWORD}) as server:
        ingest_channel(request_for(server, tmp_path, engine, start, duration="today"), engine)
        assert [q["duration"] for m, e, q in server.calls if e == "get-issues/v2"] == ["3days"]


def test_a_backfill_older_than_the_api_reaches_is_refused_naming_download_issues(tmp_path, engine):
    start = now().astimezone(BANGKOK) - timedelta(days=10)
    with TraffyExchangeServer([ticket("2026-OLD002", start)], {USER: PASSWORD}) as server:
        with pytest.raises(IngestError) as caught:
            ingest_channel(request_for(server, tmp_path, engine, start), engine)
        assert server.calls == []  # not a credit spent
    message = str(caught.value)
    assert "beyond what get-issues/v2 can reach" in message and "download-issues/v2" in message
    assert "public open-data export" in message and "complaints.adapters.traffy_fondue" in message
    assert rows(engine, "SELECT COUNT(*) FROM ingest_batch") == [(0,)]  # no empty interval recorded as loaded


# -- the cap -----------------------------------------------------------------------------------


def test_an_answer_at_the_cap_is_not_taken_as_complete_and_download_issues_is_read_instead(tmp_path, engine):
    base = now().astimezone(BANGKOK) - timedelta(hours=1)
    tickets = [ticket(f"2026-CAP{n:03d}", base - timedelta(minutes=n)) for n in range(5)]
    with TraffyExchangeServer(tickets, {USER: PASSWORD}, cap=3) as server:
        summary = ingest_channel(request_for(server, tmp_path, engine, yesterday(), issues_cap=3), engine)
        called = server.endpoints_called()
    assert called == ["get-auth/v1", "get-issues/v2", "download-issues/v2"]
    assert summary.rows_loaded == 5
    assert any("the cap is 3" in w and "download-issues/v2" in w for w in summary.source_warnings)
    assert rows(engine, "SELECT COUNT(*) FROM complaint WHERE channel = 'traffy_fondue'") == [(5,)]


def test_the_download_issues_csv_times_are_bangkok_time_too(tmp_path, engine):
    moment = now().astimezone(BANGKOK) - timedelta(hours=1)
    item = ticket("2026-CSV001", moment)
    with TraffyExchangeServer([item], {USER: PASSWORD}, cap=1) as server:
        request = request_for(server, tmp_path, engine, yesterday(), issues_cap=1)
        [part] = ex.plan(request)
        batch = ex.read(request, part)
        assert server.endpoints_called()[-1] == "download-issues/v2"
    [record] = batch.records
    assert record["received_at"] == datetime.fromisoformat(item["timestamp"]).replace(tzinfo=BANGKOK)
    assert record["source_updated_at"].astimezone(UTC) == moment.astimezone(UTC)


# -- credits -----------------------------------------------------------------------------------


def test_every_call_is_written_to_the_credit_ledger_with_the_api_balance(tmp_path, engine):
    with TraffyExchangeServer([ticket("2026-CRD001", now())], {USER: PASSWORD}, quota_limit=1000) as server:
        ingest_channel(request_for(server, tmp_path, engine, yesterday()), engine)
    ledger = rows(
        engine,
        "SELECT endpoint, credits, api_status, credit_balance, quota_limit, quota_month"
        " FROM traffy_credit_ledger ORDER BY credit_balance DESC",
    )
    month = now().astimezone(BANGKOK).strftime("%Y-%m")
    assert ledger == [
        ("get-auth/v1", 1, "success", 999, 1000, month),
        ("get-issues/v2", 1, "success", 998, None, month),
    ]
    assert ex.WarehouseCreditLedger(engine).spent(month) == 2


def test_a_run_over_the_monthly_budget_is_refused_before_any_call(tmp_path, engine):
    with TraffyExchangeServer([ticket("2026-CRD002", now())], {USER: PASSWORD}) as server:
        ingest_channel(request_for(server, tmp_path, engine, yesterday(), monthly_credit_budget=3), engine)  # spends 2
        ex._clients.clear()  # a new run: it must log in again (1) and read (1): 4 > 3
        with pytest.raises(ex.CreditBudgetExceeded) as caught:
            ingest_channel(request_for(server, tmp_path, engine, yesterday(), monthly_credit_budget=3), engine)
        assert server.endpoints_called() == ["get-auth/v1", "get-issues/v2"]  # nothing called the second time
    message = str(caught.value)
    assert "the run of traffy_fondue (1 organisation(s)" in message
    assert "needs 2 credit(s) but 2 of the monthly budget of 3 are already spent" in message
    assert "monthly_credit_budget" in message


def test_spending_80_percent_of_the_budget_is_a_warning_in_the_run_summary(tmp_path, engine):
    with TraffyExchangeServer([ticket("2026-CRD003", now())], {USER: PASSWORD}) as server:
        summary = ingest_channel(request_for(server, tmp_path, engine, yesterday(), monthly_credit_budget=10), engine)
        assert not summary.source_warnings  # 2 of 10
        summary = ingest_channel(request_for(server, tmp_path, engine, yesterday(), monthly_credit_budget=3), engine)
    assert summary.rows_loaded == 1
    assert any("3 of the monthly credit budget of 3" in w and "alert at 80%" in w for w in summary.source_warnings)


def test_the_api_quota_nearly_spent_is_a_warning_and_spent_is_a_clear_error(tmp_path, engine):
    with TraffyExchangeServer([ticket("2026-CRD004", now())], {USER: PASSWORD}, quota_limit=2, warn_below=2) as server:
        summary = ingest_channel(request_for(server, tmp_path, engine, yesterday()), engine)
        assert summary.rows_loaded == 1
        assert any("Almost running out of API usage quota" in w for w in summary.source_warnings)
        assert any("the account's API quota of 2" in w for w in summary.source_warnings)
        server.credit_balance = 0
        with pytest.raises(IngestError, match=r"Running out of API usage quota.*resets on the 1st"):
            ingest_channel(request_for(server, tmp_path, engine, yesterday()), engine)


# -- envelopes ---------------------------------------------------------------------------------


def test_a_fail_answer_is_a_task_error_with_the_api_message(tmp_path, engine):
    with TraffyExchangeServer([ticket("2026-ENV001", now())], {USER: PASSWORD}) as server:
        server.envelope_faults["get-issues/v2"] = ("fail", "Invalid org_id | org_id ไม่ถูกต้อง")
        with pytest.raises(IngestError, match=r"get-issues/v2 .* failed: Invalid org_id"):
            ingest_channel(request_for(server, tmp_path, engine, yesterday()), engine)
    assert rows(engine, "SELECT COUNT(*) FROM complaint") == [(0,)]


def test_a_warning_answer_is_loaded_and_shown_in_the_run_summary(tmp_path, engine, caplog):
    with TraffyExchangeServer([ticket("2026-ENV002", now())], {USER: PASSWORD}) as server:
        server.envelope_faults["get-issues/v2"] = ("warning", "Data may be delayed | ข้อมูลอาจล่าช้า")
        summary = ingest_channel(request_for(server, tmp_path, engine, yesterday()), engine)
    assert summary.rows_loaded == 1
    assert any("get-issues/v2 answered warning: Data may be delayed" in w for w in summary.source_warnings)
    assert summary.as_dict()["source_warnings"] == summary.source_warnings
    assert "Data may be delayed" in caplog.text


# -- timelines ---------------------------------------------------------------------------------


def test_a_ticket_whose_state_changed_gets_its_real_transition_times_from_get_issue(tmp_path, engine):
    last = now().astimezone(BANGKOK) - timedelta(hours=1)
    received, working, done = last - timedelta(hours=5), last - timedelta(hours=3, minutes=17), last
    changed = ticket(
        "2026-TML001",
        last,
        status="เสร็จสิ้น",
        timestamp=bangkok_naive(received),
        timeline=[
            {"timestamp": bangkok_naive(received), "status": "รอรับเรื่อง", "org_id": None, "photo": "https://x/1.jpg"},
            {"timestamp": bangkok_naive(working), "status": "กำลังดำเนินการ", "org_id": 151, "photo": None},
            {"timestamp": bangkok_naive(done), "status": "เสร็จสิ้น", "org_id": "151", "photo": None},
            {"...": "ตัดรายการที่เหลือ"},
        ],
    )
    unchanged = ticket("2026-TML002", last)  # new and still waiting: nothing to ask
    with TraffyExchangeServer([changed, unchanged], {USER: PASSWORD}) as server:
        ingest_channel(request_for(server, tmp_path, engine, yesterday()), engine)
        assert [q.get("ticket_id") for m, e, q in server.calls if e == "get-issue/v1"] == ["2026-TML001"]
        ingest_channel(request_for(server, tmp_path, engine, yesterday()), engine)  # no change since
        assert [e for e in server.endpoints_called() if e == "get-issue/v1"] == ["get-issue/v1"]
    history = rows(
        engine,
        "SELECT status, changed_at FROM complaint_status_history WHERE source_id = '2026-TML001' ORDER BY changed_at",
    )
    utc = [(m.astimezone(UTC).replace(tzinfo=None)).isoformat(sep=" ")[:19] for m in (received, working, done)]
    assert [(s, str(t)[:19]) for s, t in history] == list(
        zip(["received", "in_progress", "resolved"], utc, strict=True)
    )


def test_timelines_the_budget_cannot_pay_for_are_skipped_and_named_in_the_summary(tmp_path, engine):
    last = now() - timedelta(hours=1)
    tickets = [ticket(f"2026-TML1{n}", last, status="กำลังดำเนินการ") for n in range(2)]
    with TraffyExchangeServer(tickets, {USER: PASSWORD}) as server:
        summary = ingest_channel(request_for(server, tmp_path, engine, yesterday(), monthly_credit_budget=3), engine)
        assert server.endpoints_called() == ["get-auth/v1", "get-issues/v2", "get-issue/v1"]
    assert summary.rows_loaded == 2
    assert any("1 of 2 changed ticket(s) without get-issue/v1 timeline" in w for w in summary.source_warnings)
    assert ex.WarehouseCreditLedger(engine).spent(ex.quota_month(now())) == 3  # never over the budget


def test_timeline_labels_without_a_mapping_are_kept_as_unmapped_with_the_label():
    chan = channel()
    events = ex.timeline_events(
        chan, "2026-TML003", {"timeline": [{"timestamp": "2026-08-27 22:18:06.282372", "status": "จัดทำนโยบาย"}]}
    )
    assert [(e.status, e.note, e.changed_at) for e in events] == [
        ("unmapped", "unmapped: จัดทำนโยบาย", datetime(2026, 8, 27, 22, 18, 6, 282372, tzinfo=BANGKOK))
    ]


def test_an_agency_state_in_the_timeline_maps_by_the_status_type_orgs_gives_it():
    detail = {
        "orgs": [{"org_id": 151, "status": "จัดทำนโยบาย", "status_type": "inprogress"}],
        "timeline": [{"timestamp": "2026-08-27 22:18:06.282372", "status": "จัดทำนโยบาย"}],
    }
    [event] = ex.timeline_events(channel(), "2026-TML004", detail)
    assert (event.status, event.note) == ("in_progress", None)


def test_a_bare_host_gets_the_documented_base_path():
    assert ex.api_base_url("https://publicapi.traffy.in.th") == "https://publicapi.traffy.in.th/exchange-api"
    assert ex.api_base_url("http://127.0.0.1:9/exchange-api") == "http://127.0.0.1:9/exchange-api"
    assert ex.api_base_url(None) == ex.DEFAULT_BASE_URL


# -- the documented examples -------------------------------------------------------------------


def _real(name: str) -> dict[str, Any]:
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (the documented Exchange API examples, /work/shared/realdata)")
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_documented_get_issues_answer_parses_despite_its_drift_and_elision_marker(tmp_path, engine):
    data = _real("get-issues-v2.response.json")
    answer = ex.Answer("get-issues/v2", "example", ex.ApiStatus(data["status"]), data["message"], data)
    [item] = ex.issue_items(answer)  # the {"...": ...} marker skipped
    assert isinstance(item["photo"], str) and answer.credit_balance is None
    assert ex.at_cap(answer, [item], 5000) is False and ex.at_cap(answer, [item], 4000) is True  # count 4367
    assert ex.bangkok_time(item["timestamp"]) == datetime(2026, 8, 20, 22, 25, 37, 433959, tzinfo=BANGKOK)
    request = ExtractRequest(
        channel=channel(), interval_start=yesterday(), interval_end=now(), pseudonym_key=PSEUDONYM_KEY
    )
    from complaints.adapters.traffy_fondue import convert

    reject = convert(request, item)  # a test organisation in Pathum Thani: outside Bangkok, not a parse error
    assert reject.reason == "outside Bangkok: province 'ปทุมธานี'"


def test_the_documented_get_issue_timeline_gives_bangkok_times():
    detail = _real("get-issue-v1.response.json")["results"]
    events = ex.timeline_events(channel(), detail["ticket_id"], detail)
    assert [e.changed_at.astimezone(UTC).isoformat() for e in events] == [
        "2026-08-27T15:15:33.416627+00:00",
        "2026-08-27T15:18:06.282372+00:00",
    ]
    assert events[0].status == "received"


def test_the_documented_token_expiry_is_read_as_bangkok_time():
    data = _real("get-auth-v1.response.json")
    expiry = ex.bangkok_time(data["results"]["expire_timestamp"])
    assert expiry == datetime(2026, 10, 12, 12, 6, 12, tzinfo=UTC)


# -- the SQL on both databases -----------------------------------------------------------------


@pytest.fixture
def any_warehouse(warehouse_url: str):
    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def test_the_credit_ledger_sums_a_bangkok_month_on_both_databases(any_warehouse):
    ledger = ex.WarehouseCreditLedger(any_warehouse)
    month_start = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)  # 1 December 00:30 in Bangkok
    with any_warehouse.begin() as conn:
        conn.execute(text("DELETE FROM traffy_credit_ledger WHERE quota_month IN ('2026-11', '2026-12')"))
    for moment, credits in (
        (month_start, 1),
        (month_start + timedelta(days=2), 2),
        (month_start - timedelta(hours=1), 5),
    ):
        ledger.record(ex.CreditCall("get-issues/v2", moment, credits, org_id=ORG, api_status="success"))
    assert (ledger.spent("2026-12"), ledger.spent("2026-11"), ledger.spent("2026-10")) == (3, 5, 0)


# -- the server and the client against openapi.yaml --------------------------------------------

# The documented drift of the real API from its own spec (/work/shared/realdata/apis/README.md):
# photo a string, api_log_session_id / org_id / *_id numbers, exec_time "0.123s", null where the
# spec has no nullable. The local server answers like the real API, so the check allows these.
_DRIFT_IDS = ("api_log_session_id", "org_id", "status_id", "type_id")


def _json_schema(node: Any, name: str | None = None) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema, with the documented drift allowed."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: _json_schema(v, k) if k != "properties" else {p: _json_schema(s, p) for p, s in v.items()}
        for k, v in node.items()
    }
    out.pop("example", None)
    kind = out.get("type")
    if isinstance(kind, str) and "$ref" not in out:
        kinds = [kind, "null"]
        if name in _DRIFT_IDS or name == "exec_time":
            kinds += ["integer", "string", "number"]
        if kind == "array" and name in ("photo", "photo_after", "org_id"):
            kinds.append("string")
            out["items"] = {}
        out["type"] = sorted(set(kinds))
    out.pop("nullable", None)
    return out


@pytest.fixture
def spec() -> dict[str, Any]:
    import yaml

    path = REAL / "openapi.yaml"
    if not path.is_file():
        pytest.skip(f"{path} is absent (the Exchange API's OpenAPI spec, /work/shared/realdata)")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_local_server_and_the_client_keep_to_openapi_yaml(tmp_path, engine, spec):
    from jsonschema import Draft202012Validator

    components = {"components": {"schemas": _json_schema(spec["components"]["schemas"])}}

    def check(answer: dict[str, Any], schema: str) -> None:
        validator = Draft202012Validator({"$ref": f"#/components/schemas/{schema}", **components})
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(answer)]
        assert not errors, (schema, errors)

    changed = ticket("2026-SPEC01", now() - timedelta(hours=1), status="กำลังดำเนินการ")
    with TraffyExchangeServer([changed, ticket("2026-SPEC02", now())], {USER: PASSWORD}) as server:
        ingest_channel(request_for(server, tmp_path, engine, yesterday()), engine)
        calls = list(server.calls)
        token_answer = server.get_auth({"user": USER, "pass": PASSWORD})
        check(token_answer, "AuthResponse")
        check(server.get_issues({"org_id": ORG, "duration": "3days"}), "GetIssuesResponse")
        check(server.get_issue({"ticket_id": "2026-SPEC01"}), "GetIssueResponse")
        check(server.fail(ex.TOKEN_ERRORS[0]), "DownloadIssuesErrorResponse")
    assert [e for _, e, _ in calls] == ["get-auth/v1", "get-issues/v2", "get-issue/v1"]
    for method, endpoint, query in calls:  # every call the client made is in the spec, with declared parameters
        operation = spec["paths"][f"/{endpoint}"][method.lower()]
        declared = {p["name"]: p for p in operation.get("parameters", [])}
        assert set(query) <= set(declared), (endpoint, query)
        for key, value in query.items():
            assert value in declared[key]["schema"].get("enum", [value]), (endpoint, key, value)
        assert {p["name"] for p in declared.values() if p.get("required")} <= set(query), endpoint


def test_the_old_api_module_name_reads_the_exchange_api_not_an_invented_endpoint():
    from complaints.adapters import load_adapter

    old = load_adapter(dataclasses.replace(channel(), adapter="complaints.adapters.traffy_fondue_api"))
    assert (old.plan, old.read, old.after_load) == (ex.plan, ex.read, ex.after_load)


def test_the_daily_task_passes_the_connections_login_and_password_as_user_and_pass(monkeypatch):
    from types import SimpleNamespace

    from complaints import airflow_tasks
    from complaints import config as config_module
    from complaints import ingest as ingest_module

    chan = dataclasses.replace(
        channel(), settings={**channel().settings, "connection_id": "complaints_traffy_exchange"}
    )
    api = SimpleNamespace(
        conn_type="http", host="publicapi.traffy.in.th", schema="https", port=None, login=USER, password=PASSWORD
    )
    api.extra_dejson = {}
    connections = {
        "complaints_traffy_exchange": api,
        airflow_tasks.PSEUDONYM_KEY_CONN_ID: SimpleNamespace(password=PSEUDONYM_KEY),
    }
    seen: list[ExtractRequest] = []
    monkeypatch.setattr(airflow_tasks, "_get_connection", connections.__getitem__)
    monkeypatch.setattr(airflow_tasks, "warehouse_engine", lambda: None)
    monkeypatch.setattr(config_module, "load_config", lambda: SimpleNamespace(channels={chan.code: chan}))
    monkeypatch.setattr(
        ingest_module, "ingest_channel", lambda request, engine: seen.append(request) or SimpleNamespace(as_dict=dict)
    )
    start = yesterday()
    airflow_tasks.ingest(chan.code, {"data_interval_start": start, "data_interval_end": start + timedelta(days=1)})
    [request] = seen
    assert (request.source_login, request.source_token) == (USER, PASSWORD)
    assert ex.api_base_url(request.source_url) == "https://publicapi.traffy.in.th/exchange-api"
