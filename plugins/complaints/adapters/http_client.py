"""HTTP access for the API channels (LINE, Facebook): a ``requests.Session`` with retries.

* Connection errors, read timeouts and 5xx answers are retried with exponential backoff
  (urllib3 ``Retry`` mounted through an ``HTTPAdapter``); 4xx answers are not.
* Every request has a timeout.
* The token goes either in an ``Authorization: Bearer`` header or in an ``access_token``
  query parameter (Graph-API style).
* Anything that leaves a page unreadable (retries exhausted, refused token, a body that is
  not JSON) raises :class:`complaints.adapters.SourceError` naming the page and its URL,
  with tokens masked: the message ends up in Airflow task logs.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Literal, NoReturn
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from complaints.adapters import ExtractRequest, SourceError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})
_SECRET_PARAM = re.compile(r"((?:access_token|token|api_key|apikey)=)[^&\s'\"#]+", re.IGNORECASE)


def mask_secrets(text: str) -> str:
    """``text`` with the value of every token-like query parameter replaced by ``***``."""
    return _SECRET_PARAM.sub(r"\1***", str(text))


class _MaskSecretsFilter(logging.Filter):
    """urllib3 logs retried URLs (query string included) at WARNING: mask the tokens in them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


# A logger's filters do not apply to its children: each urllib3 logger that writes URLs gets one
# (connectionpool: requests and retries at DEBUG/WARNING; util.retry: "Incremented Retry for (url=...)").
for _name in ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.connection", "urllib3.response"):
    _urllib3_log = logging.getLogger(_name)
    if not any(isinstance(f, _MaskSecretsFilter) for f in _urllib3_log.filters):
        _urllib3_log.addFilter(_MaskSecretsFilter())


@dataclass(frozen=True)
class RetrySettings:
    """How hard to try. ``backoff_factor`` f sleeps 0, 2f, 4f, ... seconds between attempts."""

    retries: int = 4
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> RetrySettings:
        """Read ``http_retries``, ``http_backoff_factor``, ``http_backoff_max``, ``http_connect_timeout``
        and ``http_read_timeout`` from a channel's settings (pipeline.yaml), defaults otherwise."""
        defaults = cls()
        return cls(
            retries=int(settings.get("http_retries", defaults.retries)),
            backoff_factor=float(settings.get("http_backoff_factor", defaults.backoff_factor)),
            backoff_max=float(settings.get("http_backoff_max", defaults.backoff_max)),
            connect_timeout=float(settings.get("http_connect_timeout", defaults.connect_timeout)),
            read_timeout=float(settings.get("http_read_timeout", defaults.read_timeout)),
        )


@dataclass(frozen=True)
class JsonPage:
    """A decoded JSON answer and the (token-masked) URL it came from."""

    what: str
    url: str
    data: Any

    def fail(self, problem: str) -> NoReturn:
        raise SourceError(f"{self.what} ({self.url}): {problem}")


class ApiClient:
    """GETs JSON pages from one API with retries, a timeout and token auth.

    ``auth="bearer"`` sends ``Authorization: Bearer <token>``; ``auth="query"`` adds
    ``<token_param>=<token>`` (``access_token`` by default; Open311 says ``api_key``) to the
    query string unless the URL already carries one (Graph API ``paging.next`` links do).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        auth: Literal["bearer", "query"] = "bearer",
        token_param: str = "access_token",
        retry: RetrySettings | None = None,
        user_agent: str = "bma-complaints-pipeline/1.0",
    ) -> None:
        if not base_url:
            raise SourceError("no API base URL: set the channel's HTTP connection (host or extra.base_url)")
        self.base_url = base_url.rstrip("/") + "/"
        self.token = token or None
        self.auth = auth
        self.token_param = token_param
        self.retry = retry or RetrySettings()
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept"] = "application/json"
        if self.token and auth == "bearer":
            self.session.headers["Authorization"] = f"Bearer {self.token}"
        policy = Retry(
            total=self.retry.retries,
            connect=self.retry.retries,
            read=self.retry.retries,
            status=self.retry.retries,
            other=0,
            redirect=3,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.retry.backoff_factor,
            backoff_max=self.retry.backoff_max,
            raise_on_status=False,  # hand back the last 5xx so the error can name it
            respect_retry_after_header=True,
            retry_after_max=self.retry.backoff_max,
        )
        adapter = HTTPAdapter(max_retries=policy)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @classmethod
    def for_request(
        cls, request: ExtractRequest, *, auth: Literal["bearer", "query"], token_param: str = "access_token"
    ) -> ApiClient:
        """A client for the request's API: its base URL and token, retries from the channel's settings."""
        return cls(
            request.source_url or "",
            request.source_token,
            auth=auth,
            token_param=token_param,
            retry=RetrySettings.from_settings(request.channel.settings),
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` relative to the base URL (an absolute ``path`` is kept)."""
        return urljoin(self.base_url, path.lstrip("/")) if "://" not in path else path

    def shown_url(self, url: str, params: dict[str, Any] | None = None) -> str:
        """The URL as it will be requested, tokens masked: what error messages show."""
        prepared = requests.Request("GET", self.url(url), params=self._params(url, params)).prepare()
        return mask_secrets(prepared.url or url)

    def _params(self, url: str, params: dict[str, Any] | None) -> dict[str, Any]:
        out = dict(params or {})
        if self.token and self.auth == "query" and f"{self.token_param}=" not in url:
            out.setdefault(self.token_param, self.token)
        return out

    def get_json(self, url: str, params: dict[str, Any] | None = None, *, what: str = "page") -> JsonPage:
        """GET ``url`` (relative to the base URL, or absolute) and decode its JSON body.

        ``what`` names the page in error messages, e.g. ``"LINE page 3"``.
        """
        target = self.url(url)
        shown = self.shown_url(target, params)
        timeout = (self.retry.connect_timeout, self.retry.read_timeout)
        try:
            response = self.session.get(target, params=self._params(target, params), timeout=timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            # urllib3 has already retried connection errors and read timeouts
            raise SourceError(
                f"{what} ({shown}): no answer after {self.retry.retries} retries "
                f"(connection failed or timed out): {mask_secrets(exc)}"
            ) from None
        except requests.RequestException as exc:
            raise SourceError(f"{what} ({shown}): request failed: {mask_secrets(exc)}") from None

        status = response.status_code
        if status in (401, 403):
            raise SourceError(
                f"{what} ({shown}): the API refused the token (HTTP {status}): check the channel's "
                f"connection password; answer: {_snippet(response)}"
            )
        if status >= 500:
            raise SourceError(
                f"{what} ({shown}): still HTTP {status} after {self.retry.retries} retries: {_snippet(response)}"
            )
        if status >= 400:
            raise SourceError(f"{what} ({shown}): HTTP {status}: {_snippet(response)}")
        try:
            data = response.json()
        except ValueError as exc:
            raise SourceError(
                f"{what} ({shown}): the body is not valid JSON ({exc}); it starts with {_snippet(response)}"
            ) from None
        log.debug("%s: %s -> HTTP %s", what, shown, status)
        return JsonPage(what=what, url=shown, data=data)


def _snippet(response: requests.Response, limit: int = 200) -> str:
    text = response.text or ""
    return repr(mask_secrets(text[:limit]) + ("..." if len(text) > limit else ""))
