"""The rubric's two parts measured in SQL and turned into points, on both databases."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from complaints.indicator.compute import compute_indicator, score
from complaints.indicator.result import PartScore
from complaints.indicator.rubric import PointMapping, load_rubric
from conftest import bkk
from test_indicator_compute import GOOD_REPORT, indicator_warehouse, load, matter, rubric_for

D = Decimal


@pytest.fixture
def wh(warehouse_url) -> Iterator[Engine]:
    yield from indicator_warehouse(warehouse_url)


def part1(result) -> PartScore:
    return result.score.parts[0]


def part2(result) -> PartScore:
    return result.score.parts[1]


def test_a_matter_received_on_the_friday_before_songkran_acknowledged_on_the_first_business_day_after_is_on_time(wh):
    # Fri 12 April 2019; Sat 13 - Mon 15 Songkran, Tue 16 its substitution day; Wed 17 is the deadline.
    load(
        wh,
        matter("on-time", bkk(2019, 4, 12, 15), ("acknowledged", bkk(2019, 4, 17, 16, 30))),
        matter("late", bkk(2019, 4, 12, 15), ("acknowledged", bkk(2019, 4, 18, 8, 30))),
        matter("over-the-holiday", bkk(2019, 4, 12, 15), ("acknowledged", bkk(2019, 4, 14, 10))),
    )
    result = compute_indicator(wh, date(2019, 4, 30))
    assert part1(result).basis_pct == D("66.67")
    assert part1(result).points == D("13.33")  # 20 × 66.67 / 100 = 13.334
    assert "ตอบรับล่าช้า 1 เรื่อง" in part1(result).explanation


def test_the_deadline_skips_a_substitution_day_and_government_holidays(wh):
    load(
        wh,
        # Fri 5 April; Mon 8 April is the Chakri Day substitution day: Tue 9 April is in time.
        matter("chakri", bkk(2019, 4, 5, 10), ("acknowledged", bkk(2019, 4, 9, 15))),
        # Wed 8 May; Thu 9 May is the Royal Ploughing Ceremony: Fri 10 May is in time.
        matter("ploughing", bkk(2019, 5, 8, 10), ("acknowledged", bkk(2019, 5, 10, 15))),
        # Received on a Saturday: the next business day (Monday) is the deadline.
        matter("saturday", bkk(2019, 3, 2, 10), ("in_progress", bkk(2019, 3, 4, 15))),
        # Received on a Monday, acknowledged on Wednesday: late.
        matter("monday", bkk(2019, 3, 4, 10), ("acknowledged", bkk(2019, 3, 6, 9))),
    )
    result = compute_indicator(wh, date(2019, 5, 31))
    assert part1(result).basis_pct == D("75.00")


def test_the_first_response_of_any_configured_status_or_the_acknowledged_time_counts(wh):
    load(
        wh,
        matter("fixed-at-once", bkk(2019, 3, 4, 10), ("resolved", bkk(2019, 3, 4, 15))),
        matter("ack-only-on-record", bkk(2019, 3, 4, 10), acknowledged_at=bkk(2019, 3, 5, 9)),
        matter("forwarded", bkk(2019, 3, 4, 10), ("forwarded", bkk(2019, 3, 5, 9))),
    )
    assert part1(compute_indicator(wh, date(2019, 3, 29))).basis_pct == D("100.00")
    only_ack = dataclasses.replace(
        load_rubric(2562), response=dataclasses.replace(load_rubric(2562).response, response_statuses=("acknowledged",))
    )
    assert part1(compute_indicator(wh, date(2019, 3, 29), only_ack)).basis_pct == D("33.33")


def test_a_matter_not_yet_due_is_left_out_and_a_response_after_the_cut_off_does_not_count(wh):
    load(
        wh,
        matter("due-tomorrow", bkk(2019, 3, 29, 10)),  # Friday; deadline Monday 1 April
        matter("answered-after-cut-off", bkk(2019, 3, 27, 10), ("acknowledged", bkk(2019, 4, 1, 9))),
        matter("on-time", bkk(2019, 3, 27, 10), ("acknowledged", bkk(2019, 3, 28, 9))),
    )
    part = part1(compute_indicator(wh, date(2019, 3, 31)))
    assert part.basis_pct == D("50.00")  # 1 on time of 2 due; the matter due on Monday is not assessed
    assert "ยังไม่ตอบรับ 1 เรื่อง" in part.explanation
    assert "ไม่นับเรื่องที่ยังไม่ครบกำหนดตอบรับ 1 เรื่อง" in part.explanation


def test_a_matter_with_no_resolution_text_fails_part_2(wh):
    resolved = ("resolved", bkk(2019, 3, 5, 10))
    load(
        wh,
        matter("good", bkk(2019, 3, 4, 9), resolved),
        matter("no-text", bkk(2019, 3, 4, 9), resolved, report=None),
        matter("blank", bkk(2019, 3, 4, 9), resolved, report="  \n "),
        matter("boilerplate", bkk(2019, 3, 4, 9), resolved, report="ดำเนินการ เรียบร้อยแล้ว."),
        matter("too-short", bkk(2019, 3, 4, 9), resolved, report="ซ่อมแล้ว"),
        matter("not-resolved", bkk(2019, 3, 4, 9), report=GOOD_REPORT),
    )
    result = compute_indicator(wh, date(2019, 3, 31))
    part = part2(result)
    assert part.basis_pct == D("16.67")  # 1 of 6
    assert part.points == D("13.34")  # 80 × 16.67 / 100 = 13.336
    for phrase in (
        "ยังไม่แล้วเสร็จ 1 เรื่อง",
        "ไม่มีรายงานผลการดำเนินการ 2 เรื่อง",
        "ข้อความสำเร็จรูปที่ไม่ได้ชี้แจงผู้ร้อง 1 เรื่อง",
        "สั้นกว่า 10 ตัวอักษร 1 เรื่อง",
    ):
        assert phrase in part.explanation
    lenient = rubric_for(min_report_chars=1, boilerplate_reports=())
    assert part2(compute_indicator(wh, date(2019, 3, 31), lenient)).basis_pct == D("50.00")


def test_a_reopened_matter_fails_part_2_unless_the_rubric_says_otherwise(wh):
    load(
        wh,
        matter(
            "reopened-and-fixed",
            bkk(2019, 3, 4, 9),
            ("resolved", bkk(2019, 3, 5, 10)),
            ("reopened", bkk(2019, 3, 6, 10)),
            ("resolved", bkk(2019, 3, 8, 10)),
        ),
        matter("fixed", bkk(2019, 3, 4, 9), ("resolved", bkk(2019, 3, 5, 10))),
        matter(
            "reopened-after-cut-off",
            bkk(2019, 3, 4, 9),
            ("resolved", bkk(2019, 3, 5, 10)),
            ("reopened", bkk(2019, 4, 6, 10)),
        ),
    )
    strict = compute_indicator(wh, date(2019, 3, 31))
    assert strict.totals.resolved == 3
    assert part2(strict).basis_pct == D("66.67")
    assert "ถูกเปิดเรื่องใหม่ก่อนวันตัดยอด 1 เรื่อง" in part2(strict).explanation
    lenient = compute_indicator(wh, date(2019, 3, 31), rubric_for(reopened_fails=False))
    assert part2(lenient).basis_pct == D("100.00")


def test_the_total_adds_the_parts_points_and_is_met_at_the_target(wh):
    load(
        wh,
        *[
            matter(
                f"m{i}", bkk(2019, 3, 4, 9), ("acknowledged", bkk(2019, 3, 4, 10)), ("resolved", bkk(2019, 3, 6, 10))
            )
            for i in range(9)
        ],
        matter("open", bkk(2019, 3, 4, 9), ("acknowledged", bkk(2019, 3, 4, 10))),
    )
    result = compute_indicator(wh, date(2019, 3, 31))
    assert [(p.basis_pct, p.points) for p in result.score.parts] == [
        (D("100.00"), D("20.00")),
        (D("90.00"), D("72.00")),
    ]
    assert (result.score.total, result.score.target, result.score.met) == (D("92.00"), D(90), True)
    banded = load_rubric(2562)
    banded = dataclasses.replace(
        banded,
        quality=dataclasses.replace(
            banded.quality, mapping=PointMapping("bands", ((D(80), D(60)), (D("90.01"), D(70)), (D(95), D(80))))
        ),
    )
    result = compute_indicator(wh, date(2019, 3, 31), banded)
    assert (part2(result).points, result.score.total, result.score.met) == (D("60.00"), D("80.00"), False)
    assert "คิดคะแนนเป็นขั้น" in part2(result).explanation


def test_the_total_is_the_sum_of_parts_already_rounded_to_two_decimals():
    rubric = load_rubric(2562)
    parts = [
        PartScore("1", "1", D(20), D("99.98"), D("20.00"), ""),
        PartScore("2", "2", D(80), D("97.66"), D("78.13"), ""),
    ]
    assert score(rubric, parts).total == D("98.13")
    assert score(rubric, parts[:1]).met is False


def test_a_matter_its_source_counts_as_reopened_fails_part_2_unless_the_rubric_says_otherwise(wh):
    fixed = ("resolved", bkk(2019, 3, 5, 10))
    reopened_by_count, _ = counted = matter("traffy-reopened", bkk(2019, 3, 4, 9), fixed, channel="traffy_fondue")
    reopened_by_count["reopen_count"] = 2
    never, _ = not_counted = matter("traffy-fixed", bkk(2019, 3, 4, 9), fixed, channel="traffy_fondue")
    never["reopen_count"] = 0
    no_count = matter("traffy-no-count", bkk(2019, 3, 4, 9), fixed, channel="traffy_fondue")  # NULL: no count
    load(wh, counted, not_counted, no_count, channel="traffy_fondue")
    traffy = rubric_for("traffy_fondue")
    strict = compute_indicator(wh, date(2019, 3, 31), traffy)
    assert (strict.totals.received, strict.totals.resolved) == (3, 3)
    assert part2(strict).basis_pct == D("66.67")
    assert "ระบบต้นทางบันทึกว่าเคยเปิดเรื่องใหม่ 1 เรื่อง" in part2(strict).explanation
    lenient = compute_indicator(wh, date(2019, 3, 31), rubric_for("traffy_fondue", reopen_count_fails=False))
    assert part2(lenient).basis_pct == D("100.00")
    assert "ระบบต้นทางบันทึก" not in part2(lenient).explanation
    # The MIS rubric of FY 2562 is not affected: MIS has no reopen counts.
    assert "ระบบต้นทางบันทึก" not in part2(compute_indicator(wh, date(2019, 3, 31))).explanation
