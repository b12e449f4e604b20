"""The indicator figures, computed by include/sql/indicator/ on both databases."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import Engine

from complaints.canonical import CanonicalComplaint, StatusEvent
from complaints.indicator.business_calendar import ensure_calendar
from complaints.indicator.compute import compute_indicator
from complaints.indicator.result import Figures, IndicatorResult
from complaints.indicator.rubric import Rubric, load_rubric
from complaints.warehouse import BatchLedger, ensure_schema, make_engine, write_batch
from conftest import bkk

GOOD_REPORT = "ฝ่ายรักษาความสะอาดฯ ได้จัดเก็บขยะเรียบร้อยแล้ว และกำชับให้เพิ่มรอบการจัดเก็บ"
_batches = count(1)

Matter = tuple[CanonicalComplaint, list[StatusEvent]]


def matter(
    source_id: str,
    received_at: datetime,
    *events: tuple[str, datetime],
    channel: str = "mis",
    district: str = "1004",
    category: str = "waste",
    unit: str | None = "cleansing_parks",
    report: str | None = GOOD_REPORT,
    acknowledged_at: datetime | None = None,
    history: bool = True,
) -> Matter:
    """A complaint and its status history: 'received' at ``received_at``, then ``events``."""
    timeline = [("received", received_at), *events]
    status, updated = max(timeline, key=lambda e: e[1])
    resolved = [t for s, t in timeline if s == "resolved"]
    acknowledged = [t for s, t in timeline if s == "acknowledged"]
    record: CanonicalComplaint = {
        "channel": channel,
        "source_id": source_id,
        "received_at": received_at,
        "district_code": district,
        "category_code": category,
        "description": "รายละเอียดที่มีข้อมูลส่วนบุคคล",
        "latitude": 13.72,
        "longitude": 100.51,
        "reporter_pseudonym": "pseudonym-of-the-reporter",
        "responsible_unit": unit,
        "status": status,
        "acknowledged_at": acknowledged_at or (acknowledged[0] if acknowledged else None),
        "resolved_at": resolved[-1] if status == "resolved" and resolved else None,
        "resolution_report": report,
        "source_updated_at": updated,
    }
    changes = [StatusEvent(channel, source_id, s, t) for s, t in timeline] if history else []
    return record, changes


def load(
    engine: Engine,
    *matters: Matter,
    channel: str = "mis",
    interval_end: datetime | None = None,
    outcome: str = "loaded",
) -> None:
    ledger = BatchLedger(
        batch_id=f"batch-{next(_batches)}",
        channel=channel,
        interval_start=bkk(2018, 10, 1),
        interval_end=interval_end or bkk(2019, 11, 1),
        source_part="test",
        rows_read=len(matters),
        rows_loaded=len(matters),
        rows_quarantined=0,
        checksum=None,
        outcome=outcome,
        message=None,
    )
    write_batch(engine, ledger, [m[0] for m in matters], [e for m in matters for e in m[1]], [])


def indicator_warehouse(url: str) -> Iterator[Engine]:
    """An empty warehouse with its schema and the calendar of FY 2562 and the months after it."""
    engine = make_engine(url)
    ensure_schema(engine)
    ensure_calendar(engine, date(2018, 10, 1), date(2019, 12, 31))
    yield engine
    engine.dispose()


@pytest.fixture
def wh(warehouse_url) -> Iterator[Engine]:
    yield from indicator_warehouse(warehouse_url)


def rubric_for(*channels: str, **quality_changes) -> Rubric:
    rubric = load_rubric(2562)
    quality = dataclasses.replace(rubric.quality, **quality_changes)
    return dataclasses.replace(rubric, channels=channels or rubric.channels, quality=quality)


def figures_of(result: IndicatorResult) -> tuple:
    t = result.totals
    return t.received, t.resolved, t.in_progress, t.pct_resolved, t.pct_in_progress


def channel_row(result: IndicatorResult, code: str) -> Figures:
    return next(r.figures for r in result.by_channel if r.code == code)


CUTOFF = date(2019, 3, 31)


def test_a_matter_closed_after_the_cut_off_counts_as_in_progress(wh):
    load(
        wh,
        matter("early", bkk(2019, 3, 1, 9), ("resolved", bkk(2019, 3, 5, 10))),
        matter("late", bkk(2019, 3, 20, 9), ("acknowledged", bkk(2019, 3, 20, 11)), ("resolved", bkk(2019, 7, 2, 10))),
    )
    result = compute_indicator(wh, CUTOFF)
    assert figures_of(result) == (2, 1, 1, Decimal("50.00"), Decimal("50.00"))
    assert [m.source_id for m in result.open_matters] == ["late"]
    assert result.open_matters[0].status == "acknowledged"
    assert figures_of(compute_indicator(wh, date(2019, 7, 2)))[:3] == (2, 2, 0)


def test_a_matter_resolved_then_reopened_before_the_cut_off_is_in_progress(wh):
    load(
        wh,
        matter("reopened", bkk(2019, 3, 1, 9), ("resolved", bkk(2019, 3, 5, 10)), ("reopened", bkk(2019, 3, 20, 8))),
        matter(
            "reopened-later", bkk(2019, 3, 1, 9), ("resolved", bkk(2019, 3, 5, 10)), ("reopened", bkk(2019, 4, 2, 8))
        ),
    )
    result = compute_indicator(wh, CUTOFF)
    assert figures_of(result)[:3] == (2, 1, 1)
    assert [(m.source_id, m.status) for m in result.open_matters] == [("reopened", "reopened")]


def test_a_resolution_at_23_59_bangkok_on_the_cut_off_day_counts_and_at_00_01_the_next_day_does_not(wh):
    load(
        wh,
        matter("in-time", bkk(2019, 3, 29, 9), ("resolved", bkk(2019, 3, 31, 23, 59, 59))),
        matter("too-late", bkk(2019, 3, 29, 9), ("resolved", bkk(2019, 4, 1, 0, 1))),
    )
    result = compute_indicator(wh, CUTOFF)
    assert figures_of(result)[:3] == (2, 1, 1)
    assert [m.source_id for m in result.open_matters] == ["too-late"]


def test_the_window_is_the_bangkok_received_date_from_1_october_to_the_cut_off(wh):
    load(
        wh,
        matter("previous-fy", bkk(2018, 9, 30, 23, 30)),
        matter("first-minute", bkk(2018, 10, 1, 0, 10)),  # 30 September in UTC
        matter("cut-off-evening", bkk(2019, 3, 31, 23, 30)),  # 31 March 16:30 UTC
        matter("next-day", bkk(2019, 4, 1, 0, 30)),
    )  # still 31 March in UTC
    result = compute_indicator(wh, CUTOFF)
    assert result.totals.received == 2
    assert {m.source_id for m in result.open_matters} == {"first-minute", "cut-off-evening"}


def test_two_status_changes_at_the_same_instant_are_settled_deterministically(wh):
    instant = bkk(2019, 3, 4, 10)
    load(
        wh,
        # Received and closed in the same second: resolved.
        matter("instant-fix", instant, ("resolved", instant)),
        # Closed and reopened in the same second: not resolved.
        matter("closed-and-reopened", bkk(2019, 3, 1, 9), ("resolved", instant), ("reopened", instant)),
        # Resolved and in progress in the same second: the resolved status wins.
        matter("resolved-and-working", bkk(2019, 3, 1, 9), ("in_progress", instant), ("resolved", instant)),
    )
    result = compute_indicator(wh, CUTOFF)
    assert figures_of(result)[:3] == (3, 2, 1)
    assert [(m.source_id, m.status) for m in result.open_matters] == [("closed-and-reopened", "reopened")]


def test_a_matter_without_any_status_history_counts_as_received_and_in_progress(wh):
    load(wh, matter("no-history", bkk(2019, 3, 1, 9), ("resolved", bkk(2019, 3, 2, 9)), history=False))
    result = compute_indicator(wh, CUTOFF)
    assert figures_of(result)[:3] == (1, 0, 1)
    assert result.open_matters[0].status == "received"


def test_percentages_are_rounded_half_up_to_two_decimals(wh):
    # 31 of 32 = 96.875 % and 1 of 32 = 3.125 %: half-up gives 96.88 and 3.13 (half-even would give 3.12).
    load(
        wh,
        *[matter(f"m{i:02d}", bkk(2019, 2, 1, 9), ("resolved", bkk(2019, 2, 4, 9))) for i in range(31)],
        matter("open", bkk(2019, 2, 1, 9)),
    )
    assert figures_of(compute_indicator(wh, CUTOFF)) == (32, 31, 1, Decimal("96.88"), Decimal("3.13"))


def test_the_published_rounding_of_914_of_915(wh):
    load(
        wh,
        *[matter(f"m{i:03d}", bkk(2019, 1, 7, 9), ("resolved", bkk(2019, 1, 8, 9))) for i in range(914)],
        matter("open", bkk(2019, 1, 7, 9)),
    )
    assert figures_of(compute_indicator(wh, CUTOFF)) == (915, 914, 1, Decimal("99.89"), Decimal("0.11"))


def test_nothing_received_gives_zero_figures_and_zero_percentages(wh):
    result = compute_indicator(wh, CUTOFF)
    assert figures_of(result) == (0, 0, 0, Decimal("0.00"), Decimal("0.00"))
    assert result.score.total == Decimal("0.00")
    assert len(result.monthly) == 6


def test_every_district_is_listed_with_zeros_included(wh):
    load(
        wh,
        matter("a", bkk(2019, 3, 1, 9), ("resolved", bkk(2019, 3, 2, 9)), district="1001"),
        matter("b", bkk(2019, 3, 1, 9), district="1001"),
        matter("c", bkk(2019, 3, 1, 9), district="1050"),
    )
    result = compute_indicator(wh, CUTOFF)
    assert len(result.by_district) == 50
    rows = {r.code: r for r in result.by_district}
    assert rows["1001"].name_th == "พระนคร"
    assert (rows["1001"].figures.received, rows["1001"].figures.resolved, rows["1001"].figures.pct_resolved) == (
        2,
        1,
        Decimal("50.00"),
    )
    assert rows["1050"].figures.in_progress == 1
    assert rows["1004"].figures == Figures(0, 0, 0, Decimal("0.00"), Decimal("0.00"))
    assert sum(r.figures.received for r in result.by_district) == result.totals.received


def test_the_rubric_channels_filter_the_totals_while_every_channel_is_shown(wh):
    load(wh, matter("m1", bkk(2019, 3, 1, 9), ("resolved", bkk(2019, 3, 2, 9))), matter("m2", bkk(2019, 3, 1, 9)))
    load(
        wh,
        matter("l1", bkk(2019, 3, 1, 9), ("resolved", bkk(2019, 3, 2, 9)), channel="line"),
        matter("l2", bkk(2019, 3, 1, 9), ("resolved", bkk(2019, 3, 2, 9)), channel="line"),
        channel="line",
    )

    mis_only = compute_indicator(wh, CUTOFF)  # FY2562 rubric: MIS only, as the seed
    assert mis_only.channels == ["mis"]
    assert figures_of(mis_only)[:3] == (2, 1, 1)
    assert [r.code for r in mis_only.by_channel] == ["facebook", "hotline_1555", "line", "mis", "traffy_fondue"]
    assert channel_row(mis_only, "line").received == 2
    assert channel_row(mis_only, "facebook") == Figures(0, 0, 0, Decimal("0.00"), Decimal("0.00"))
    assert sum(r.figures.received for r in mis_only.by_district) == 2  # breakdowns follow the rubric too

    both = compute_indicator(wh, CUTOFF, rubric_for("mis", "line"))
    assert both.channels == ["mis", "line"]
    assert figures_of(both) == (4, 3, 1, Decimal("75.00"), Decimal("25.00"))
    assert sum(r.figures.received for r in both.by_category) == 4


def test_units_and_categories_are_broken_down_including_matters_without_a_unit(wh):
    load(
        wh,
        matter("a", bkk(2019, 3, 1, 9), ("resolved", bkk(2019, 3, 2, 9))),
        matter("b", bkk(2019, 3, 1, 9), category="roads", unit="public_works"),
        matter("c", bkk(2019, 3, 1, 9), category="roads", unit=None),
    )
    result = compute_indicator(wh, CUTOFF)
    units = {r.code: r for r in result.by_unit}
    assert units["cleansing_parks"].figures.resolved == 1
    assert units["public_works"].figures.in_progress == 1
    assert units[""].name_th == "ไม่ระบุหน่วยงาน"
    assert units[""].figures.received == 1
    assert result.by_unit[-1].code == ""
    categories = {r.code: r.figures for r in result.by_category}
    assert (categories["roads"].received, categories["waste"].received, categories["noise"].received) == (2, 1, 0)


def test_monthly_rows_are_cumulative_as_of_each_month_end(wh):
    load(
        wh,
        matter("oct", bkk(2018, 10, 15, 9), ("resolved", bkk(2018, 11, 2, 9))),
        matter("nov-closed-in-feb", bkk(2018, 11, 20, 9), ("resolved", bkk(2019, 2, 1, 9))),
        # Resolved in January, reopened in February, resolved again in March: first resolved in January.
        matter(
            "dec",
            bkk(2018, 12, 3, 9),
            ("resolved", bkk(2019, 1, 10, 9)),
            ("reopened", bkk(2019, 2, 5, 9)),
            ("resolved", bkk(2019, 3, 1, 9)),
        ),
        # Resolved at 23:30 Bangkok on 31 January (16:30 UTC): a January resolution.
        matter("jan", bkk(2019, 1, 31, 8), ("resolved", bkk(2019, 1, 31, 23, 30))),
    )
    result = compute_indicator(wh, date(2019, 3, 20))
    months = [
        (m.month, m.received, m.resolved, m.cumulative_received, m.cumulative_resolved, m.cumulative_pct_resolved)
        for m in result.monthly
    ]
    assert months == [
        (date(2018, 10, 1), 1, 0, 1, 0, Decimal("0.00")),
        (date(2018, 11, 1), 1, 1, 2, 1, Decimal("50.00")),
        (date(2018, 12, 1), 1, 0, 3, 1, Decimal("33.33")),
        (date(2019, 1, 1), 1, 2, 4, 3, Decimal("75.00")),
        (date(2019, 2, 1), 0, 1, 4, 3, Decimal("75.00")),  # "dec" reopened, "nov" closed
        (date(2019, 3, 1), 0, 0, 4, 4, Decimal("100.00")),
    ]
    last = result.monthly[-1]
    assert (last.cumulative_received, last.cumulative_resolved) == (result.totals.received, result.totals.resolved)


def test_open_matters_carry_their_age_in_business_days_and_no_personal_data(wh):
    load(
        wh,
        matter("before-songkran", bkk(2019, 4, 12, 15), ("acknowledged", bkk(2019, 4, 17, 9)), unit=None),
        matter("on-cut-off-day", bkk(2019, 4, 17, 8), channel="line"),
        matter("done", bkk(2019, 4, 10, 9), ("resolved", bkk(2019, 4, 11, 9))),
        channel="mis",
    )
    result = compute_indicator(wh, date(2019, 4, 17))
    assert [(m.source_id, m.channel, m.age_business_days) for m in result.open_matters] == [
        ("before-songkran", "mis", 1),  # Fri 12 Apr, then Songkran 13-15 and the substitution day 16 Apr
        ("on-cut-off-day", "line", 0),
    ]
    first = result.open_matters[0]
    assert (first.district_name_th, first.category_name_th, first.status_name_th) == ("บางรัก", "ขยะ", "ตอบรับเรื่องแล้ว")
    assert first.unit_name_th is None
    fields = {f.name for f in dataclasses.fields(first)}
    assert not fields & {"reporter_pseudonym", "description", "latitude", "longitude", "resolution_report"}
    assert compute_indicator(wh, date(2019, 4, 22)).open_matters[0].age_business_days == 4


def test_freshness_flags_a_channel_whose_data_does_not_reach_the_end_of_the_cut_off_day(wh):
    load(wh, matter("m", bkk(2019, 3, 1, 9)), interval_end=bkk(2019, 4, 1))  # covers 31 March in full
    load(wh, matter("l", bkk(2019, 3, 1, 9), channel="line"), channel="line", interval_end=bkk(2019, 3, 31, 12))
    load(
        wh,
        matter("f", bkk(2019, 3, 1, 9), channel="facebook"),
        channel="facebook",
        interval_end=bkk(2019, 4, 2),
        outcome="rejected",
    )
    fresh = {f.channel: f for f in compute_indicator(wh, CUTOFF).freshness}
    assert (fresh["mis"].stale, fresh["mis"].covered_until) == (False, date(2019, 3, 31))
    assert fresh["mis"].note_th == "ข้อมูลล่าสุดถึงวันที่ 31 มีนาคม 2562"
    assert fresh["mis"].last_successful_load is not None
    assert (fresh["line"].stale, fresh["line"].covered_until) == (True, date(2019, 3, 30))
    assert fresh["line"].note_th == "ข้อมูลล่าสุดถึงวันที่ 30 มีนาคม 2562 ยังไม่ครอบคลุมถึงวันที่ตัดยอด 31 มีนาคม 2562"
    assert (fresh["facebook"].stale, fresh["facebook"].covered_until, fresh["facebook"].note_th) == (
        True,
        None,
        "ไม่มีข้อมูล",
    )  # a rejected batch covers nothing
    assert fresh["hotline_1555"].last_successful_load is None
    assert compute_indicator(wh, date(2019, 4, 1)).freshness[-1].stale is True


def test_the_result_names_the_fiscal_year_quarter_and_rubric_version(wh):
    result = compute_indicator(wh, date(2019, 6, 24))
    assert (result.fiscal_year_be, result.fiscal_year_start, result.cutoff, result.quarter) == (
        2562,
        date(2018, 10, 1),
        date(2019, 6, 24),
        3,
    )
    assert result.rubric_version == "fy2562-v1"
    assert result.computed_at is not None
    assert [m.month for m in result.monthly][-1] == date(2019, 6, 1)
    assert result.as_dict()["totals"]["received"] == 0


def test_a_computation_that_failed_midway_leaves_nothing_that_breaks_the_next(wh, monkeypatch):
    import complaints.indicator.compute as compute

    load(wh, matter("early", bkk(2019, 3, 1, 9), ("resolved", bkk(2019, 3, 5, 10))))
    expected = figures_of(compute_indicator(wh, CUTOFF))
    real_run_query = compute.run_query

    def failing(conn, name, params):
        if name == "monthly":  # after the status tables were made
            raise RuntimeError("interrupted")
        return real_run_query(conn, name, params)

    monkeypatch.setattr(compute, "run_query", failing)
    with pytest.raises(RuntimeError, match="interrupted"):
        compute_indicator(wh, CUTOFF)
    monkeypatch.setattr(compute, "run_query", real_run_query)
    assert figures_of(compute_indicator(wh, CUTOFF)) == expected == (1, 1, 0, Decimal("100.00"), Decimal("0.00"))
