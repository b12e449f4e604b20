"""The KPI report workbook, read back with openpyxl: figures equal the result, numbers are numbers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from openpyxl import load_workbook

from complaints.report import render_report
from test_report_fixtures import sample_result, stale_freshness

SHEETS = ["สรุป", "รายเดือน", "ช่องทาง", "เขต", "หน่วยงาน", "ประเภทเรื่อง", "เรื่องค้างดำเนินการ", "ความเป็นปัจจุบันข้อมูล"]


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    r = sample_result()
    r = replace(r, freshness=stale_freshness(r))
    (path,) = render_report(r, tmp_path_factory.mktemp("xlsx"), formats=("xlsx",))
    assert path.name == "kpi-complaints_fy2562_q4_cutoff-2019-08-30.xlsx"
    return load_workbook(path)


def rows(ws) -> list[dict]:
    header = [c.value for c in ws[1]]
    return [dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=2)]


def test_sheets_have_thai_headers_frozen_and_sized(workbook):
    assert workbook.sheetnames == SHEETS
    for ws in workbook:
        assert ws.freeze_panes == "A2", ws.title
        assert all(isinstance(c.value, str) and c.value for c in ws[1]), ws.title
        assert all(c.font.bold for c in ws[1])
        assert all(ws.column_dimensions[c.column_letter].width >= 10 for c in ws[1]), ws.title


def test_summary_figures_and_score_are_numbers(workbook):
    summary = {row["รายการ"]: row for row in rows(workbook["สรุป"])}

    def cell(label):
        ws = workbook["สรุป"]
        return next(r[1] for r in ws.iter_rows(min_row=2) if r[0].value == label)

    assert summary["จำนวนเรื่องทั้งสิ้น"]["ค่า"] == 1669
    assert summary["ดำเนินการแก้ไขเรียบร้อยแล้ว"]["ค่า"] == 1637
    assert summary["อยู่ระหว่างดำเนินการ"]["ค่า"] == 32
    assert summary["ร้อยละแก้ไขเรียบร้อยแล้ว"]["ค่า"] == pytest.approx(98.08)
    assert summary["ร้อยละอยู่ระหว่างดำเนินการ"]["ค่า"] == pytest.approx(1.92)
    assert summary["คะแนนรวม (ผลงานที่ทำได้)"]["ค่า"] == 98
    assert summary["เป้าหมาย"]["ค่า"] == 90
    assert summary["ผลการประเมิน"]["ค่า"] == "ผ่านเป้าหมาย"
    assert summary["ข้อมูลถึงวันที่ (วันตัดยอด)"]["ค่า"] == "30 สิงหาคม 2562"
    assert summary["ข้อมูลตั้งแต่วันที่"]["ค่า"] == "1 ตุลาคม 2561"
    assert summary["ข้อมูลถึงวันที่ (วันตัดยอด)"]["หมายเหตุ"] == datetime(2019, 8, 30)
    assert summary["ประมวลผลเมื่อ (เวลากรุงเทพฯ)"]["ค่า"] == datetime(2019, 8, 31, 8, 0)
    assert cell("ร้อยละแก้ไขเรียบร้อยแล้ว").number_format == "0.00"
    assert cell("คะแนนรวม (ผลงานที่ทำได้)").number_format == "0.00"
    assert cell("จำนวนเรื่องทั้งสิ้น").number_format == "#,##0"


def test_district_sheet_has_all_50_districts_with_numeric_cells(workbook):
    ws = workbook["เขต"]
    data = rows(ws)
    assert len(data) == 50
    assert [d["รหัส"] for d in data] == [f"10{i:02d}" for i in range(1, 51)]
    assert sum(d["เรื่องทั้งสิ้น"] for d in data) == 1669
    assert sum(d["อยู่ระหว่างดำเนินการ"] for d in data) == 32
    expected = {row.code: row.figures for row in sample_result().by_district}
    for d in data:
        f = expected[d["รหัส"]]
        assert (d["เรื่องทั้งสิ้น"], d["แก้ไขเรียบร้อยแล้ว"], d["อยู่ระหว่างดำเนินการ"]) == (f.received, f.resolved, f.in_progress)
        assert d["ร้อยละแก้ไขเรียบร้อยแล้ว"] == pytest.approx(float(f.pct_resolved))
    for row in ws.iter_rows(min_row=2):
        by_header = {ws.cell(1, c.column).value: c for c in row}
        assert by_header["ร้อยละแก้ไขเรียบร้อยแล้ว"].data_type == "n"
        assert by_header["ร้อยละแก้ไขเรียบร้อยแล้ว"].number_format == "0.00"
        assert by_header["เรื่องทั้งสิ้น"].data_type == "n"


def test_breakdowns_monthly_open_matters_and_freshness(workbook):
    r = sample_result()
    channels = rows(workbook["ช่องทาง"])
    assert [(c["รหัส"], c["นับในตัวชี้วัด"]) for c in channels] == [
        ("mis", "นับ"),
        ("hotline_1555", "ไม่นับ"),
        ("line", "ไม่นับ"),
        ("facebook", "ไม่นับ"),
    ]
    assert len(rows(workbook["หน่วยงาน"])) == len(r.by_unit)
    assert len(rows(workbook["ประเภทเรื่อง"])) == len(r.by_category)

    monthly = rows(workbook["รายเดือน"])
    assert len(monthly) == 11
    assert monthly[0]["เดือน"] == datetime(2018, 10, 1) and monthly[0]["เดือน (พ.ศ.)"] == "ตุลาคม 2561"
    assert (monthly[-1]["รับเรื่องสะสม"], monthly[-1]["แก้ไขเรียบร้อยแล้วสะสม"]) == (1669, 1637)
    assert monthly[-1]["ร้อยละแก้ไขเรียบร้อยแล้วสะสม"] == pytest.approx(98.08)

    open_rows = rows(workbook["เรื่องค้างดำเนินการ"])
    assert len(open_rows) == 32
    ages = [o["อายุเรื่อง (วันทำการ)"] for o in open_rows]
    assert ages == sorted(ages, reverse=True) and all(isinstance(a, int) for a in ages)
    assert isinstance(open_rows[0]["วันที่รับแจ้ง"], datetime)
    assert open_rows[0]["วันที่รับแจ้ง (พ.ศ.)"].endswith("2562")

    fresh = {f["ช่องทาง"]: f for f in rows(workbook["ความเป็นปัจจุบันข้อมูล"])}
    assert fresh["line"]["สถานะข้อมูล"] == "ไม่เป็นปัจจุบัน"
    assert fresh["facebook"]["สถานะข้อมูล"] == "ไม่มีข้อมูล"
    assert fresh["mis"]["สถานะข้อมูล"] == "เป็นปัจจุบัน"


def test_workbook_holds_no_personal_data_columns(workbook):
    personal = ("ชื่อผู้แจ้ง", "เบอร์", "โทรศัพท์", "รายละเอียด", "พิกัด", "reporter", "phone")
    for ws in workbook:
        for c in ws[1]:
            assert not any(p in c.value for p in personal), (ws.title, c.value)
