"""IndicatorResult fixtures for the report tests, built directly from the dataclasses.

The figures are the seed's fiscal-year 2562 Q4 report (cut-off 30 August 2019, MIS channel):
1,669 received, 1,637 resolved (98.08 %), 32 in progress (1.92 %), score 98. The breakdowns
are made up but consistent with those totals (districts, units and categories each add up to
them; the 32 open matters are the districts' in-progress counts). The other report test
modules import ``sample_result`` from here; the tests below keep the fixture honest.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from complaints.config import load_config
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
from complaints.thai_time import BANGKOK

RECEIVED, RESOLVED, IN_PROGRESS = 1669, 1637, 32
# Oct 2018 .. Aug 2019: received / resolved in each month. Cumulative to March: 915 / 914 (the
# seed's Q2); to the cut-off: 1,669 / 1,637.
MONTHLY = [
    (date(2018, 10, 1), 148, 140),
    (date(2018, 11, 1), 152, 150),
    (date(2018, 12, 1), 150, 152),
    (date(2019, 1, 1), 160, 155),
    (date(2019, 2, 1), 145, 150),
    (date(2019, 3, 1), 160, 167),
    (date(2019, 4, 1), 135, 130),
    (date(2019, 5, 1), 145, 140),
    (date(2019, 6, 1), 160, 150),
    (date(2019, 7, 1), 170, 165),
    (date(2019, 8, 1), 144, 138),
]


def pct(part: int, whole: int) -> Decimal:
    if whole == 0:
        return Decimal("0.00")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def figures(received: int, resolved: int) -> Figures:
    return Figures(received, resolved, received - resolved, pct(resolved, received), pct(received - resolved, received))


def split(total: int, weights: list[int]) -> list[int]:
    """Largest-remainder split of ``total`` in proportion to ``weights``."""
    raw = [Decimal(total) * w / sum(weights) for w in weights]
    out = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)[: total - sum(out)]:
        out[i] += 1
    return out


def _breakdown(entries, received: list[int], open_counts: list[int]) -> list[BreakdownRow]:
    return [
        BreakdownRow(e.code, e.name_th, e.name_en, figures(rec, rec - op))
        for e, rec, op in zip(entries, received, open_counts, strict=True)
    ]


def sample_result(**overrides) -> IndicatorResult:
    cfg = load_config()
    districts = cfg.districts
    d_received = split(RECEIVED, [20 + (i * 37) % 29 for i in range(len(districts))])
    # The 32 open matters: spread over the districts, never more than a district received.
    open_district = [(k * 7 + 3) % len(districts) for k in range(IN_PROGRESS)]
    d_open = [open_district.count(i) for i in range(len(districts))]

    categories = cfg.categories
    c_received = split(RECEIVED, [9, 6, 7, 10, 4, 5, 3, 3, 4, 3, 2, 2, 2, 2])
    c_open = split(IN_PROGRESS, [3, 2, 2, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    units = cfg.units
    # The district office's own sections receive the matters; outside agencies none here.
    idle = [0] * (len(units) - 6)
    u_received = split(RECEIVED, [30, 20, 14, 10, 8, 3, *idle])
    u_open = split(IN_PROGRESS, [12, 6, 5, 4, 3, 2, *idle])

    channels = cfg.channels
    by_channel = [
        BreakdownRow("mis", channels["mis"].name_th, channels["mis"].name_en, figures(RECEIVED, RESOLVED)),
        BreakdownRow(
            "hotline_1555", channels["hotline_1555"].name_th, channels["hotline_1555"].name_en, figures(420, 410)
        ),
        BreakdownRow("line", channels["line"].name_th, channels["line"].name_en, figures(230, 221)),
        BreakdownRow("facebook", channels["facebook"].name_th, channels["facebook"].name_en, figures(95, 90)),
    ]

    monthly, cum_rec, cum_res = [], 0, 0
    for month, rec, res in MONTHLY:
        cum_rec += rec
        cum_res += res
        monthly.append(MonthRow(month, rec, res, cum_rec, cum_res, pct(cum_res, cum_rec)))

    statuses = {s.code: s.name_th for s in cfg.statuses}
    open_matters = []
    for k, di in enumerate(open_district):
        cat = categories[k % 8]
        unit = next(u for u in units if u.code == cat.extra["default_unit"])
        received = date(2019, 8, 28) if k < 5 else date(2019, 3 + k % 6, 1 + (k * 5) % 27)
        open_matters.append(
            OpenMatter(
                channel="mis",
                source_id=f"MIS-62-{10000 + k * 37:05d}",
                received_date=received,
                district_code=districts[di].code,
                district_name_th=districts[di].name_th,
                category_code=cat.code,
                category_name_th=cat.name_th,
                responsible_unit=unit.code if k % 11 else None,
                unit_name_th=unit.name_th if k % 11 else None,
                status="in_progress" if k % 3 else "acknowledged",
                status_name_th=statuses["in_progress" if k % 3 else "acknowledged"],
                age_business_days=2 if k < 5 else 20 + (k * 13) % 90,
            )
        )

    result = IndicatorResult(
        fiscal_year_be=2562,
        fiscal_year_start=date(2018, 10, 1),
        cutoff=date(2019, 8, 30),
        quarter=4,
        rubric_version="fy2562-v1",
        channels=["mis"],
        totals=figures(RECEIVED, RESOLVED),
        score=Score(
            parts=[
                PartScore(
                    "ด้านปริมาณและการตอบสนองในการแก้ไขปัญหาที่ได้รับแจ้ง",
                    "quantity and responsiveness",
                    Decimal("20"),
                    Decimal("97.71"),
                    Decimal("19.54"),
                    "ตอบรับเรื่องภายใน 1 วันทำการ นับจากวันทำการถัดจากวันที่ได้รับแจ้ง 1,623 เรื่อง "
                    "จากเรื่องที่ครบกำหนดตอบรับแล้ว 1,661 เรื่อง คิดเป็นร้อยละ 97.71 (ตอบรับล่าช้า 36 เรื่อง "
                    "ยังไม่ตอบรับ 2 เรื่อง ไม่นับเรื่องที่ยังไม่ครบกำหนดตอบรับ 8 เรื่อง) "
                    "คะแนนตามสัดส่วน ได้ 19.54 คะแนน จาก 20.00 คะแนน",
                ),
                PartScore(
                    "ด้านคุณภาพการแก้ไขปัญหาและการรายงานผลในระบบเรื่องราวร้องทุกข์ของกรุงเทพมหานคร",
                    "quality of the fix and of the report",
                    Decimal("80"),
                    Decimal("98.08"),
                    Decimal("78.46"),
                    "ดำเนินการแก้ไขเรียบร้อยแล้ว ณ วันที่ 30 สิงหาคม 2562 และบันทึกรายงานผลที่สามารถตอบชี้แจง"
                    "ผู้ร้องได้ 1,637 เรื่อง จากเรื่องที่ได้รับแจ้ง 1,669 เรื่อง คิดเป็นร้อยละ 98.08 "
                    "(ยังไม่แล้วเสร็จ 32 เรื่อง ไม่มีรายงานผลการดำเนินการ 0 เรื่อง) "
                    "คะแนนตามสัดส่วน ได้ 78.46 คะแนน จาก 80.00 คะแนน",
                ),
            ],
            total=Decimal("98.00"),
            target=Decimal("90"),
            met=True,
        ),
        by_channel=by_channel,
        by_district=_breakdown(districts, d_received, d_open),
        by_unit=_breakdown(units, u_received, u_open),
        by_category=_breakdown(categories, c_received, c_open),
        monthly=monthly,
        open_matters=open_matters,
        freshness=[
            ChannelFreshness(
                code,
                c.name_th,
                datetime(2019, 8, 31, 6, 15, tzinfo=BANGKOK),
                date(2019, 8, 30),
                False,
                "ข้อมูลล่าสุดถึงวันที่ 30 สิงหาคม 2562",
            )
            for code, c in channels.items()
        ],
        computed_at=datetime(2019, 8, 31, 8, 0, tzinfo=BANGKOK),
    )
    return replace(result, **overrides)


def stale_freshness(result: IndicatorResult) -> list[ChannelFreshness]:
    """LINE three days behind the cut-off, Facebook never loaded."""
    out = []
    for f in result.freshness:
        if f.channel == "line":
            f = replace(f, covered_until=date(2019, 8, 27), stale=True, note_th="ข้อมูลล่าสุดถึงวันที่ 27 สิงหาคม 2562")
        elif f.channel == "facebook":
            f = replace(f, last_successful_load=None, covered_until=None, stale=True, note_th="ไม่มีข้อมูล")
        out.append(f)
    return out


# ------------------------------------------------------------------ the fixture is what it claims


def test_sample_result_adds_up_to_the_seed_figures():
    r = sample_result()
    assert (r.totals.received, r.totals.resolved, r.totals.in_progress) == (1669, 1637, 32)
    assert (r.totals.pct_resolved, r.totals.pct_in_progress) == (Decimal("98.08"), Decimal("1.92"))
    assert len(r.by_district) == 50
    for rows in (r.by_district, r.by_unit, r.by_category):
        assert sum(x.figures.received for x in rows) == 1669
        assert sum(x.figures.in_progress for x in rows) == 32
    assert all(x.figures.in_progress <= x.figures.received for x in r.by_district)
    assert len(r.open_matters) == 32
    assert (r.monthly[-1].cumulative_received, r.monthly[-1].cumulative_resolved) == (1669, 1637)
    assert (r.monthly[5].cumulative_received, r.monthly[5].cumulative_resolved) == (915, 914)
    assert sum(p.points for p in r.score.parts) == r.score.total
