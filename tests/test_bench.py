"""The benchmark suite's own logic (``make bench`` itself runs for hours and is not part of the tests)."""

from __future__ import annotations

import importlib.util

from complaints.bench import run


def _results(**extra):
    return {
        "finished": "2026-12-01 01:00",
        "machine": "2 × test CPU",
        "postgres": "15",
        "repeats": 1,
        "load_at_start": 1.25,
        "load_at_end": 3.5,
        **extra,
    }


def test_the_dag_parse_table_shows_each_file_beyond_the_minimal_dag_measured_in_the_same_run():
    parse = {
        "dags/complaints_daily.py": {"median": 76.0, "min": 70.0, "max": 90.0},
        run.MINIMAL_DAG: {"median": 40.5, "min": 39.0, "max": 44.0},
    }
    block = run.markdown(_results(dag_parse=parse), "make bench")
    assert "| `dags/complaints_daily.py` | 76.0 ms | 70.0–90.0 ms | 35.5 ms |" in block
    assert f"| {run.MINIMAL_DAG} | 40.5 ms | 39.0–44.0 ms | |" in block


def test_the_results_block_states_the_load_the_machine_was_under():
    block = run.markdown(_results(), "make bench")
    assert "Load average (1 min) 1.2 at the start, 3.5 at the end" in block


def test_the_minimal_dag_baseline_defines_one_task_and_nothing_of_the_project():
    path = run.Path(run.__file__).with_name("minimal_dag.py")
    spec = importlib.util.spec_from_file_location("bench_minimal_dag", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dags = [value for value in vars(module).values() if type(value).__name__ == "DAG"]
    assert [dag.dag_id for dag in dags] == ["bench_minimal_dag"]
    assert [task.task_id for task in dags[0].tasks] == ["nothing"]
    assert "complaints" not in path.read_text(encoding="utf-8")


INGEST_SECONDS = {"pipeline_1555": 40.0, "pipeline_mis": 50.0, "naive": 80.0, "copy_floor": 2.0}


def _ingest_run(seconds: float) -> dict:
    return {"seconds": seconds, "rows": 100_000, "loaded": 100_000, "batches": 2, "peak_rss_mib": 300.0}


def test_results_of_two_invocations_combine_into_one_block_naming_both_commands():
    first = _results(
        command="make bench BENCH_ARGS='--ingest-sizes 100000'",
        ingestion={"100000": {case: [_ingest_run(seconds)] for case, seconds in INGEST_SECONDS.items()}},
    )
    second = _results(
        finished="2026-12-01 02:00",
        repeats=2,
        command="make bench BENCH_ARGS='--warehouse-sizes 1000000'",
        dag_parse={"dags/complaints_quarterly.py": {"median": 60.0, "min": 58.0, "max": 70.0}},
    )
    combined = run.combine([first, second])
    assert list(combined["ingestion"]) == ["100000"]
    assert combined["repeats"] == 1
    block = run.markdown(combined, "")
    assert block.count("Run of ") == 2
    assert "--ingest-sizes 100000" in block and "--warehouse-sizes 1000000" in block
    assert "`dags/complaints_quarterly.py` | 60.0 ms" in block
    assert "| 100,000 | pipeline_1555 | 40.00 s" in block


def _warehouse(daily: float, quarterly: float) -> dict:
    return {
        "fill_seconds": 1.0,
        "daily_increment": [{"seconds": daily}],
        "quarterly": [{"seconds": quarterly, "received": 1, "resolved": 1}],
        "quarterly_naive": [{"seconds": quarterly * 2, "received": 1, "resolved": 1, "peak_rss_mib": 100.0}],
        "explain": "Insert on complaint",
    }


def test_the_quarterly_scaling_compares_the_largest_warehouse_with_the_next_size_down():
    warehouse = {
        "100000": _warehouse(2.0, 4.0),
        "10000000": _warehouse(3.0, 369.0),
        "1000000": _warehouse(2.5, 41.0),
    }
    block = run.markdown(_results(warehouse=warehouse), "make bench")
    assert "Daily increment at 10,000,000 matters / at 100,000: 1.50×" in block
    assert "quarterly at 10,000,000 / at 1,000,000: 9.0× for 10× the matters" in block


def test_a_run_records_the_command_exactly_as_it_was_given(tmp_path):
    import json

    from conftest import PG_ADMIN_URL

    argv = ["--ingest-sizes=", "--chunked-sizes=", "--warehouse-sizes=", "--no-report", "--dag-repeats", "0"]
    argv += ["--pg-url", PG_ADMIN_URL, "--out", str(tmp_path / "b.md"), "--json", str(tmp_path / "b.json")]
    assert run.main(argv) == 0
    recorded = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))["command"]
    assert recorded == "python -m complaints.bench " + " ".join(argv)
    assert recorded in (tmp_path / "b.md").read_text(encoding="utf-8")
