"""Run the DAGs through Airflow (``dag.test``) for `make demo`: a worker that takes jobs from a queue.

``python -m devtools.demo.run_dags QUEUE_DIR WORKER``: `make demo` starts two such workers (the
machine's two cores), each with its own Airflow metadata database, over one queue of jobs
(``write_jobs``): a channel's daily DAG month by month, a quarterly cut-off, the overdue digest,
a delivery the quality gate holds. A job is claimed by renaming its file.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
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


def daily(dags: dict[str, Any], channel: str, start_text: str, end_text: str) -> list[str]:
    """One channel's daily DAG, month by month over the window (in order: a month's run sees the
    states the earlier months left)."""
    dag = dags[f"complaints_daily_{channel}"]
    start, end = date.fromisoformat(start_text), date.fromisoformat(end_text)
    failures = []
    for lo, hi in pairwise([*month_starts(start, end), end]):
        conf = {"interval_start": lo.isoformat(), "interval_end": hi.isoformat()}
        if not run(dag, lo, conf, f"{lo} .. {hi}"):
            failures.append(f"{dag.dag_id} {lo}")
    return failures


def _once(dags: dict[str, Any], dag_id: str, day_text: str, conf: dict[str, str], label: str) -> list[str]:
    """One run of ``dag_id`` for the day after ``day_text`` (its logical date); its failure, if any."""
    dag = dags[dag_id]
    ok = run(dag, date.fromisoformat(day_text) + timedelta(days=1), conf, label)
    return [] if ok else [f"{dag_id} {day_text}"]


def quarterly(dags: dict[str, Any], cutoff_text: str) -> list[str]:
    return _once(dags, "complaints_quarterly_indicator", cutoff_text, {"cutoff": cutoff_text}, f"cut-off {cutoff_text}")


def digest(dags: dict[str, Any], as_of_text: str) -> list[str]:
    """The overdue digest as of a day: its files on the shared drive and its summary e-mail."""
    return _once(dags, "complaints_overdue_digest", as_of_text, {"as_of": as_of_text}, f"as of {as_of_text}")


def held(dags: dict[str, Any], channel: str, day_text: str) -> list[str]:
    """A daily run whose delivery is over the quarantine threshold: it must fail (nothing of the
    batch is loaded) and its failure callback mails the quality-gate alert."""
    dag = dags[f"complaints_daily_{channel}"]
    day = date.fromisoformat(day_text)
    conf = {"interval_start": day_text, "interval_end": (day + timedelta(days=1)).isoformat()}
    if run(dag, day, conf, f"{day_text} (a delivery over the quarantine threshold: expected to fail)"):
        return [f"{dag.dag_id} {day_text} succeeded, but its batch is over the quarantine threshold"]
    return []


JOBS: dict[str, Callable[..., list[str]]] = {"daily": daily, "quarterly": quarterly, "digest": digest, "held": held}


def write_jobs(queue: Path, jobs: Sequence[Sequence[str]]) -> None:
    """One file per job (kind and arguments), named so that workers take them in the given order."""
    queue.mkdir(parents=True, exist_ok=True)
    for number, job in enumerate(jobs):
        (queue / f"{number:03d}.job").write_text(json.dumps(list(job)), encoding="utf-8")


def take_job(queue: Path, worker: str) -> list[str] | None:
    """Claim the next job by renaming its file (atomic: two workers never take the same one)."""
    for path in sorted(queue.glob("*.job")):
        taken = path.with_suffix(f".taken-{worker}")
        try:
            path.rename(taken)
        except FileNotFoundError:
            continue  # the other worker was first
        return json.loads(taken.read_text(encoding="utf-8"))
    return None


def work(queue_text: str, worker: str) -> list[str]:
    """Run jobs from the queue until it is empty; every job is a DAG run (or a month series)."""
    queue = Path(queue_text)
    dags = load_dags()
    failures: list[str] = []
    while (job := take_job(queue, worker)) is not None:
        kind, *args = job
        started = time.monotonic()
        failures += JOBS[kind](dags, *args)
        seconds = time.monotonic() - started
        print(f"DEMO JOB {worker} {kind} {' '.join(args)}: {seconds:.1f} s", flush=True)
        with (queue / "times.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"worker": worker, "job": job, "seconds": round(seconds, 2)}) + "\n")
    return failures


def main(argv: list[str]) -> int:
    queue, worker = argv
    failures = work(queue, worker)
    if failures:
        print(f"failed runs: {failures}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
