"""Traffy Fondue through the **Exchange API**, NECTEC's interface for agencies.

Implemented as its public documentation specifies: repository ``traffy-nectec/exchange-api-doc``
(``docs/authentication.md``, ``docs/query-apis.md``, ``docs/overview.md``, ``docs/error-codes.md``,
``openapi.yaml``); the documented example answers are in /work/shared/realdata/apis/traffy/ and
summarised in /work/shared/realdata/apis/README.md. Select it in the channel's entry of
include/config/pipeline.yaml with ``adapter: complaints.adapters.traffy_exchange``,
``connection_id:`` an HTTP Airflow Connection (host or ``extra.base_url`` = the base URL
``https://publicapi.traffy.in.th/exchange-api``, login = ``user``, password = ``pass``) and an
``exchange_api:`` block (:class:`ExchangeSettings`).

* ``POST get-auth/v1`` with ``{"user", "pass"}`` gives a JWT (``results.token``) and its
  ``results.expire_timestamp`` (naive UTC+7). It is sent as ``Authorization: Bearer`` on every
  other call, renewed ``token_refresh_margin_seconds`` before it expires and when an answer says
  "This token has expired" / "ERR 1 - Invalid token"; it is never logged.
* ``GET get-issues/v2?org_id=&duration=today|3days|all``: no paging; ``duration`` is a window
  over ``last_activity`` (1 day, 3 days, or everything capped at 5,000 rows). Each organisation
  is one part per run interval; the run reads the configured window (``3days`` by default, so
  consecutive daily runs overlap) and the loader upserts by ``ticket_id``. An answer at the cap
  is not complete: that organisation is read from ``GET download-issues/v2`` (CSV with a BOM)
  instead. An interval older than the longest window (3 days) is refused
  (:class:`IntervalOutOfReach`): load it from a download-issues CSV or the public export
  with the file adapter ``complaints.adapters.traffy_fondue``.
* Every answer is an envelope: ``status`` ``success`` / ``fail`` / ``warning`` with ``message``
  (HTTP codes are undocumented). A ``fail`` is a task error (:class:`ExchangeApiError`); a
  ``warning`` is logged and listed in the run's summary (``ExtractedBatch.source_warnings``).
* Credits: almost every call costs one credit of the account's monthly ``quota_limit`` (it
  resets on the 1st; ``credit_balance`` is ``null`` when unlimited). Every call is written to the
  warehouse's ``traffy_credit_ledger``; a run, and each call, that would take the month's credits
  over ``monthly_credit_budget`` is refused (:class:`CreditBudgetExceeded`), and spending
  ``alert_share`` (80 %) of it, or of the API's own quota, is a warning.
* ``GET get-issue/v1?ticket_id=`` gives a ticket's ``timeline``: for tickets whose state changed
  since the warehouse last saw them, its entries become the status history with the real
  transition times (not the time of the daily snapshot).
* Timestamps are naive Bangkok time (UTC+7): :func:`bangkok_time` attaches ``+07:00``; the
  warehouse stores UTC.
* Schema drift tolerated: ``photo`` a string though the spec says array, ``org_id`` int or
  string, ``star`` null, the docs' ``{"...": ...}`` elision items skipped.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from sqlalchemy import bindparam, text

from complaints.adapters import ExtractRequest, SourceError
from complaints.adapters._common import add_to_batch, clean_text, interval_part, not_an_object, parse_interval_part
from complaints.adapters.http_client import ApiClient, RetrySettings, mask_secrets
from complaints.adapters.traffy_fondue import convert, traffy_status
from complaints.canonical import CanonicalComplaint, ExtractedBatch, StatusEvent, derived_status_events
from complaints.config import UNMAPPED, Channel, match_key
from complaints.thai_time import BANGKOK

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://publicapi.traffy.in.th/exchange-api"
ISSUES_CAP = 5000  # duration=all: "ทั้งหมด สูงสุด 5,000 รายการ" (openapi.yaml, get-issues/v2)
TOKEN_ERRORS = ("token has expired", "err 1 - invalid token")  # fail messages that mean: log in again
QUOTA_EXHAUSTED = "running out of api usage quota"
DOWNLOAD_HINT = (
    "load it from a GET download-issues/v2 CSV (org_id=<org>, duration=all) or the public open-data "
    "export, dropped as inbox/traffy_fondue/traffy_fondue_YYYYMMDD.csv and read with the file adapter "
    "complaints.adapters.traffy_fondue"
)


class Duration(StrEnum):
    """get-issues/v2 ``duration``: a window over ``last_activity`` (openapi.yaml)."""

    TODAY = "today"
    THREE_DAYS = "3days"
    ALL = "all"


# How far back each bounded window reaches ("ย้อนหลัง 1 วัน", "ย้อนหลัง 3 วัน").
REACH: dict[Duration, timedelta] = {Duration.TODAY: timedelta(days=1), Duration.THREE_DAYS: timedelta(days=3)}


class ApiStatus(StrEnum):
    """The envelope's ``status`` (docs/authentication.md, docs/error-codes.md)."""

    SUCCESS = "success"
    FAIL = "fail"
    WARNING = "warning"


class ExchangeApiError(SourceError):
    """The API answered ``fail`` (or something that is not its envelope)."""

    def __init__(self, endpoint: str, message: str, api_status: str | None = None) -> None:
        self.endpoint, self.api_message, self.api_status = endpoint, message, api_status
        super().__init__(message)


class CreditBudgetExceeded(SourceError):
    """A call the monthly credit budget cannot pay for: nothing was called."""

    def __init__(self, month: str, spent: int, needed: int, budget: int, what: str) -> None:
        self.month, self.spent, self.needed, self.budget = month, spent, needed, budget
        super().__init__(
            f"Traffy Exchange API: {what} needs {needed} credit(s) but {spent} of the monthly budget of "
            f"{budget} are already spent in {month}: refused, nothing was called. Raise "
            "channels.traffy_fondue.exchange_api.monthly_credit_budget in include/config/pipeline.yaml "
            "or wait for the quota to reset on the 1st of next month"
        )


class IntervalOutOfReach(SourceError):
    """A run interval older than get-issues can reach: refused rather than loaded empty."""

    def __init__(self, org_id: str, start: datetime, end: datetime, now: datetime) -> None:
        self.org_id, self.start, self.end = org_id, start, end
        age = now - start
        super().__init__(
            f"Traffy Exchange API org {org_id}: the interval {start.isoformat()} .. {end.isoformat()} starts "
            f"{age.days} day(s) {age.seconds // 3600} h ago, beyond what get-issues/v2 can reach (duration=3days "
            f"looks back 3 days; duration=all is capped at {ISSUES_CAP:,} rows and is not complete). Not loaded, "
            f"so it is not taken as an empty interval: {DOWNLOAD_HINT}"
        )


@dataclass(frozen=True)
class ExchangeSettings:
    """The channel's ``exchange_api:`` block in include/config/pipeline.yaml."""

    org_ids: tuple[str, ...]
    duration: Duration = Duration.THREE_DAYS
    monthly_credit_budget: int | None = None  # None: no budget of our own (the API's quota still applies)
    alert_share: float = 0.8
    credits_per_call: int = 1
    token_refresh_margin: timedelta = timedelta(minutes=5)
    max_timeline_calls: int = 200  # get-issue/v1 calls per part, for tickets whose state changed
    issues_cap: int = ISSUES_CAP

    @classmethod
    def from_channel(cls, channel: Channel) -> ExchangeSettings:
        block = channel.settings.get("exchange_api") or {}
        orgs = block.get("org_id", block.get("org_ids"))
        if orgs is None or orgs == [] or orgs == "":
            raise SourceError(
                f"channel {channel.code}: exchange_api.org_id is not set in include/config/pipeline.yaml "
                "(the organisation(s) whose issues get-issues/v2 reads)"
            )
        org_ids = tuple(str(o).strip() for o in (orgs if isinstance(orgs, list) else str(orgs).split(",")))
        try:
            duration = Duration(str(block.get("duration", Duration.THREE_DAYS)))
        except ValueError:
            raise SourceError(
                f"channel {channel.code}: exchange_api.duration {block.get('duration')!r} is not one of "
                f"{', '.join(d.value for d in Duration)}"
            ) from None
        budget = block.get("monthly_credit_budget")
        defaults = cls(org_ids=org_ids)
        return cls(
            org_ids=org_ids,
            duration=duration,
            monthly_credit_budget=None if budget is None else int(budget),
            alert_share=float(block.get("alert_share", defaults.alert_share)),
            credits_per_call=int(block.get("credits_per_call", defaults.credits_per_call)),
            token_refresh_margin=timedelta(seconds=float(block.get("token_refresh_margin_seconds", 300))),
            max_timeline_calls=int(block.get("max_timeline_calls", defaults.max_timeline_calls)),
            issues_cap=int(block.get("issues_cap", defaults.issues_cap)),
        )


# -- time --------------------------------------------------------------------------------------


def bangkok_time(value: Any) -> datetime | None:
    """An API timestamp (``2026-08-20 22:25:37.433959``, naive UTC+7) as an aware datetime; None if blank."""
    text_value = clean_text(value)
    if text_value is None:
        return None
    stamp = datetime.fromisoformat(text_value)
    return stamp.replace(tzinfo=BANGKOK) if stamp.tzinfo is None else stamp


def quota_month(moment: datetime) -> str:
    """The quota month of a moment ('YYYY-MM'): the quota resets on the 1st, Bangkok time."""
    return moment.astimezone(BANGKOK).strftime("%Y-%m")


def _now() -> datetime:
    return datetime.now(UTC)


# -- the credit ledger -------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditCall:
    """One API call as the ledger records it."""

    endpoint: str
    called_at: datetime
    credits: int
    org_id: str | None = None
    api_status: str | None = None
    api_message: str | None = None
    credit_balance: int | None = None
    quota_limit: int | None = None
    api_log_session_id: str | None = None


class CreditLedger(Protocol):
    def spent(self, month: str) -> int: ...

    def record(self, call: CreditCall) -> None: ...


class WarehouseCreditLedger:
    """``traffy_credit_ledger`` in the warehouse (include/sql/warehouse/*traffy_credit*.sql)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def spent(self, month: str) -> int:
        from complaints.warehouse import sql

        with self.engine.connect() as conn:
            return int(conn.execute(text(sql("traffy_credits_spent")), {"quota_month": month}).scalar_one())

    def record(self, call: CreditCall) -> None:
        from complaints.warehouse import sql, utc_naive

        row = {
            **call.__dict__,
            "call_id": uuid.uuid4().hex,
            "called_at": utc_naive(call.called_at),
            "quota_month": quota_month(call.called_at),
        }
        with self.engine.begin() as conn:
            conn.execute(text(sql("insert_traffy_credit")), row)


# -- the client --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A decoded envelope."""

    endpoint: str
    url: str
    status: ApiStatus
    message: str
    data: dict[str, Any]

    @property
    def results(self) -> Any:
        return self.data.get("results")

    @property
    def credit_balance(self) -> int | None:
        return _int_or_none(self.data.get("credit_balance"))

    @property
    def quota_limit(self) -> int | None:
        return _int_or_none(self.data.get("quota_limit"))


@dataclass
class ExchangeClient:
    """The documented calls, with the token, the envelope and the credits handled once.

    ``ledger`` None keeps no ledger and enforces no budget (a probe, not a run).
    """

    base_url: str
    user: str
    password: str = field(repr=False)
    ledger: CreditLedger | None = None
    monthly_credit_budget: int | None = None
    alert_share: float = 0.8
    credits_per_call: int = 1
    token_refresh_margin: timedelta = timedelta(minutes=5)
    retry: RetrySettings = field(default_factory=RetrySettings)
    clock: Callable[[], datetime] = _now
    warnings: list[str] = field(default_factory=list)
    quota_limit: int | None = None
    credit_balance: int | None = None
    _token: str | None = field(default=None, repr=False)
    _expires_at: datetime | None = None
    _alerted: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.user or not self.password:
            raise SourceError(
                "Traffy Exchange API: the connection needs login (user) and password (pass) for get-auth/v1"
            )
        self._http = ApiClient(self.base_url or DEFAULT_BASE_URL, None, retry=self.retry)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ExchangeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # credits ---------------------------------------------------------------------------------

    def spent_this_month(self) -> int:
        return self.ledger.spent(quota_month(self.clock())) if self.ledger is not None else 0

    def budget_left(self) -> int | None:
        """Credits the month's budget still allows (None: no budget)."""
        if self.ledger is None or self.monthly_credit_budget is None:
            return None
        return self.monthly_credit_budget - self.spent_this_month()

    def require_credits(self, calls: int, what: str) -> None:
        """Refuse (CreditBudgetExceeded) when ``calls`` calls would take the month over the budget."""
        if self.ledger is None or self.monthly_credit_budget is None:
            return
        needed = calls * self.credits_per_call
        spent = self.spent_this_month()
        if spent + needed > self.monthly_credit_budget:
            raise CreditBudgetExceeded(quota_month(self.clock()), spent, needed, self.monthly_credit_budget, what)

    def _record(self, endpoint: str, org_id: str | None, data: Mapping[str, Any] | None) -> None:
        data = data or {}
        balance = _int_or_none(data.get("credit_balance"))
        limit = _int_or_none(data.get("quota_limit"))
        if "credit_balance" in data:
            self.credit_balance = balance
        if limit is not None:
            self.quota_limit = limit
        if self.ledger is None:
            return
        self.ledger.record(
            CreditCall(
                endpoint=endpoint,
                called_at=self.clock(),
                credits=self.credits_per_call,
                org_id=org_id,
                api_status=clean_text(data.get("status")),
                api_message=clean_text(data.get("message")),
                credit_balance=balance,
                quota_limit=limit,
                api_log_session_id=clean_text(data.get("api_log_session_id")),
            )
        )
        self._check_alert()

    def _check_alert(self) -> None:
        shares: list[tuple[str, int, int]] = []
        if self.monthly_credit_budget:
            shares.append(("the monthly credit budget", self.spent_this_month(), self.monthly_credit_budget))
        if self.quota_limit and self.credit_balance is not None:
            shares.append(("the account's API quota", self.quota_limit - self.credit_balance, self.quota_limit))
        for what, used, total in shares:
            if used >= self.alert_share * total and what not in self._alerted:
                self._alerted.add(what)
                self._warn(
                    f"credits: {used} of {what} of {total} spent in {quota_month(self.clock())} "
                    f"({used / total:.0%}, alert at {self.alert_share:.0%})"
                )

    def _warn(self, message: str) -> None:
        log.warning("Traffy Exchange API: %s", message)
        if message not in self.warnings:
            self.warnings.append(message)

    # the token -------------------------------------------------------------------------------

    def authenticate(self) -> None:
        """``POST get-auth/v1``: a new token and its expiry (UTC+7). The token is never logged."""
        answer = self._send("POST", "get-auth/v1", json_body={"user": self.user, "pass": self.password})
        results = answer.results if isinstance(answer.results, dict) else {}
        token, expires = clean_text(results.get("token")), results.get("expire_timestamp")
        if not token:
            raise ExchangeApiError("get-auth/v1", f"get-auth/v1 ({answer.url}): the answer holds no results.token")
        try:
            self._expires_at = bangkok_time(expires)
        except ValueError:
            self._expires_at = None
        if self._expires_at is None:
            raise ExchangeApiError(
                "get-auth/v1", f"get-auth/v1 ({answer.url}): expire_timestamp {expires!r} is not a timestamp"
            )
        self._token = token
        log.info("Traffy Exchange API: logged in as %s, token valid until %s", self.user, self._expires_at.isoformat())

    def _token_is_fresh(self) -> bool:
        return (
            self._token is not None
            and self._expires_at is not None
            and self.clock() < self._expires_at - self.token_refresh_margin
        )

    def calls_to_log_in(self) -> int:
        """1 when the next call must first get a token, else 0 (for a run's credit estimate)."""
        return 0 if self._token_is_fresh() else 1

    # the calls -------------------------------------------------------------------------------

    def get_issues(self, org_id: str, duration: Duration, **filters: Any) -> Answer:
        return self._authed("get-issues/v2", {"org_id": org_id, "duration": duration.value, **filters}, org_id)

    def get_issue(self, ticket_id: str) -> Answer:
        return self._authed("get-issue/v1", {"ticket_id": ticket_id}, None)

    def download_issues(self, org_id: str, duration: Duration) -> bytes:
        """``GET download-issues/v2``: the CSV bytes (a JSON envelope only on error)."""
        return self._authed("download-issues/v2", {"org_id": org_id, "duration": duration.value}, org_id, csv_ok=True)  # type: ignore[return-value]

    def _authed(self, endpoint: str, params: dict[str, Any], org_id: str | None, *, csv_ok: bool = False) -> Any:
        for attempt in (1, 2):
            if not self._token_is_fresh():
                self.authenticate()
            try:
                return self._send("GET", endpoint, params=params, org_id=org_id, csv_ok=csv_ok)
            except ExchangeApiError as exc:
                if attempt == 1 and any(t in exc.api_message.lower() for t in TOKEN_ERRORS):
                    log.info("Traffy Exchange API %s: the token was refused; logging in again", endpoint)
                    self._token = None
                    continue
                raise
        raise AssertionError("unreachable")

    def _send(
        self,
        method: str,
        endpoint: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        org_id: str | None = None,
        csv_ok: bool = False,
    ) -> Answer | bytes:
        self.require_credits(1, endpoint)
        url = self._http.url(endpoint)
        shown = self._http.shown_url(url, params)
        headers = {"Authorization": f"Bearer {self._token}"} if self._token and endpoint != "get-auth/v1" else {}
        timeout = (self.retry.connect_timeout, self.retry.read_timeout)
        try:
            response = self._http.session.request(
                method, url, params=params, json=json_body, headers=headers, timeout=timeout
            )
        except requests.RequestException as exc:
            raise SourceError(f"Traffy Exchange API {endpoint} ({shown}): no answer: {mask_secrets(exc)}") from None
        body = response.content
        is_csv = "json" not in response.headers.get("Content-Type", "") and not body.lstrip().startswith(b"{")
        if csv_ok and is_csv and response.status_code < 400:
            self._record(endpoint, org_id, None)
            return body
        try:
            data = response.json()
        except ValueError:
            self._record(endpoint, org_id, None)
            raise SourceError(
                f"Traffy Exchange API {endpoint} ({shown}): HTTP {response.status_code}, the body is not JSON: "
                f"{mask_secrets(response.text[:200])!r}"
            ) from None
        if not isinstance(data, dict):
            self._record(endpoint, org_id, None)
            kind = type(data).__name__
            raise SourceError(f"Traffy Exchange API {endpoint} ({shown}): not the API's envelope: {kind}")
        self._record(endpoint, org_id, data)
        return self._judge(endpoint, shown, response.status_code, data)

    def _judge(self, endpoint: str, shown: str, http_status: int, data: dict[str, Any]) -> Answer:
        """The envelope's ``status`` decides, not the HTTP code (the docs do not define those)."""
        message = clean_text(data.get("message")) or ""
        try:
            status = ApiStatus(str(data.get("status")))
        except ValueError:
            raise ExchangeApiError(
                endpoint,
                f"Traffy Exchange API {endpoint} ({shown}): HTTP {http_status}, status {data.get('status')!r} is not "
                f"success/fail/warning; message {message!r}",
            ) from None
        if status is ApiStatus.FAIL:
            hint = ""
            if QUOTA_EXHAUSTED in message.lower():
                hint = " (the account's monthly quota is spent: it resets on the 1st; Traffy's LINE: @fonduehelp)"
            raise ExchangeApiError(
                endpoint, f"Traffy Exchange API {endpoint} ({shown}) failed: {message or '(no message)'}{hint}", "fail"
            )
        if status is ApiStatus.WARNING:
            self._warn(f"{endpoint} answered warning: {message}")
        return Answer(endpoint=endpoint, url=shown, status=status, message=message, data=data)


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# -- answers to rows ---------------------------------------------------------------------------


def is_elision(item: Any) -> bool:
    """The docs' ``{"...": "ตัดรายการ..."}`` placeholder for omitted items."""
    return isinstance(item, dict) and bool(item) and set(item) <= {"...", "…"}


def issue_items(answer: Answer) -> list[Any]:
    results = answer.results
    if not isinstance(results, list):
        raise ExchangeApiError(answer.endpoint, f"{answer.endpoint} ({answer.url}): results is not a list")
    return [item for item in results if not is_elision(item)]


def at_cap(answer: Answer, items: list[Any], cap: int) -> bool:
    """True when the answer may have been cut at the cap: not complete."""
    count = _int_or_none(answer.data.get("count"))
    return len(items) >= cap or (count is not None and count >= cap)


def csv_rows(body: bytes) -> Iterator[dict[str, str]]:
    """download-issues/v2 CSV (UTF-8 with a BOM) as rows keyed by match-keyed column name."""
    reader = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    header = next(reader, None)
    if header is None:
        return
    columns = [match_key(c) for c in header]
    for fields in reader:
        if any(f.strip() for f in fields):
            yield dict(zip(columns, fields, strict=False))


def timeline_events(channel: Channel, source_id: str, detail: Mapping[str, Any]) -> list[StatusEvent]:
    """get-issue/v1 ``results.timeline`` as status changes at their real times (UTC+7 attached).

    A label maps by its ``status_type`` where ``orgs`` gives one for it (an agency's own states
    included), else as :func:`traffy_status` maps labels; a label with no mapping is kept as
    ``unmapped`` with the label in the note, never dropped."""
    events: list[StatusEvent] = []
    types: dict[str, str] = {}
    orgs = detail.get("orgs")
    for org in orgs if isinstance(orgs, list) else []:
        if isinstance(org, dict) and clean_text(org.get("status")) and clean_text(org.get("status_type")):
            types[match_key(str(clean_text(org["status"])))] = str(clean_text(org["status_type"]))
    timeline = detail.get("timeline")
    for item in timeline if isinstance(timeline, list) else []:
        if not isinstance(item, dict) or is_elision(item):
            continue
        label = clean_text(item.get("status"))
        try:
            changed_at = bangkok_time(item.get("timestamp"))
        except ValueError:
            changed_at = None
        if label is None or changed_at is None:
            continue
        code = traffy_status(channel, label, clean_text(item.get("status_type")) or types.get(match_key(label)))
        events.append(
            StatusEvent(channel.code, source_id, code or UNMAPPED, changed_at, None if code else f"unmapped: {label}")
        )
    return events


# -- plan / read / after_load -----------------------------------------------------------------


def plan(request: ExtractRequest) -> list[str]:
    """One part per organisation: ``"org <org_id>: <start>..<end>"``. A run whose least calls (a
    log-in and one get-issues per organisation) the month's credit budget cannot pay for is
    refused here, before any call (:class:`CreditBudgetExceeded`)."""
    settings = ExchangeSettings.from_channel(request.channel)
    window = interval_part(request.interval_start, request.interval_end)
    client = _client(request, settings)
    client.require_credits(
        client.calls_to_log_in() + len(settings.org_ids),
        f"the run of {request.channel.code} ({len(settings.org_ids)} organisation(s), get-issues/v2 each)",
    )
    return [f"org {org}: {window}" for org in settings.org_ids]


def _parse_part(part: str) -> tuple[str, datetime, datetime]:
    head, sep, window = part.partition(": ")
    if not sep or not head.startswith("org "):
        raise SourceError(f"Traffy Exchange API part {part!r} is not 'org <org_id>: <start>..<end>'")
    start, end = parse_interval_part(window, "Traffy Exchange API")
    return head[4:], start, end


def choose_duration(settings: ExchangeSettings, org_id: str, start: datetime, end: datetime, now: datetime) -> Duration:
    """The configured window, or a longer bounded one when the interval starts before it reaches;
    an interval older than every bounded window is refused (:class:`IntervalOutOfReach`)."""
    if settings.duration is Duration.ALL:
        return Duration.ALL
    for duration in (Duration.TODAY, Duration.THREE_DAYS):
        if REACH[duration] < REACH[settings.duration]:
            continue
        if start >= now - REACH[duration]:
            return duration
    raise IntervalOutOfReach(org_id, start, end, now)


def api_base_url(source_url: str | None) -> str:
    """The connection's URL; a bare host (``https://publicapi.traffy.in.th``) gets the documented
    base path ``/exchange-api``."""
    if not source_url:
        return DEFAULT_BASE_URL
    if urlsplit(source_url).path in ("", "/"):
        return source_url.rstrip("/") + "/exchange-api"
    return source_url


def client_for(request: ExtractRequest, settings: ExchangeSettings) -> ExchangeClient:
    engine = request.warehouse
    if engine is None:
        raise SourceError("Traffy Exchange API: no warehouse in the request, so no credit ledger: refusing to call")
    return ExchangeClient(
        base_url=api_base_url(request.source_url),
        user=request.source_login or "",
        password=request.source_token or "",
        ledger=WarehouseCreditLedger(engine),
        monthly_credit_budget=settings.monthly_credit_budget,
        alert_share=settings.alert_share,
        credits_per_call=settings.credits_per_call,
        token_refresh_margin=settings.token_refresh_margin,
        retry=RetrySettings.from_settings(request.channel.settings),
    )


# One client per (base URL, user) and process: the token is reused by the parts of a run.
_clients: dict[tuple[str, str, int], ExchangeClient] = {}


def _client(request: ExtractRequest, settings: ExchangeSettings) -> ExchangeClient:
    key = (request.source_url or DEFAULT_BASE_URL, request.source_login or "", id(request.warehouse))
    client = _clients.get(key)
    if client is None or client.password != (request.source_token or ""):
        client = _clients[key] = client_for(request, settings)
    client.monthly_credit_budget = settings.monthly_credit_budget
    client.alert_share = settings.alert_share
    return client


def read(request: ExtractRequest, part: str) -> ExtractedBatch:
    org_id, start, end = _parse_part(part)
    settings = ExchangeSettings.from_channel(request.channel)
    duration = choose_duration(settings, org_id, start, end, _now())
    client = _client(request, settings)
    client.warnings.clear()
    client.require_credits(client.calls_to_log_in() + 1, f"the run for org {org_id} (get-issues/v2)")
    batch = ExtractedBatch(channel=request.channel.code, source_part=part)
    answer = client.get_issues(org_id, duration)
    items = issue_items(answer)
    if at_cap(answer, items, settings.issues_cap):
        client._warn(
            f"get-issues/v2 org {org_id} duration={duration.value} answered {len(items)} rows "
            f"(count {answer.data.get('count')!r}, the cap is {settings.issues_cap:,}): not complete, "
            "read from download-issues/v2 instead"
        )
        rows = list(csv_rows(client.download_issues(org_id, duration)))
        if len(rows) >= settings.issues_cap and duration is Duration.ALL:
            raise SourceError(
                f"Traffy Exchange API org {org_id}: download-issues/v2 duration=all also gave {len(rows)} rows, "
                f"the cap: the organisation's issues cannot be read whole through the API; {DOWNLOAD_HINT}"
            )
        for number, row in enumerate(rows, start=1):
            add_to_batch(batch, convert(request, row, {"_row": number, "_source": "download-issues/v2"}))
    else:
        for index, item in enumerate(items):
            if isinstance(item, dict):
                add_to_batch(batch, convert(request, item, {"_index": index, "_source": "get-issues/v2"}))
            else:
                add_to_batch(batch, not_an_object("issue", item))
    _add_timelines(request, client, settings, batch)
    batch.source_warnings.extend(client.warnings)
    return batch


def _stored_statuses(request: ExtractRequest, source_ids: list[str]) -> dict[str, str]:
    from complaints.warehouse import sql

    if not source_ids:
        return {}
    query = text(sql("complaint_statuses")).bindparams(bindparam("source_ids", expanding=True))
    with request.warehouse.connect() as conn:
        rows = conn.execute(query, {"channel": request.channel.code, "source_ids": source_ids})
        return {row.source_id: row.status for row in rows}


def changed_records(request: ExtractRequest, records: list[CanonicalComplaint]) -> list[CanonicalComplaint]:
    """Records whose state differs from the warehouse's (new ones: past their first state)."""
    stored = _stored_statuses(request, [r["source_id"] for r in records])
    changed = []
    for record in records:
        before = stored.get(record["source_id"])
        if (before is None and record["status"] not in (None, "received")) or (
            before is not None and before != record["status"]
        ):
            changed.append(record)
    return sorted(changed, key=lambda r: r["source_id"])


def _add_timelines(
    request: ExtractRequest, client: ExchangeClient, settings: ExchangeSettings, batch: ExtractedBatch
) -> None:
    """The real transition times (get-issue/v1 timeline) of tickets whose state changed, within
    the budget; the others keep the times the snapshot implies, and the summary says so."""
    changed = [r for r in changed_records(request, batch.records) if not r.get("source_id_is_surrogate")]
    left = client.budget_left()
    allowed = min(len(changed), settings.max_timeline_calls)
    if left is not None:
        allowed = min(allowed, max(0, left // max(1, settings.credits_per_call) - client.calls_to_log_in()))
    if allowed < len(changed):
        client._warn(
            f"{len(changed) - allowed} of {len(changed)} changed ticket(s) without get-issue/v1 timeline "
            f"(max_timeline_calls {settings.max_timeline_calls}, credits left {left}): their history has "
            "the snapshot's times"
        )
    for record in changed[:allowed]:
        source_id = record["source_id"]
        detail = client.get_issue(source_id).results
        events = timeline_events(request.channel, source_id, detail if isinstance(detail, dict) else {})
        if not events:
            continue
        seen = {e.status for e in events}
        events += [e for e in derived_status_events(record) if e.status not in seen]
        batch.status_events.extend(events)


def after_load(request: ExtractRequest, part: str, batch: ExtractedBatch) -> None:
    """Nothing to acknowledge: the API is read-only and reading a window again is idempotent."""
