"""A local Traffy Fondue **Exchange API**, for the tests and the demo: a real HTTP server on 127.0.0.1.

It implements the read calls as NECTEC's documentation describes them (traffy-nectec/exchange-api-doc:
docs/authentication.md, docs/query-apis.md, docs/error-codes.md, openapi.yaml; the documented example
answers are in /work/shared/realdata/apis/traffy/), under the base path ``/exchange-api``:

* ``POST /get-auth/v1`` ``{"user", "pass"}`` -> ``results.token`` and ``results.expire_timestamp``
  (naive UTC+7), ``credit_balance``, ``quota_limit``, ``permissions``;
* ``GET /get-issues/v2?org_id=&duration=today|3days|all`` -> the tickets of the organisation whose
  ``last_activity`` lies within 1 or 3 days of now, or all of them, at most ``cap`` (5,000), newest
  first, with ``count``; no paging;
* ``GET /get-issue/v1?ticket_id=`` -> the ticket with ``orgs`` and ``timeline``;
* ``GET /download-issues/v2?org_id=&duration=`` -> CSV with a UTF-8 BOM, the get-issues columns
  without ``org_id`` (``download_cap`` rows at most; None: no cap).

Every other call needs ``Authorization: Bearer <token>``; an expired token is answered
``{"status": "fail", "message": "This token has expired | Token นี้หมดอายุแล้ว"}``, an unknown one
``ERR 1 - Invalid token``. Every call spends a credit of ``quota_limit`` (None: unlimited,
``credit_balance: null``); below ``warn_below`` credits the answer is a ``warning`` ("Almost running
out..."), at 0 a ``fail`` ("Running out of API usage quota"). HTTP is always 200: the envelope's
``status`` speaks. Like the real API, ``photo`` is one string (the spec says an array), ``org_id``
comes as an int in get-issues and a string in some answers, ``api_log_session_id`` is a number.

Tickets are given as dicts in the shape of get-issue/v1's ``results`` plus ``org_ids`` (the
organisations it belongs to); times are naive Bangkok strings. ``envelope_faults`` forces an
endpoint's next answers: ``{"get-issues/v2": ("warning", "text")}``.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BANGKOK = timezone(timedelta(hours=7))
BASE_PATH = "/exchange-api"
CAP = 5000
ISSUE_FIELDS = (
    "ticket_id",
    "type",
    "organization",
    "description",
    "photo",
    "latitude",
    "longitude",
    "address",
    "subdistrict",
    "district",
    "province",
    "timestamp",
    "photo_after",
    "timestamp_inprogress",
    "timestamp_finished",
    "org_finished",
    "status",
    "confirmed",
    "star",
    "count_reopen",
    "last_activity",
)
WINDOWS = {"today": timedelta(days=1), "3days": timedelta(days=3), "3day": timedelta(days=3)}
EXPIRED = "This token has expired | Token นี้หมดอายุแล้ว"
INVALID = "ERR 1 - Invalid token"


def bangkok_naive(moment: datetime) -> str:
    """How the API writes a time: naive UTC+7 with microseconds."""
    return moment.astimezone(BANGKOK).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BANGKOK)


class TraffyExchangeServer:
    """``with TraffyExchangeServer(tickets, users={"u": "p"}) as api: api.base_url``."""

    def __init__(
        self,
        tickets: list[dict[str, Any]],
        users: dict[str, str],
        *,
        quota_limit: int | None = 1000,
        warn_below: int = 0,
        token_seconds: float = 3600.0,
        cap: int = CAP,
        download_cap: int | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.tickets = tickets
        self.users = users
        self.quota_limit = quota_limit
        self.credit_balance = quota_limit
        self.warn_below = warn_below
        self.token_seconds = token_seconds
        self.cap = cap
        self.download_cap = download_cap
        self.clock = clock
        self.envelope_faults: dict[str, tuple[str, str]] = {}
        self.tokens: dict[str, datetime] = {}  # token -> expiry (aware)
        self.calls: list[tuple[str, str, dict[str, str]]] = []  # (method, endpoint, query)
        self.auth_headers: list[str | None] = []
        self._session = 2030246239
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> TraffyExchangeServer:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.api = self  # type: ignore[attr-defined]
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{BASE_PATH}"

    def endpoints_called(self) -> list[str]:
        return [endpoint for _, endpoint, _ in self.calls]

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (as if the run outlived them)."""
        with self._lock:
            for token in self.tokens:
                self.tokens[token] = self.clock() - timedelta(seconds=1)

    # answers ---------------------------------------------------------------------------------

    def envelope(self, results: Any, **extra: Any) -> dict[str, Any]:
        """The common wrapper; spends a credit."""
        with self._lock:
            self._session += 1
            status, message = "success", ""
            if self.credit_balance is not None:
                if self.credit_balance <= 0:
                    status, message = "fail", "Running out of API usage quota | โควต้าการใช้งาน API หมดแล้ว"
                else:
                    self.credit_balance -= 1
                    if self.credit_balance < self.warn_below:
                        status, message = "warning", "Almost running out of API usage quota | โควต้าใกล้หมด"
            body = {
                "status": status,
                "message": message,
                "exec_time": "0.010s",
                "source": "db",
                "credit_balance": self.credit_balance,
                **extra,
                "results": results if status != "fail" else [],
                "api_log_session_id": self._session,
            }
        return body

    def fail(self, message: str) -> dict[str, Any]:
        return {
            "status": "fail",
            "message": message,
            "exec_time": "0.012s",
            "credit_balance": self.credit_balance,
            "results": [],
        }

    def check_token(self, header: str | None) -> str | None:
        """None when the bearer token is good, else the fail message."""
        if not header or not header.startswith("Bearer "):
            return INVALID
        expiry = self.tokens.get(header[len("Bearer ") :])
        if expiry is None:
            return INVALID
        return EXPIRED if self.clock() >= expiry else None

    def get_auth(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.users.get(str(body.get("user"))) != body.get("pass") or body.get("pass") is None:
            return self.fail("Invalid username or password | ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง")
        token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + secrets.token_urlsafe(24)
        expiry = self.clock() + timedelta(seconds=self.token_seconds)
        with self._lock:
            self.tokens[token] = expiry
        answer = self.envelope({"token": token, "expire_timestamp": bangkok_naive(expiry)[:19]})
        answer["quota_limit"] = self.quota_limit
        answer["permissions"] = ["read"]
        return answer

    def selected(self, query: dict[str, str], cap: int | None) -> list[dict[str, Any]]:
        orgs = {o.strip() for o in query.get("org_id", "").split(",") if o.strip()}
        duration = query.get("duration", "today")
        now = self.clock()
        chosen = [t for t in self.tickets if not orgs or orgs & {str(o) for o in t.get("org_ids", [])}]
        if duration in WINDOWS:
            chosen = [t for t in chosen if _parse(t["last_activity"]) >= now - WINDOWS[duration]]
        chosen.sort(key=lambda t: t["last_activity"], reverse=True)
        return chosen[:cap] if cap is not None else chosen

    def get_issues(self, query: dict[str, str]) -> dict[str, Any]:
        if query.get("duration", "today") not in (*WINDOWS, "all"):
            return self.fail(f"Invalid duration: {query.get('duration')}")
        matched = self.selected(query, None)
        served = matched[: self.cap]
        orgs = [int(o) for o in query.get("org_id", "").split(",") if o.strip().isdigit()]
        return self.envelope([{k: t.get(k) for k in ISSUE_FIELDS} for t in served], org_id=orgs, count=len(served))

    def get_issue(self, query: dict[str, str]) -> dict[str, Any]:
        for ticket in self.tickets:
            if ticket["ticket_id"] == query.get("ticket_id"):
                detail = {k: v for k, v in ticket.items() if k != "org_ids"}
                return self.envelope(detail, ticket_id=ticket["ticket_id"])
        return self.fail(f"ticket_id not found: {query.get('ticket_id')}")

    def download_issues(self, query: dict[str, str]) -> bytes:
        self.envelope([])  # the credit
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(ISSUE_FIELDS)
        for ticket in self.selected(query, self.download_cap):
            writer.writerow(["" if ticket.get(k) is None else ticket.get(k) for k in ISSUE_FIELDS])
        return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server_version = "TraffyExchangeLocal/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def api(self) -> TraffyExchangeServer:
        return self.server.api  # type: ignore[attr-defined]

    def _endpoint(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        return (path[len(BASE_PATH) :] if path.startswith(BASE_PATH) else path).strip("/"), query

    def _answer(self, body: dict[str, Any] | bytes) -> None:
        if isinstance(body, bytes):
            data, kind = body, "text/csv; charset=utf-8"
        else:
            data, kind = json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        endpoint, query = self._endpoint()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.api.calls.append(("POST", endpoint, query))
        if endpoint != "get-auth/v1":
            self._answer(self.api.fail(f"Unknown API: {endpoint}"))
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        self._answer(self.api.get_auth(body if isinstance(body, dict) else {}))

    def do_GET(self) -> None:
        endpoint, query = self._endpoint()
        self.api.calls.append(("GET", endpoint, query))
        self.api.auth_headers.append(self.headers.get("Authorization"))
        problem = self.api.check_token(self.headers.get("Authorization"))
        if problem:
            self._answer(self.api.fail(problem))
            return
        forced = self.api.envelope_faults.get(endpoint)
        if forced:
            status, message = forced
            answer = self.api.envelope([])
            if endpoint in ("get-issues/v2",) and status == "warning":
                answer = self.api.get_issues(query)
            answer.update(status=status, message=message)
            self._answer(answer)
            return
        handlers = {
            "get-issues/v2": self.api.get_issues,
            "get-issue/v1": self.api.get_issue,
            "download-issues/v2": self.api.download_issues,
        }
        handler = handlers.get(endpoint)
        self._answer(handler(query) if handler else self.api.fail(f"Unknown API: {endpoint}"))


def _demo() -> None:  # pragma: no cover - manual use
    """``python -m devtools.demo.traffy_exchange_server``: serve one synthetic ticket until killed."""
    now = datetime.now(UTC)
    ticket = {
        "ticket_id": "2026-DEMO01",
        "org_ids": [151],
        "type": "ถนน",
        "organization": "เขตบางรัก",
        "description": "ถนนชำรุด (ข้อความสังเคราะห์)",
        "photo": "https://storage.googleapis.com/traffy_public_bucket/attachment/demo.jpeg",
        "latitude": 13.72461,
        "longitude": 100.52931,
        "district": "บางรัก",
        "province": "กรุงเทพมหานคร",
        "timestamp": bangkok_naive(now - timedelta(hours=5)),
        "status": "รอรับเรื่อง",
        "star": None,
        "count_reopen": 0,
        "last_activity": bangkok_naive(now - timedelta(hours=1)),
        "timeline": [],
        "orgs": [],
    }
    with TraffyExchangeServer([ticket], {"demo": "demo"}) as api:
        print(api.base_url, flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":  # pragma: no cover
    _demo()
