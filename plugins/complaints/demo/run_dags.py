"""Run the DAGs through Airflow for `make demo`.

``daily START END``: every daily DAG, month by month over the window.
``quarterly CUTOFF [CUTOFF ...]``: the quarterly DAG once per cut-off date.
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pendulum


def month_starts(start: date, end: date) -> list[date]:
    months, current = [], start.replace(day=1)
    while current < end:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def load_dags() -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    from complaints.paths import PROJECT_ROOT

    bag = DagBag(str(PROJECT_ROOT / "dags"))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    return bag.dags


def bangkok_midnight(day: date) -> pendulum.DateTime:
    return pendulum.datetime(day.year, day.month, day.day, tz="Asia/Bangkok")


def allow_runs_from(dag: Any, day: date) -> None:
    """Let ``dag`` run for ``day`` even when its start date is later.

    The demo replays fiscal year 2562 (2018-19). A channel that started later in production
    (Traffy Fondue: ``start_date: "2022-01-01"`` in pipeline.yaml) would otherwise get demo runs
    without any task: Airflow creates no task instance for a logical date before the task's
    start date. Only the in-memory DAG of this process changes; the config keeps its date.
    """
    start = bangkok_midnight(day)
    if dag.start_date is not None and dag.start_date > start:
        dag.start_date = start
        for task in dag.tasks:
            task.start_date = start


def run(dag: Any, logical_day: date, conf: dict[str, str], label: str) -> bool:
    for task in dag.tasks:  # a demo fails fast instead of waiting out production retry delays
        task.retries = 0
    allow_runs_from(dag, logical_day)
    result = dag.test(logical_date=bangkok_midnight(logical_day), run_conf=conf)
    print(f"DEMO RUN {dag.dag_id} {label}: {result.state}", flush=True)
    return str(result.state) == "success"


def daily(start_text: str, end_text: str) -> list[str]:
    from complaints.config import load_config

    dags = load_dags()
    start, end = date.fromisoformat(start_text), date.fromisoformat(end_text)
    failures = []
    for code in load_config().channels:
        dag = dags[f"complaints_daily_{code}"]
        for lo, hi in pairwise([*month_starts(start, end), end]):
            conf = {"interval_start": lo.isoformat(), "interval_end": hi.isoformat()}
            if not run(dag, lo, conf, f"{lo} .. {hi}"):
                failures.append(f"{dag.dag_id} {lo}")
    return failures


def quarterly(*cutoffs: str) -> list[str]:
    dag = load_dags()["complaints_quarterly_indicator"]
    failures = []
    for text in cutoffs:
        cutoff = date.fromisoformat(text)
        if not run(dag, cutoff + timedelta(days=1), {"cutoff": text}, f"cut-off {text}"):
            failures.append(f"{dag.dag_id} {text}")
    return failures


def main(argv: list[str]) -> int:
    mode, *args = argv
    failures = {"daily": daily, "quarterly": quarterly}[mode](*args)
    if failures:
        print(f"failed runs: {failures}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
