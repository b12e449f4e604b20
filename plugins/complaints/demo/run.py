"""`make demo`: generate fiscal year 2562, serve the API channels, run the daily DAGs, report.

Everything runs on the embedded default: Airflow's SQLite metadata database under
``.airflow/``, a SQLite warehouse and local folders under ``data/``. The daily DAGs are run
through Airflow (``dag.test``) once per channel and month, with the month given as the
``interval_start``/``interval_end`` params: the same code a daily run executes, over a
wider window, so a year takes minutes instead of 1,460 runs.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from complaints.demo.environment import AIRFLOW_HOME, API_TOKEN, airflow_env, demo_pseudonym_key
from complaints.paths import PROJECT_ROOT, data_dir
from complaints.quarterly import GEOREPORT_FOLDER

DEMO_START = "2018-10-01"
DEMO_END = "2019-11-01"  # status updates of the fiscal year keep arriving in October
# The cut-off dates of the published 2562 reports (see shared docs/indicator.md).
DEMO_CUTOFFS = ("2019-03-31", "2019-06-24", "2019-08-30")


def reset_demo_state(data: Path) -> None:
    for sub in ("sources", "inbox", "archive", "demo-output"):
        shutil.rmtree(data / sub, ignore_errors=True)
    for name in ("warehouse.sqlite", "warehouse.sqlite-wal", "warehouse.sqlite-shm"):
        (data / name).unlink(missing_ok=True)
    airflow_db = AIRFLOW_HOME / "airflow.db"
    airflow_db.unlink(missing_ok=True)


def run_logged(args: list[str], env: dict[str, str], log_file: Path) -> None:
    with log_file.open("a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(args)}\n")
        log.flush()
        result = subprocess.run(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    if result.returncode != 0:
        sys.exit(f"demo step failed: {' '.join(args)} (exit {result.returncode}); see {log_file}")


def export_quarantine(warehouse: Path, out_dir: Path) -> dict[str, Path]:
    from sqlalchemy import text

    from complaints.warehouse import make_engine

    engine = make_engine(f"sqlite:///{warehouse}")
    paths: dict[str, Path] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT channel, batch_id, row_number, source_id, reasons, raw_record FROM quarantine "
                "ORDER BY channel, batch_id, row_number"
            )
        ).all()
    for row in rows:
        path = out_dir / f"quarantine_{row.channel}.csv"
        new = path not in paths.values()
        with path.open("a", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            if new:
                writer.writerow(["batch_id", "row_number", "source_id", "reasons", "raw_record"])
            writer.writerow([row.batch_id, row.row_number, row.source_id, row.reasons, row.raw_record])
        paths[row.channel] = path
    return paths


def print_indicators(warehouse: Path) -> None:
    """The stored quarterly figures, in the form of the seed's section 6 table."""
    from complaints.quarterly import load_snapshot
    from complaints.warehouse import make_engine

    engine = make_engine(f"sqlite:///{warehouse}")
    print("    quarterly indicator (MIS, cumulative from 1 October):")
    print(f"      {'cut-off':<12}{'received':>9}{'resolved':>9}{'%':>8}{'in progress':>12}{'%':>7}{'score':>8}")
    for text in DEMO_CUTOFFS:
        r = load_snapshot(engine, date.fromisoformat(text))
        t = r.totals
        print(
            f"      {text:<12}{t.received:>9,}{t.resolved:>9,}{t.pct_resolved:>8}{t.in_progress:>12,}"
            f"{t.pct_in_progress:>7}{r.score.total:>8}"
        )


def main() -> None:
    started = time.monotonic()
    from complaints.demo.api_server import ApiServer
    from complaints.demo.generate import generate_demo
    from complaints.warehouse import load_summary, make_engine

    data = data_dir()
    reset_demo_state(data)
    out_dir = data / "demo-output"
    out_dir.mkdir(parents=True, exist_ok=True)
    log_file = out_dir / "airflow-demo.log"

    print(f"1/5 generating fiscal year 2562 demo sources under {data}")
    generate_demo(data)

    with ApiServer(data, token=API_TOKEN, flaky=True) as server:
        print(f"2/5 LINE and Facebook APIs served at {server.base_url} (with transient 503s)")
        env = airflow_env(data, server.base_url, demo_pseudonym_key(data))
        print(
            f"3/5 Airflow metadata database in {env['AIRFLOW_HOME']}; running the daily DAGs "
            f"{DEMO_START} .. {DEMO_END} month by month (log: {log_file})"
        )
        run_logged([sys.executable, "-m", "airflow", "db", "migrate"], env, log_file)
        run_logged([sys.executable, "-m", "complaints.demo.run_dags", "daily", DEMO_START, DEMO_END], env, log_file)
        print(f"4/5 running the quarterly indicator DAG for the cut-offs {', '.join(DEMO_CUTOFFS)}")
        (data / "shared-drive").mkdir(parents=True, exist_ok=True)  # the "mounted" shared drive
        run_logged([sys.executable, "-m", "complaints.demo.run_dags", "quarterly", *DEMO_CUTOFFS], env, log_file)

    warehouse = data / "warehouse.sqlite"
    print(f"5/5 loaded into the warehouse sqlite:///{warehouse}")
    summary = load_summary(make_engine(f"sqlite:///{warehouse}"))
    print(f"    {'channel':<14}{'complaints':>11}{'status changes':>16}{'quarantined':>13}")
    for row in summary:
        print(f"    {row['channel']:<14}{row['complaints']:>11,}{row['status_changes']:>16,}{row['quarantined']:>13,}")
    exported = export_quarantine(warehouse, out_dir)
    print("    quarantined rows: table `quarantine` in the warehouse, and as CSV:")
    for channel, path in sorted(exported.items()):
        print(f"      {channel:<14}{path}")
    print_indicators(warehouse)
    shared_drive = data / "shared-drive"
    print(f"    published reports (shared drive {shared_drive}):")
    published = sorted(p for p in shared_drive.rglob("*") if p.is_file() and "_previous" not in p.parts)
    for path in published:
        if GEOREPORT_FOLDER not in path.parts:
            print(f"      {path}")
    for folder in sorted({p.parent for p in published if p.parent.name == GEOREPORT_FOLDER}):
        print(f"      {folder}/ ({sum(1 for p in published if p.parent == folder)} Open311 GeoReport v2 files)")
    print(f"demo finished in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
