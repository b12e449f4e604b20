"""`make demo`: generate fiscal year 2562, serve the API channels, run the DAGs, report, e-mail.

Everything runs on the embedded default: Airflow's SQLite metadata database under
``.airflow/``, a SQLite warehouse and local folders under ``data/``. The DAGs run through
Airflow (``dag.test``, the same task code a scheduled run executes): each channel's daily DAG
once per month of the year (the month given as the ``interval_start``/``interval_end`` params,
so a year takes minutes instead of 1,825 runs), then the quarterly DAG for the three published
cut-offs, the overdue digest, and one late 1555 delivery that the quality gate holds.

Two worker processes (the machine's two cores) take these runs from one queue
(:mod:`devtools.demo.run_dags`), each with its own copy of the migrated metadata database
(SQLite has one writer at a time). A local SMTP server (:mod:`devtools.demo.mail_sink`)
receives the quality-gate alert and the digest's summary and keeps them as ``.eml`` files.
Each phase's time is printed at the end.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import yaml

from complaints.paths import PROJECT_ROOT, data_dir
from complaints.publish import DIGEST_FOLDER
from complaints.quarterly import GEOREPORT_FOLDER
from devtools.demo.environment import AIRFLOW_HOME, API_TOKEN, airflow_env, demo_pseudonym_key

DEMO_START = "2018-10-01"
DEMO_END = "2019-11-01"  # status updates of the fiscal year keep arriving in October
# The cut-off dates of the published 2562 reports (see shared docs/indicator.md).
DEMO_CUTOFFS = ("2019-03-31", "2019-06-24", "2019-08-30")
DIGEST_AS_OF = "2019-08-30"
HELD_DELIVERY_DAY = "2019-11-01"  # a late 1555 export, after the year's loads
DIGEST_RECIPIENT = "district-head@district.example"
WORKERS = ("worker1", "worker2")


class Phases:
    """Wall-clock time of each phase of the demo, printed at the end."""

    def __init__(self) -> None:
        self.times: list[tuple[str, float]] = []

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.times.append((name, time.monotonic() - started))


def reset_demo_state(data: Path) -> None:
    for sub in ("sources", "inbox", "archive", "demo-output", "data-docs", "gx", "shared-drive"):
        shutil.rmtree(data / sub, ignore_errors=True)
    for name in ("warehouse.sqlite", "warehouse.sqlite-wal", "warehouse.sqlite-shm"):
        (data / name).unlink(missing_ok=True)
    for db in AIRFLOW_HOME.glob("airflow*.db"):
        db.unlink()


def worker_db(worker: str) -> Path:
    """The first worker uses Airflow's usual ``.airflow/airflow.db`` (what `make airflow` opens)."""
    return AIRFLOW_HOME / ("airflow.db" if worker == WORKERS[0] else f"airflow-{worker}.db")


def demo_config(out_dir: Path) -> Path:
    """The pipeline config with a recipient for the digest's summary e-mail (none in the shipped file)."""
    from complaints.config import PIPELINE_CONFIG

    raw = yaml.safe_load(PIPELINE_CONFIG.read_text(encoding="utf-8"))
    raw["overdue_digest"]["recipients"] = [DIGEST_RECIPIENT]
    path = out_dir / "pipeline.yaml"
    path.write_text(
        "# include/config/pipeline.yaml with overdue_digest.recipients set, written by `make demo`\n"
        + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return path


def run_workers(queue: Path, env: dict[str, str], out_dir: Path) -> list[str]:
    """Start both workers on ``queue``; wait for them; return the failures they reported."""
    procs = []
    for worker in WORKERS:
        worker_env = {**env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{worker_db(worker)}"}
        log = (out_dir / f"airflow-{worker}.log").open("a", encoding="utf-8")
        args = [sys.executable, "-m", "devtools.demo.run_dags", str(queue), worker]
        procs.append((worker, log, subprocess.Popen(args, env=worker_env, stdout=log, stderr=subprocess.STDOUT)))
    failures = []
    for worker, log, proc in procs:
        if proc.wait() != 0:
            failures.append(f"{worker} (exit {proc.returncode}); see {log.name}")
        log.close()
    return failures


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
    print("  quarterly indicator (MIS, cumulative from 1 October):")
    print(f"    {'cut-off':<12}{'received':>9}{'resolved':>9}{'%':>8}{'in progress':>12}{'%':>7}{'score':>8}")
    for text in DEMO_CUTOFFS:
        r = load_snapshot(engine, date.fromisoformat(text))
        t = r.totals
        print(
            f"    {text:<12}{t.received:>9,}{t.resolved:>9,}{t.pct_resolved:>8}{t.in_progress:>12,}"
            f"{t.pct_in_progress:>7}{r.score.total:>8}"
        )


def print_files(title: str, paths: list[Path]) -> None:
    print(f"  {title}:")
    for path in paths:
        print(f"    {path}")


def print_summary(data: Path, out_dir: Path, mails: list[Path], phases: Phases, started: float) -> None:
    from complaints.warehouse import load_summary, make_engine

    warehouse = data / "warehouse.sqlite"
    print(f"\nwarehouse: sqlite:///{warehouse}")
    summary = load_summary(make_engine(f"sqlite:///{warehouse}"))
    print(f"  {'channel':<14}{'complaints':>11}{'status changes':>16}{'quarantined':>13}")
    for row in summary:
        print(f"  {row['channel']:<14}{row['complaints']:>11,}{row['status_changes']:>16,}{row['quarantined']:>13,}")
    print_indicators(warehouse)

    exported = export_quarantine(warehouse, out_dir)
    print_files("quarantined rows (table `quarantine`, and as CSV)", [exported[c] for c in sorted(exported)])
    shared_drive = data / "shared-drive"
    published = sorted(p for p in shared_drive.rglob("*") if p.is_file() and "_previous" not in p.parts)
    digest = [p for p in published if DIGEST_FOLDER in p.parts]
    print_files(
        f"published to the shared drive {shared_drive}",
        [p for p in published if GEOREPORT_FOLDER not in p.parts and DIGEST_FOLDER not in p.parts],
    )
    if digest:
        folder = shared_drive / DIGEST_FOLDER
        units = len({p.parent for p in digest})
        print(f"    {folder}/ (overdue digest: {len(digest)} files for {units} district units)")
    for folder in sorted({p.parent for p in published if p.parent.name == GEOREPORT_FOLDER}):
        print(f"    {folder}/ ({sum(1 for p in published if p.parent == folder)} Open311 GeoReport v2 files)")
    print_files("e-mails received by the local SMTP server (open them in a mail client)", mails)
    print_files(
        "Great Expectations Data Docs and the run logs",
        [data / "data-docs" / "index.html", *sorted(out_dir.glob("airflow-*.log"))],
    )
    print("\nphases:")
    for name, seconds in phases.times:
        print(f"  {name:<58}{seconds:>6.0f} s")
    print(f"demo finished in {time.monotonic() - started:.0f} s")


def main() -> None:
    started = time.monotonic()
    from complaints.config import load_config
    from complaints.report.fonts import thai_font
    from devtools.demo.api_server import ApiServer
    from devtools.demo.generate import generate_demo, write_held_hotline_delivery
    from devtools.demo.mail_sink import MailSink
    from devtools.demo.run_dags import write_jobs

    font = thai_font()  # before any work: a missing report font fails now, not at the publish step
    phases = Phases()
    data = data_dir()
    reset_demo_state(data)
    out_dir = data / "demo-output"
    out_dir.mkdir(parents=True, exist_ok=True)
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    migrate_log = out_dir / "airflow-migrate.log"

    print(f"report font: {font.family} ({font.regular})")
    print(f"1/4 generating fiscal year 2562 under {data} while Airflow migrates its metadata database")
    with phases.phase("generate the sources + migrate Airflow's database (parallel)"):
        env = airflow_env(data, "http://127.0.0.1:0", demo_pseudonym_key(data))
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{worker_db(WORKERS[0])}"
        with migrate_log.open("w", encoding="utf-8") as log:
            migrate = subprocess.Popen(
                [sys.executable, "-m", "airflow", "db", "migrate"], env=env, stdout=log, stderr=subprocess.STDOUT,
                cwd=PROJECT_ROOT,
            )  # fmt: skip
            generate_demo(data)
            if migrate.wait() != 0:
                sys.exit(f"airflow db migrate failed (exit {migrate.returncode}); see {migrate_log}")
        for worker in WORKERS[1:]:
            shutil.copyfile(worker_db(WORKERS[0]), worker_db(worker))

    (data / "shared-drive").mkdir(parents=True, exist_ok=True)  # the "mounted" shared drive
    config = demo_config(out_dir)
    with ApiServer(data, token=API_TOKEN, flaky=True) as server, MailSink(out_dir / "mail") as mail:
        env = airflow_env(data, server.base_url, demo_pseudonym_key(data))
        env.update(mail.connection_env(), COMPLAINTS_CONFIG=str(config))
        channels = list(load_config().channels)
        print(
            f"2/4 daily DAGs of {', '.join(channels)}, {DEMO_START} .. {DEMO_END} month by month, on two workers "
            f"(LINE and Facebook APIs at {server.base_url} with transient 503s; SMTP server on 127.0.0.1:{mail.port})"
        )
        with phases.phase("daily DAGs, 5 channels x 13 months (two workers)"):
            queue = out_dir / "queue-daily"
            write_jobs(queue, [("daily", code, DEMO_START, DEMO_END) for code in channels])
            failures = run_workers(queue, env, out_dir)
        if failures:
            sys.exit(f"demo daily runs failed: {failures}")

        print(
            f"3/4 quarterly DAG for the cut-offs {', '.join(DEMO_CUTOFFS)}, the overdue digest as of "
            f"{DIGEST_AS_OF}, and a late 1555 delivery ({HELD_DELIVERY_DAY}) that the quality gate holds"
        )
        with phases.phase("quarterly reports, digest, held delivery (two workers)"):
            write_held_hotline_delivery(data / "inbox" / "1555", date.fromisoformat(HELD_DELIVERY_DAY))
            queue = out_dir / "queue-reports"
            jobs = [("quarterly", cutoff) for cutoff in DEMO_CUTOFFS]
            jobs += [("digest", DIGEST_AS_OF), ("held", "hotline_1555", HELD_DELIVERY_DAY)]
            write_jobs(queue, jobs)
            failures = run_workers(queue, env, out_dir)
        if failures:
            sys.exit(f"demo report runs failed: {failures}")
        mails = list(mail.saved)
    if len(mails) < 2:
        sys.exit(f"expected the quality-gate alert and the digest summary by e-mail, received {len(mails)}: {mails}")

    print("4/4 summary")
    print_summary(data, out_dir, mails, phases, started)


if __name__ == "__main__":
    main()
