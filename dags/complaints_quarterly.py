"""Quarterly indicator: compute the KPI cumulatively from 1 October and publish the reports.

Only wiring lives here; heavy imports happen inside the tasks.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Asset, Param, task

from complaints.alerts import ComplaintsAlertNotifier
from complaints.config import WAREHOUSE_ASSET_URI, load_config
from complaints.fiscal_timetable import FiscalQuarterTimetable

CONFIG = load_config()
WAREHOUSE = Asset(WAREHOUSE_ASSET_URI, group="complaints")
WAIT_HOURS = float(CONFIG.raw["quarterly"]["wait_for_daily_loads_hours"])

DAG_DOC = """
### Quarterly indicator — ร้อยละความสำเร็จในการจัดการเรื่องที่ได้รับแจ้งจากประชาชน/ผู้รับบริการ

Runs after each Thai fiscal quarter (Q1 Oct–Dec … Q4 Jul–Sep; timetable
`FiscalQuarterTimetable`). The data interval is 1 October to the quarter's end; a manual
run takes any cut-off date in the `cutoff` param (the 2562 reports were cut off on
24 June and 30 August).

1. **wait_for_daily_loads** — waits (reschedule mode) until every channel's daily loads
   reach the cut-off day, at most `wait_for_daily_loads_hours` (pipeline.yaml); after that
   it lets the run go on and the report marks the stale channels.
2. **compute_indicator** — runs the SQL in `include/sql/indicator/` with the fiscal year's
   rubric (`include/config/rubric/`) and stores the result in `indicator_snapshot`.
3. **publish_report** — renders PDF/XLSX/HTML from that snapshot and publishes them
   atomically to the shared drive (`quarterly.publish` in pipeline.yaml); a re-publish keeps
   the previous files under `_previous/`.
4. **publish_open311** — writes every matter of the fiscal year so far as Open311 GeoReport v2
   JSON (`services.json` and one `requests-<date>.json` per day, no personal data) and
   publishes them beside the reports, in `open311/`.

**On failure**: compute errors usually mean a missing rubric for the fiscal year (add
`include/config/rubric/fy<year>.yaml`) or an unreachable warehouse. Publish errors name
the target and the file; the previously published report stays intact. Clearing a task
re-runs it safely. A task that fails for good sends an alert (e-mail and/or JSON webhook,
`alerts:` in pipeline.yaml) naming the task, the interval and the error, with a link to the run.
"""


@task.sensor(
    poke_interval=timedelta(minutes=30),
    timeout=timedelta(hours=WAIT_HOURS + 1),
    mode="reschedule",
    doc_md="Waits for the daily loads of every channel to cover the cut-off day (bounded; see the DAG doc).",
)
def wait_for_daily_loads(**context) -> bool:
    from complaints.airflow_tasks import daily_loads_cover_cutoff

    return daily_loads_cover_cutoff(context)


@task(inlets=[WAREHOUSE], doc_md="Computes the indicator as of the cut-off and stores it in indicator_snapshot.")
def compute_indicator(**context) -> dict:
    from complaints.airflow_tasks import compute_quarterly_indicator

    return compute_quarterly_indicator(context)


@task(doc_md="Renders the stored indicator to PDF, XLSX and HTML and publishes them to the shared drive.")
def publish_report(**context) -> list[str]:
    from complaints.airflow_tasks import publish_quarterly_report

    return publish_quarterly_report(context)


@task(doc_md="Publishes the fiscal year's matters as of the cut-off as Open311 GeoReport v2 JSON beside the reports.")
def publish_open311(**context) -> int:
    from complaints.airflow_tasks import publish_quarterly_georeport

    return publish_quarterly_georeport(context)


with DAG(
    dag_id="complaints_quarterly_indicator",
    description="Quarterly complaint-handling indicator and its published reports",
    schedule=FiscalQuarterTimetable(timezone_name=CONFIG.timezone),
    start_date=pendulum.datetime(2018, 10, 1, tz=CONFIG.timezone),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
        "on_failure_callback": ComplaintsAlertNotifier(),
    },
    tags=["complaints", "quarterly", "indicator"],
    params={
        "cutoff": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Cut-off date (Bangkok, inclusive); default: the end of the quarter",
        ),
        "unit": Param(
            None,
            type=["null", "string"],
            description="Reporting unit key in include/config/report.yaml; default from pipeline.yaml",
        ),
    },
    doc_md=DAG_DOC,
) as dag:
    computed = wait_for_daily_loads() >> compute_indicator()
    computed >> [publish_report(), publish_open311()]
