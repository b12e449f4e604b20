"""End to end: each daily DAG run through Airflow (dag.test) against a real PostgreSQL warehouse,
reading the demo sources (MIS copied into PostgreSQL, 1555 files, LINE/Facebook over HTTP)."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pendulum
import pytest
from sqlalchemy import create_engine, text

from complaints.config import load_config
from conftest import PSEUDONYM_KEY

pytestmark = [pytest.mark.airflow, pytest.mark.postgres]

DAYS = [date(2019, 1, 14), date(2019, 1, 15), date(2019, 1, 16)]
BUSINESS_TABLES = {
    "complaint": "channel, source_id",
    "complaint_status_history": "channel, source_id, changed_at, status",
    "quarantine": "batch_id, row_number",
    "ingested_file": "channel, file_sha256",
}


@pytest.fixture(scope="module")
def demo_sources(tmp_path_factory) -> Path:
    from devtools.demo.generate import generate_demo

    out = tmp_path_factory.mktemp("demo")
    generate_demo(out)
    return out


def copy_mis_to_postgres(sqlite_file: Path, pg_url: str) -> None:
    """The MIS is a PostgreSQL system in production: serve the demo MIS from a real one."""
    from devtools.demo.mis_schema import create_mis_schema

    source = create_engine(f"sqlite:///{sqlite_file}")
    target = create_engine(pg_url)
    create_mis_schema(target)
    with source.connect() as src, target.begin() as dst:
        for table in ("mis_complaint", "mis_complaint_action"):
            result = src.execute(text(f"SELECT * FROM {table}"))  # table names from the fixed tuple above
            columns = list(result.keys())
            rows = [dict(zip(columns, row, strict=True)) for row in result]
            placeholders = ", ".join(f":{c}" for c in columns)
            dst.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"), rows)
    source.dispose()
    target.dispose()


@pytest.fixture
def pipeline_env(airflow_db, demo_sources, pg_url, tmp_path, monkeypatch):
    """Connections and data folders for the DAG runs: warehouse and MIS in PostgreSQL."""
    from devtools.demo.api_server import ApiServer

    data = tmp_path / "data"
    shutil.copytree(demo_sources / "inbox", data / "inbox")
    mis_schema_url = pg_url.replace("search_path%3D", "search_path%3Dmis_")  # a second schema for the MIS
    mis_schema = "mis_" + pg_url.rsplit("search_path%3D", 1)[1]
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{mis_schema}"'))
    copy_mis_to_postgres(demo_sources / "sources" / "mis.sqlite", mis_schema_url)

    with ApiServer(demo_sources, token="t0ken", flaky=True) as server:
        http = json.dumps({"conn_type": "http", "password": "t0ken", "extra": {"base_url": server.base_url}})
        monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(data))
        monkeypatch.setenv(
            "AIRFLOW_CONN_COMPLAINTS_WAREHOUSE",
            json.dumps({"conn_type": "postgres", "extra": {"sqlalchemy_url": pg_url}}),
        )
        monkeypatch.setenv(
            "AIRFLOW_CONN_COMPLAINTS_MIS_DB",
            json.dumps({"conn_type": "postgres", "extra": {"sqlalchemy_url": mis_schema_url}}),
        )
        monkeypatch.setenv("AIRFLOW_CONN_COMPLAINTS_LINE_API", http)
        monkeypatch.setenv("AIRFLOW_CONN_COMPLAINTS_FACEBOOK_API", http)
        monkeypatch.setenv(
            "AIRFLOW_CONN_COMPLAINTS_PSEUDONYM_KEY", json.dumps({"conn_type": "generic", "password": PSEUDONYM_KEY})
        )
        yield {"warehouse_url": pg_url, "data": data}
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{mis_schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="module")
def daily_dags():
    from airflow.dag_processing.dagbag import DagBag

    from devtools.demo.run_dags import allow_runs_from

    bag = DagBag(str(Path(__file__).resolve().parents[1] / "dags"))
    assert bag.import_errors == {}
    dags = {code: bag.dags[f"complaints_daily_{code}"] for code in load_config().channels}
    for dag in dags.values():  # the demo year predates Traffy Fondue's production start date
        allow_runs_from(dag, DAYS[0])
    return dags


def run_days(dags, days):
    for dag in dags.values():
        for day in days:
            run = dag.test(logical_date=pendulum.datetime(day.year, day.month, day.day, tz="Asia/Bangkok"))
            assert str(run.state) == "success", f"{dag.dag_id} {day} ended {run.state}"


def snapshot(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = {
            t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY {key}"))]
            for t, key in BUSINESS_TABLES.items()
        }
        tables["ingest_batch"] = [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT batch_id, channel, source_part, rows_read, rows_loaded, rows_quarantined, outcome "
                    "FROM ingest_batch ORDER BY batch_id"
                )
            )
        ]
    engine.dispose()
    return tables


def test_each_daily_dag_loads_its_channel_and_every_batch_balances(pipeline_env, daily_dags):
    run_days(daily_dags, DAYS)
    engine = create_engine(pipeline_env["warehouse_url"])
    with engine.connect() as conn:
        loaded = dict(conn.execute(text("SELECT channel, COUNT(*) FROM complaint GROUP BY channel")).all())
        unbalanced = conn.execute(
            text("SELECT source_part FROM ingest_batch WHERE rows_read <> rows_loaded + rows_quarantined")
        ).all()
        intervals = conn.execute(
            text(
                "SELECT DISTINCT channel, interval_start, interval_end FROM ingest_batch "
                "WHERE channel IN ('mis', 'line', 'facebook')"
            )
        ).all()
    engine.dispose()
    assert set(loaded) == set(daily_dags), f"channels loaded: {loaded}"
    assert all(count > 0 for count in loaded.values())
    assert unbalanced == []
    # One Bangkok day per run: 17:00 UTC to 17:00 UTC.
    assert all(end - start == timedelta(days=1) and start.hour == 17 for _, start, end in intervals)
    # Files of the days run are archived; later days' files wait in the inbox.
    archived = sorted(p.name for p in (pipeline_env["data"] / "archive" / "1555").iterdir())
    assert archived and all(name[5:13] <= "20190116" for name in archived)


def test_running_the_same_days_again_leaves_the_warehouse_identical(pipeline_env, daily_dags):
    run_days(daily_dags, DAYS)
    first = snapshot(pipeline_env["warehouse_url"])
    run_days(daily_dags, DAYS)
    assert snapshot(pipeline_env["warehouse_url"]) == first
