"""The scale-out topology of docker-compose.yaml, run on this machine without containers.

``devtools.scale_demo`` (`make scale-demo`) starts PostgreSQL-backed Airflow with the
CeleryExecutor: API server, scheduler, DAG processor, triggerer and two Celery workers on the
local Redis, triggers the daily DAGs for two days and the quarterly DAG, and runs the same
runs embedded (``dag.test()``, SQLite). This test runs it as `make scale-demo` does, in its own
process group, on two databases it creates and drops, and then checks for itself, in the
metadata database, the warehouse and /proc, what the demo claims: every task succeeded, on
both workers, from the run's queue through Celery; the warehouse equals the embedded run's;
nothing it started is left running. Skipped only when PostgreSQL or Redis is not reachable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import PG_ADMIN_URL, PROJECT_ROOT
from devtools import scale_demo
from devtools.demo.airflow_local import stop_process_group

BROKER_URL = os.environ.get("SCALE_DEMO_BROKER_URL", scale_demo.DEFAULT_BROKER_URL)
DEMO_TIMEOUT_S = 2400


@pytest.fixture
def backing_services() -> None:
    if problems := scale_demo.unreachable(PG_ADMIN_URL, BROKER_URL):
        pytest.skip(f"the scale-out run needs PostgreSQL and Redis: {'; '.join(problems)}")


@pytest.fixture
def databases(backing_services) -> Iterator[tuple[str, str]]:
    """A new metadata database and a new warehouse database; dropped afterwards."""
    name = f"scale_test_{uuid.uuid4().hex[:10]}"
    with ExitStack() as stack:
        metadata = stack.enter_context(scale_demo.dedicated_database(PG_ADMIN_URL, f"{name}_airflow"))
        warehouse = stack.enter_context(scale_demo.dedicated_database(PG_ADMIN_URL, f"{name}_warehouse"))
        yield metadata, warehouse


def processes_with_env(fragment: str) -> list[int]:
    """Processes whose environment mentions ``fragment`` (the run's Airflow homes)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if fragment.encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


def query(url: str, sql: str) -> list[dict]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql)).mappings()]
    finally:
        engine.dispose()


# -- the pieces, without services -------------------------------------------------------------


def test_the_demo_config_moves_only_later_start_dates_to_the_demo_year(tmp_path):
    from complaints.config import load_config

    derived = load_config(str(scale_demo.demo_config(tmp_path / "pipeline.yaml", scale_demo.DAYS[0])))
    original = load_config()
    assert set(derived.channels) == set(original.channels)
    for code, channel in original.channels.items():
        expected = channel.start_date
        if date.fromisoformat(expected) > scale_demo.DAYS[0]:
            expected = scale_demo.DEMO_START
        assert derived.channels[code].start_date == expected, code
    assert any(c.start_date != derived.channels[k].start_date for k, c in original.channels.items())


def test_the_plan_runs_every_daily_dag_for_each_day_then_the_quarterly_dag():
    runs = scale_demo.planned_runs(["line", "mis"])
    assert [(r.dag_id, r.phase) for r in runs] == [
        ("complaints_daily_line", 0),
        ("complaints_daily_mis", 0),
        ("complaints_daily_line", 1),
        ("complaints_daily_mis", 1),
        (scale_demo.QUARTERLY_DAG, 2),
    ]
    assert runs[0].conf == {"interval_start": "2019-01-30", "interval_end": "2019-01-31"}
    assert runs[2].conf == {"interval_start": "2019-01-31", "interval_end": "2019-02-01"}
    assert runs[-1].conf == {"cutoff": "2019-01-31"} and runs[-1].logical_day == date(2019, 2, 1)


def test_the_warehouse_comparison_ignores_batch_ids_and_wall_clock_but_not_data(tmp_path):
    from complaints.warehouse import ensure_schema, make_engine

    def warehouse(name: str, batch_id: str, finished_at: str, rows_loaded: int, received: int = 5) -> str:
        url = f"sqlite:///{tmp_path / name}.sqlite"
        engine = make_engine(url)
        ensure_schema(engine)
        result = {
            "computed_at": finished_at,
            "totals": {"received": received},
            "freshness": [{"channel": "line", "last_successful_load": finished_at, "stale": False}],
        }
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO ingest_batch (batch_id, channel, interval_start, interval_end, source_part, rows_read,"
                    " rows_loaded, rows_quarantined, outcome, finished_at) VALUES (:b, 'line', '2019-01-14 00:00:00',"
                    " '2019-01-15 00:00:00', :part, 3, :loaded, 0, 'loaded', :f)"
                ),
                {"b": batch_id, "f": finished_at, "loaded": rows_loaded, "part": str(tmp_path / name / "inbox/a.csv")},
            )
            conn.execute(
                text(
                    "INSERT INTO indicator_snapshot (fiscal_year_be, cutoff, rubric_version, result_json, computed_at)"
                    " VALUES (2562, '2019-01-15', 'fy2562', :r, :f)"
                ),
                {"r": json.dumps(result), "f": finished_at},
            )
        engine.dispose()
        return url

    a = warehouse("a", "batch-1", "2026-01-01 10:00:00", 3)
    b = warehouse("b", "batch-2", "2026-01-01 11:00:00", 3)
    fewer_loaded = warehouse("c", "batch-3", "2026-01-01 12:00:00", 2)
    fewer_received = warehouse("d", "batch-4", "2026-01-01 12:00:00", 3, received=4)
    assert scale_demo.warehouse_differences(a, tmp_path / "a", b, tmp_path / "b") == []
    differences = scale_demo.warehouse_differences(a, tmp_path / "a", fewer_loaded, tmp_path / "c")
    assert len(differences) == 1 and differences[0].startswith("ingest_batch: 1 row(s) only in the celery")
    differences = scale_demo.warehouse_differences(a, tmp_path / "a", fewer_received, tmp_path / "d")
    assert len(differences) == 1 and differences[0].startswith("indicator_snapshot: 1 row(s) only in the celery")


def test_a_task_process_under_a_worker_reports_that_workers_hostname(monkeypatch):
    """What the task runner sends as ``task_instance.hostname`` (airflow.sdk.api.client.get_hostname)."""
    from airflow.sdk.api.client import get_hostname

    from devtools import worker_host

    env = scale_demo.worker_env({"A": "1"}, "worker-2")
    assert env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] == worker_host.CALLABLE
    for key in ("AIRFLOW__CORE__HOSTNAME_CALLABLE", worker_host.WORKER_HOSTNAME_ENV):
        monkeypatch.setenv(key, env[key])
    assert get_hostname() == "worker-2"
    monkeypatch.setenv(worker_host.WORKER_HOSTNAME_ENV, "worker-1")
    assert get_hostname() == "worker-1"


# -- the whole topology -----------------------------------------------------------------------


@pytest.mark.celery
@pytest.mark.airflow
@pytest.mark.postgres
@pytest.mark.timeout(DEMO_TIMEOUT_S + 120)
def test_the_celery_stack_runs_every_task_on_both_workers_into_the_embedded_runs_warehouse(databases, tmp_path):
    metadata, warehouse = databases
    work, report_file, log_file = tmp_path / "work", tmp_path / "report.json", tmp_path / "scale-demo.log"
    args = [sys.executable, "-m", "devtools.scale_demo", "--work-dir", str(work), "--report", str(report_file)]
    args += ["--metadata-db", metadata, "--warehouse", warehouse, "--broker", BROKER_URL]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)])}
    with log_file.open("ab") as log:
        demo = subprocess.Popen(
            args, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        code = demo.wait(DEMO_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        stop_process_group(demo)
    output = log_file.read_text(encoding="utf-8", errors="replace")
    assert code == 0, f"scale demo exited {code}; see {log_file}:\n{output[-3000:]}"
    report = json.loads(report_file.read_text(encoding="utf-8"))

    # Nothing it started is left: no process has either run's Airflow home in its environment.
    for home in (work / "celery" / "home", work / "embedded" / "home"):
        assert processes_with_env(f"AIRFLOW_HOME={home}\0") == [], f"left running with {home}"

    # Airflow's own records: the triggered runs only (each channel's daily DAG once a day, then
    # the quarterly DAG), all successful.
    from complaints.config import load_config

    expected = {f"{scale_demo.DAILY_DAG_PREFIX}{code}": len(scale_demo.DAYS) for code in load_config().channels}
    expected[scale_demo.QUARTERLY_DAG] = 1
    runs = query(metadata, "SELECT dag_id, run_id, run_type, state FROM dag_run")
    assert Counter(r["dag_id"] for r in runs) == expected
    assert {(r["run_type"], r["state"]) for r in runs} == {("manual", "success")}

    # Every task instance succeeded, from this run's queue, on both workers.
    tis = query(metadata, "SELECT dag_id, task_id, state, hostname, queue FROM task_instance")
    assert tis and {t["state"] for t in tis} == {"success"}, Counter((t["task_id"], t["state"]) for t in tis)
    assert {t["queue"] for t in tis} == {report["queue"]} != {"default"}
    hosts = Counter(t["hostname"] for t in tis)
    assert set(hosts) == set(report["worker_hostnames"]) and len(hosts) == scale_demo.WORKERS, hosts
    # They went through Celery: its result backend (in the metadata database) has a result for each.
    results = Counter(r["status"] for r in query(metadata, "SELECT status FROM celery_taskmeta"))
    assert results["SUCCESS"] >= len(tis), results

    # The warehouse equals the embedded run's (and is not empty).
    embedded = f"sqlite:///{work / 'embedded' / 'data' / 'warehouse.sqlite'}"
    assert (
        scale_demo.warehouse_differences(warehouse, work / "celery" / "data", embedded, work / "embedded" / "data")
        == []
    )
    counts = scale_demo.row_counts(warehouse)
    assert counts["complaint"] > 0 and counts["complaint_status_history"] > 0
    assert counts["indicator_snapshot"] == 1
    channels = {r["channel"] for r in query(warehouse, "SELECT DISTINCT channel FROM ingest_batch")}
    assert channels == set(load_config().channels)

    # The run's Celery queue is gone from Redis.
    import redis

    assert list(redis.Redis.from_url(BROKER_URL).scan_iter(match=f"*{report['queue']}*")) == []
