"""Source adapters. Each module exposes ``plan``, ``read`` and ``after_load`` (see docs/architecture.md)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from complaints.config import Channel
from complaints.pseudonym import pseudonymise


class SourceError(RuntimeError):
    """A source part (file, page, query) that cannot be read; the message names the part."""


@dataclass(frozen=True)
class ExtractRequest:
    channel: Channel
    interval_start: datetime  # aware; inclusive
    interval_end: datetime  # aware; exclusive
    pseudonym_key: str
    source_url: str | None = None  # SQLAlchemy URL (MIS) or API base URL
    source_token: str | None = None  # API bearer / access token
    data_dir: Path | None = None  # root of file drops
    source_login: str | None = None  # API user name, where the API logs in with user/password (Traffy Exchange)
    # The warehouse (a SQLAlchemy Engine), for adapters that keep state there (the Traffy Exchange
    # API's credit ledger); ingest_channel sets it.
    warehouse: Any = None


def load_adapter(channel: Channel) -> ModuleType:
    module = importlib.import_module(channel.adapter)
    for fn in ("plan", "read", "after_load"):
        if not callable(getattr(module, fn, None)):
            raise TypeError(f"adapter {channel.adapter} for channel {channel.code} lacks {fn}()")
    return module


def redact_raw(raw: dict[str, Any], personal_fields: tuple[str, ...], key: str) -> dict[str, Any]:
    """A copy of a raw source row fit for quarantine: personal fields replaced by pseudonyms."""
    out = dict(raw)
    for name in personal_fields:
        if name in out and out[name] not in (None, ""):
            out[name] = "pseudonym:" + (pseudonymise(str(out[name]), key) or "")
    return out
