"""Compute the quarterly indicator for a cut-off date.

Every number comes from the SQL in ``include/sql/indicator/`` (one file per query, bound
parameters, channel and status lists as expanding parameters); this module converts the
cut-off to the bounds the SQL takes, shapes the rows into :mod:`complaints.indicator.result`
and applies the rubric's point mapping to the percentages the SQL returned. Each matter's
status as of the cut-off is ranked once per computation, into temporary tables on the
computation's one connection (``status_tables.sql``) that the queries read.

"As of the cut-off" means: the latest ``complaint_status_history`` row whose ``changed_at``
is before the first instant after the cut-off day in Bangkok (``cutoff + 1 day`` at 00:00
Asia/Bangkok, converted to naive UTC here and bound). Two rows of one matter at the same
instant are settled by: a reopening status first, then a resolved status, then the lowest
status code (see include/sql/indicator/figures.sql and docs/rubric.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, String, TextClause, bindparam, text

from complaints.fiscal import fiscal_quarter, fiscal_year_be, fiscal_year_end, fiscal_year_start
from complaints.indicator.business_calendar import (
    as_date,
    calendar_covers,
    calendar_exists,
    end_of_day_bound,
    ensure_calendar,
    indicator_sql,
)
from complaints.indicator.result import (
    BreakdownRow,
    ChannelFreshness,
    Figures,
    IndicatorResult,
    MonthRow,
    OpenMatter,
    PartScore,
    Score,
)
from complaints.indicator.rubric import (
    TWO_PLACES,
    Rubric,
    load_rubric,
    normalise_report_text,
    round2,
)
from complaints.thai_time import BANGKOK, aware_utc, thai_date
from complaints.vocabulary import COVERING_OUTCOMES
from complaints.warehouse import statements

# Lists of codes or phrases, bound as lists: SQLAlchemy expands each into "IN (?, ?, ...)".
EXPANDING_PARAMETERS = (
    "channels",
    "reopen_statuses",
    "response_statuses",
    "boilerplate_reports",
    "covering_outcomes",
)
# ingest_batch outcomes after which the batch's interval counts as covered.
NO_UNIT_CODE = ""  # by_unit row of the matters without a responsible unit
NO_UNIT_NAME_TH = "ไม่ระบุหน่วยงาน"
NO_UNIT_NAME_EN = "No responsible unit"


def _statement(sql: str) -> TextClause:
    """``sql`` as a statement whose list parameters are expanded."""
    # Typed as text so that an empty list still compares with a text column on PostgreSQL.
    expanding = [bindparam(p, expanding=True, type_=String) for p in EXPANDING_PARAMETERS if re.search(rf":{p}\b", sql)]
    return text(sql).bindparams(*expanding)


def run_query(conn: Connection, name: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows of ``include/sql/indicator/<name>.sql`` as dicts; list parameters are expanded."""
    return [dict(row) for row in conn.execute(_statement(indicator_sql(name)), dict(params)).mappings()]


def run_script(conn: Connection, name: str, params: Mapping[str, Any]) -> None:
    """Every statement of ``include/sql/indicator/<name>.sql``, each given the parameters it names."""
    for sql in statements(indicator_sql(name)):
        named = {k: v for k, v in params.items() if re.search(rf":{k}\b", sql)}
        conn.execute(_statement(sql), named)


def pct_from_x100(value: Any) -> Decimal:
    """The SQL returns percentages as integer hundredths (9989); this is Decimal('99.89')."""
    return (Decimal(int(value)) / 100).quantize(TWO_PLACES)


def _figures(row: Mapping[str, Any]) -> Figures:
    return Figures(
        received=int(row["received"]),
        resolved=int(row["resolved"]),
        in_progress=int(row["in_progress"]),
        pct_resolved=pct_from_x100(row["pct_resolved_x100"]),
        pct_in_progress=pct_from_x100(row["pct_in_progress_x100"]),
    )


def _breakdown(row: Mapping[str, Any]) -> BreakdownRow:
    if row["code"] is None:
        return BreakdownRow(NO_UNIT_CODE, NO_UNIT_NAME_TH, NO_UNIT_NAME_EN, _figures(row))
    return BreakdownRow(str(row["code"]), row["name_th"], row["name_en"], _figures(row))


def _month(row: Mapping[str, Any]) -> MonthRow:
    return MonthRow(
        month=as_date(row["month_start"]),
        received=int(row["received"]),
        resolved=int(row["resolved"]),
        cumulative_received=int(row["cumulative_received"]),
        cumulative_resolved=int(row["cumulative_resolved"]),
        cumulative_pct_resolved=pct_from_x100(row["cumulative_pct_resolved_x100"]),
    )


def _open_matter(row: Mapping[str, Any]) -> OpenMatter:
    return OpenMatter(
        channel=row["channel"],
        source_id=row["source_id"],
        received_date=as_date(row["received_date"]),
        district_code=row["district_code"],
        district_name_th=row["district_name_th"],
        category_code=row["category_code"],
        category_name_th=row["category_name_th"],
        responsible_unit=row["responsible_unit"],
        unit_name_th=row["unit_name_th"],
        status=row["status"],
        status_name_th=row["status_name_th"],
        age_business_days=int(row["age_business_days"]),
    )


def _freshness(row: Mapping[str, Any], cutoff: date) -> ChannelFreshness:
    covered_end = aware_utc(row["covered_until_utc"])
    finished = aware_utc(row["last_finished_at"])
    stale = bool(int(row["stale"]))
    if covered_end is None:
        covered_until, note = None, "ไม่มีข้อมูล"
    else:
        # The last Bangkok day the loaded intervals cover in full.
        covered_until = covered_end.astimezone(BANGKOK).date() - timedelta(days=1)
        note = f"ข้อมูลล่าสุดถึงวันที่ {thai_date(covered_until)}"
        if stale:
            note += f" ยังไม่ครอบคลุมถึงวันที่ตัดยอด {thai_date(cutoff)}"
    return ChannelFreshness(
        channel=row["channel"],
        name_th=row["name_th"],
        last_successful_load=finished.astimezone(BANGKOK) if finished else None,
        covered_until=covered_until,
        stale=stale,
        note_th=note,
    )


def _n(value: Any) -> str:
    return f"{int(value):,}"


def _points_text(value: Decimal) -> str:
    return format(round2(value), "f")


def response_part_score(rubric: Rubric, row: Mapping[str, Any]) -> PartScore:
    part = rubric.response
    pct = pct_from_x100(row["pct_on_time_x100"])
    points = part.mapping.points(pct, part.max_points)
    explanation = (
        f"ตอบรับเรื่องภายใน {part.within_business_days} วันทำการ นับจากวันทำการถัดจากวันที่ได้รับแจ้ง "
        f"{_n(row['on_time'])} เรื่อง จากเรื่องที่ครบกำหนดตอบรับแล้ว {_n(row['assessed'])} เรื่อง "
        f"คิดเป็นร้อยละ {pct} (ตอบรับล่าช้า {_n(row['late'])} เรื่อง ยังไม่ตอบรับ {_n(row['overdue'])} เรื่อง "
        f"ไม่นับเรื่องที่ยังไม่ครบกำหนดตอบรับ {_n(row['not_yet_due'])} เรื่อง) "
        f"{part.mapping.describe_th()} ได้ {_points_text(points)} คะแนน จาก {_points_text(part.max_points)} คะแนน"
    )
    return PartScore(part.name_th, part.name_en, part.max_points, pct, points, explanation)


def quality_part_score(rubric: Rubric, row: Mapping[str, Any], cutoff: date) -> PartScore:
    part = rubric.quality
    pct = pct_from_x100(row["pct_passed_x100"])
    points = part.mapping.points(pct, part.max_points)
    failures = [
        f"ยังไม่แล้วเสร็จ {_n(int(row['received']) - int(row['resolved']))} เรื่อง",
        f"ไม่มีรายงานผลการดำเนินการ {_n(row['report_missing'])} เรื่อง",
        f"รายงานผลเป็นข้อความสำเร็จรูปที่ไม่ได้ชี้แจงผู้ร้อง {_n(row['report_boilerplate'])} เรื่อง",
        f"รายงานผลสั้นกว่า {part.min_report_chars} ตัวอักษร {_n(row['report_too_short'])} เรื่อง",
    ]
    if part.reopened_fails:
        failures.append(f"ถูกเปิดเรื่องใหม่ก่อนวันตัดยอด {_n(row['reopened'])} เรื่อง")
    if part.reopen_count_fails and int(row["reopen_counted"]):  # only sources that count reopenings
        failures.append(f"ระบบต้นทางบันทึกว่าเคยเปิดเรื่องใหม่ {_n(row['reopen_counted'])} เรื่อง")
    explanation = (
        f"ดำเนินการแก้ไขเรียบร้อยแล้ว ณ วันที่ {thai_date(cutoff)} และบันทึกรายงานผลที่สามารถตอบชี้แจงผู้ร้องได้ "
        f"{_n(row['passed'])} เรื่อง จากเรื่องที่ได้รับแจ้ง {_n(row['received'])} เรื่อง คิดเป็นร้อยละ {pct} "
        f"({' '.join(failures)}) "
        f"{part.mapping.describe_th()} ได้ {_points_text(points)} คะแนน จาก {_points_text(part.max_points)} คะแนน"
    )
    return PartScore(part.name_th, part.name_en, part.max_points, pct, points, explanation)


def score(rubric: Rubric, parts: list[PartScore]) -> Score:
    """Total = sum of the parts' points (each already rounded to 2 decimals), so the parts add up."""
    total = round2(sum((p.points for p in parts), Decimal(0)))
    return Score(parts=parts, total=total, target=rubric.target, met=total >= rubric.target)


def ensure_calendar_for_fiscal_year(engine: Engine, fiscal_year: int, writer: Engine | None = None) -> None:
    """Make sure dim_calendar holds the whole fiscal year (the schema step normally did it).

    Only reads through ``engine`` (which may be the read-only reporting role); a missing or
    short calendar is written through ``writer`` (default: ``engine``)."""
    first, last = fiscal_year_start(fiscal_year), fiscal_year_end(fiscal_year)
    if not calendar_exists(engine) or not calendar_covers(engine, first, last):
        ensure_calendar(writer or engine, first, last)


def compute_indicator(
    engine: Engine, cutoff: date, rubric: Rubric | None = None, *, writer: Engine | None = None
) -> IndicatorResult:
    """The indicator for the fiscal year containing ``cutoff``, cumulative from 1 October to
    ``cutoff`` (inclusive, Bangkok calendar date), scored by ``rubric`` (default: the
    rubric version of that fiscal year).

    Every query runs through ``engine``, which may log in as the read-only reporting role;
    ``writer`` (default ``engine``) only completes a calendar the schema step did not."""
    if isinstance(cutoff, datetime):
        raise TypeError("cutoff is a Bangkok calendar date, not a datetime")
    fiscal_year = fiscal_year_be(cutoff)
    rubric = rubric or load_rubric(fiscal_year)
    ensure_calendar_for_fiscal_year(engine, fiscal_year, writer)
    fy_start = fiscal_year_start(fiscal_year)
    base = {
        "fy_start": fy_start,
        "cutoff": cutoff,
        "asof_before": end_of_day_bound(cutoff),
        "channels": list(rubric.channels),
        "reopen_statuses": list(rubric.reopen_statuses),
    }
    response_params = {
        **base,
        "response_statuses": list(rubric.response.response_statuses),
        "within_business_days": rubric.response.within_business_days,
    }
    quality_params = {
        **base,
        "boilerplate_reports": sorted({normalise_report_text(b) for b in rubric.quality.boilerplate_reports}),
        "min_report_chars": rubric.quality.min_report_chars,
        "reopened_fails": 1 if rubric.quality.reopened_fails else 0,
        "reopen_count_fails": 1 if rubric.quality.reopen_count_fails else 0,
        # The control characters the check ignores (REPORT_IGNORED_CHARS besides ' ' and '.'),
        # bound rather than spelled with a dialect's CHR()/CHAR().
        "lf": "\n",
        "cr": "\r",
        "tab": "\t",
    }

    connection = engine.connect()
    postgresql = engine.dialect.name == "postgresql"
    if postgresql:
        # One snapshot for every query, so a load committing meanwhile cannot make them disagree.
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
    with connection as conn, conn.begin():
        if postgresql:
            # The reporting role's transactions are read-only by default, which refuses even
            # CREATE TEMPORARY TABLE; its grants still refuse any write to the warehouse.
            conn.execute(text(indicator_sql("transaction_read_write")))
        # The status as of the cut-off, computed once into temporary tables the queries read.
        run_script(conn, "status_tables", response_params)
        figures = run_query(conn, "figures", base)
        monthly = run_query(conn, "monthly", base)
        open_matters = run_query(conn, "open_matters", base)
        [response] = run_query(conn, "response_on_time", response_params)
        [quality] = run_query(conn, "report_quality", quality_params)
        freshness = run_query(conn, "freshness", {**base, "covering_outcomes": list(COVERING_OUTCOMES)})
        run_script(conn, "status_tables_drop", {})

    by_dimension: dict[str, list[dict[str, Any]]] = {}
    for row in figures:
        by_dimension.setdefault(row["dimension"], []).append(row)
    [total] = by_dimension["total"]
    parts = [response_part_score(rubric, response), quality_part_score(rubric, quality, cutoff)]
    return IndicatorResult(
        fiscal_year_be=fiscal_year,
        fiscal_year_start=fy_start,
        cutoff=cutoff,
        quarter=fiscal_quarter(cutoff),
        rubric_version=rubric.version,
        channels=list(rubric.channels),
        totals=_figures(total),
        score=score(rubric, parts),
        by_channel=[_breakdown(r) for r in by_dimension.get("channel", [])],
        by_district=[_breakdown(r) for r in by_dimension.get("district", [])],
        by_unit=[_breakdown(r) for r in by_dimension.get("unit", [])],
        by_category=[_breakdown(r) for r in by_dimension.get("category", [])],
        monthly=[_month(r) for r in monthly],
        open_matters=[_open_matter(r) for r in open_matters],
        freshness=[_freshness(r, cutoff) for r in freshness],
        computed_at=datetime.now(UTC),
    )
