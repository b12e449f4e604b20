"""End to end: the quarterly DAG, run through Airflow on a PostgreSQL warehouse holding the
whole demo year of every channel, publishes the three report files with the seed's figures."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pendulum
import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from complaints.config import load_config
from complaints.warehouse import ensure_schema, make_engine
from conftest import PSEUDONYM_KEY, bkk, fresh_pg_schema

pytestmark = [pytest.mark.airflow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def loaded_warehouse(airflow_db, tmp_path_factory):
    """All four channels of the demo year loaded by the ingest code (not through the daily DAGs,
    which test_daily_dags_e2e covers), and the connections the quarterly DAG reads."""
    from devtools.demo.generate import generate_demo

    data = tmp_path_factory.mktemp("quarterly") / "data"
    generate_demo(data)
    with fresh_pg_schema() as pg_url, pytest.MonkeyPatch.context() as monkeypatch:
        engine = make_engine(pg_url)
        yield from _load_and_configure(engine, data, pg_url, monkeypatch)
        engine.dispose()


def _load_and_configure(engine, data: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch):
    from complaints.adapters import ExtractRequest
    from complaints.ingest import ingest_channel
    from devtools.demo.api_server import ApiServer

    ensure_schema(engine)
    with ApiServer(data, token="t", flaky=False) as server:
        for channel in load_config().channels.values():
            source = {
                "mis": f"sqlite:///{data / 'sources' / 'mis.sqlite'}",
                "line": server.base_url,
                "facebook": server.base_url,
            }.get(channel.code)
            request = ExtractRequest(
                channel=channel,
                interval_start=bkk(2018, 10, 1),
                interval_end=bkk(2019, 11, 1),
                pseudonym_key=PSEUDONYM_KEY,
                source_url=source,
                source_token="t",
                data_dir=data,
            )
            ingest_channel(request, engine)
    (data / "shared-drive").mkdir()
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(data))
    monkeypatch.setenv(
        "AIRFLOW_CONN_COMPLAINTS_WAREHOUSE", json.dumps({"conn_type": "postgres", "extra": {"sqlalchemy_url": pg_url}})
    )
    yield {"engine": engine, "shared_drive": data / "shared-drive"}


@pytest.fixture(scope="module")
def quarterly_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(Path(__file__).resolve().parents[1] / "dags"))
    assert bag.import_errors == {}
    return bag.dags["complaints_quarterly_indicator"]


def test_quarterly_run_publishes_pdf_xlsx_and_html_with_the_published_figures(loaded_warehouse, quarterly_dag):
    run = quarterly_dag.test(
        logical_date=pendulum.datetime(2019, 8, 31, tz="Asia/Bangkok"), run_conf={"cutoff": "2019-08-30"}
    )
    assert str(run.state) == "success"
    folder = loaded_warehouse["shared_drive"] / "ปีงบประมาณ-2562" / "ไตรมาส-4" / "default"
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    assert names == [f"kpi-complaints_fy2562_q4_cutoff-2019-08-30.{ext}" for ext in ("html", "pdf", "xlsx")]
    summary = load_workbook(folder / names[2], read_only=True)["สรุป"]
    cells = [c for row in summary.iter_rows(values_only=True) for c in row if c is not None]
    assert {1669, 1637, 32} <= set(cells)
    html = (folder / names[0]).read_text(encoding="utf-8")
    assert "1,669" in html and "98.08" in html and "30 สิงหาคม 2562" in html
    with loaded_warehouse["engine"].connect() as conn:
        stored = conn.execute(text("SELECT fiscal_year_be, cutoff FROM indicator_snapshot")).all()
        in_window = conn.execute(
            text("SELECT COUNT(*) FROM complaint WHERE received_date BETWEEN '2018-10-01' AND '2019-08-30'")
        ).scalar_one()
    assert [(fy, str(cutoff)) for fy, cutoff in stored] == [(2562, "2019-08-30")]
    georeport = sorted((folder / "open311").glob("requests-*.json"))
    assert georeport[0].name >= "requests-2018-10-01.json" and georeport[-1].name <= "requests-2019-08-30.json"
    published = [item for path in georeport for item in json.loads(path.read_text("utf-8"))]
    assert len(published) == in_window and (folder / "open311" / "services.json").is_file()
    assert {item["status"] for item in published} == {"open", "closed"}


def test_republishing_a_quarter_replaces_the_files_and_keeps_the_previous_ones(loaded_warehouse, quarterly_dag):
    folder = loaded_warehouse["shared_drive"] / "ปีงบประมาณ-2562" / "ไตรมาส-4" / "default"

    def publish_again(day: int) -> None:
        run = quarterly_dag.test(
            logical_date=pendulum.datetime(2019, 9, day, 12, tz="Asia/Bangkok"), run_conf={"cutoff": "2019-08-30"}
        )
        assert str(run.state) == "success"

    def kept_versions() -> set[Path]:
        return {p for p in folder.glob("_previous/*/*") if p.is_file()}

    publish_again(30)
    before = kept_versions()
    publish_again(29)
    added = kept_versions() - before
    assert sorted(p.suffix for p in added) == [".html", ".pdf", ".xlsx"]
    assert len([p for p in folder.iterdir() if p.is_file()]) == 3


def test_the_wait_for_daily_loads_gives_up_after_the_configured_time_and_the_report_marks_stale_channels(
    loaded_warehouse, monkeypatch
):
    from complaints.airflow_tasks import daily_loads_cover_cutoff
    from complaints.quarterly import compute_and_store

    class Run:
        def __init__(self, started: datetime) -> None:
            self.start_date = started

    # Nothing covers 2019-12-31: every channel is stale for that cut-off.
    context = {"params": {"cutoff": "2019-12-31"}, "data_interval_end": None}
    just_started = pendulum.now("UTC")
    assert daily_loads_cover_cutoff({**context, "dag_run": Run(just_started)}) is False
    hours = float(load_config().raw["quarterly"]["wait_for_daily_loads_hours"])
    assert daily_loads_cover_cutoff({**context, "dag_run": Run(just_started - timedelta(hours=hours))}) is True
    result = compute_and_store(loaded_warehouse["engine"], date(2019, 12, 31))
    assert {f.channel for f in result.freshness if f.stale} == set(load_config().channels)
    assert result.totals.pct_resolved >= Decimal(0)
