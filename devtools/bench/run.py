"""``make bench``: build synthetic data, measure every case side by side, write docs/benchmarks.md.

Each repeat runs the pipeline and its references one after another on the same rows, each in its
own interpreter (peak RSS per measurement), so their ratio holds on a busy machine. Schemas live
in a scratch PostgreSQL database and are dropped afterwards. Options choose sizes and repeats:
``--ingest-sizes 10000 --warehouse-sizes 10000 --repeats 1`` is a quick run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.schema import CreateSchema, DropSchema

from complaints.paths import read_sql
from devtools.bench import synth

PROJECT = Path(__file__).resolve().parents[2]
# The baseline of the DAG-parse table (see minimal_dag.py).
MINIMAL_DAG = "minimal DAG (one @task, no project code)"
DEFAULT_PG = os.environ.get("COMPLAINTS_BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def probe(case: str, profile: Path | None = None, **arguments: Any) -> dict[str, Any]:
    """One measurement in a fresh interpreter; its last stdout line is the JSON figures."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT / "plugins"), str(PROJECT)])}
    if profile:
        env["COMPLAINTS_BENCH_PROFILE"] = str(profile)
    done = subprocess.run(
        [sys.executable, "-m", "devtools.bench.probe", case, json.dumps(arguments)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{case} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextmanager
def scratch_schema(admin_url: str) -> Iterator[str]:
    """A new schema in the scratch database (URL with its search_path), dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url)
    with admin.begin() as conn:
        conn.execute(CreateSchema(schema))
    try:
        yield f"{admin_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(DropSchema(schema, cascade=True))
        admin.dispose()


def warehouse(url: str) -> str:
    from complaints.warehouse import ensure_schema, make_engine

    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()
    return url


def summary(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


# -- the measurements ----------------------------------------------------------------------------


def bench_ingestion(admin_url: str, rows: int, repeats: int, work: Path) -> dict[str, list[dict]]:
    """1555 file drop and MIS database through the pipeline, against naive and COPY on the same rows."""
    source = work / f"src-{rows}"
    synth.write_hotline_file(source / "inbox" / "1555", rows)
    results: dict[str, list[dict]] = {"pipeline_1555": [], "pipeline_mis": [], "naive": [], "copy_floor": []}
    with scratch_schema(admin_url) as mis_url:
        mis_engine = create_engine(mis_url)
        synth.fill_mis(mis_engine, rows)
        mis_engine.dispose()
        for _ in range(repeats):
            for case in results:
                data_dir = work / "run"
                shutil.rmtree(data_dir, ignore_errors=True)
                shutil.copytree(source, data_dir, copy_function=os.link)
                with scratch_schema(admin_url) as url:
                    if case == "pipeline_1555":
                        figures = probe(
                            "ingest", warehouse_url=warehouse(url), channel="hotline_1555", data_dir=str(data_dir)
                        )
                    elif case == "pipeline_mis":
                        figures = probe("ingest", warehouse_url=warehouse(url), channel="mis", source_url=mis_url)
                    elif case == "naive":
                        figures = probe("ingest_naive", warehouse_url=warehouse(url), data_dir=str(data_dir))
                    else:
                        figures = probe("copy_floor", warehouse_url=url, data_dir=str(data_dir))
                results[case].append(figures)
                print(
                    f"ingest {rows:>9,} {case:<14} {figures['seconds']:8.2f} s {figures['peak_rss_mib']:7.0f} MiB",
                    flush=True,
                )
    return results


def bench_chunked(admin_url: str, rows: int, repeats: int, work: Path) -> list[dict]:
    """A Traffy Fondue export, which its adapter reads in chunks (``chunk_rows``, 50,000 by default):
    one batch per chunk, the next chunk validated while the previous one loads."""
    source = work / f"traffy-{rows}"
    synth.write_traffy_file(source / "inbox" / "traffy_fondue", rows)
    runs = []
    for _ in range(repeats):
        data_dir = work / "run"
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.copytree(source, data_dir, copy_function=os.link)
        with scratch_schema(admin_url) as url:
            figures = probe("ingest", warehouse_url=warehouse(url), channel="traffy_fondue", data_dir=str(data_dir))
        runs.append(figures)
        print(f"chunked {rows:>9,} {figures['seconds']:8.2f} s {figures['peak_rss_mib']:7.0f} MiB", flush=True)
    shutil.rmtree(source)
    return runs


def profile_cases(admin_url: str, rows: int, matters: int, folder: Path, work: Path) -> None:
    """pyinstrument profiles of the 1555 ingestion and the quarterly computation (not timed runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = work / "profile"
    synth.write_hotline_file(source / "inbox" / "1555", rows)
    with scratch_schema(admin_url) as url:
        probe(
            "ingest",
            profile=folder / f"ingest_1555_{rows}.txt",
            warehouse_url=warehouse(url),
            channel="hotline_1555",
            data_dir=str(source),
        )
    with scratch_schema(admin_url) as url:
        from complaints.warehouse import make_engine

        engine = make_engine(warehouse(url))
        synth.fill_warehouse(engine, matters)
        engine.dispose()
        probe("quarterly", profile=folder / f"quarterly_{matters}.txt", warehouse_url=url)
        probe("daily_increment", profile=folder / f"daily_increment_{matters}.txt", warehouse_url=url, day=0)
    print(f"profiles in {folder}", flush=True)


def bench_warehouse(admin_url: str, matters: int, repeats: int, work: Path) -> dict[str, Any]:
    """Daily increment and quarterly computation (pipeline and naive) on a warehouse of ``matters``."""
    from complaints.warehouse import make_engine

    results: dict[str, Any] = {"daily_increment": [], "quarterly": [], "quarterly_naive": []}
    with scratch_schema(admin_url) as url:
        warehouse(url)
        engine = make_engine(url)
        started = time.perf_counter()
        synth.fill_warehouse(engine, matters)
        results["fill_seconds"] = time.perf_counter() - started
        for repeat in range(repeats):
            for case in ("daily_increment", "quarterly", "quarterly_naive"):
                arguments: dict[str, Any] = {"warehouse_url": url}
                if case == "daily_increment":
                    arguments["day"] = repeat
                figures = probe(case, **arguments)
                results[case].append(figures)
                print(f"warehouse {matters:>11,} {case:<16} {figures['seconds']:8.2f} s", flush=True)
        results["explain"] = explain_daily_upsert(engine)
        engine.dispose()
    return results


# The PDF/HTML list at most quarterly.report_open_matters_limit of the matters still open at the
# cut-off (the XLSX lists all of them): before that cap, a warehouse of 100,000 synthetic matters
# (~42,000 open) kept WeasyPrint busy 19 minutes and 7.7 GB until it was stopped.
REPORT_MATTERS = 100_000


def bench_report(admin_url: str, repeats: int, work: Path) -> list[dict]:
    """PDF + XLSX + HTML of the fiscal-year cut-off from a warehouse of REPORT_MATTERS matters."""
    from complaints.warehouse import make_engine

    runs = []
    with scratch_schema(admin_url) as url:
        engine = make_engine(warehouse(url))
        synth.fill_warehouse(engine, REPORT_MATTERS)
        engine.dispose()
        for repeat in range(repeats):
            runs.append(probe("report", warehouse_url=url, out_dir=str(work / f"report-{repeat}")))
            print(f"report {REPORT_MATTERS:,} matters {runs[-1]['seconds']:8.2f} s", flush=True)
    return runs


def explain_daily_upsert(engine: Any) -> str:
    """EXPLAIN ANALYZE of the complaint upsert with a day's rows staged (3,000 changed, 3,000 new),
    inside a transaction that is rolled back."""
    from complaints.warehouse import sql, statements

    with engine.connect() as conn:
        transaction = conn.begin()
        for statement in statements(sql("stage_tables")):
            conn.execute(text(statement))
        conn.execute(
            text("""
                INSERT INTO stage_complaint
                SELECT c.*, 0 FROM complaint c
                 WHERE c.source_id IN (SELECT 'W' || (g * 5) FROM generate_series(1, 3000) g)
                UNION ALL
                SELECT c.channel, 'NEW-' || c.source_id, c.received_at, c.received_date, c.district_code,
                       c.category_code, c.description, c.latitude, c.longitude, c.reporter_pseudonym,
                       c.responsible_unit, c.status,
                       c.acknowledged_at, c.resolved_at, c.resolution_report, c.source_updated_at, c.batch_id,
                       c.secondary_categories, c.satisfaction_star, c.reopen_count, 1
                  FROM complaint c WHERE c.source_id IN (SELECT 'W' || (g * 5 + 1) FROM generate_series(1, 3000) g)
            """)
        )
        conn.execute(text("ANALYZE stage_complaint"))
        plan = conn.execute(text(read_sql("bench/explain_upsert_complaint.sql"))).scalars().all()
        transaction.rollback()
    return "\n".join(plan)


def bench_dag_parse(repeats: int) -> dict[str, dict[str, float]]:
    """Import time of each DAG file beyond ``import airflow.sdk``, a fresh interpreter per run.

    Every repeat also imports ``minimal_dag.py`` (one ``@task``, nothing of the project), in
    turn with the project's files, so Airflow's lazily imported share is measured side by side.
    Measured as the dag processor parses a file it has seen before: bytecode written and read
    (``PYTHONDONTWRITEBYTECODE`` is dropped, bytecode goes to a scratch ``PYTHONPYCACHEPREFIX``)
    and the config cache filled, by one unrecorded import of each file first; without that, every
    run compiled the project's modules again (~10–25 ms of the figures before). Each run also
    reports its CPU time (``cpu_median``): on a shared machine the wall time includes waiting
    for a core, the CPU time much less so.
    """
    snippet = (
        "import sys, time, importlib.util; sys.path[:0] = ['plugins']\n"
        "import airflow.sdk\n"
        "t, c = time.perf_counter(), time.process_time()\n"
        "spec = importlib.util.spec_from_file_location('d', sys.argv[1])\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)\n"
    )
    files = {f"dags/{dag.name}": dag for dag in sorted((PROJECT / "dags").glob("*.py"))}
    files[MINIMAL_DAG] = Path(__file__).with_name("minimal_dag.py")
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in files}
    with tempfile.TemporaryDirectory(prefix="complaints-bench-parse-") as scratch:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(
            PYTHONPYCACHEPREFIX=str(Path(scratch) / "pycache"), COMPLAINTS_CACHE_DIR=str(Path(scratch) / "cache")
        )

        def parse(path: Path) -> tuple[float, float]:
            done = subprocess.run(
                [sys.executable, "-c", snippet, str(path)],
                capture_output=True,
                text=True,
                cwd=PROJECT,
                env=env,
                check=True,
            )
            wall, cpu = done.stdout.strip().splitlines()[-1].split()
            return float(wall), float(cpu)

        for path in files.values():
            parse(path)
        for _ in range(repeats):
            for name, path in files.items():
                runs[name].append(parse(path))
    out = {
        name: {**summary([wall for wall, _ in values]), "cpu_median": statistics.median(cpu for _, cpu in values)}
        for name, values in runs.items()
    }
    for name, stats in out.items():
        print(f"parse {name:<44} {stats['median']:6.1f} ms (CPU {stats['cpu_median']:6.1f} ms)", flush=True)
    return out


# -- the targets ---------------------------------------------------------------------------------

# The round's targets (docs/benchmarks.md, "Targets"): what each figure of ``ratios`` is held to.
DAG_PARSE_TARGET_MS = 50.0
TARGETS: dict[str, tuple[str, float, str]] = {
    # name: (comparison, target, what it is)
    "share_of_copy_floor": (">=", 0.5, "pipeline rows/s ÷ COPY floor rows/s at the largest ingestion size"),
    "vs_naive": (">=", 4.0, "naive seconds ÷ pipeline seconds at the largest ingestion size"),
    "peak_rss_growth": ("<=", 1.3, "peak RSS at the largest ingestion size ÷ at the smallest"),
    "peak_rss_mib": ("<", 1024.0, "peak RSS (MiB) at the largest ingestion size"),
    "daily_increment_growth": ("<=", 2.0, "daily increment at the largest warehouse ÷ at the smallest"),
    "quarterly_growth": ("<=", 12.0, "quarterly at the largest warehouse ÷ at the next size down"),
    "quarterly_vs_naive": (">=", 20.0, "naive quarterly seconds ÷ pipeline seconds at the largest warehouse"),
    "dag_parse_ms": ("<=", DAG_PARSE_TARGET_MS, "median ms of a DAG file's import beyond `import airflow.sdk`"),
}
_COMPARE = {">=": float.__ge__, "<=": float.__le__, "<": float.__lt__}


def _ratio(name: str, kind: str, value: float, at: dict[str, Any], **extra: Any) -> dict[str, Any]:
    comparison, target, what = TARGETS[kind]
    return {
        "name": name,
        "value": round(float(value), 4),
        "target": target,
        "comparison": comparison,
        "met": _COMPARE[comparison](float(value), target),
        "what": what,
        "at": at,
        **extra,
    }


def ratios(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each measured figure that has a target, as ``{name, value, target, comparison, met, …}``.

    Computed from what the run measured: a ratio needing two sizes appears only when the run
    had two; ``at`` names the sizes it compares, so runs of other sizes are not mistaken for
    each other. The Markdown block and docs/benchmarks.json both list these.
    """
    out: list[dict[str, Any]] = []
    ingestion = results.get("ingestion") or {}
    if ingestion:
        sizes = sorted(ingestion, key=int)
        large, small = ingestion[sizes[-1]], ingestion[sizes[0]]
        for case in ("pipeline_1555", "pipeline_mis"):
            if not large.get(case):
                continue
            seconds = _median(large[case])
            at = {"rows": int(sizes[-1])}
            if large.get("copy_floor"):
                out.append(
                    _ratio(
                        f"ingestion.{case}.share_of_copy_floor",
                        "share_of_copy_floor",
                        _median(large["copy_floor"]) / seconds,
                        at,
                    )
                )
            if large.get("naive"):
                out.append(_ratio(f"ingestion.{case}.vs_naive", "vs_naive", _median(large["naive"]) / seconds, at))
            rss = _median(large[case], "peak_rss_mib")
            if len(sizes) > 1 and small.get(case):
                growth = rss / _median(small[case], "peak_rss_mib")
                out.append(
                    _ratio(
                        f"ingestion.{case}.peak_rss_growth",
                        "peak_rss_growth",
                        growth,
                        {"rows": [int(sizes[0]), int(sizes[-1])]},
                    )
                )
            out.append(_ratio(f"ingestion.{case}.peak_rss_mib", "peak_rss_mib", rss, at))
    warehouse = results.get("warehouse") or {}
    if warehouse:
        sizes = sorted(warehouse, key=int)
        large = warehouse[sizes[-1]]
        if len(sizes) > 1:
            small, below = warehouse[sizes[0]], warehouse[sizes[-2]]
            growth = _median(large["daily_increment"]) / _median(small["daily_increment"])
            out.append(
                _ratio(
                    "warehouse.daily_increment_growth",
                    "daily_increment_growth",
                    growth,
                    {"matters": [int(sizes[0]), int(sizes[-1])]},
                )
            )
            growth = _median(large["quarterly"]) / _median(below["quarterly"])
            out.append(
                _ratio(
                    "warehouse.quarterly_growth",
                    "quarterly_growth",
                    growth,
                    {"matters": [int(sizes[-2]), int(sizes[-1])]},
                )
            )
        speedup = _median(large["quarterly_naive"]) / _median(large["quarterly"])
        out.append(_ratio("warehouse.quarterly_vs_naive", "quarterly_vs_naive", speedup, {"matters": int(sizes[-1])}))
    parse = dict(results.get("dag_parse") or {})
    baseline = parse.pop(MINIMAL_DAG, None)
    for dag, stats in parse.items():
        extra = {}
        if baseline:
            extra = {
                "minimal_dag_ms": round(baseline["median"], 1),
                "beyond_minimal_dag_ms": round(stats["median"] - baseline["median"], 1),
            }
        if "cpu_median" in stats:
            extra["cpu_ms"] = round(stats["cpu_median"], 1)
            if baseline and "cpu_median" in baseline:
                extra["cpu_beyond_minimal_dag_ms"] = round(stats["cpu_median"] - baseline["cpu_median"], 1)
        out.append(_ratio(f"dag_parse.{dag}", "dag_parse_ms", stats["median"], {"repeats": stats.get("n")}, **extra))
    return out


def _at(value: Any) -> str:
    if isinstance(value, list):
        return " → ".join(f"{v:,}" for v in value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def ratios_markdown(figures: list[dict[str, Any]]) -> list[str]:
    """The block's table of ``ratios``: the same figures docs/benchmarks.json holds."""
    if not figures:
        return []
    lines = [
        "### Against the targets (also in `docs/benchmarks.json`)",
        "",
        "| figure | at | value | target | met |",
        "|---|---|---:|---:|---|",
    ]
    for f in figures:
        at = ", ".join(f"{key} {_at(value)}" for key, value in f["at"].items())
        met = "yes" if f["met"] else "**no**"
        lines.append(f"| `{f['name']}` | {at} | {f['value']:g} | {f['comparison']} {f['target']:g} | {met} |")
    return [*lines, ""]


def figures_document(results: dict[str, Any], command: str) -> dict[str, Any]:
    """docs/benchmarks.json: the run(s) it comes from and each ratio as a number, to compare run to run."""
    runs = results.get("runs") or [{**results, "command": command}]
    keys = ("finished", "load_at_start", "load_at_end", "command", "commit")
    return {
        "format": 1,
        "machine": results.get("machine"),
        "postgres": results.get("postgres"),
        "repeats": results.get("repeats"),
        "runs": [{k: run.get(k) for k in keys if run.get(k) is not None} for run in runs],
        "ratios": ratios(results),
    }


def figures_path(out: Path) -> Path:
    """docs/benchmarks.json beside docs/benchmarks.md; beside another --out, ``<out>.figures.json``
    (``--json /tmp/i.json --out /tmp/i.md`` is the documented way to keep an invocation's raw figures)."""
    if out.resolve() == (PROJECT / "docs" / "benchmarks.md").resolve():
        return out.with_suffix(".json")
    return out.with_suffix(".figures.json")


def write_figures(path: Path, results: dict[str, Any], command: str) -> None:
    path.write_text(
        json.dumps(figures_document(results, command), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def commit() -> str | None:
    """The measured code's commit (``git describe --always --dirty``), if the project is a git checkout."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=PROJECT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip() or None


# -- the document --------------------------------------------------------------------------------


def machine() -> str:
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln),
        platform.processor(),
    )
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1]) / 1024**2
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} × {cpu}, {memory:.0f} GiB RAM, {system}, Python {platform.python_version()}"


def _s(stats: dict[str, float]) -> str:
    return f"{stats['median']:.2f} s ({stats['min']:.2f}–{stats['max']:.2f})"


def _median(runs: list[dict], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in runs)


def markdown(results: dict[str, Any], command: str) -> str:
    """The results block; ``results["runs"]`` (from ``combine``) lists several invocations."""
    runs = results.get("runs") or [{**results, "command": command}]
    lines = [BEGIN]
    for run in runs:
        lines += [
            f"Run of {run['finished']} UTC on {results['machine']}; PostgreSQL {results['postgres']}.",
            f"Load average (1 min) {run.get('load_at_start', 0):.1f} at the start, "
            f"{run.get('load_at_end', 0):.1f} at the end, on {os.cpu_count()} cores. Command:",
            "",
            "```bash",
            run["command"],
            "```",
            "",
        ]
    lines += [
        "The machine is shared, so absolute times are noisy; the ratios compare runs made side by",
        f"side, one after another within each repeat. Median of {results['repeats']} repeat(s) (min–max).",
        "",
    ]
    if results.get("ingestion"):
        lines += [
            "### Ingestion (extract → Great Expectations → warehouse)",
            "",
            "| rows | case | time | rows/s | peak RSS | vs COPY floor | vs naive |",
            "|---:|---|---:|---:|---:|---:|---:|",
        ]
        for rows, cases in results["ingestion"].items():
            floor, naive = _median(cases["copy_floor"]), _median(cases["naive"])
            for case, runs in cases.items():
                seconds = _median(runs)
                lines.append(
                    f"| {int(rows):,} | {case} | {_s(summary([r['seconds'] for r in runs]))} | "
                    f"{int(rows) / seconds:,.0f} | {_median(runs, 'peak_rss_mib'):,.0f} MiB | "
                    f"{floor / seconds:.0%} | {naive / seconds:.2f}× |"
                )
        lines.append("")
    if results.get("chunked"):
        lines += [
            "### Ingestion of a chunked export (Traffy Fondue, 50,000 rows per batch)",
            "",
            "| rows | batches | time | rows/s | peak RSS |",
            "|---:|---:|---:|---:|---:|",
        ]
        for rows, runs in results["chunked"].items():
            lines.append(
                f"| {int(rows):,} | {runs[0]['batches']} | {_s(summary([r['seconds'] for r in runs]))} | "
                f"{int(rows) / _median(runs):,.0f} | {_median(runs, 'peak_rss_mib'):,.0f} MiB |"
            )
        lines.append("")
    if results.get("warehouse"):
        lines += [
            "### Daily increment and quarterly computation",
            "",
            "| matters | fill | daily increment (3,000 new + 3,000 resolved) | quarterly | quarterly, naive pandas "
            "| naive / pipeline | naive peak RSS |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for matters, cases in results["warehouse"].items():
            q, n = _median(cases["quarterly"]), _median(cases["quarterly_naive"])
            lines.append(
                f"| {int(matters):,} | {cases['fill_seconds']:.0f} s | "
                f"{_s(summary([r['seconds'] for r in cases['daily_increment']]))} | "
                f"{_s(summary([r['seconds'] for r in cases['quarterly']]))} | "
                f"{_s(summary([r['seconds'] for r in cases['quarterly_naive']]))} | {n / q:.1f}× | "
                f"{_median(cases['quarterly_naive'], 'peak_rss_mib'):,.0f} MiB |"
            )
        sizes = sorted(results["warehouse"], key=int)
        small, large = results["warehouse"][sizes[0]], results["warehouse"][sizes[-1]]
        # the quarterly target compares the largest warehouse with the next size down
        below = results["warehouse"][sizes[-2]] if len(sizes) > 1 else small
        lines += [
            "",
            f"Daily increment at {int(sizes[-1]):,} matters / at {int(sizes[0]):,}: "
            f"{_median(large['daily_increment']) / _median(small['daily_increment']):.2f}×; quarterly at "
            f"{int(sizes[-1]):,} / at {int(sizes[max(len(sizes) - 2, 0)]):,}: "
            f"{_median(large['quarterly']) / _median(below['quarterly']):.1f}× for "
            f"{int(sizes[-1]) / int(sizes[max(len(sizes) - 2, 0)]):.0f}× the matters. The naive path agrees with "
            "the pipeline on the totals (checked every run).",
            "",
            f"EXPLAIN ANALYZE of the complaint upsert of one day (3,000 changed + 3,000 new rows staged) "
            f"at {int(sizes[-1]):,} matters:",
            "",
            "```",
            large["explain"],
            "```",
            "",
        ]
    report = results.get("report")
    if report:
        lines += [
            "### Report rendering",
            "",
            f"PDF + XLSX + HTML of one quarter, from a warehouse of {REPORT_MATTERS:,} matters: "
            f"{_s(summary([r['seconds'] for r in report]))}, "
            f"{report[0]['bytes'] / 1024:,.0f} KiB in {report[0]['files']} files, "
            f"peak RSS {_median(report, 'peak_rss_mib'):,.0f} MiB.",
            "",
        ]
    if results.get("dag_parse"):
        parse = dict(results["dag_parse"])
        baseline = parse.pop(MINIMAL_DAG, None)
        lines += [
            "### DAG parse cost (import beyond `import airflow.sdk`)",
            "",
            "Each file in a fresh interpreter, in turn with a minimal DAG (one `@task`, no project code):",
            "the fourth column is what the project's file costs beyond Airflow's own lazily imported share;",
            "CPU time, less sensitive to a busy machine than wall time, in the last two.",
            "",
            "| DAG file | median | range | beyond the minimal DAG | CPU median | CPU beyond the minimal DAG |",
            "|---|---:|---:|---:|---:|---:|",
        ]

        def cpu(stats: dict[str, float]) -> str:
            return f"{stats['cpu_median']:.1f} ms" if "cpu_median" in stats else "–"

        for dag, stats in parse.items():
            beyond = f"{stats['median'] - baseline['median']:.1f} ms" if baseline else "–"
            cpu_beyond = "–"
            if baseline and "cpu_median" in stats and "cpu_median" in baseline:
                cpu_beyond = f"{stats['cpu_median'] - baseline['cpu_median']:.1f} ms"
            lines.append(
                f"| `{dag}` | {stats['median']:.1f} ms | {stats['min']:.1f}–{stats['max']:.1f} ms | {beyond} | "
                f"{cpu(stats)} | {cpu_beyond} |"
            )
        if baseline:
            lines.append(
                f"| {MINIMAL_DAG} | {baseline['median']:.1f} ms | {baseline['min']:.1f}–{baseline['max']:.1f} ms | | "
                f"{cpu(baseline)} | |"
            )
        lines.append("")
    lines += ratios_markdown(ratios(results))
    lines.append(END)
    return "\n".join(lines)


def combine(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One results dict from several invocations' ``--json`` files (run one after another or on
    separate sizes): the size tables merge, each invocation keeps its own command and load."""
    results: dict[str, Any] = {"ingestion": {}, "chunked": {}, "warehouse": {}, "runs": []}
    for part in parts:
        for key in ("ingestion", "chunked", "warehouse"):
            results[key].update(part.get(key) or {})
        for key in ("report", "dag_parse", "machine", "postgres"):
            if part.get(key):
                results[key] = part[key]
        results["repeats"] = min(results.get("repeats", part["repeats"]), part["repeats"])
        results["runs"].append(
            {k: part.get(k) for k in ("finished", "load_at_start", "load_at_end", "command", "commit")}
        )
    return results


def write_doc(path: Path, block: str) -> None:
    """Replace the generated block of the document (appended when it has none)."""
    current = path.read_text(encoding="utf-8") if path.exists() else "# Measurements\n"
    if BEGIN in current and END in current:
        current = current[: current.index(BEGIN)] + block + current[current.index(END) + len(END) :]
    else:
        current = current.rstrip("\n") + "\n\n## `make bench`\n\n" + block + "\n"
    path.write_text(current, encoding="utf-8")


def _sizes(value: str) -> list[int]:
    return [int(v.replace("_", "")) for v in value.split(",") if v]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--ingest-sizes", type=_sizes, default=[100_000, 1_000_000], help="rows, comma-separated")
    parser.add_argument(
        "--warehouse-sizes", type=_sizes, default=[100_000, 1_000_000, 10_000_000], help="matters, comma-separated"
    )
    parser.add_argument(
        "--chunked-sizes", type=_sizes, default=[100_000, 1_000_000], help="rows of the chunked Traffy Fondue export"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", type=Path, default=None, help="also write pyinstrument profiles to this folder")
    parser.add_argument("--dag-repeats", type=int, default=5)
    parser.add_argument("--no-report", dest="report", action="store_false", help="skip the report rendering")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="scratch database (schemas are created and dropped)")
    parser.add_argument("--out", type=Path, default=PROJECT / "docs" / "benchmarks.md")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    parser.add_argument(
        "--figures",
        type=Path,
        default=None,
        help="where the ratios against the targets go as JSON (default: docs/benchmarks.json beside the "
        "default --out, else <out>.figures.json, so it never replaces a --json file)",
    )
    parser.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        default=None,
        help="measure nothing: write the document from these --json files of earlier invocations",
    )
    args = parser.parse_args(argv)
    figures = args.figures or figures_path(args.out)
    if args.combine:
        results = combine([json.loads(path.read_text(encoding="utf-8")) for path in args.combine])
        write_doc(args.out, markdown(results, ""))
        write_figures(figures, results, "")
        print(f"wrote {args.out} and {figures} from {len(args.combine)} runs")
        return 0

    results: dict[str, Any] = {
        "machine": machine(),
        "load_at_start": os.getloadavg()[0],
        "commit": commit(),
        "repeats": args.repeats,
        "ingestion": {},
        "chunked": {},
        "warehouse": {},
    }
    with create_engine(args.pg_url).connect() as conn:
        results["postgres"] = conn.execute(text("SHOW server_version")).scalar_one()
    with tempfile.TemporaryDirectory(prefix="complaints-bench-") as tmp:
        for rows in args.ingest_sizes:
            results["ingestion"][str(rows)] = bench_ingestion(args.pg_url, rows, args.repeats, Path(tmp))
        for rows in args.chunked_sizes:
            results["chunked"][str(rows)] = bench_chunked(args.pg_url, rows, args.repeats, Path(tmp))
        for matters in args.warehouse_sizes:
            results["warehouse"][str(matters)] = bench_warehouse(args.pg_url, matters, args.repeats, Path(tmp))
        if args.report:
            results["report"] = bench_report(args.pg_url, args.repeats, Path(tmp))
        if args.profile:
            profile_cases(
                args.pg_url,
                min(args.ingest_sizes or [10_000]),
                min(args.warehouse_sizes or [10_000]),
                args.profile,
                Path(tmp),
            )
    for cases in results["warehouse"].values():
        for pipeline, naive in zip(cases["quarterly"], cases["quarterly_naive"], strict=True):
            if (pipeline["received"], pipeline["resolved"]) != (naive["received"], naive["resolved"]):
                raise AssertionError(f"naive and pipeline quarterly totals differ: {pipeline} vs {naive}")
    if args.dag_repeats:
        results["dag_parse"] = bench_dag_parse(args.dag_repeats)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    results["load_at_end"] = os.getloadavg()[0]
    # the arguments as given (sizes as the parsed lists, so an empty list reads "--x-sizes=")
    given = list(sys.argv[1:] if argv is None else argv)
    command = "python -m devtools.bench " + " ".join(shlex.quote(arg) for arg in given)
    results["command"] = command
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    write_doc(args.out, markdown(results, command))
    write_figures(figures, results, command)
    print(f"wrote {args.out} and {figures}")
    return 0
