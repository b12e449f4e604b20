"""A local stand-in for the LINE, Facebook and Traffy Fondue APIs, for the demo and the tests.

It is a real HTTP server (stdlib ``ThreadingHTTPServer`` on 127.0.0.1) that serves the
JSON lists the demo generator writes:

* ``<data>/sources/line_events.json``: LINE events, served by
  ``GET /v1/complaints?start_time=<ms>&end_time=<ms>&page=<n>&limit=<k>`` (page numbers,
  filter on ``complaint.updatedAt`` in ``[start_time, end_time)``, ``Authorization: Bearer``);
* ``<data>/sources/facebook_posts.json``: Facebook posts, served by
  ``GET /v19.0/<page_id>/complaints?since=<s>&until=<s>&limit=<k>&access_token=<t>``
  (filter on ``updated_time`` in ``[since, until)``, cursor paging through ``paging.next``);
* ``<data>/sources/traffy_fondue_tickets.json``: Traffy Fondue tickets, served by
  ``GET /traffy/v1/tickets?last_activity_start=<ISO>&last_activity_end=<ISO>&offset=<n>&limit=<k>``
  (filter on ``last_activity`` in ``[start, end)``, offset paging with ``total``; open data,
  so no token is asked for);
* ``<data>/sources/open311_requests.json``: Open311 GeoReport v2 service requests, served by
  ``GET /open311/v2/requests.json?start_date=<ISO>&end_date=<ISO>`` (filter on
  ``requested_datetime`` in ``[start_date, end_date]``, both ends included as the standard says,
  at most ``open311_max_requests`` per answer, oldest first: a client narrows the dates to
  page), and ``GET /open311/v2/services.json`` from ``<data>/sources/open311_services.json``.

With ``flaky=True`` the first request for each distinct page answers ``503`` once, so a
client has to retry. ``faults`` makes given pages fail for good, for tests of the error
paths: ``{("line", 2): "error"}`` answers 500 forever, ``"malformed"`` answers a body that
is not JSON, ``"slow"`` answers only after ``slow_seconds`` (longer than a client's read timeout).
``hit_times`` keeps when each page was asked for, so a test can see a client's backoff.

    python -m devtools.demo.api_server --data-dir DIR [--port N] [--token T] [--no-flaky]

prints the base URL on one line and serves until it is killed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import signal
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

log = logging.getLogger(__name__)

DEFAULT_PAGE_ID = "104857"
LINE_EVENTS_FILE = Path("sources") / "line_events.json"
FACEBOOK_POSTS_FILE = Path("sources") / "facebook_posts.json"
TRAFFY_TICKETS_FILE = Path("sources") / "traffy_fondue_tickets.json"
OPEN311_REQUESTS_FILE = Path("sources") / "open311_requests.json"
OPEN311_SERVICES_FILE = Path("sources") / "open311_services.json"
OPEN311_DEFAULT_MAX_REQUESTS = 1000
TRAFFY_DEFAULT_LIMIT, TRAFFY_MAX_LIMIT = 1000, 5000
LINE_DEFAULT_LIMIT, LINE_MAX_LIMIT = 100, 1000
FACEBOOK_DEFAULT_LIMIT, FACEBOOK_MAX_LIMIT = 25, 500
FAULT_KINDS = ("error", "malformed", "slow")
_FACEBOOK_PATH_PREFIX = "/v19.0/"
_TRAFFY_PATH = "/traffy/v1/tickets"
_OPEN311_PREFIX = "/open311/v2/"
API_NAMES = ("line", "facebook", "traffy", "open311")


class _BadRequest(Exception):
    pass


def _facebook_epoch(text: Any) -> float | None:
    """Unix seconds of a Graph-API time such as ``2019-01-16T02:00:00+0000``; None if it is not one."""
    try:
        return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return None


def _line_millis(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _line_sort_key(event: Any) -> tuple[int, str] | None:
    """(updatedAt, id) of a LINE event, falling back to the event timestamp; None if it has neither."""
    if not isinstance(event, dict):
        return None
    complaint = event.get("complaint") if isinstance(event.get("complaint"), dict) else {}
    millis = _line_millis(complaint.get("updatedAt"))
    if millis is None:
        millis = _line_millis(event.get("timestamp"))
    return None if millis is None else (millis, str(event.get("webhookEventId")))


def _traffy_time(text: Any) -> datetime | None:
    """A Traffy timestamp (``2022-06-01 08:15:31.123456+00``; no offset = UTC) as an aware datetime."""
    try:
        stamp = datetime.fromisoformat(str(text).strip())
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _traffy_sort_key(ticket: Any) -> tuple[datetime, str] | None:
    if not isinstance(ticket, dict):
        return None
    stamp = _traffy_time(ticket.get("last_activity"))
    return None if stamp is None else (stamp, str(ticket.get("ticket_id")))


def _facebook_sort_key(post: Any) -> tuple[float, str] | None:
    if not isinstance(post, dict):
        return None
    seconds = _facebook_epoch(post.get("updated_time"))
    if seconds is None:
        seconds = _facebook_epoch(post.get("created_time"))
    return None if seconds is None else (seconds, str(post.get("id")))


def _encode_cursor(key: tuple[float, str], page: int) -> str:
    raw = json.dumps({"t": key[0], "id": key[1], "page": page}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[tuple[float, str], int]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return (float(raw["t"]), str(raw["id"])), int(raw["page"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise _BadRequest(f"invalid cursor {cursor!r}") from exc


class ApiServer:
    """The LINE + Facebook API server; ``start()`` serves from a background thread.

    ``token``: when set, LINE requests must carry ``Authorization: Bearer <token>`` and Facebook
    requests ``access_token=<token>``, or they get ``401``.
    """

    def __init__(
        self,
        data_dir: str | Path,
        token: str | None = None,
        flaky: bool = True,
        port: int = 0,
        *,
        page_id: str = DEFAULT_PAGE_ID,
        faults: dict[tuple[str, int], str] | None = None,
        quiet: bool = True,
        open311_max_requests: int = OPEN311_DEFAULT_MAX_REQUESTS,
        slow_seconds: float = 2.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.token = token or None
        self.flaky = flaky
        self.port = port
        self.page_id = str(page_id)
        self.faults = dict(faults or {})
        for (api, page), kind in self.faults.items():
            if api not in API_NAMES or kind not in FAULT_KINDS or page < 1:
                raise ValueError(
                    f"fault {(api, page)!r}: {kind!r}: api must be one of {API_NAMES}, kind one of {FAULT_KINDS}"
                )
        self.quiet = quiet
        self.open311_max_requests = open311_max_requests
        self.slow_seconds = slow_seconds
        self.hits: Counter[str] = Counter()  # requests per distinct page (tokens left out of the key)
        self.hit_times: dict[str, list[float]] = {}  # time.monotonic() of each request, per page
        self._failed_once: set[str] = set()
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[tuple[int, int], list[Any]]] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> ApiServer:
        if self._httpd is not None:
            return self
        httpd = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        httpd.daemon_threads = True
        httpd.api = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="complaints-api-server",
            daemon=True,
        )
        self._thread.start()
        log.info("API server on %s (data %s, flaky=%s)", self.base_url, self.data_dir, self.flaky)
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the API server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # -- data ------------------------------------------------------------------------------

    def load(self, relative: Path) -> list[Any]:
        """The JSON list in ``data_dir/relative``, re-read when the file changes; [] if absent."""
        path = self.data_dir / relative
        try:
            stat = path.stat()
        except FileNotFoundError:
            return []
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._cache.get(path)
            if cached and cached[0] == stamp:
                return cached[1]
        items = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(items, list):
            raise ValueError(f"{path} does not hold a JSON list")
        with self._lock:
            self._cache[path] = (stamp, items)
        return items

    def first_request(self, page_key: str) -> bool:
        """Count a request for ``page_key``; True the first time this page is asked for."""
        with self._lock:
            self.hits[page_key] += 1
            self.hit_times.setdefault(page_key, []).append(time.monotonic())
            if page_key in self._failed_once:
                return False
            self._failed_once.add(page_key)
            return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ComplaintsDemoAPI/1.0"

    @property
    def api(self) -> ApiServer:
        return self.server.api  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        from complaints.adapters.http_client import mask_secrets

        # The request line carries Facebook's access_token: never write it to a log.
        args = tuple(mask_secrets(a) if isinstance(a, str) else a for a in args)
        if self.api.quiet:
            log.debug("%s " + format, self.address_string(), *args)
        else:
            super().log_message(format, *args)

    # -- plumbing --------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str = "application/json; charset=utf-8") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a "slow" fault)
            log.debug("client of %s went away before the answer", self.path)
            self.close_connection = True

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            if parts.path == "/v1/complaints":
                self._line(parts.path, query)
            elif parts.path.startswith(_FACEBOOK_PATH_PREFIX) and parts.path.endswith("/complaints"):
                self._facebook(parts.path, query)
            elif parts.path == _TRAFFY_PATH:
                self._traffy(parts.path, query)
            elif parts.path == _OPEN311_PREFIX + "requests.json":
                self._open311_requests(parts.path, query)
            elif parts.path == _OPEN311_PREFIX + "services.json":
                self._json(200, self.api.load(OPEN311_SERVICES_FILE))
            else:
                self._json(404, {"message": f"no such endpoint: {parts.path}"})
        except _BadRequest as exc:
            self._json(400, {"message": str(exc), "error": {"message": str(exc), "code": 100}})
        except (ValueError, OSError) as exc:  # unreadable data file
            log.exception("API server: cannot serve %s", self.path)
            self._json(500, {"message": f"server error: {exc}"})

    def _int(self, query: dict[str, str], name: str, default: int | None = None) -> int | None:
        if name not in query or query[name] == "":
            return default
        try:
            return int(query[name])
        except ValueError:
            raise _BadRequest(f"parameter {name} must be an integer, got {query[name]!r}") from None

    def _limit(self, query: dict[str, str], default: int, maximum: int) -> int:
        limit = self._int(query, "limit", default)
        if limit is None or limit < 1:
            raise _BadRequest(f"limit must be >= 1, got {query.get('limit')!r}")
        return min(limit, maximum)

    def _gate(self, api: str, path: str, query: dict[str, str], page: int) -> bool:
        """Faults and flakiness; True when the request has been answered already."""
        fault = self.api.faults.get((api, page))
        page_key = f"{path}?{urlencode(sorted((k, v) for k, v in query.items() if k != 'access_token'))}"
        first = self.api.first_request(page_key)
        if fault == "slow":
            time.sleep(self.api.slow_seconds)  # the client has given up by now; the answer may fail to send
        if fault == "error":
            self._json(500, {"message": "internal server error (injected fault)"})
            return True
        if self.api.flaky and first:
            self._json(503, {"message": "service temporarily unavailable, retry"})
            return True
        return False

    def _broken(self, fault: str | None) -> bool:
        if fault == "malformed":
            self._send(200, b'{"events": [{"type": "message", "webhookEventId": "01H')
            return True
        return False

    # -- LINE ------------------------------------------------------------------------------

    def _line(self, path: str, query: dict[str, str]) -> None:
        page = self._int(query, "page", 1) or 1
        if page < 1:
            raise _BadRequest("page must be >= 1")
        if self._gate("line", path, query, page):
            return
        if self.api.token and self.headers.get("Authorization") != f"Bearer {self.api.token}":
            self._json(
                401,
                {
                    "message": "Authentication failed. Confirm that the access token "
                    "in the authorization header is valid."
                },
            )
            return
        if self._broken(self.api.faults.get(("line", page))):
            return
        start, end = self._int(query, "start_time"), self._int(query, "end_time")
        limit = self._limit(query, LINE_DEFAULT_LIMIT, LINE_MAX_LIMIT)
        keyed = []
        for event in self.api.load(LINE_EVENTS_FILE):
            key = _line_sort_key(event)
            if key is None:
                log.warning("LINE event without updatedAt or timestamp, not served: %r", event)
            elif (start is None or key[0] >= start) and (end is None or key[0] < end):
                keyed.append((key, event))
        keyed.sort(key=lambda pair: pair[0])
        offset = (page - 1) * limit
        events = [event for _, event in keyed[offset : offset + limit]]
        self._json(200, {"events": events, "page": page, "hasNext": offset + limit < len(keyed)})

    # -- Facebook --------------------------------------------------------------------------

    def _facebook(self, path: str, query: dict[str, str]) -> None:
        page_id = path[len(_FACEBOOK_PATH_PREFIX) : -len("/complaints")]
        after = query.get("after")
        after_key, page = _decode_cursor(after) if after else (None, 0)
        page += 1
        if self._gate("facebook", path, query, page):
            return
        token = query.get("access_token") or self.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.api.token and token != self.api.token:
            self._json(
                401,
                {
                    "error": {
                        "message": "Invalid OAuth access token - Cannot parse access token",
                        "type": "OAuthException",
                        "code": 190,
                    }
                },
            )
            return
        if page_id != self.api.page_id:
            message = f"Unsupported get request. Object with ID '{page_id}' does not exist"
            self._json(404, {"error": {"message": message, "type": "GraphMethodException", "code": 100}})
            return
        if self._broken(self.api.faults.get(("facebook", page))):
            return
        since, until = self._int(query, "since"), self._int(query, "until")
        limit = self._limit(query, FACEBOOK_DEFAULT_LIMIT, FACEBOOK_MAX_LIMIT)
        keyed = []
        for post in self.api.load(FACEBOOK_POSTS_FILE):
            key = _facebook_sort_key(post)
            if key is None:
                log.warning("Facebook post without updated_time or created_time, not served: %r", post)
            elif (
                (since is None or key[0] >= since)
                and (until is None or key[0] < until)
                and (after_key is None or key > after_key)
            ):
                keyed.append((key, post))
        keyed.sort(key=lambda pair: pair[0])
        chunk = keyed[:limit]
        body: dict[str, Any] = {"data": [post for _, post in chunk]}
        if chunk:
            paging: dict[str, Any] = {
                "cursors": {
                    "before": _encode_cursor(chunk[0][0], page - 1),
                    "after": _encode_cursor(chunk[-1][0], page),
                }
            }
            if len(keyed) > limit:
                params = {k: v for k, v in query.items() if k != "after"}
                params["after"] = paging["cursors"]["after"]
                host = self.headers.get("Host") or urlsplit(self.api.base_url).netloc
                paging["next"] = f"http://{host}{path}?{urlencode(params)}"
            body["paging"] = paging
        self._json(200, body)

    # -- Traffy Fondue ----------------------------------------------------------------------

    def _iso_bound(self, query: dict[str, str], name: str) -> datetime | None:
        if not query.get(name):
            return None
        stamp = _traffy_time(query[name])
        if stamp is None:
            raise _BadRequest(f"parameter {name} must be an ISO timestamp, got {query[name]!r}")
        return stamp

    def _traffy(self, path: str, query: dict[str, str]) -> None:
        offset = self._int(query, "offset", 0) or 0
        if offset < 0:
            raise _BadRequest("offset must be >= 0")
        limit = self._limit(query, TRAFFY_DEFAULT_LIMIT, TRAFFY_MAX_LIMIT)
        page = offset // limit + 1
        if self._gate("traffy", path, query, page):
            return
        if self._broken(self.api.faults.get(("traffy", page))):
            return
        start, end = self._iso_bound(query, "last_activity_start"), self._iso_bound(query, "last_activity_end")
        keyed = []
        for ticket in self.api.load(TRAFFY_TICKETS_FILE):
            key = _traffy_sort_key(ticket)
            if key is None:
                log.warning("Traffy ticket without a readable last_activity, not served: %r", ticket)
            elif (start is None or key[0] >= start) and (end is None or key[0] < end):
                keyed.append((key, ticket))
        keyed.sort(key=lambda pair: pair[0])
        results = [ticket for _, ticket in keyed[offset : offset + limit]]
        self._json(200, {"total": len(keyed), "offset": offset, "limit": limit, "results": results})

    # -- Open311 GeoReport v2 ----------------------------------------------------------------

    def _open311_requests(self, path: str, query: dict[str, str]) -> None:
        if self._gate("open311", path, query, 1) or self._broken(self.api.faults.get(("open311", 1))):
            return
        start, end = self._iso_bound(query, "start_date"), self._iso_bound(query, "end_date")
        keyed = []
        for item in self.api.load(OPEN311_REQUESTS_FILE):
            created = _traffy_time(item.get("requested_datetime")) if isinstance(item, dict) else None
            if created is None:
                log.warning("Open311 request without a readable requested_datetime, not served: %r", item)
            elif (start is None or created >= start) and (end is None or created <= end):
                keyed.append(((created, str(item.get("service_request_id"))), item))
        keyed.sort(key=lambda pair: pair[0])
        self._json(200, [item for _, item in keyed[: self.api.open311_max_requests]])


def main(argv: list[str] | None = None) -> int:
    from complaints.paths import data_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="data root holding sources/*.json (default: COMPLAINTS_DATA_DIR or ./data)",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--token", default=None, help="require this bearer / access token")
    parser.add_argument("--page-id", default=DEFAULT_PAGE_ID, help="Facebook page id")
    parser.add_argument("--no-flaky", dest="flaky", action="store_false", help="no transient 503s")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    server = ApiServer(
        args.data_dir or data_dir(),
        token=args.token,
        flaky=args.flaky,
        port=args.port,
        page_id=args.page_id,
        quiet=not args.verbose,
    )
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    with server:
        print(server.base_url, flush=True)
        while not stopped.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
