"""The load killed mid-batch (SIGKILL) and its database connection dropped mid-load
(``pg_terminate_backend``): the warehouse holds none or all of the batch, and the retry loads it
with exact counts. The kill lands inside the batch's transaction, observed from the database side
(``pg_stat_activity``: the backend has a transaction id, i.e. it has written), not after a guess
of a sleep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from adapter_fixtures import day_request, drop_hotline_file, hotline_row
from complaints.ingest import ingest_channel
from complaints.thai_time import BANGKOK
from complaints.warehouse import ensure_schema, make_engine
from conftest import PG_ADMIN_URL, PROJECT_ROOT
from invariants import assert_conservation

pytestmark = pytest.mark.postgres

DAY = datetime(2019, 1, 15, tzinfo=BANGKOK)
BAD_DISTRICT = {"เขต": "เขตเมืองทอง"}
WORKER = Path(__file__).with_name("fault_worker.py")
TABLES = ("complaint", "complaint_status_history", "quarantine", "ingest_batch", "ingested_file")


def drop_large_file(data_dir: Path, good: int, bad: int) -> list[str]:
    """One 1555 export of ``good`` valid rows and ``bad`` rows with an unknown district; its ticket ids."""
    tickets = [f"K{i:06d}" for i in range(good + bad)]
    file_rows = [hotline_row(t, BAD_DISTRICT if i >= good else None) for i, t in enumerate(tickets)]
    drop_hotline_file(data_dir, "1555_20190115.csv", file_rows)
    return tickets


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in TABLES}  # fixed names


def with_application_name(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def backend(admin: Engine, application_name: str) -> dict | None:
    with admin.connect() as conn:
        row = conn.execute(
            text(
                "SELECT pid, state, wait_event_type, backend_xid IS NOT NULL AS has_written, query "
                "FROM pg_stat_activity WHERE application_name = :n"
            ),
            {"n": application_name},
        ).mappings()
        found = [dict(r) for r in row]
    return found[0] if found else None


def wait_for(condition, what: str, timeout: float = 120.0, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the load ended (exit {proc.returncode}) before {what}: {proc.stderr.read()}")
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def ledger_locked(url: str) -> Iterator[None]:
    """Hold a lock that conflicts with writing the ledger row, the last write of a batch: a load
    that reaches it waits there, mid-transaction, with all its other rows written."""
    engine = create_engine(url)
    conn = engine.connect()
    trans = conn.begin()
    conn.execute(text("LOCK TABLE ingest_batch IN SHARE MODE"))
    try:
        yield
    finally:
        trans.rollback()
        conn.close()
        engine.dispose()


def start_load(url: str, data_dir: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(WORKER.parent)]),
        "FAULT_WORKER_SKIP_PREPARE": "1",  # the test prepared the warehouse: the first write is the batch's
        "FAULT_WORKER_SQLITE_CACHE_PAGES": "64",  # SQLite: uncommitted pages reach the WAL file early
    }
    args = [sys.executable, str(WORKER), "daily", url, str(data_dir), "hotline_1555", "2019-01-15", "1"]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def admin() -> Iterator[Engine]:
    engine = create_engine(PG_ADMIN_URL)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("moment", ["while writing the complaints", "before the ledger row"])
def test_a_load_killed_with_sigkill_mid_batch_leaves_none_of_it_and_the_retry_loads_exact_counts(
    pg_url, admin, tmp_path, moment
):
    good, bad = 2000, 20
    tickets = drop_large_file(tmp_path, good, bad)
    engine = make_engine(pg_url)
    ensure_schema(engine)
    name = f"kill-{uuid.uuid4().hex[:8]}"
    url = with_application_name(pg_url, name)

    if moment == "before the ledger row":
        with ledger_locked(pg_url):
            proc = start_load(url, tmp_path)
            seen = wait_for(
                lambda: (b := backend(admin, name)) and b["wait_event_type"] == "Lock" and b,
                "the load to wait on the ledger lock",
                proc=proc,
            )
            assert seen["has_written"] and "ingest_batch" in seen["query"]
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    else:
        proc = start_load(url, tmp_path)
        seen = wait_for(lambda: (b := backend(admin, name)) and b["has_written"] and b, "the first write", proc=proc)
        # the batch's transaction has written: staging its rows (temporary tables, COPY) or upserting them
        batch_statements = ("INSERT INTO complaint", "stage_complaint", "stage_status_history")
        assert any(s in seen["query"] for s in batch_statements) or seen["state"] == "idle in transaction", seen
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # the server ends the orphaned backend (its client is gone) and rolls its transaction back
    wait_for(lambda: backend(admin, name) is None, "the killed load's backend to end", timeout=60)

    after_kill = counts(engine)
    none_of_it = after_kill == dict.fromkeys(TABLES, 0)
    all_of_it = (after_kill["complaint"], after_kill["quarantine"], after_kill["ingest_batch"]) == (good, bad, 1)
    assert none_of_it or all_of_it, after_kill
    if moment == "before the ledger row":  # the kill came before COMMIT could be sent: certainly none
        assert after_kill == dict.fromkeys(TABLES, 0)
    assert (tmp_path / "inbox" / "1555" / "1555_20190115.csv").exists(), "the file waits for the retry"

    retry = ingest_channel(day_request("hotline_1555", DAY, tmp_path), engine)
    assert (retry.rows_read, retry.rows_loaded, retry.rows_quarantined) == (good + bad, good, bad)
    final = counts(engine)
    assert (final["complaint"], final["quarantine"], final["ingest_batch"], final["ingested_file"]) == (good, bad, 1, 1)
    assert final["complaint_status_history"] == 3 * good  # received, acknowledged, in progress: once each
    checked = assert_conservation(engine, delivered={"hotline_1555": tickets})
    assert (checked.rows_read, checked.rows_loaded, checked.rows_quarantined) == (good + bad, good, bad)
    engine.dispose()


def test_a_connection_dropped_by_the_server_mid_load_rolls_back_and_the_retry_succeeds(pg_url, admin, tmp_path):
    good, bad = 800, 5
    tickets = drop_large_file(tmp_path, good, bad)
    name = f"term-{uuid.uuid4().hex[:8]}"
    engine = make_engine(with_application_name(pg_url, name))
    ensure_schema(engine)
    outcome: dict[str, BaseException | object] = {}

    def load() -> None:
        try:
            outcome["summary"] = ingest_channel(day_request("hotline_1555", DAY, tmp_path), engine)
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc

    with ledger_locked(pg_url):
        worker = threading.Thread(target=load)
        worker.start()
        seen = wait_for(
            lambda: (b := backend(admin, name)) and b["wait_event_type"] == "Lock" and b, "the load to reach the ledger"
        )
        assert seen["has_written"]
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": seen["pid"]}).scalar_one()
        worker.join(timeout=60)
    assert not worker.is_alive()
    assert isinstance(outcome.get("error"), OperationalError), outcome
    assert "terminat" in str(outcome["error"])
    assert counts(engine) == dict.fromkeys(TABLES, 0)  # rolled back: nothing of the batch

    retry = ingest_channel(day_request("hotline_1555", DAY, tmp_path), engine)  # the pool replaces the dead connection
    assert (retry.rows_read, retry.rows_loaded, retry.rows_quarantined) == (good + bad, good, bad)
    assert counts(engine)["complaint"] == good
    assert_conservation(engine, delivered={"hotline_1555": tickets})
    engine.dispose()


def test_a_load_killed_with_sigkill_mid_batch_on_sqlite_leaves_none_of_it_and_the_retry_is_exact(tmp_path):
    """The embedded default: SQLite's write-ahead log. With a small page cache the batch's
    uncommitted pages spill into the WAL file as it writes; the kill lands once the WAL has grown by
    256 kB, long before COMMIT (the whole batch writes several MB). Recovery ignores the frames of
    the transaction that never committed."""
    good, bad = 2000, 20
    tickets = drop_large_file(tmp_path, good, bad)
    database = tmp_path / "warehouse.sqlite"
    url = f"sqlite:///{database}"
    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()
    wal = Path(f"{database}-wal")
    before = wal.stat().st_size if wal.exists() else 0

    proc = start_load(url, tmp_path)
    wait_for(lambda: wal.exists() and wal.stat().st_size > before + 256 * 1024, "the WAL to grow", proc=proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    engine = make_engine(url)
    after_kill = counts(engine)
    assert wal.stat().st_size > 256 * 1024  # the uncommitted frames are there, and ignored:
    assert after_kill == dict.fromkeys(TABLES, 0)
    retry = ingest_channel(day_request("hotline_1555", DAY, tmp_path), engine)
    assert (retry.rows_read, retry.rows_loaded, retry.rows_quarantined) == (good + bad, good, bad)
    assert counts(engine)["complaint"] == good
    assert_conservation(engine, delivered={"hotline_1555": tickets})
    engine.dispose()
