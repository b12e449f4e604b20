"""A load or quarterly task as its own OS process, for the tests that kill it or run many at once.

    python tests/fault_worker.py daily WAREHOUSE_URL DATA_DIR CHANNEL FIRST_DAY DAYS [SOURCE_URL]
    python tests/fault_worker.py quarterly WAREHOUSE_URL CUTOFF STOP_FILE

``daily`` runs the channel's daily load (``ingest_channel``, what the DAG's ingest task calls)
for DAYS consecutive Bangkok days from FIRST_DAY. For a file channel, each day's files are
first moved from ``DATA_DIR/incoming/<inbox>/`` into the inbox, as the call centre drops them
(files the run finds in the inbox already are read too). ``quarterly`` computes and stores the
indicator for CUTOFF over and over until STOP_FILE exists, then once more. The API channels'
token is ``FAULT_WORKER_TOKEN``. Prints one JSON line per run; exits non-zero on the first failure.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import event

from complaints.adapters import ExtractRequest
from complaints.config import load_config
from complaints.ingest import ingest_channel
from complaints.thai_time import BANGKOK
from complaints.warehouse import make_engine

PSEUDONYM_KEY = "test-key-not-a-secret"
INBOX = {"hotline_1555": Path("inbox/1555"), "traffy_fondue": Path("inbox/traffy_fondue")}


def drop_files_of(data_dir: Path, channel: str, day: date) -> None:
    """Move the channel's files named for ``day`` from the incoming folder into the inbox."""
    if channel not in INBOX:
        return
    incoming = data_dir / "incoming" / INBOX[channel].name
    inbox = data_dir / INBOX[channel]
    inbox.mkdir(parents=True, exist_ok=True)
    for path in sorted(incoming.glob(f"*_{day:%Y%m%d}*")) if incoming.is_dir() else []:
        path.rename(inbox / path.name)


def without_data_docs() -> None:
    """Data Docs pages are diagnostics (their failure never fails a load) and rendering them
    dominates a small batch's time: the many-runs test switches them off with
    FAULT_WORKER_NO_DATA_DOCS=1; the load path is otherwise the DAG's."""
    from complaints import data_docs, ingest

    data_docs.record_validation = lambda *_args, **_kwargs: SimpleNamespace(path=None, url=None)
    ingest._build_data_docs = lambda _request: None


def small_sqlite_cache(engine: Any, pages: int) -> None:
    """A SQLite page cache of ``pages`` pages: a large batch then spills its uncommitted pages into
    the WAL file long before COMMIT, so a test can see it writing and kill it there."""

    @event.listens_for(engine, "connect")
    def _cache(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA cache_size = {int(pages)}")


def daily(url: str, data_dir: str, channel_code: str, first: str, days: str, source_url: str = "") -> None:
    from complaints.airflow_tasks import prepare_warehouse_engine

    channel = load_config().channels[channel_code]
    engine = make_engine(url)
    if url.startswith("sqlite") and os.environ.get("FAULT_WORKER_SQLITE_CACHE_PAGES"):
        small_sqlite_cache(engine, int(os.environ["FAULT_WORKER_SQLITE_CACHE_PAGES"]))
    for n in range(int(days)):
        day = date.fromisoformat(first) + timedelta(days=n)
        drop_files_of(Path(data_dir), channel_code, day)
        if os.environ.get("FAULT_WORKER_SKIP_PREPARE") != "1":  # the kill tests prepared it: only the load runs
            prepare_warehouse_engine(engine)  # the DAG's first task, before every ingest
        start = datetime(day.year, day.month, day.day, tzinfo=BANGKOK)
        request = ExtractRequest(
            channel=channel,
            interval_start=start,
            interval_end=start + timedelta(days=1),
            pseudonym_key=PSEUDONYM_KEY,
            source_url=source_url or None,
            source_token=os.environ.get("FAULT_WORKER_TOKEN"),
            data_dir=Path(data_dir),
        )
        summary = ingest_channel(request, engine)
        print(json.dumps({"day": day.isoformat(), **summary.as_dict()}, default=str), flush=True)


def quarterly(url: str, cutoff: str, stop_file: str) -> None:
    """Compute and store the indicator again and again while the loads run, until ``stop_file``
    exists, then once more: each run reads tables the loads are writing."""
    from complaints.quarterly import compute_and_store

    engine = make_engine(url)
    run, last = 0, False
    while not last:
        last = Path(stop_file).exists()
        result = compute_and_store(engine, date.fromisoformat(cutoff))
        print(json.dumps({"run": run, "received": result.totals.received, "final": last}), flush=True)
        run += 1
        time.sleep(0 if last else 5)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if os.environ.get("FAULT_WORKER_NO_DATA_DOCS") == "1":
        without_data_docs()
    {"daily": daily, "quarterly": quarterly}[mode](*args)
