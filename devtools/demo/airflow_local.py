"""`make airflow`: the whole Airflow (UI, scheduler, DAG processor, triggerer) on the embedded default.

    python -m devtools.demo.airflow_local [--port 8080] [--airflow-home DIR] [--data-dir DIR]
                                            [--metadata-db URL] [--warehouse URL]

Runs the components ``airflow standalone`` runs, each as its own ``airflow`` process, with
the environment of ``devtools.demo.environment`` (the one `make demo` uses): the project's
``dags/`` and ``plugins/``, the metadata database in SQLite under ``.airflow/`` (or the
``--metadata-db`` URL), the LocalExecutor, and the demo's connections (the warehouse in
``<data>/warehouse.sqlite`` unless ``--warehouse`` gives a SQLAlchemy URL). The demo sources
are generated under the data directory when missing, and the LINE/Facebook stand-in API is
served from this process on 127.0.0.1.

Logging in (SimpleAuthManager): one user ``admin`` with the ADMIN role. Its password is
generated once per Airflow home, kept in ``<airflow home>/simple_auth_manager_passwords.json``
(git-ignored, mode 600) and printed when Airflow is ready. Everything listens on 127.0.0.1 only.

The components' output goes to ``<airflow home>/logs/components/<component>.log``. Ctrl-C
(or SIGTERM) stops them all.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from complaints.paths import PROJECT_ROOT, data_dir
from devtools.demo.environment import AIRFLOW_HOME, API_TOKEN, airflow_env, demo_pseudonym_key

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
HEALTH_KEYS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
DEFAULT_PORT = 8080
ADMIN_USER = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
# The generator writes its manifest last: with it, a complete set of demo sources is there.
DEMO_SOURCES = ("demo_manifest.json", "sources/mis.sqlite", "sources/line_events.json", "sources/facebook_posts.json")
READY_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 30.0


# -- configuration --------------------------------------------------------------------------


def admin_password(airflow_home: Path) -> str:
    """The local ``admin`` password: generated once per Airflow home and kept in its passwords file."""
    path = Path(airflow_home) / PASSWORDS_FILE
    passwords: dict[str, str] = {}
    if path.exists():
        passwords = json.loads(path.read_text(encoding="utf-8") or "{}")
    if not passwords.get(ADMIN_USER):
        passwords[ADMIN_USER] = secrets.token_urlsafe(12)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(passwords) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return passwords[ADMIN_USER]


def local_airflow_env(
    data: Path,
    api_base_url: str,
    *,
    airflow_home: Path,
    port: int,
    metadata_db_url: str | None = None,
    warehouse_url: str | None = None,
) -> dict[str, str]:
    """The demo environment plus what a long-running local Airflow needs: one host and port for
    the UI, the REST API and the task execution API, the LocalExecutor, and the admin login."""
    env = airflow_env(
        data,
        api_base_url,
        demo_pseudonym_key(data),
        airflow_home=airflow_home,
        metadata_db_url=metadata_db_url,
        warehouse_url=warehouse_url,
    )
    base_url = f"http://127.0.0.1:{port}"
    env.update(
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM="4",  # a laptop: at most four tasks at once
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{base_url}/execution/",
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API__BASE_URL=f"{base_url}/",
        AIRFLOW__API__WORKERS="1",
        AIRFLOW__CORE__AUTH_MANAGER=SIMPLE_AUTH_MANAGER,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{ADMIN_USER}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="False",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(Path(airflow_home) / PASSWORDS_FILE),
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="30",  # a new DAG file shows up within half a minute
    )
    return env


def ensure_demo_sources(data: Path) -> bool:
    """Generate the demo sources under ``data`` when any is missing; True when they were generated."""
    (data / "shared-drive").mkdir(parents=True, exist_ok=True)  # where the quarterly DAG publishes
    if all((data / name).exists() for name in DEMO_SOURCES):
        return False
    from devtools.demo.generate import generate_demo

    generate_demo(data)
    return True


def safe_url(url: str) -> str:
    """A database URL to print: the password masked."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the API server binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the REST API v2 ------------------------------------------------------------------------


class AirflowApi:
    """A small client of Airflow's REST API v2, authenticated with a JWT from ``POST /auth/token``."""

    def __init__(self, base_url: str, username: str | None = None, password: str | None = None, timeout=30.0):
        import requests

        self.base_url = base_url.rstrip("/")
        self.username, self.password, self.timeout = username, password, timeout
        self.session = requests.Session()
        self._token: str | None = None

    def health(self) -> dict[str, Any]:
        """``GET /api/v2/monitor/health`` (no login needed)."""
        response = self.session.get(f"{self.base_url}/api/v2/monitor/health", timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def is_healthy(self) -> bool:
        import requests

        try:
            health = self.health()
        except (requests.RequestException, ValueError):
            return False
        return all((health.get(key) or {}).get("status") == "healthy" for key in HEALTH_KEYS)

    def token(self) -> str:
        if self._token is None:
            response = self.session.post(
                f"{self.base_url}/auth/token",
                json={"username": self.username, "password": self.password},
                timeout=self.timeout,
            )
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(
            method,
            f"{self.base_url}/api/v2/{path.lstrip('/')}",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=self.timeout,
            **kwargs,
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def paged(self, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged list endpoint (``limit``/``offset``, ``total_entries``)."""
        items: list[dict[str, Any]] = []
        while True:
            page = self.request("GET", path, params={**params, "limit": 100, "offset": len(items)})
            items.extend(page[key])
            if not page[key] or len(items) >= page["total_entries"]:
                return items

    def dag_ids(self) -> list[str]:
        return sorted(d["dag_id"] for d in self.paged("dags", "dags"))

    def import_errors(self) -> list[dict[str, Any]]:
        return self.paged("importErrors", "import_errors")

    def run_dag(
        self, dag_id: str, *, logical_date: str, conf: dict[str, Any], timeout: float = 300.0, poll: float = 2.0
    ) -> tuple[str, dict[str, str]]:
        """Trigger ``dag_id``, unpause it until the run has finished, and return the run's final
        state and its tasks' states (``"timeout"`` if it has not finished in ``timeout`` seconds).

        The DAG is paused again afterwards: unpaused, a daily DAG catches up from its start date.
        """
        run_id = f"manual_{secrets.token_hex(4)}"
        body = {"dag_run_id": run_id, "logical_date": logical_date, "conf": conf}
        self.request("POST", f"dags/{dag_id}/dagRuns", json=body)
        self.request("PATCH", f"dags/{dag_id}", json={"is_paused": False})
        try:
            deadline = time.monotonic() + timeout
            state = "queued"
            while state not in ("success", "failed"):
                if time.monotonic() > deadline:
                    state = "timeout"
                    break
                time.sleep(poll)
                state = self.request("GET", f"dags/{dag_id}/dagRuns/{run_id}")["state"]
        finally:
            self.request("PATCH", f"dags/{dag_id}", json={"is_paused": True})
        tasks = self.request("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return state, {t["task_id"]: t["state"] for t in tasks}


# -- running the components -----------------------------------------------------------------


class LocalAirflow:
    """The Airflow components as child processes of this one, their output in log files.

    On Linux this process becomes a "child subreaper", so the processes the components start
    (LocalExecutor workers, task supervisors, ``serve-logs``) are re-parented to it when their
    parent dies, and ``stop()`` can stop them too instead of leaving them behind.
    """

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        _become_subreaper()

    def migrate(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.log_dir / "db-migrate.log"
        with log_file.open("ab") as log:
            result = subprocess.run(
                [sys.executable, "-m", "airflow", "db", "migrate"],
                env=self.env,
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=600,
            )
        if result.returncode != 0:
            raise SystemExit(f"airflow db migrate failed (exit {result.returncode}); see {log_file}")

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in COMPONENTS:
            with (self.log_dir / f"{name}.log").open("ab") as log:
                self.processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "airflow", name],
                    env=self.env,
                    cwd=PROJECT_ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )

    def exited(self) -> dict[str, int]:
        """Components that have stopped, with their exit codes (and reaps re-parented processes)."""
        self._reap_orphans()
        return {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Scheduler, DAG processor and triggerer first (running tasks can still report to the API
        server), then the API server, then whatever they left behind."""
        deadline = time.monotonic() + timeout
        first = [p for name, p in self.processes.items() if name != "api-server"]
        last = [p for name, p in self.processes.items() if name == "api-server"]
        for group in (first, last):
            _terminate(group, deadline)
        leftovers = self._orphans()
        for pid in leftovers:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + 5
        while self._reap_orphans() and time.monotonic() < end:
            time.sleep(0.2)
        for pid in self._orphans():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        self._reap_orphans()

    def _orphans(self) -> list[int]:
        """Processes re-parented to this one (children that are not the components)."""
        mine = {p.pid for p in self.processes.values()}
        return [pid for pid in _children(os.getpid()) if pid not in mine]

    def _reap_orphans(self) -> list[int]:
        """Collect the exit status of finished orphans; return the ones still running."""
        running = []
        for pid in self._orphans():
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if not done:
                running.append(pid)
        return running


def _terminate(processes: list[subprocess.Popen[bytes]], deadline: float) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _become_subreaper() -> None:
    """``prctl(PR_SET_CHILD_SUBREAPER)`` on Linux; elsewhere orphans go to init as usual."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # 36 = PR_SET_CHILD_SUBREAPER


def _children(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc (empty where there is no /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def wait_until_ready(airflow: LocalAirflow, api: AirflowApi, stop: threading.Event, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not api.is_healthy():
        if exited := airflow.exited():
            raise SystemExit(f"Airflow component(s) stopped while starting: {exited}; see {airflow.log_dir}")
        if stop.is_set():
            raise KeyboardInterrupt
        if time.monotonic() > deadline:
            raise SystemExit(f"Airflow was not healthy after {timeout:.0f} s; see {airflow.log_dir}")
        stop.wait(1.0)


def print_banner(api: AirflowApi, airflow_home: Path, data: Path, metadata: str, source_api: str) -> None:
    try:
        dags = api.dag_ids()
        errors = api.import_errors()
    except Exception as exc:  # the banner must not take the server down
        dags, errors = [], [{"filename": "?", "stack_trace": str(exc)}]
    lines = [
        "",
        "Airflow is running (LocalExecutor; Ctrl-C stops it)",
        f"  UI and REST API:  {api.base_url}/   (REST API v2 under /api/v2, token from POST /auth/token)",
        f"  log in:           user {api.username!r}, password {api.password!r}",
        f"                    (kept in {airflow_home / PASSWORDS_FILE})",
        f"  metadata:         {metadata}",
        f"  data:             {data} (warehouse.sqlite, inbox/, shared-drive/)",
        f"  LINE/Facebook:    demo API at {source_api}",
        f"  component logs:   {airflow_home / 'logs' / 'components'}/",
        f"  DAGs parsed so far ({len(dags)}; a new DAG starts paused): {', '.join(dags) or 'none yet'}",
    ]
    if errors:
        lines.append(f"  DAG IMPORT ERRORS: {len(errors)}; see Browse > Dag import errors in the UI")
    lines += [
        "  To load a few demo days, trigger a daily DAG with the config",
        '    {"interval_start": "2019-01-14", "interval_end": "2019-01-17"}',
        "  (unpausing a daily DAG starts its catch-up from 1 October 2018, one day per run).",
        "",
    ]
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo.airflow_local", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"UI/API port on 127.0.0.1 ({DEFAULT_PORT})")
    parser.add_argument("--airflow-home", type=Path, default=AIRFLOW_HOME, help="AIRFLOW_HOME (.airflow/)")
    parser.add_argument("--data-dir", type=Path, default=None, help="COMPLAINTS_DATA_DIR (data/)")
    parser.add_argument("--metadata-db", default=None, help="metadata database URL (<airflow home>/airflow.db)")
    parser.add_argument("--warehouse", default=None, help="warehouse SQLAlchemy URL (<data>/warehouse.sqlite)")
    parser.add_argument("--ready-timeout", type=float, default=READY_TIMEOUT_S, help="seconds to wait for health")
    args = parser.parse_args(argv)

    from devtools.demo.api_server import ApiServer

    home = args.airflow_home.resolve()
    data = (args.data_dir or data_dir()).resolve()
    if not port_is_free(args.port):
        print(f"port {args.port} on 127.0.0.1 is in use (another Airflow?); choose one with --port", file=sys.stderr)
        return 2
    home.mkdir(parents=True, exist_ok=True)
    if ensure_demo_sources(data):
        print(f"generated the demo sources under {data}", flush=True)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    with ApiServer(data, token=API_TOKEN, flaky=True) as source_api:
        env = local_airflow_env(
            data,
            source_api.base_url,
            airflow_home=home,
            port=args.port,
            metadata_db_url=args.metadata_db,
            warehouse_url=args.warehouse,
        )
        api = AirflowApi(f"http://127.0.0.1:{args.port}", ADMIN_USER, admin_password(home))
        airflow = LocalAirflow(env, home / "logs" / "components")
        metadata = safe_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        print(f"migrating the Airflow metadata database ({metadata})", flush=True)
        airflow.migrate()
        print(f"starting {', '.join(COMPONENTS)} (logs in {airflow.log_dir})", flush=True)
        airflow.start()
        try:
            wait_until_ready(airflow, api, stop, args.ready_timeout)
            print_banner(api, home, data, metadata, source_api.base_url)
            while not stop.wait(1.0):
                if exited := airflow.exited():
                    print(f"Airflow component(s) stopped: {exited}; see {airflow.log_dir}", file=sys.stderr)
                    return 1
        except KeyboardInterrupt:
            pass
        finally:
            print("stopping Airflow", flush=True)
            airflow.stop()
    return 0


@contextmanager
def running(
    *,
    airflow_home: Path,
    data: Path,
    port: int | None = None,
    metadata_db_url: str | None = None,
    warehouse_url: str | None = None,
    log_file: Path,
    timeout: float = READY_TIMEOUT_S,
    extra_env: dict[str, str] | None = None,
) -> Iterator[AirflowApi]:
    """Run this launcher in its own process group until healthy; yield a logged-in API client.

    On exit the launcher's process group is terminated (the launcher stops the components and
    what they started), and killed if it has not stopped after ``STOP_TIMEOUT_S``. For tests.
    """
    port = port or free_port()
    args = [sys.executable, "-m", "devtools.demo.airflow_local", "--port", str(port)]
    args += ["--airflow-home", str(airflow_home), "--data-dir", str(data), "--ready-timeout", str(timeout)]
    if metadata_db_url:
        args += ["--metadata-db", metadata_db_url]
    if warehouse_url:
        args += ["--warehouse", warehouse_url]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)]),
        **(extra_env or {}),
    }
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        launcher = subprocess.Popen(
            args,
            env=env,
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        api = AirflowApi(f"http://127.0.0.1:{port}", ADMIN_USER)
        deadline = time.monotonic() + timeout + 120  # + generating the sources and migrating the database
        while not api.is_healthy():
            if launcher.poll() is not None:
                raise RuntimeError(f"the Airflow launcher exited ({launcher.returncode}); see {log_file}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"Airflow not healthy after {timeout + 120:.0f} s; see {log_file}")
            time.sleep(1.0)
        api.password = admin_password(airflow_home)
        yield api
    finally:
        stop_process_group(launcher)


def stop_process_group(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the process group led by ``process``, wait, then SIGKILL whatever is left in it."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the stragglers: task processes, server workers
    process.wait(10)


if __name__ == "__main__":
    sys.exit(main())
