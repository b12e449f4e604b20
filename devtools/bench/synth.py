"""Synthetic complaints at benchmark scale, made of the demo generator's world and vocabulary.

The demo generator builds a few thousand fully modelled matters (timelines, Thai texts, places);
here a pool of them is cycled under fresh ids, which keeps a million rows to seconds of setup.
Warehouses of millions of matters are filled inside PostgreSQL (``INSERT ... SELECT`` over
``generate_series``) with the same codes and texts, so setup stays within minutes.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from complaints.adapters.mis import COMPLAINT_COLUMNS
from complaints.config import load_config
from complaints.paths import read_sql
from devtools.demo import generate as demo
from devtools.demo.mis_schema import create_mis_schema

POOL_SIZE = 4000
# The day the synthetic exports are dated: after every status change of fiscal year 2562.
EXPORT_DAY = date(2019, 10, 31)
HOTLINE_FILE = f"1555_{EXPORT_DAY:%Y%m%d}.csv"


def matter_pool(seed: int = demo.DEFAULT_SEED, size: int = POOL_SIZE) -> tuple[list[demo.Matter], demo._World]:
    """``size`` demo matters received over fiscal year 2562, each with its timeline."""
    rng = random.Random(seed)
    world = demo._World()
    weights = demo._district_weights(rng, world)
    days = demo._days(demo.FY_START, demo.FY_END)
    matters = []
    for _ in range(size):
        m = world.new_matter(rng, demo._received_time(rng, rng.choice(days), "office"), weights)
        world.simple_timeline(rng, m)
        matters.append(m)
    return matters, world


def hotline_rows(rows: int, seed: int = demo.DEFAULT_SEED) -> Iterator[list[str]]:
    """``rows`` 1555 export rows as of EXPORT_DAY, unique tickets, pool matters cycled."""
    pool, world = matter_pool(seed)
    template = []
    for i, m in enumerate(pool):
        h = demo._HotlineMatter(
            m,
            "",
            m.reporter_name,
            m.reporter_phone or "",
            world.district_label(random.Random(i), m.district, 0.5),
            world.categories[m.category].name_th,
            world.units[m.unit].name_th,
            i % 5 < 2,
        )
        template.append(demo._hotline_row(h, EXPORT_DAY, world))
    for n in range(rows):
        row = template[n % len(template)]
        yield [f"1555-B{n:09d}", *row[1:]]


def write_hotline_file(folder: Path, rows: int, seed: int = demo.DEFAULT_SEED) -> Path:
    """One 1555 daily export (UTF-8 with BOM, as most are) of ``rows`` rows in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / HOTLINE_FILE
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(demo.HOTLINE_HEADERS)
        writer.writerows(hotline_rows(rows, seed))
    return path


TRAFFY_FILE = f"traffy_fondue_{EXPORT_DAY:%Y%m%d}.csv"


def write_traffy_file(folder: Path, rows: int, seed: int = demo.DEFAULT_SEED) -> Path:
    """One Traffy Fondue open-data export of ``rows`` rows in ``folder`` (read in chunks by its adapter)."""
    pool, world = matter_pool(seed)
    rng = random.Random(seed)
    used: set[str] = set()
    template = [demo._traffy_row(demo._traffy_ticket(rng, world, m, used, "normal")) for m in pool]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TRAFFY_FILE
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(demo.TRAFFY_HEADERS)
        writer.writerows([f"2019-B{n:08d}", *template[n % len(template)][1:]] for n in range(rows))
    return path


def _copy(engine: Engine, table: str, columns: tuple[str, ...], rows: Iterator[list[Any]], every: int = 50_000) -> None:
    """Stream ``rows`` into ``table`` with COPY, ``every`` rows per round trip."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
        buf = io.StringIO()
        writer = csv.writer(buf)
        for n, row in enumerate(rows, start=1):
            writer.writerow(row)
            if n % every == 0:
                buf.seek(0)
                cursor.copy_expert(statement, buf)
                buf = io.StringIO()
                writer = csv.writer(buf)
        buf.seek(0)
        cursor.copy_expert(statement, buf)
        raw.commit()
    finally:
        raw.close()


def fill_mis(engine: Engine, complaints: int, seed: int = demo.DEFAULT_SEED) -> None:
    """An MIS source database (PostgreSQL) of ``complaints`` complaints with their action logs."""
    create_mis_schema(engine)
    pool, world = matter_pool(seed)

    def complaint_rows() -> Iterator[list[Any]]:
        for n in range(complaints):
            m = pool[n % len(pool)]
            last_at, last_code, _ = m.actions[-1]
            resolved = last_code in world.resolved_codes
            yield [
                f"MIS-B{n:09d}",
                m.received_at,
                world.district_name[m.district],
                world.categories[m.category].name_th,
                m.subject,
                m.description,
                m.reporter_name,
                m.reporter_phone,
                m.place.latitude,
                m.place.longitude,
                world.units[m.unit].name_th,
                world.status_name[last_code],
                m.report if resolved else None,
                last_at,
            ]

    def action_rows() -> Iterator[list[Any]]:
        action_id = 0
        for n in range(complaints):
            for at, code, note in pool[n % len(pool)].actions:
                action_id += 1
                yield [action_id, f"MIS-B{n:09d}", at, world.status_name[code], note]

    _copy(engine, "mis_complaint", COMPLAINT_COLUMNS, complaint_rows())
    _copy(engine, "mis_complaint_action", ("action_id", "complaint_no", "action_at", "status", "note"), action_rows())
    with engine.begin() as conn:
        conn.execute(text("ANALYZE mis_complaint"))
        conn.execute(text("ANALYZE mis_complaint_action"))


# -- a warehouse of N matters, generated inside PostgreSQL -------------------------------------


def fill_warehouse(engine: Engine, matters: int, seed: int = demo.DEFAULT_SEED) -> None:
    """``matters`` complaints received over fiscal year 2562 with 3 status changes each.

    Codes come from the configuration; descriptions and resolution reports from the demo pool.
    Channels, districts and categories are spread by the matter number, resolution times by a
    hash of it, so the figures are deterministic. The schema must exist (``ensure_schema``).
    """
    cfg = load_config()
    pool, _ = matter_pool(seed, 500)
    params = {
        "first": datetime(2018, 9, 30, 17, 0),  # 1 October 2018 00:00 Bangkok, naive UTC
        "n": matters,
        "channels": list(cfg.codes("channels")),
        "districts": list(cfg.codes("districts")),
        "categories": [c.code for c in cfg.categories],
        "units": [c.extra.get("default_unit") or cfg.units[0].code for c in cfg.categories],
        "texts": [m.description for m in pool],
        "reports": [m.report or "ดำเนินการแก้ไขเรียบร้อยแล้ว" for m in pool],
    }
    with engine.begin() as conn:  # the matters are generated in the server: include/sql/bench/
        if conn.execute(text("SELECT current_setting('is_superuser')")).scalar_one() == "on":
            # codes come from the config, so every foreign key holds by construction: skipping
            # the per-row checks (triggers) makes a 10 M fill several times faster
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(read_sql("bench/fill_complaint.sql")), params)
        conn.execute(text(read_sql("bench/fill_status_history.sql")), params)
        conn.execute(text("ANALYZE complaint"))
        conn.execute(text("ANALYZE complaint_status_history"))
