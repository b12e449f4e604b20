"""The scale-out stack (docker-compose.yaml + Dockerfile) is checked statically: no Docker engine.

It must run the project's Airflow version with the CeleryExecutor (API server, scheduler, DAG
processor, triggerer, Celery workers, Redis), keep Airflow's metadata and the warehouse in two
separate PostgreSQL databases, mount dags/, plugins/ and include/ where Airflow and
``complaints.paths`` look for them, give the shared drive a volume, and provide every Airflow
Connection the code and the config read (derived from them, so a new one cannot be forgotten).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yaml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
AIRFLOW_HOME_IN_IMAGE = "/opt/airflow"  # the official image's AIRFLOW_HOME
CODE_DIRS = (PROJECT_ROOT / "plugins", PROJECT_ROOT / "dags")
CONFIG_DIR = PROJECT_ROOT / "include" / "config"
AIRFLOW_COMMANDS = {
    "api-server": "api-server",
    "scheduler": "scheduler",
    "dag-processor": "dag-processor",
    "triggerer": "triggerer",
    "celery worker": "celery worker",
}


# -- what the code and config read ----------------------------------------------------------


def _is_conn_id_name(name: str) -> bool:
    return name.lower() == "conn_id" or name.lower().endswith("_conn_id")


def connection_ids_in_code(paths: list[Path]) -> set[str]:
    """String connection ids in Python code: ``*_CONN_ID = "…"`` constants and fields,
    ``*conn_id="…"`` arguments and parameter defaults, ``get_connection("…")`` calls."""
    found: set[str] = set()
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in targets]
                if any(_is_conn_id_name(n) for n in names) and isinstance(node.value, ast.Constant):
                    found.add(node.value.value)
            elif isinstance(node, ast.Call):
                found.update(
                    kw.value.value
                    for kw in node.keywords
                    if kw.arg and _is_conn_id_name(kw.arg) and isinstance(kw.value, ast.Constant)
                )
                func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if func == "get_connection" and node.args and isinstance(node.args[0], ast.Constant):
                    found.add(node.args[0].value)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = node.args.posonlyargs + node.args.args
                pairs = list(zip(args[len(args) - len(node.args.defaults) :], node.args.defaults, strict=True))
                pairs += [(a, d) for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True) if d]
                found.update(d.value for a, d in pairs if _is_conn_id_name(a.arg) and isinstance(d, ast.Constant))
    return {value for value in found if isinstance(value, str) and value}


def connection_ids_in_config(node: Any) -> set[str]:
    """Values of ``connection_id`` / ``conn_id`` / ``*_conn_id`` keys anywhere in a config document."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if (str(key) == "connection_id" or _is_conn_id_name(str(key))) and isinstance(value, str):
                found.add(value)
            else:
                found |= connection_ids_in_config(value)
    elif isinstance(node, list):
        for item in node:
            found |= connection_ids_in_config(item)
    return found


def connection_ids_read() -> set[str]:
    code = [p for d in CODE_DIRS for p in d.rglob("*.py") if "demo" not in p.relative_to(d).parts[:2]]
    ids = connection_ids_in_code(code)
    for config in sorted(CONFIG_DIR.glob("*.yaml")):
        ids |= connection_ids_in_config(yaml.safe_load(config.read_text(encoding="utf-8")))
    return ids


def env_name(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


# -- the compose file -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))  # resolves the x-airflow-common anchors


@pytest.fixture(scope="module")
def airflow_services(compose) -> dict[str, dict[str, Any]]:
    """The services that run the project's Airflow image (everything but the databases and Redis)."""
    return {name: s for name, s in compose["services"].items() if "build" in s}


def command(service: dict[str, Any]) -> str:
    cmd = service.get("command", "")
    return " ".join(cmd) if isinstance(cmd, list) else str(cmd)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def host_of(url: str) -> str:
    match = re.match(r"^[\w+]+://(?:[^@/]*@)?([^:/?]+)", url)
    assert match, f"not a URL with a host: {url}"
    return match.group(1)


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source (``./dags`` or a named volume) of each short-syntax volume."""
    result = {}
    for volume in service.get("volumes") or []:
        source, target = str(volume).split(":")[:2]
        result[target] = source
    return result


def service_by_image(compose: dict[str, Any], prefix: str) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if str(s.get("image", "")).startswith(prefix)}


def pinned_airflow_version() -> str:
    text = (PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8")
    match = re.search(r"^apache-airflow==([\w.]+)\s*$", text, re.MULTILINE)
    assert match, "requirements.txt does not pin apache-airflow"
    return match.group(1)


# -- tests ------------------------------------------------------------------------------------


def test_the_connection_ids_are_derived_from_code_and_config():
    ids = connection_ids_read()
    # The ones the daily and quarterly DAGs have read from the start.
    assert {"complaints_warehouse", "complaints_pseudonym_key"} <= ids
    from complaints.config import load_config

    channel_ids = {
        c.settings["connection_id"] for c in load_config().channels.values() if c.settings.get("connection_id")
    }
    assert channel_ids <= ids


def test_every_airflow_component_runs_with_the_celery_executor(airflow_services):
    commands = {command(s) for s in airflow_services.values()}
    for component, cmd in AIRFLOW_COMMANDS.items():
        assert cmd in commands, f"no service runs `airflow {cmd}` ({component})"
    assert "db migrate" in commands, "nothing migrates the metadata database before the components start"
    for name, service in airflow_services.items():
        assert environment(service)["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
    workers = [s for s in airflow_services.values() if command(s) == "celery worker"]
    assert sum(int((s.get("deploy") or {}).get("replicas", 1)) for s in workers) >= 2


def test_redis_is_the_broker_and_the_components_share_one_jwt_secret(compose, airflow_services):
    redis = service_by_image(compose, "redis")
    assert len(redis) == 1
    (redis_name,) = redis
    api_servers = [n for n, s in airflow_services.items() if command(s) == "api-server"]
    assert len(api_servers) == 1
    for name, service in airflow_services.items():
        env = environment(service)
        assert host_of(env["AIRFLOW__CELERY__BROKER_URL"]) == redis_name, name
        assert env.get("AIRFLOW__API_AUTH__JWT_SECRET"), f"{name}: components must sign/verify with one secret"
        assert host_of(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]) == api_servers[0], name


def test_metadata_and_warehouse_are_two_separate_postgresql_databases(compose, airflow_services):
    postgres = service_by_image(compose, "postgres")
    for name, service in airflow_services.items():
        env = environment(service)
        metadata_host = host_of(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        warehouse_host = host_of(env[env_name("complaints_warehouse")])
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql"), name
        assert env[env_name("complaints_warehouse")].startswith("postgres"), name
        assert metadata_host in postgres and warehouse_host in postgres, name
        assert metadata_host != warehouse_host, f"{name}: the warehouse must not share Airflow's database server"
        assert host_of(env["AIRFLOW__CELERY__RESULT_BACKEND"].removeprefix("db+")) == metadata_host, name
    for name in postgres:
        assert compose["services"][name].get("healthcheck"), f"{name} has no healthcheck to wait on"
        assert mounts(compose["services"][name]).get("/var/lib/postgresql/data") in compose["volumes"], name


def test_the_components_start_after_the_databases_redis_and_the_migration(compose, airflow_services):
    (init,) = [n for n, s in airflow_services.items() if command(s) == "db migrate"]
    backing = set(service_by_image(compose, "postgres")) | set(service_by_image(compose, "redis"))
    depends = airflow_services[init]["depends_on"]
    assert {n: depends.get(n) for n in backing} == {n: {"condition": "service_healthy"} for n in backing}
    for name, service in airflow_services.items():
        if name != init:
            assert service["depends_on"] == {init: {"condition": "service_completed_successfully"}}, name


def test_the_image_is_the_pinned_airflow_version(airflow_services):
    version = pinned_airflow_version()
    for name, service in airflow_services.items():
        assert str(service["build"]["args"]["AIRFLOW_VERSION"]) == version, name
        assert service["image"].endswith(f":{version}"), name
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(rf"^ARG AIRFLOW_VERSION={re.escape(version)}$", dockerfile, re.MULTILINE)
    base = re.search(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert base and base.group(1) == "apache/airflow:${AIRFLOW_VERSION}-python3.11"
    assert 'requires-python = ">=3.11,<3.12"' in (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r"pip install .*-r \S*requirements\.txt -c \S*constraints\.txt", dockerfile)


def test_dags_plugins_and_include_are_mounted_where_airflow_and_the_code_look(airflow_services):
    for name, service in airflow_services.items():
        env, volumes = environment(service), mounts(service)
        dags = env.get("AIRFLOW__CORE__DAGS_FOLDER", f"{AIRFLOW_HOME_IN_IMAGE}/dags")
        plugins = env.get("AIRFLOW__CORE__PLUGINS_FOLDER", f"{AIRFLOW_HOME_IN_IMAGE}/plugins")
        assert volumes.get(dags) == "./dags", name
        assert volumes.get(plugins) == "./plugins", name
        assert plugins in env["PYTHONPATH"].split(":"), f"{name}: `import complaints` needs plugins/ on the path"
        # complaints.paths finds include/ next to plugins/ (PROJECT_ROOT = the plugins folder's parent).
        assert volumes.get(str(Path(plugins).parent / "include")) == "./include", name


def test_data_and_shared_drive_are_volumes(compose, airflow_services):
    for name, service in airflow_services.items():
        env, volumes = environment(service), mounts(service)
        data = env["COMPLAINTS_DATA_DIR"]
        assert volumes.get(data) in compose["volumes"], f"{name}: {data} (inbox, archive) is not on a volume"
        # The quarterly and digest reports publish to <data>/shared-drive by default (kind: local).
        assert volumes.get(f"{data}/shared-drive") in compose["volumes"], f"{name}: no shared-drive volume"


def test_every_connection_the_dags_read_is_provided(airflow_services):
    needed = sorted(env_name(c) for c in connection_ids_read())
    for name, service in airflow_services.items():
        missing = [var for var in needed if var not in environment(service)]
        assert missing == [], f"{name} lacks {missing}"


# -- the same topology without containers (`make scale-demo`) -------------------------------


def test_the_scale_demo_runs_the_commands_of_the_compose_services(airflow_services):
    """``devtools.scale_demo`` starts each Airflow service of the compose file with the same
    ``airflow`` command, and as many workers; a new service or command shows up here."""
    from devtools import scale_demo

    assert {name: command(s) for name, s in airflow_services.items()} == {
        name: " ".join(args) for name, args in scale_demo.COMMANDS.items()
    }
    assert airflow_services[scale_demo.WORKER_SERVICE]["deploy"]["replicas"] == scale_demo.WORKERS
    base = scale_demo.COMMANDS[scale_demo.WORKER_SERVICE]
    worker = scale_demo.worker_command("worker-1")
    assert worker[: len(base)] == base
    # The only addition: two workers on one machine need a Celery hostname each.
    assert [a for a in worker[len(base) :] if a.startswith("-")] == list(scale_demo.PER_MACHINE_WORKER_OPTIONS)


def test_the_scale_demo_sets_the_topology_settings_the_compose_file_sets(airflow_services, tmp_path):
    from devtools import scale_demo

    stack = scale_demo.Stack(tmp_path, "postgresql://m/airflow", "postgresql://w/complaints", "redis://r:6379/0")
    env = scale_demo.celery_env(stack, "http://127.0.0.1:1", 8080, tmp_path / "pipeline.yaml")
    assert all(env.get(key) for key in scale_demo.TOPOLOGY_SETTINGS)
    assert env["AIRFLOW__CORE__EXECUTOR"] == scale_demo.EXECUTOR
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+postgresql://m/airflow"  # beside the metadata, as there
    for name, service in airflow_services.items():
        compose_env = environment(service)
        assert [key for key in scale_demo.TOPOLOGY_SETTINGS if key not in compose_env] == [], name
        assert compose_env["AIRFLOW__CORE__EXECUTOR"] == scale_demo.EXECUTOR, name
