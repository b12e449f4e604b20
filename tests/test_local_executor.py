"""The same DAGs run unchanged under the LocalExecutor with Airflow's metadata in PostgreSQL.

``airflow dags test`` and ``dag.test()`` run tasks in-process, without an executor. With
``dag.test(use_executor=True)`` the LocalExecutor's task processes still report to the task
execution API, so in Airflow 3 an API server is needed either way. The supported setup is
therefore the real one: ``airflow db migrate`` against a fresh PostgreSQL database, then the
API server, the scheduler (LocalExecutor), the DAG processor and the triggerer — `make
airflow`'s launcher with ``--metadata-db`` — and a run triggered through the REST API. The
warehouse is a fresh PostgreSQL schema too, so nothing of the run touches SQLite.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text

from conftest import PG_ADMIN_URL
from devtools.demo.airflow_local import running

pytestmark = [pytest.mark.airflow, pytest.mark.postgres]

DAILY_DAG = "complaints_daily_line"  # over the HTTP connection, through the flaky demo API
LOGICAL_DATE = "2019-01-14T00:00:00+07:00"
RUN_CONF = {"interval_start": "2019-01-14", "interval_end": "2019-01-17"}


@pytest.fixture
def airflow_metadata_db() -> Iterator[str]:
    """A new, empty database on the test PostgreSQL server for Airflow's metadata; dropped afterwards."""
    name = f"airflow_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_airflow_has_its_async_postgresql_driver():
    """Airflow 3 opens the metadata database with an async engine too: ``postgresql+asyncpg``."""
    import importlib.util

    assert importlib.util.find_spec("asyncpg"), "PostgreSQL metadata needs asyncpg (requirements.txt)"


def test_a_daily_dag_runs_under_the_local_executor_with_postgresql_metadata(airflow_metadata_db, pg_url, tmp_path):
    with running(
        airflow_home=tmp_path / "home",
        data=tmp_path / "data",
        metadata_db_url=airflow_metadata_db,
        warehouse_url=pg_url,
        log_file=tmp_path / "launcher.log",
    ) as api:
        deadline = time.monotonic() + 90  # the DAG processor may still be parsing the dags folder
        while DAILY_DAG not in api.dag_ids() and time.monotonic() < deadline:
            time.sleep(2)
        state, tasks = api.run_dag(DAILY_DAG, logical_date=LOGICAL_DATE, conf=RUN_CONF, timeout=240)

    assert state == "success", f"{DAILY_DAG} ended {state}: {tasks}; see {tmp_path / 'home' / 'logs'}"
    assert tasks and set(tasks.values()) == {"success"}

    # Airflow's own records are in PostgreSQL: the run, and its tasks queued by the scheduler
    # (not run in-process by a test helper), whose executor is the LocalExecutor.
    metadata = create_engine(airflow_metadata_db)
    with metadata.connect() as conn:
        runs = conn.execute(
            text("SELECT run_id, state FROM dag_run WHERE dag_id = :dag AND run_type = 'manual'"), {"dag": DAILY_DAG}
        ).all()
        schedulers = set(conn.execute(text("SELECT id FROM job WHERE job_type = 'SchedulerJob'")).scalars())
        queued_by = conn.execute(
            text("SELECT task_id, queued_by_job_id FROM task_instance WHERE dag_id = :dag AND run_id = :run"),
            {"dag": DAILY_DAG, "run": runs[0].run_id if runs else ""},
        ).all()
    metadata.dispose()
    assert [r.state for r in runs] == ["success"]
    assert {t for t, _ in queued_by} == set(tasks)
    assert schedulers and all(job in schedulers for _, job in queued_by), queued_by
    scheduler_log = (tmp_path / "home" / "logs" / "components" / "scheduler.log").read_text(encoding="utf-8")
    assert "for executor: LocalExecutor" in scheduler_log

    warehouse = create_engine(pg_url)
    with warehouse.connect() as conn:
        loaded = conn.execute(text("SELECT COUNT(*) FROM complaint WHERE channel = 'line'")).scalar_one()
        unbalanced = conn.execute(
            text("SELECT COUNT(*) FROM ingest_batch WHERE rows_read <> rows_loaded + rows_quarantined")
        ).scalar_one()
    warehouse.dispose()
    assert loaded > 0
    assert unbalanced == 0
