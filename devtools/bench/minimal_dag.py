"""The DAG-parse baseline: one ``@task`` on a cron timetable and nothing of the project.

``airflow.sdk`` loads its decorators and timetables lazily, on first use: any DAG written with
the Task SDK pays that import. Timing this file beside the project's DAG files separates
Airflow's own share from what the project's files add (see ``run.bench_dag_parse``).
"""

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, task

with DAG(
    "bench_minimal_dag",
    schedule=CronDataIntervalTimetable("0 1 * * *", timezone="Asia/Bangkok"),
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Bangkok"),
) as dag:

    @task
    def nothing() -> None:
        """Does nothing: the file exists to be imported."""

    nothing()
