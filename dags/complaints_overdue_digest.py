"""Daily overdue digest: per district and unit, the open matters past or near their time limits.

Only wiring lives here; the logic is in complaints.overdue (heavy imports happen inside the tasks).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Asset, CronTriggerTimetable, Param, task

from complaints.alerts import ComplaintsAlertNotifier
from complaints.config import WAREHOUSE_ASSET_URI, load_config

CONFIG = load_config()
WAREHOUSE = Asset(WAREHOUSE_ASSET_URI, group="complaints")

DAG_DOC = """
### Daily overdue digest — รายการเรื่องร้องเรียนที่เกินกำหนดหรือใกล้ครบกำหนด

Every day at 06:00 Bangkok, after the midnight loads, lists for each district and responsible
unit the matters still open at the **end of the previous day** (the `as_of` day) whose
acknowledgement limit (rubric Part 1, `within_business_days`) or resolution limit (rubric
`resolution_within_business_days`) has passed, or falls within the next
`overdue_digest.look_ahead_business_days` business days (include/config/pipeline.yaml).
Business days come from `dim_calendar` (weekends and Thai holidays skipped). All channels are
listed; the column "นับในตัวชี้วัด" says which count in this fiscal year's indicator.

1. **publish_digest** — reads the warehouse (`complaint`, `complaint_status_history`, the
   dimensions, `dim_calendar`, `ingest_batch` for freshness) with `include/sql/overdue/`,
   writes `<share>/รายการเรื่องใกล้ครบกำหนด/เขต<district>/<unit>/<as_of>.xlsx` and `.html` for
   every unit that has such matters (units with none get no file that day).
2. **email_summary** — e-mails the counts per district/unit and the file paths to
   `overdue_digest.recipients` through the SMTP connection `complaints_smtp`.

No personal data: no reporter, no description, no resolution text; coordinates of the place only.

**On failure**
* *publish_digest, SQL or connection error*: the warehouse (`complaints_warehouse`) is
  unreachable or not yet created (run a daily ingest DAG once). A missing rubric for the fiscal
  year: add `include/config/rubric/fy<year>.yaml`.
* *publish_digest, "unit(s) not published"*: the share is down, read-only or full, or a unit or
  district name is not a valid folder name; the log names each folder. The other units' files
  were published; clearing the task re-publishes all of them (the replaced files are kept
  under `_previous/`).
* *email_summary*: check the `complaints_smtp` connection (host, port, login, `from_email`
  extra); the files are already on the share, clearing only this task re-sends the e-mail.
* A digest for another day: trigger with the `as_of` param (`YYYY-MM-DD`). A list that looks
  short: the files and the e-mail name the channels whose loads do not reach the `as_of` day.
"""

PUBLISH_DOC = """Computes the digest as of the end of the day before the run (or the `as_of` param) and
publishes one XLSX + HTML per district/unit to the shared drive (`overdue_digest.publish`, else
`quarterly.publish`). Reads: warehouse. Writes: the shared drive. Safe to re-run (files are
replaced atomically, old ones kept under `_previous/`). If some unit folders fail, the others
are still published and the task fails naming the failed folders."""

EMAIL_DOC = """E-mails the summary (counts per district/unit, file paths; no matter details) to
`overdue_digest.recipients` via the `complaints_smtp` connection; with no recipients configured it
logs a warning and does nothing. Reads: the summary from publish_digest (XCom). Safe to re-run
(sends the e-mail again). On failure check the SMTP connection."""


@task(inlets=[WAREHOUSE], doc_md=PUBLISH_DOC)
def publish_digest(**context) -> dict:
    from complaints.overdue_tasks import publish_overdue_digest

    return publish_overdue_digest(context)


@task(doc_md=EMAIL_DOC)
def email_summary(summary: dict) -> dict:
    from complaints.overdue_tasks import email_overdue_summary

    return email_overdue_summary(summary)


with DAG(
    dag_id="complaints_overdue_digest",
    description="Daily list of open matters past or near their time limits, per district and unit",
    schedule=CronTriggerTimetable("0 6 * * *", timezone=CONFIG.timezone),
    start_date=pendulum.datetime(2018, 10, 1, tz=CONFIG.timezone),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=3),
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
        "on_failure_callback": ComplaintsAlertNotifier(),
    },
    tags=["complaints", "daily", "overdue-digest"],
    params={
        "as_of": Param(
            None,
            type=["null", "string"],
            format="date",
            description="List the states at the end of this Bangkok day; default: the day before the run",
        ),
    },
    doc_md=DAG_DOC,
) as dag:
    email_summary(publish_digest())
