"""`make scale-demo`: the docker-compose.yaml topology on this machine, without containers.

    python -m devtools.scale_demo [--work-dir DIR] [--keep] [--metadata-db URL] [--warehouse URL]
                                  [--broker URL] [--pg-admin-url URL] [--report FILE] [--no-quarterly]

docker-compose.yaml cannot be run here (no container registry), so this starts the same
components as processes of this machine: Airflow's metadata in a PostgreSQL database of its
own, Redis as the Celery broker, and the services of docker-compose.yaml with the same
``airflow`` commands (``COMMANDS``; ``tests/test_docker_compose.py`` keeps the two equal): the
API server (REST API and the task execution API), the scheduler with the CeleryExecutor, the
DAG processor, the triggerer and two Celery workers (``airflow celery worker``, one task at a
time each). The warehouse is a second PostgreSQL database, as in docker-compose.yaml.

It then triggers, through the REST API, the daily DAG of every channel for two days (one run
per channel and day, day one before day two) and the quarterly DAG for the second day's
cut-off, and checks that

* every run and every task instance succeeded,
* the task instances ran on both workers (``task_instance.hostname``; the workers' Celery
  hostnames, see ``devtools.worker_host``) from the run's own Celery queue, and Celery's
  result backend recorded them,
* the warehouse holds what the embedded default produces for the same runs: the same runs
  through ``dag.test()`` (``devtools.demo.run_dags.run``, as `make demo` runs them) with a
  SQLite metadata database and a SQLite warehouse, compared table by table without the
  columns that name a batch or hold a wall-clock time (``RUN_SPECIFIC_COLUMNS``; inside the
  stored indicator's JSON, ``JSON_COLUMNS``).

Both runs read copies of one set of generated demo sources and use one pseudonymisation key.
Everything started here is stopped by process id at the end (the LocalAirflow of `make
airflow`); the databases created here are dropped and the run's Redis queue deleted. Exit
status 0 when every check passed, 1 when one failed (or the quarterly report's Thai font is
missing: `make system-deps`; ``--no-quarterly`` runs the daily DAGs only), 2 when PostgreSQL
or Redis is not reachable, 130 when interrupted (Ctrl-C, SIGTERM: it stops what it started first).

Where a database URL is given, that database is used as it is and left in place (the test
creates and drops its own). Redis: ``redis://127.0.0.1:6379/0`` unless ``--broker``; each run
has its own queue there, so runs of other checkouts on the same Redis do not take its tasks.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from complaints.paths import PROJECT_ROOT
from devtools.demo.airflow_local import (
    ADMIN_USER,
    AirflowApi,
    LocalAirflow,
    admin_password,
    ensure_demo_sources,
    free_port,
    local_airflow_env,
    safe_url,
)
from devtools.demo.environment import API_TOKEN, airflow_env, demo_pseudonym_key
from devtools.worker_host import CALLABLE as WORKER_HOSTNAME_CALLABLE
from devtools.worker_host import WORKER_HOSTNAME_ENV

# -- the topology: what docker-compose.yaml runs ----------------------------------------------

# docker-compose.yaml service -> the arguments of its `airflow` command (the image's entrypoint
# is `airflow`); tests/test_docker_compose.py checks the compose file runs exactly these.
COMMANDS: dict[str, tuple[str, ...]] = {
    "airflow-init": ("db", "migrate"),
    "airflow-apiserver": ("api-server",),
    "airflow-scheduler": ("scheduler",),
    "airflow-dag-processor": ("dag-processor",),
    "airflow-triggerer": ("triggerer",),
    "airflow-worker": ("celery", "worker"),
}
MIGRATE_SERVICE = "airflow-init"
WORKER_SERVICE = "airflow-worker"
WORKERS = 2  # docker-compose.yaml: the worker service's deploy.replicas
# Added here only: each container has a hostname of its own, two workers on one machine do not.
PER_MACHINE_WORKER_OPTIONS = ("--celery-hostname",)
EXECUTOR = "CeleryExecutor"
# The settings that make it this topology; docker-compose.yaml sets each of them too.
TOPOLOGY_SETTINGS = (
    "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API_AUTH__JWT_SECRET",
)
WORKER_CONCURRENCY = 1  # two cores: one task at a time per worker

# -- what it runs ---------------------------------------------------------------------------

# Two days of the demo's fiscal year 2562. Traffy Fondue's exports are monthly (named for the
# month's last day): the second day's run loads January's, so every channel's data reaches the
# quarterly cut-off and its wait_for_daily_loads sensor passes at the first poke. (Under
# dag.test() it would pass anyway: that run "started" at its logical date, years ago, so the
# wait is over; under the scheduler a stale channel holds the run up to wait_for_daily_loads_hours.)
DAYS = (date(2019, 1, 30), date(2019, 1, 31))
QUARTERLY_DAG = "complaints_quarterly_indicator"
DAILY_DAG_PREFIX = "complaints_daily_"
# The demo replays fiscal year 2562 for every channel, also one that started later in production
# (devtools.demo.run_dags.allow_runs_from). The scheduler creates no task instance before a
# task's start date, so both runs here read pipeline.yaml with later start dates moved to this.
DEMO_START = "2018-10-01"

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
READY_TIMEOUT_S = 300.0
RUNS_TIMEOUT_S = 900.0  # per phase (all channels' runs of one day; the quarterly run)
POLL_S = 3.0

# Warehouse columns that differ between two runs of the same data: the batch a row came with
# (a new id per batch) and wall-clock times. "is_set" keeps only whether the column is filled.
RUN_SPECIFIC_COLUMNS: dict[str, dict[str, str]] = {
    "complaint": {"batch_id": "drop"},
    "complaint_status_history": {"batch_id": "drop"},
    "quarantine": {"batch_id": "drop"},
    "held_status_event": {"batch_id": "drop", "applied_batch_id": "is_set"},
    "ingest_batch": {"batch_id": "drop", "finished_at": "drop"},
    "ingested_file": {"batch_id": "drop", "ingested_at": "drop"},
    "indicator_snapshot": {"computed_at": "drop"},
}
# JSON columns compared as parsed JSON, with the wall-clock keys inside (at any depth) reduced
# to whether they are set: the stored indicator's computed_at and each channel's
# last_successful_load (the finished_at of its newest batch).
JSON_COLUMNS: dict[str, dict[str, frozenset[str]]] = {
    "indicator_snapshot": {"result_json": frozenset({"computed_at", "last_successful_load"})},
}
FLOAT_DIGITS = 9  # DOUBLE PRECISION read back from PostgreSQL and SQLite


@dataclass(frozen=True)
class PlannedRun:
    """One DAG run of the demo; the runs of a phase run together, after the previous phase."""

    dag_id: str
    logical_day: date
    conf: dict[str, str]
    phase: int

    @property
    def label(self) -> str:
        return f"{self.dag_id} {json.dumps(self.conf, sort_keys=True)}"


def planned_runs(channel_codes: Iterable[str], *, quarterly: bool = True) -> list[PlannedRun]:
    """Each channel's daily DAG for each of ``DAYS`` (a one-day interval, as a daily run has),
    then the quarterly DAG cut off at the last day (the logical day after it, as `make demo`)."""
    runs = []
    for phase, day in enumerate(DAYS):
        conf = {"interval_start": day.isoformat(), "interval_end": (day + timedelta(days=1)).isoformat()}
        runs += [PlannedRun(f"{DAILY_DAG_PREFIX}{code}", day, conf, phase) for code in channel_codes]
    if not quarterly:
        return runs
    cutoff = DAYS[-1]
    runs.append(PlannedRun(QUARTERLY_DAG, cutoff + timedelta(days=1), {"cutoff": cutoff.isoformat()}, len(DAYS)))
    return runs


def worker_command(hostname: str) -> tuple[str, ...]:
    """A worker's ``airflow`` arguments: docker-compose.yaml's, plus its own Celery hostname."""
    return (*COMMANDS[WORKER_SERVICE], "--celery-hostname", hostname)


def demo_config(target: Path, first_day: date) -> Path:
    """pipeline.yaml with each channel's ``start_date`` after ``first_day`` moved to ``DEMO_START``
    (text edit: the rest of the file, comments included, stays as it is)."""
    from complaints.config import PIPELINE_CONFIG, load_config

    def earlier(match: re.Match[str]) -> str:
        day = match.group(2)
        return f'{match.group(1)}"{DEMO_START if date.fromisoformat(day) > first_day else day}"'

    text = re.sub(r'^(\s+start_date:\s*)"(\d{4}-\d{2}-\d{2})"', earlier, PIPELINE_CONFIG.read_text("utf-8"), flags=re.M)
    target.write_text(text, encoding="utf-8")
    late = [c.code for c in load_config(str(target)).channels.values() if date.fromisoformat(c.start_date) > first_day]
    if late:
        raise RuntimeError(f"start dates after {first_day} left in {target}: {late}")
    return target


# -- the backing services -----------------------------------------------------------------


def unreachable(pg_admin_url: str, broker_url: str) -> list[str]:
    """Why PostgreSQL or Redis cannot be used (empty when both answer)."""
    problems = []
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_admin_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        problems.append(f"PostgreSQL at {safe_url(pg_admin_url)}: {str(exc).splitlines()[0]}")
    finally:
        engine.dispose()
    import redis

    try:
        redis.Redis.from_url(broker_url, socket_connect_timeout=3).ping()
    except Exception as exc:
        problems.append(f"Redis at {broker_url}: {exc}")
    return problems


def report_font_missing() -> str | None:
    """Why the quarterly report's charts cannot be drawn here (``make system-deps`` installs the font)."""
    from complaints.report.fonts import thai_font  # what the report and its charts use

    try:
        thai_font()
    except RuntimeError as exc:  # ThaiFontMissing
        return str(exc)
    return None


@contextmanager
def dedicated_database(pg_admin_url: str, name: str) -> Iterator[str]:
    """``CREATE DATABASE name`` on the admin URL's server; yields its URL; dropped afterwards."""
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def delete_queue(broker_url: str, queue: str) -> None:
    """Every Redis key of the run's Celery queue: the list and kombu's bindings (their names
    differ between kombu versions, all hold the queue's name, which is unique to the run)."""
    import redis

    with suppress(Exception):
        client = redis.Redis.from_url(broker_url, socket_connect_timeout=3)
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)


def celery_nodes(broker_url: str, timeout: float = 1.0) -> set[str]:
    """Celery node names (``celery@<hostname>``) that answer a ping on the broker."""
    from celery import Celery

    app = Celery(broker=broker_url)
    try:
        return {name for reply in app.control.ping(timeout=timeout) for name in reply}
    finally:
        app.close()


# -- the Celery stack ---------------------------------------------------------------------


@dataclass
class Stack:
    """The settings of one scale-demo run (what docker-compose.yaml's .env and services give)."""

    work: Path
    metadata_db_url: str
    warehouse_url: str
    broker_url: str
    token: str = field(default_factory=lambda: secrets.token_hex(4))

    @property
    def queue(self) -> str:
        return f"scale_demo_{self.token}"

    @property
    def worker_hostnames(self) -> list[str]:
        return [f"scale-demo-{self.token}-worker-{n}" for n in range(1, WORKERS + 1)]

    @property
    def home(self) -> Path:
        return self.work / "celery" / "home"

    @property
    def data(self) -> Path:
        return self.work / "celery" / "data"


def celery_env(stack: Stack, api_base_url: str, port: int, config: Path) -> dict[str, str]:
    """`make airflow`'s environment with the CeleryExecutor settings of docker-compose.yaml."""
    env = local_airflow_env(
        stack.data,
        api_base_url,
        airflow_home=stack.home,
        port=port,
        metadata_db_url=stack.metadata_db_url,
        warehouse_url=stack.warehouse_url,
    )
    env.update(
        AIRFLOW__CORE__EXECUTOR=EXECUTOR,
        AIRFLOW__CELERY__BROKER_URL=stack.broker_url,
        AIRFLOW__CELERY__RESULT_BACKEND=f"db+{stack.metadata_db_url}",
        AIRFLOW__CELERY__WORKER_CONCURRENCY=str(WORKER_CONCURRENCY),
        AIRFLOW__OPERATORS__DEFAULT_QUEUE=stack.queue,  # the workers serve it (their --queues default)
        # One secret for the JWTs the scheduler issues to tasks and the API server checks.
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
        AIRFLOW__API__SECRET_KEY=secrets.token_urlsafe(32),  # the UI fetching logs from the workers
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
        # Only the runs triggered here: no catch-up from the DAGs' start dates once unpaused.
        AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",
        COMPLAINTS_CONFIG=str(config),
        PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)]),
    )
    return env


def worker_env(env: dict[str, str], hostname: str) -> dict[str, str]:
    """A worker's environment: its own log-server port and the hostname its task instances record."""
    return {
        **env,
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": WORKER_HOSTNAME_CALLABLE,
        WORKER_HOSTNAME_ENV: hostname,
    }


class CeleryAirflow(LocalAirflow):
    """The components of docker-compose.yaml as child processes (stopped by process id)."""

    def __init__(self, env: dict[str, str], log_dir: Path, worker_hostnames: list[str]) -> None:
        super().__init__(env, log_dir)
        self.plan: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
            name: (COMMANDS[service], env)
            for service, name in (
                ("airflow-apiserver", "api-server"),
                ("airflow-scheduler", "scheduler"),
                ("airflow-dag-processor", "dag-processor"),
                ("airflow-triggerer", "triggerer"),
            )
        }
        for hostname in worker_hostnames:
            self.plan[hostname] = (worker_command(hostname), worker_env(env, hostname))

    def migrate(self) -> None:
        """docker-compose.yaml's init service: its command, run to the end before the others start."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.log_dir / "db-migrate.log"
        with log_file.open("ab") as log:
            code = subprocess.run(
                [sys.executable, "-m", "airflow", *COMMANDS[MIGRATE_SERVICE]],
                env=self.env,
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=600,
            ).returncode
        if code:
            raise RuntimeError(f"{' '.join(COMMANDS[MIGRATE_SERVICE])} failed (exit {code}); see {log_file}")

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, (args, env) in self.plan.items():
            with (self.log_dir / f"{name}.log").open("ab") as log:
                self.processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "airflow", *args],
                    env=env,
                    cwd=PROJECT_ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )


def wait_for(what: str, ready: Any, airflow: CeleryAirflow, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if exited := airflow.exited():
            raise RuntimeError(f"component(s) stopped while waiting for {what}: {exited}; see {airflow.log_dir}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:.0f} s; see {airflow.log_dir}")
        time.sleep(1.0)


def trigger(api: AirflowApi, run: PlannedRun) -> str:
    run_id = f"scale_demo__{run.dag_id}__{run.logical_day.isoformat()}"
    logical = datetime(run.logical_day.year, run.logical_day.month, run.logical_day.day)
    body = {"dag_run_id": run_id, "logical_date": f"{logical.isoformat()}+07:00", "conf": run.conf}
    api.request("POST", f"dags/{run.dag_id}/dagRuns", json=body)
    return run_id


def run_phases(api: AirflowApi, airflow: CeleryAirflow, runs: list[PlannedRun], timeout: float) -> dict[str, str]:
    """Trigger the runs phase by phase; the final state of each (``run_id -> state``)."""
    states: dict[str, str] = {}
    for phase in sorted({r.phase for r in runs}):
        pending = {trigger(api, r): r for r in runs if r.phase == phase}
        print(f"  phase {phase + 1}: triggered {len(pending)} run(s)", flush=True)
        deadline = time.monotonic() + timeout
        while pending:
            if exited := airflow.exited():
                raise RuntimeError(f"component(s) stopped during the runs: {exited}; see {airflow.log_dir}")
            for run_id, run in list(pending.items()):
                state = api.request("GET", f"dags/{run.dag_id}/dagRuns/{run_id}")["state"]
                if state in ("success", "failed"):
                    states[run_id] = state
                    del pending[run_id]
                    print(f"    {run.label}: {state}", flush=True)
            if pending and time.monotonic() > deadline:
                states.update(dict.fromkeys(pending, "timeout"))
                print(f"    not finished after {timeout:.0f} s: {sorted(pending)}", flush=True)
                break
            if pending:
                time.sleep(POLL_S)
    return states


def task_instances(metadata_db_url: str) -> list[dict[str, Any]]:
    """Every task instance in the metadata database, with where it ran."""
    from sqlalchemy import create_engine, text

    engine = create_engine(metadata_db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT dag_id, run_id, task_id, map_index, state, hostname, queue, try_number "
                    "FROM task_instance ORDER BY dag_id, run_id, task_id, map_index"
                )
            ).mappings()
            return [dict(r) for r in rows]
    finally:
        engine.dispose()


def dag_runs(metadata_db_url: str) -> list[dict[str, Any]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(metadata_db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT dag_id, run_id, run_type, state FROM dag_run ORDER BY dag_id, run_id"))
            return [dict(r) for r in rows.mappings()]
    finally:
        engine.dispose()


def celery_results(metadata_db_url: str) -> Counter[str]:
    """Task states in Celery's result backend (its ``celery_taskmeta`` table in the metadata database)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(metadata_db_url)
    try:
        with engine.connect() as conn:
            return Counter(conn.execute(text("SELECT status FROM celery_taskmeta")).scalars())
    except Exception:  # no table: nothing went through Celery
        return Counter()
    finally:
        engine.dispose()


def run_celery(stack: Stack, runs: list[PlannedRun], config: Path, timeout: float) -> dict[str, Any]:
    """Start the stack, run the plan, stop everything; what happened (states, task instances)."""
    from devtools.demo.api_server import ApiServer

    port = free_port()
    with ApiServer(stack.data, token=API_TOKEN, flaky=False) as source_api:
        env = celery_env(stack, source_api.base_url, port, config)
        api = AirflowApi(f"http://127.0.0.1:{port}", ADMIN_USER, admin_password(stack.home))
        airflow = CeleryAirflow(env, stack.home / "logs" / "components", stack.worker_hostnames)
        print(f"  migrating the metadata database {safe_url(stack.metadata_db_url)}", flush=True)
        airflow.migrate()
        print(f"  starting {', '.join(airflow.plan)} (logs in {airflow.log_dir})", flush=True)
        airflow.start()
        try:
            wait_for("a healthy Airflow", api.is_healthy, airflow, READY_TIMEOUT_S)
            nodes = {f"celery@{h}" for h in stack.worker_hostnames}
            wait_for("both Celery workers", lambda: nodes <= celery_nodes(stack.broker_url), airflow, READY_TIMEOUT_S)
            dag_ids = {r.dag_id for r in runs}
            wait_for("the DAGs parsed", lambda: dag_ids <= set(api.dag_ids()), airflow, READY_TIMEOUT_S)
            for dag_id in sorted(dag_ids):
                api.request("PATCH", f"dags/{dag_id}", json={"is_paused": False})
            print(f"  Airflow at {api.base_url}, workers {', '.join(sorted(nodes))}; running", flush=True)
            states = run_phases(api, airflow, runs, timeout)
        finally:
            print("  stopping the components", flush=True)
            airflow.stop()
            leftovers = {n: p.pid for n, p in airflow.processes.items() if p.poll() is None}
            if leftovers:
                print(f"  still running: {leftovers}", file=sys.stderr)
    return {
        "run_states": states,
        "dag_runs": dag_runs(stack.metadata_db_url),
        "task_instances": task_instances(stack.metadata_db_url),
        "celery_results": dict(celery_results(stack.metadata_db_url)),
    }


# -- the embedded run ---------------------------------------------------------------------


def run_embedded(work: Path, data: Path, runs: list[PlannedRun], config: Path) -> int:
    """The same runs through ``dag.test()`` on the embedded default, in a process of their own
    (Airflow reads its configuration at import); its exit status."""
    from devtools.demo.api_server import ApiServer

    home = work / "embedded" / "home"
    plan = work / "embedded" / "plan.json"
    plan.write_text(json.dumps([{**asdict(r), "logical_day": r.logical_day.isoformat()} for r in runs]))
    log_file = work / "embedded" / "embedded.log"
    with ApiServer(data, token=API_TOKEN, flaky=False) as source_api:
        env = airflow_env(data, source_api.base_url, demo_pseudonym_key(data), airflow_home=home)
        env.update(
            COMPLAINTS_CONFIG=str(config),
            PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)]),
        )
        with log_file.open("ab") as log:
            for args in (["airflow", "db", "migrate"], ["devtools.scale_demo", "embedded", str(plan)]):
                code = subprocess.run(
                    [sys.executable, "-m", *args], env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
                ).returncode
                if code:
                    print(f"  {' '.join(args)} failed ({code}); see {log_file}", file=sys.stderr)
                    return code
    return 0


def embedded_main(plan_file: str) -> int:
    """In the embedded process: each planned run with ``devtools.demo.run_dags.run``, in order."""
    from devtools.demo.run_dags import load_dags, run

    dags = load_dags()
    failed = []
    for item in json.loads(Path(plan_file).read_text()):
        ok = run(dags[item["dag_id"]], date.fromisoformat(item["logical_day"]), item["conf"], json.dumps(item["conf"]))
        if not ok:
            failed.append(item["dag_id"])
    if failed:
        print(f"failed runs: {failed}", file=sys.stderr)
    return 1 if failed else 0


# -- comparing the warehouses -------------------------------------------------------------


def _value(value: Any, data_dirs: tuple[str, ...]) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, FLOAT_DIGITS)
    if isinstance(value, str):
        for path in data_dirs:  # a source part or message naming a file under the run's data folder
            value = value.replace(path, "<data>")
    return value


def _json_value(value: Any, wall_clock: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: (v is not None) if k in wall_clock else _json_value(v, wall_clock) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v, wall_clock) for v in value]
    return value


def _column_value(value: Any, rule: str | None, wall_clock: frozenset[str] | None, data_dirs: tuple[str, ...]) -> Any:
    if rule == "is_set":
        return value is not None
    if wall_clock is not None and value is not None:
        return json.dumps(_json_value(json.loads(value), wall_clock), sort_keys=True, ensure_ascii=False)
    return _value(value, data_dirs)


def warehouse_rows(url: str, data_dir: Path) -> dict[str, Counter[tuple]]:
    """Each warehouse table's rows, without ``RUN_SPECIFIC_COLUMNS``, as comparable values."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(url)
    data_dirs = (str(data_dir.resolve()), str(data_dir))
    tables: dict[str, Counter[tuple]] = {}
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            for name, table in sorted(meta.tables.items()):
                rules, json_columns = RUN_SPECIFIC_COLUMNS.get(name, {}), JSON_COLUMNS.get(name, {})
                columns = sorted(c.name for c in table.columns if rules.get(c.name) != "drop")
                rows: Counter[tuple] = Counter()
                for row in conn.execute(select(*(table.c[c] for c in columns))).mappings():
                    values = (_column_value(row[c], rules.get(c), json_columns.get(c), data_dirs) for c in columns)
                    rows[tuple(zip(columns, values, strict=True))] += 1
                tables[name] = rows
    finally:
        engine.dispose()
    return tables


def warehouse_differences(celery_url: str, celery_data: Path, embedded_url: str, embedded_data: Path) -> list[str]:
    """What differs between the two warehouses (empty when they hold the same), a few rows per table."""
    celery, embedded = warehouse_rows(celery_url, celery_data), warehouse_rows(embedded_url, embedded_data)
    problems = []
    for name in sorted(set(celery) | set(embedded)):
        if name not in celery or name not in embedded:
            problems.append(f"table {name} only in the {'celery' if name in celery else 'embedded'} warehouse")
            continue
        only_celery, only_embedded = celery[name] - embedded[name], embedded[name] - celery[name]
        if only_celery or only_embedded:
            problems.append(
                f"{name}: {sum(only_celery.values())} row(s) only in the celery warehouse, "
                f"{sum(only_embedded.values())} only in the embedded one; e.g. "
                f"celery {list(only_celery)[:2]} embedded {list(only_embedded)[:2]}"
            )
    return problems


def row_counts(url: str) -> dict[str, int]:
    from sqlalchemy import MetaData, create_engine, func, select

    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {n: conn.execute(select(func.count()).select_from(t)).scalar_one() for n, t in meta.tables.items()}
    finally:
        engine.dispose()


# -- the checks ---------------------------------------------------------------------------


def check(stack: Stack, runs: list[PlannedRun], result: dict[str, Any]) -> list[str]:
    """The scale-out claims, each a problem when it does not hold (empty: all hold)."""
    problems = []
    states = result["run_states"]
    if len(states) != len(runs) or set(states.values()) != {"success"}:
        problems.append(f"runs not all successful: {states}")
    extra = [r["run_id"] for r in result["dag_runs"] if r["run_id"] not in states]
    if extra:
        problems.append(f"runs that were not triggered here: {extra}")
    tis = result["task_instances"]
    if not tis or any(t["state"] != "success" for t in tis):
        failed = [(t["dag_id"], t["task_id"], t["state"]) for t in tis if t["state"] != "success"]
        problems.append(f"task instances not all successful: {failed or 'none at all'}")
    hosts = Counter(t["hostname"] for t in tis)
    if set(hosts) != set(stack.worker_hostnames):
        problems.append(f"tasks ran on {dict(hosts)}, not on both workers {stack.worker_hostnames}")
    queues = Counter(t["queue"] for t in tis)
    if set(queues) != {stack.queue}:
        problems.append(f"tasks came from the queues {dict(queues)}, not {stack.queue}")
    if result["celery_results"].get("SUCCESS", 0) < len(tis):
        problems.append(f"Celery's result backend recorded {result['celery_results']} for {len(tis)} task instances")
    problems += result["warehouse_differences"]
    return problems


def run_demo(
    work: Path,
    *,
    metadata_db_url: str,
    warehouse_url: str,
    broker_url: str,
    timeout: float = RUNS_TIMEOUT_S,
    quarterly: bool = True,
) -> dict[str, Any]:
    """Prepare the sources, run the plan embedded and on the Celery stack, compare; the report."""
    from complaints.config import load_config

    work.mkdir(parents=True, exist_ok=True)
    stack = Stack(work, metadata_db_url, warehouse_url, broker_url)
    config = demo_config(work / "pipeline.yaml", DAYS[0])
    runs = planned_runs(load_config(str(config)).channels, quarterly=quarterly)
    embedded_data = work / "embedded" / "data"
    print(f"1/4 demo sources under {stack.data} (and a copy for the embedded run)", flush=True)
    ensure_demo_sources(stack.data)
    demo_pseudonym_key(stack.data)  # one key for both runs: the same pseudonyms
    shutil.copytree(stack.data, embedded_data)
    print(f"2/4 the embedded run: {len(runs)} runs through dag.test() (log under {work / 'embedded'})", flush=True)
    embedded_code = run_embedded(work, embedded_data, runs, config)
    print(f"3/4 the Celery stack: {len(COMMANDS) - 2 + WORKERS} processes, queue {stack.queue}", flush=True)
    try:
        result = run_celery(stack, runs, config, timeout)
    finally:
        delete_queue(broker_url, stack.queue)
    embedded_url = f"sqlite:///{embedded_data / 'warehouse.sqlite'}"
    print("4/4 comparing the warehouses", flush=True)
    result["warehouse_differences"] = warehouse_differences(warehouse_url, stack.data, embedded_url, embedded_data)
    if embedded_code:
        result["warehouse_differences"].insert(0, f"the embedded run failed ({embedded_code}); see {work / 'embedded'}")
    result.update(
        queue=stack.queue,
        worker_hostnames=stack.worker_hostnames,
        planned_runs=[r.label for r in runs],
        warehouse_rows=row_counts(warehouse_url),
        embedded_warehouse=embedded_url,
    )
    result["problems"] = check(stack, runs, result)
    return result


def print_summary(report: dict[str, Any]) -> None:
    tis = report["task_instances"]
    print(f"    {len(report['run_states'])} runs, {len(tis)} task instances, queue {report['queue']}")
    for host, count in sorted(Counter(t["hostname"] for t in tis).items(), key=lambda kv: str(kv[0])):
        print(f"      {count:>4} task(s) ran on {host}")
    rows = report["warehouse_rows"]
    print(f"    warehouse rows: {', '.join(f'{n} {c:,}' for n, c in sorted(rows.items()) if c)}")
    if report["problems"]:
        print("SCALE DEMO FAILED:", file=sys.stderr)
        for problem in report["problems"]:
            print(f"  - {problem}", file=sys.stderr)
    else:
        print("scale demo passed: every task succeeded, on both workers, and the warehouse equals the embedded run's")


def _json_default(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["embedded"]:
        return embedded_main(argv[1])
    parser = argparse.ArgumentParser(prog="python -m devtools.scale_demo", description=__doc__.split("\n")[0])
    parser.add_argument("--work-dir", type=Path, default=None, help="sources, Airflow homes, logs (a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir and the databases created here")
    parser.add_argument("--metadata-db", default=None, help="Airflow metadata database URL (else one is created)")
    parser.add_argument("--warehouse", default=None, help="warehouse database URL (else one is created)")
    parser.add_argument("--broker", default=os.environ.get("SCALE_DEMO_BROKER_URL", DEFAULT_BROKER_URL))
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("SCALE_DEMO_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL),
        help="a PostgreSQL login that may CREATE DATABASE",
    )
    parser.add_argument("--timeout", type=float, default=RUNS_TIMEOUT_S, help="seconds per phase of runs")
    parser.add_argument("--report", type=Path, default=None, help="write the report (JSON) here")
    parser.add_argument(
        "--no-quarterly", action="store_true", help="daily DAGs only (a machine without the report's Thai font)"
    )
    args = parser.parse_args(argv)

    if problems := unreachable(args.pg_admin_url, args.broker):
        print("the scale demo needs PostgreSQL and Redis:", *problems, sep="\n  ", file=sys.stderr)
        return 2
    if not args.no_quarterly and (missing := report_font_missing()):
        print(f"the quarterly DAG's report cannot be rendered here: {missing}", file=sys.stderr)
        return 1
    work = (args.work_dir or Path(tempfile.mkdtemp(prefix="scale-demo-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # Ctrl-C or SIGTERM: unwind, so that the components are stopped and the databases dropped.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with ExitStack() as stack:
            name = f"scale_demo_{secrets.token_hex(4)}"
            metadata = args.metadata_db or stack.enter_context(_database(args, f"{name}_airflow"))
            warehouse = args.warehouse or stack.enter_context(_database(args, f"{name}_warehouse"))
            report = run_demo(
                work,
                metadata_db_url=metadata,
                warehouse_url=warehouse,
                broker_url=args.broker,
                timeout=args.timeout,
                quarterly=not args.no_quarterly,
            )
    except KeyboardInterrupt as exc:
        print(
            f"scale demo interrupted ({exc or 'Ctrl-C'}); what it started is stopped; work dir {work}", file=sys.stderr
        )
        return 130
    if args.report:
        args.report.write_text(json.dumps(report, indent=1, default=_json_default), encoding="utf-8")
    print_summary(report)
    print(f"scale demo finished in {time.monotonic() - started:.0f} s; work dir {work}")
    if not args.keep and not report["problems"] and args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if report["problems"] else 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def _database(args: argparse.Namespace, name: str) -> Iterator[str]:
    if args.keep:
        from sqlalchemy import create_engine, make_url, text

        admin = create_engine(args.pg_admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        print(f"  created the database {name} (kept: --keep)")
        yield make_url(args.pg_admin_url).set(database=name).render_as_string(hide_password=False)
        return
    with dedicated_database(args.pg_admin_url, name) as url:
        yield url


if __name__ == "__main__":
    sys.exit(main())
