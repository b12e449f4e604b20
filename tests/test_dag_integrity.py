"""Every DAG imports cleanly, carries what on-call needs, and parses without heavy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from complaints.config import load_config

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))
HEAVY_MODULES = ("pandas", "great_expectations", "numpy")

IMPORT_PROBE = """
import json, sys, time, importlib.util
sys.path[:0] = [{plugins!r}]
t0 = time.perf_counter()
import airflow.sdk
t1 = time.perf_counter()
spec = importlib.util.spec_from_file_location("dag_under_test", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
t2 = time.perf_counter()
print(json.dumps({{"sdk_s": t1 - t0, "dag_s": t2 - t1, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(DAGS_DIR))


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert dagbag.dags, "no DAG was found"


def test_one_daily_dag_per_configured_channel(dagbag):
    expected = {f"complaints_daily_{code}" for code in load_config().channels}
    assert expected <= set(dagbag.dag_ids)


def test_every_dag_has_owner_retries_tags_and_docs(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md and len(dag.doc_md) > 80, f"{dag_id} has no useful doc_md"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id} has no owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} does not retry"
            assert task.doc_md, f"{dag_id}.{task.task_id} has no doc_md"


def test_daily_dags_cover_one_bangkok_day_and_update_the_warehouse_asset(dagbag):
    from complaints.config import WAREHOUSE_ASSET_URI

    dag = dagbag.dags["complaints_daily_mis"]
    assert dag.timetable.expression == "0 0 * * *"
    assert str(dag.timetable.timezone) == "Asia/Bangkok"
    outlets = [o.uri for t in dag.tasks for o in t.outlets]
    assert WAREHOUSE_ASSET_URI in outlets


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_no_heavy_library_at_parse_time(dag_file):
    probe = IMPORT_PROBE.format(plugins=str(DAGS_DIR.parent / "plugins"), path=str(dag_file), heavy=HEAVY_MODULES)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["heavy"] == [], f"{dag_file.name} imports {measured['heavy']} at parse time"


# What a DAG file's parse must not load (beyond what ``import airflow.sdk`` itself loaded):
# libraries the tasks need, and the project's modules that import them at module level.
PARSE_FORBIDDEN = ("pandas", "numpy", "great_expectations", "sqlalchemy", "psycopg2", "openpyxl", "weasyprint")
PARSE_FORBIDDEN_PROJECT = tuple(
    f"complaints.{name}"
    for name in (
        "adapters",
        "airflow_tasks",
        "data_docs",
        "freshness",
        "indicator",
        "ingest",
        "open311_export",
        "overdue",
        "overdue_tasks",
        "quarterly",
        "report",
        "validation",
        "warehouse",
    )
)

PARSE_PROBE = """
import json, sys, importlib.util
sys.path[:0] = [{plugins!r}]
import airflow.sdk
import yaml
parsed = []
_load = yaml.load
def load(stream, Loader):
    parsed.append(1)
    return _load(stream, Loader)
yaml.load = load
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("dag_under_test", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({{"new": sorted(set(sys.modules) - before), "yaml_parsed": len(parsed)}}))
"""


def _parse_in_a_fresh_interpreter(dag_file: Path, cache: Path) -> dict:
    probe = PARSE_PROBE.format(plugins=str(DAGS_DIR.parent / "plugins"), path=str(dag_file))
    env = {**os.environ, "COMPLAINTS_CACHE_DIR": str(cache)}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parse_loads_no_task_library_and_reads_the_config_without_parsing_its_yaml(dag_file, tmp_path):
    first = _parse_in_a_fresh_interpreter(dag_file, tmp_path / "cache")  # fills the config cache
    assert first["yaml_parsed"] == 1, "the first parse should read pipeline.yaml once"
    parsed = _parse_in_a_fresh_interpreter(dag_file, tmp_path / "cache")
    assert parsed["yaml_parsed"] == 0, f"{dag_file.name} parsed YAML although the config cache holds it"
    heavy = [m for m in parsed["new"] if m.split(".")[0] in PARSE_FORBIDDEN]
    assert heavy == [], f"{dag_file.name} imports {heavy} at parse time"
    project = [m for m in parsed["new"] if m.startswith(PARSE_FORBIDDEN_PROJECT)]
    assert project == [], f"{dag_file.name} imports {project} at parse time"


def test_the_parse_probe_catches_a_dag_file_that_imports_the_warehouse_module(tmp_path):
    dag_file = tmp_path / "heavy_dag.py"
    dag_file.write_text("import complaints.warehouse\n", encoding="utf-8")
    parsed = _parse_in_a_fresh_interpreter(dag_file, tmp_path / "cache")
    assert "complaints.warehouse" in parsed["new"]
    assert [m for m in parsed["new"] if m.startswith(PARSE_FORBIDDEN_PROJECT)]


def _alerting_dags(dagbag) -> dict[str, str | None]:
    """dag_id -> the channel its alerts name (None for the DAGs that span every channel): every DAG."""
    dags = {f"complaints_daily_{code}": code for code in load_config().channels}
    dags.update({dag_id: None for dag_id in dagbag.dag_ids if dag_id not in dags})
    return dags


def test_every_task_of_every_dag_alerts_when_it_fails(dagbag):
    from complaints.alerts import ComplaintsAlertNotifier

    for dag_id, channel in _alerting_dags(dagbag).items():
        for task in dagbag.dags[dag_id].tasks:
            notifiers = [cb for cb in task.on_failure_callback or [] if isinstance(cb, ComplaintsAlertNotifier)]
            assert len(notifiers) == 1, f"{dag_id}.{task.task_id} has no failure alert"
            assert notifiers[0].channel == channel


def test_daily_dags_check_freshness_after_the_load_without_hiding_a_failed_load(dagbag):
    for code in load_config().channels:
        dag = dagbag.dags[f"complaints_daily_{code}"]
        freshness = dag.task_dict["check_channel_freshness"]
        assert freshness.upstream_task_ids == {"ingest_interval"}
        # all_success: a failed load leaves the run failed (a leaf that ran anyway would mark it success)
        assert freshness.trigger_rule == "all_success"
        assert dag.leaves == [freshness]


def test_daily_dags_carry_a_deadline_alert_at_the_configured_time_that_serialises(dagbag):
    from datetime import time, timedelta

    from airflow.sdk import AsyncCallback, DeadlineReference
    from airflow.serialization.serialized_objects import DagSerialization

    deadline = time.fromisoformat(load_config().raw["alerts"]["daily_deadline"])
    expected = timedelta(days=1, hours=deadline.hour, minutes=deadline.minute)
    for code in load_config().channels:
        dag = dagbag.dags[f"complaints_daily_{code}"]
        (alert,) = dag.deadline
        assert alert.reference == DeadlineReference.DAGRUN_LOGICAL_DATE
        assert alert.interval == expected
        assert isinstance(alert.callback, AsyncCallback)
        assert alert.callback.path == "complaints.alerts.DeadlineMissedNotifier"
        assert alert.callback.kwargs["channel"] == code
        (serialised,) = DagSerialization.serialize_dag(dag)["deadline"]
        assert serialised["reference"] == {"reference_type": "DagRunLogicalDateDeadline"}
        assert serialised["interval"]["__data__"] == expected.total_seconds()
        assert serialised["callback"]["__data__"]["path"] == "complaints.alerts.DeadlineMissedNotifier"
