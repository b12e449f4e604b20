"""The benchmark suite's own logic (``make bench`` itself runs for hours and is not part of the tests)."""

from __future__ import annotations

import importlib.util

from devtools.bench import run


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
        "dags/complaints_daily.py": {"median": 76.0, "min": 70.0, "max": 90.0, "cpu_median": 52.0},
        run.MINIMAL_DAG: {"median": 40.5, "min": 39.0, "max": 44.0, "cpu_median": 31.5},
    }
    block = run.markdown(_results(dag_parse=parse), "make bench")
    assert "| `dags/complaints_daily.py` | 76.0 ms | 70.0–90.0 ms | 35.5 ms | 52.0 ms | 20.5 ms |" in block
    assert f"| {run.MINIMAL_DAG} | 40.5 ms | 39.0–44.0 ms | | 31.5 ms | |" in block


def test_a_dag_parse_table_of_an_earlier_run_without_cpu_times_still_renders():
    parse = {"dags/complaints_daily.py": {"median": 76.0, "min": 70.0, "max": 90.0}}
    block = run.markdown(_results(dag_parse=parse), "make bench")
    assert "| `dags/complaints_daily.py` | 76.0 ms | 70.0–90.0 ms | – | – | – |" in block


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
    assert recorded == "python -m devtools.bench " + " ".join(argv)
    assert recorded in (tmp_path / "b.md").read_text(encoding="utf-8")
    figures = json.loads((tmp_path / "b.figures.json").read_text(encoding="utf-8"))
    assert [r["command"] for r in figures["runs"]] == [recorded]
    assert figures["ratios"] == []  # nothing was measured


def _ingestion(rows: int, rss: float) -> dict:
    seconds = dict(INGEST_SECONDS)
    return {case: [{**_ingest_run(s), "rows": rows, "peak_rss_mib": rss}] for case, s in seconds.items()}


def _by_name(figures: dict) -> dict[str, dict]:
    return {f["name"]: f for f in figures["ratios"]}


def test_the_figures_file_gives_each_ratio_as_a_number_with_its_target_and_whether_it_was_met():
    import json

    parse = {
        "dags/complaints_daily.py": {"median": 44.0, "min": 40.0, "max": 50.0, "n": 5, "cpu_median": 40.0},
        "dags/complaints_quarterly.py": {"median": 61.5, "min": 58.0, "max": 70.0, "n": 5},
        run.MINIMAL_DAG: {"median": 40.5, "min": 39.0, "max": 44.0, "n": 5, "cpu_median": 31.0},
    }
    results = _results(
        command="python -m devtools.bench --repeats 1",
        commit="abc1234",
        ingestion={"100000": _ingestion(100_000, 300.0), "1000000": _ingestion(1_000_000, 420.0)},
        warehouse={"100000": _warehouse(2.0, 4.0), "1000000": _warehouse(3.0, 41.0)},
        dag_parse=parse,
    )
    document = json.loads(json.dumps(run.figures_document(results, results["command"])))
    assert document["runs"] == [
        {
            "finished": "2026-12-01 01:00",
            "load_at_start": 1.25,
            "load_at_end": 3.5,
            "command": "python -m devtools.bench --repeats 1",
            "commit": "abc1234",
        }
    ]
    assert document["machine"] == "2 × test CPU" and document["repeats"] == 1
    figures = _by_name(document)
    for figure in figures.values():
        assert {"name", "value", "target", "met"} <= set(figure)
        assert isinstance(figure["value"], float) and isinstance(figure["met"], bool)
    floor = figures["ingestion.pipeline_1555.share_of_copy_floor"]
    assert (floor["value"], floor["target"], floor["met"], floor["at"]) == (0.05, 0.5, False, {"rows": 1_000_000})
    assert figures["ingestion.pipeline_mis.vs_naive"]["value"] == 1.6  # naive 80 s / pipeline 50 s
    growth = figures["ingestion.pipeline_1555.peak_rss_growth"]
    assert (growth["value"], growth["met"], growth["at"]) == (1.4, False, {"rows": [100_000, 1_000_000]})
    assert figures["ingestion.pipeline_1555.peak_rss_mib"]["met"] is True  # 420 MiB < 1 GiB
    assert figures["warehouse.daily_increment_growth"]["value"] == 1.5
    assert figures["warehouse.daily_increment_growth"]["met"] is True
    assert figures["warehouse.quarterly_growth"]["value"] == 10.25
    speedup = figures["warehouse.quarterly_vs_naive"]
    assert (speedup["value"], speedup["met"], speedup["at"]) == (2.0, False, {"matters": 1_000_000})
    daily = figures["dag_parse.dags/complaints_daily.py"]
    assert (daily["value"], daily["target"], daily["met"]) == (44.0, 50.0, True)
    assert (daily["minimal_dag_ms"], daily["beyond_minimal_dag_ms"]) == (40.5, 3.5)
    assert (daily["cpu_ms"], daily["cpu_beyond_minimal_dag_ms"]) == (40.0, 9.0)
    assert figures["dag_parse.dags/complaints_quarterly.py"]["met"] is False
    assert f"dag_parse.{run.MINIMAL_DAG}" not in figures
    block = run.markdown(results, results["command"])
    assert "| `ingestion.pipeline_1555.share_of_copy_floor` | rows 1,000,000 | 0.05 | >= 0.5 | **no** |" in block
    assert "| `dag_parse.dags/complaints_daily.py` | repeats 5 | 44 | <= 50 | yes |" in block


def test_a_ratio_that_compares_two_sizes_is_left_out_of_a_run_of_one_size():
    results = _results(ingestion={"10000": _ingestion(10_000, 300.0)}, warehouse={"10000": _warehouse(2.0, 4.0)})
    names = set(_by_name(run.figures_document(results, "make bench")))
    assert "ingestion.pipeline_1555.share_of_copy_floor" in names and "warehouse.quarterly_vs_naive" in names
    assert not {n for n in names if n.endswith("_growth")}


def test_the_figures_go_beside_the_document_without_replacing_a_raw_json_file():
    assert run.figures_path(run.PROJECT / "docs" / "benchmarks.md") == run.PROJECT / "docs" / "benchmarks.json"
    assert run.figures_path(run.Path("/tmp/i.md")) == run.Path("/tmp/i.figures.json")
