"""Daily ingestion: one DAG per channel listed in include/config/pipeline.yaml.

Only wiring lives here; heavy imports happen inside the tasks (parse time is measured).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, Param, task

from complaints.alerts import ComplaintsAlertNotifier, DAGWithDeadline, daily_deadline_alert
from complaints.config import WAREHOUSE_ASSET_URI, load_config

CONFIG = load_config()
WAREHOUSE = Asset(WAREHOUSE_ASSET_URI, group="complaints")

DAG_DOC = """
### Daily complaint ingestion — {name_en} ({name_th})

Reads the previous day's complaints from **{name_en}** (adapter `{adapter}`), validates
every row with the channel's Great Expectations suite, and upserts the valid rows into the
warehouse (`complaint`, `complaint_status_history`). Rows that fail are written to the
`quarantine` table with the failed expectations and the (pseudonymised) raw row; every
batch has a row in `ingest_batch` with rows read / loaded / quarantined.

**On failure**
* *unreadable source part*: the log names the file and line or the page; fix or replace
  the source (a bad file stays in the inbox) and clear the task to re-run it.
* *batch over the quarantine threshold*: nothing of that batch was loaded; inspect
  `SELECT reasons, raw_record FROM quarantine WHERE batch_id = '…'`, fix the source or
  the crosswalk in `include/config/pipeline.yaml`, then clear the task.
Re-running any interval is safe: loads are idempotent upserts.

**Alerts** (`alerts:` in pipeline.yaml; e-mail and/or JSON webhook): a task that fails for
good, a batch over the quarantine threshold (with the query for its quarantined rows and
the Data Docs link), no new data for `stale_after_days` days (task
`check_channel_freshness`, which never fails the run for that), and a run that has not
succeeded by `{deadline}` Bangkok time the morning after its day (Airflow Deadline Alert).

Params `interval_start` / `interval_end` (Bangkok dates, `YYYY-MM-DD`) override the data
interval for a backfill of a long window in one run.
"""

INGEST_DOC = """Extract → validate (GX) → quarantine → load, one transaction per source part.
Reads: the channel's source connection. Writes: warehouse tables and the warehouse Asset."""

PREPARE_DOC = "Creates missing warehouse tables and seeds the dimensions from the pipeline config."

FRESHNESS_DOC = """Reads the `ingest_batch` ledger: when the channel's newest batch that loaded rows
is `stale_after_days` or more older than the end of this run's interval, sends a stale-channel
alert. Succeeds either way (it fails only if no notifier could deliver the alert)."""


@task(doc_md=PREPARE_DOC)
def prepare_warehouse() -> None:
    from complaints.airflow_tasks import prepare_warehouse as run

    run()


@task(outlets=[WAREHOUSE], doc_md=INGEST_DOC)
def ingest_interval(channel_code: str, **context) -> dict:
    from complaints.airflow_tasks import ingest

    return ingest(channel_code, context)


@task(doc_md=FRESHNESS_DOC)
def check_channel_freshness(channel_code: str, **context) -> dict:
    from complaints.alerts import check_channel_freshness as run

    return run(channel_code, context)


for _channel in CONFIG.channels.values():
    # DAGWithDeadline is airflow.sdk.DAG with a work-around for dag.test() (see its docstring).
    with DAGWithDeadline(
        dag_id=f"complaints_daily_{_channel.code}",
        description=f"Daily ingestion of {_channel.name_en} complaints into the warehouse",
        schedule=CronDataIntervalTimetable("0 0 * * *", timezone=CONFIG.timezone),
        start_date=pendulum.parse(_channel.start_date, tz=CONFIG.timezone),
        catchup=True,
        max_active_runs=1,
        default_args={
            "owner": "data-engineering",
            "retries": 2,
            "retry_delay": timedelta(minutes=5),
            "retry_exponential_backoff": True,
            "on_failure_callback": ComplaintsAlertNotifier(channel=_channel.code),
        },
        deadline=daily_deadline_alert(_channel.code),
        tags=["complaints", "daily-ingest", _channel.code],
        params={
            "interval_start": Param(
                None,
                type=["null", "string"],
                format="date",
                description="Override the data interval start (Bangkok date)",
            ),
            "interval_end": Param(
                None,
                type=["null", "string"],
                format="date",
                description="Override the data interval end, exclusive (Bangkok date)",
            ),
        },
        doc_md=DAG_DOC.format(
            name_en=_channel.name_en,
            name_th=_channel.name_th,
            adapter=_channel.adapter,
            deadline=CONFIG.raw["alerts"]["daily_deadline"],
        ),
    ) as _dag:
        (
            prepare_warehouse()
            >> ingest_interval(channel_code=_channel.code)
            >> check_channel_freshness(channel_code=_channel.code)
        )
    globals()[_dag.dag_id] = _dag
