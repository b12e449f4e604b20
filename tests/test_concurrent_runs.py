"""30 consecutive daily runs of every channel, each channel in its own process as its DAG would
run, with a quarterly computation running alongside, on one PostgreSQL warehouse that starts
empty: no deadlock, no failed run, nothing doubled, and counts exactly what the demo sources
offered (expected figures computed from the sources and the generator's list of bad rows,
not from the warehouse)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from complaints.adapters import ExtractRequest, load_adapter
from complaints.config import load_config
from complaints.thai_time import BANGKOK
from complaints.warehouse import make_engine
from conftest import PROJECT_ROOT, PSEUDONYM_KEY
from devtools.demo.api_server import ApiServer, _facebook_sort_key, _line_sort_key
from invariants import assert_conservation

pytestmark = pytest.mark.postgres

FIRST, DAYS = date(2019, 1, 2), 30  # 2 .. 31 January 2019: the month's Traffy Fondue export lands on the 31st
CUTOFF = date(2019, 1, 31)
TOKEN = "concurrent-token"
WORKER = Path(__file__).with_name("fault_worker.py")
FILE_INBOXES = {"hotline_1555": "1555", "traffy_fondue": "traffy_fondue"}


@dataclass
class Offered:
    """What a channel's source offered over the window: rows to read, ids, and deliberately bad rows."""

    rows: int = 0
    ids: set[str] = field(default_factory=set)
    bad_rows: int = 0
    bad_ids: set[str] = field(default_factory=set)
    superseded: int = 0  # older rows of an id repeated within one batch


def window_bounds() -> tuple[datetime, datetime]:
    start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=BANGKOK)
    return start, start + timedelta(days=DAYS)


def in_window(name: str) -> bool:
    stamp = name.rsplit(".", 1)[0].split("_")
    day = next(date(int(p[:4]), int(p[4:6]), int(p[6:8])) for p in stamp if p.isdigit() and len(p) == 8)
    return FIRST <= day < FIRST + timedelta(days=DAYS)


def offered_by_files(channel: str, folder: Path, manifest: dict) -> Offered:
    """Rows of the window's files as the channel's reader counts them; a re-sent copy counts once."""
    cfg = load_config().channels[channel]
    start, end = window_bounds()
    request = ExtractRequest(cfg, start, end, PSEUDONYM_KEY, data_dir=folder)
    adapter = load_adapter(cfg)
    out, first_name_of = Offered(), {}
    files = set()
    for part in adapter.plan(request):
        batch = adapter.read(request, part)
        name = batch.file_name or batch.source_part
        if first_name_of.setdefault(batch.checksum, name) != name:
            continue  # the same content under another name: a duplicate delivery, not read again
        files.add(name)
        out.rows += batch.rows_read
        ids = [r["source_id"] for r in batch.records]
        out.ids |= set(ids) | {r.source_id for r in batch.rejects if r.source_id}
        out.superseded += len(ids) - len(set(ids))  # an id twice in one batch: the older row is quarantined
    for bad in manifest["channels"][channel]["bad"]:
        if bad["locator"].split(":")[0] in files:
            out.bad_rows += 1
            out.bad_ids |= {bad["source_id"]} if bad["source_id"] else set()
    return out


def offered_by_mis(demo: Path, manifest: dict) -> Offered:
    start, end = (d.replace(tzinfo=None).isoformat(sep=" ") for d in window_bounds())
    with sqlite3.connect(demo / "sources" / "mis.sqlite") as db:
        ids = [r[0] for r in db.execute(
            "SELECT complaint_no FROM mis_complaint WHERE updated_at >= ? AND updated_at < ?", (start, end)
        )]  # fmt: skip
    bad = {b["source_id"] for b in manifest["channels"]["mis"]["bad"]}
    return Offered(len(ids), {i for i in ids if i}, sum(1 for i in ids if i in bad or not i), bad & set(ids))


def offered_by_api(items: list, key, id_of, channel: str, manifest: dict) -> Offered:
    start, end = window_bounds()
    lo, hi = (start.timestamp() * 1000, end.timestamp() * 1000) if channel == "line" else window_seconds()
    served = [item for item in items if (k := key(item)) is not None and lo <= k[0] < hi]
    bad = {b["source_id"] for b in manifest["channels"][channel]["bad"]}
    ids = [id_of(item) for item in served]
    return Offered(len(served), {i for i in ids if i}, sum(1 for i in ids if not i or i in bad), bad & set(ids))


def window_seconds() -> tuple[float, float]:
    start, end = window_bounds()
    return start.timestamp(), end.timestamp()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    from devtools.demo.generate import generate_demo

    out = tmp_path_factory.mktemp("demo")
    generate_demo(out)
    return out


def test_thirty_daily_runs_of_every_channel_beside_a_quarterly_run_neither_deadlock_nor_double_count(
    demo, pg_url, tmp_path
):
    manifest = json.loads((demo / "demo_manifest.json").read_text(encoding="utf-8"))
    data, scratch = tmp_path / "data", tmp_path / "expected"
    offered: dict[str, Offered] = {}
    for channel, inbox in FILE_INBOXES.items():
        files = [p for p in (demo / "inbox" / inbox).iterdir() if in_window(p.name)]
        for folder in (data / "incoming" / inbox, scratch / "inbox" / inbox):
            folder.mkdir(parents=True)
            for path in files:
                shutil.copy2(path, folder / path.name)
        offered[channel] = offered_by_files(channel, scratch, manifest)
    offered["mis"] = offered_by_mis(demo, manifest)
    sources = demo / "sources"
    line_events = json.loads((sources / "line_events.json").read_text(encoding="utf-8"))
    posts = json.loads((sources / "facebook_posts.json").read_text(encoding="utf-8"))
    offered["line"] = offered_by_api(line_events, _line_sort_key, lambda e: e.get("webhookEventId"), "line", manifest)
    offered["facebook"] = offered_by_api(posts, _facebook_sort_key, lambda p: p.get("id"), "facebook", manifest)
    assert all(o.rows > 0 for o in offered.values()), offered

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(WORKER.parent)]),
        "FAULT_WORKER_TOKEN": TOKEN,
        "FAULT_WORKER_NO_DATA_DOCS": "1",
    }
    loads_done = tmp_path / "loads-done"
    commands = {"quarterly": ["quarterly", pg_url, CUTOFF.isoformat(), str(loads_done)]}
    with ApiServer(demo, token=TOKEN, flaky=True) as server:
        source_urls = {"mis": f"sqlite:///{sources / 'mis.sqlite'}", "line": server.base_url}
        source_urls["facebook"] = server.base_url
        for code in load_config().channels:
            commands[code] = ["daily", pg_url, str(data), code, FIRST.isoformat(), str(DAYS), source_urls.get(code, "")]
        procs = {}
        for name, args in commands.items():  # all started together, as the scheduler would
            with (tmp_path / f"{name}.out").open("w") as out, (tmp_path / f"{name}.err").open("w") as err:
                procs[name] = subprocess.Popen([sys.executable, str(WORKER), *args], env=env, stdout=out, stderr=err)
        for name, proc in procs.items():
            if name != "quarterly":
                proc.wait(timeout=600)
        loads_done.touch()
        procs["quarterly"].wait(timeout=120)
    runs = {}
    for name, proc in procs.items():
        err = (tmp_path / f"{name}.err").read_text()
        assert proc.returncode == 0, f"{name} failed (exit {proc.returncode}):\n{err[-3000:]}"
        assert "deadlock" not in err.lower(), err
        runs[name] = [json.loads(line) for line in (tmp_path / f"{name}.out").read_text().splitlines()]
    quarterly = runs["quarterly"]
    assert len(quarterly) >= 3 and quarterly[-1]["final"], quarterly
    # it ran while the loads wrote: it saw the warehouse at several stages, the last one complete
    assert len({r["received"] for r in quarterly}) >= 2 and quarterly[-1]["received"] > 0, quarterly

    engine = make_engine(pg_url)
    with engine.connect() as conn:
        ledger = Counter()
        parts = Counter()
        for channel, part, rows_read in conn.execute(text("SELECT channel, source_part, rows_read FROM ingest_batch")):
            ledger[channel] += rows_read
            parts[(channel, part)] += 1
        complaints = dict(conn.execute(text("SELECT channel, COUNT(*) FROM complaint GROUP BY channel")).all())
        quarantined = dict(conn.execute(text("SELECT channel, COUNT(*) FROM quarantine GROUP BY channel")).all())
        snapshots = conn.execute(text("SELECT COUNT(*) FROM indicator_snapshot")).scalar_one()
    for code, expected in offered.items():
        assert len(runs[code]) == DAYS, code
        assert sum(r["rows_read"] for r in runs[code]) == expected.rows, code  # what the runs reported
        assert ledger[code] == expected.rows, code  # what the ledger holds: each row read once
        assert quarantined.get(code, 0) == expected.bad_rows + expected.superseded, code
        assert complaints.get(code, 0) == len(expected.ids - expected.bad_ids), code
        if code not in FILE_INBOXES:  # one batch per daily interval, never two
            assert sorted(n for (c, _), n in parts.items() if c == code) == [1] * DAYS, code
    assert max(parts.values()) == 1
    assert snapshots == 1
    checked = assert_conservation(engine, delivered={code: o.ids for code, o in offered.items()})
    assert checked.rows_read == sum(o.rows for o in offered.values())
    print(
        f"30-day runs: {checked}; quarterly runs: {[r['received'] for r in quarterly]}"
    )  # the figures docs/reliability.md quotes
    engine.dispose()


def test_daily_runs_that_start_together_on_an_empty_warehouse_all_create_the_schema(pg_url):
    """Every channel's first catch-up run prepares the warehouse at the same moment; on PostgreSQL
    two CREATE TABLE IF NOT EXISTS at once can fail on a duplicate type key unless serialised
    (without the advisory lock this failed 3 times out of 3)."""
    from complaints.airflow_tasks import prepare_warehouse_engine

    engines = [make_engine(pg_url) for _ in range(6)]
    start = threading.Barrier(len(engines))
    failures: list[BaseException] = []

    def prepare(engine) -> None:
        start.wait()
        try:
            prepare_warehouse_engine(engine)
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    threads = [threading.Thread(target=prepare, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    with engines[0].connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM dim_channel")).scalar_one() == len(load_config().channels)
    for e in engines:
        e.dispose()
