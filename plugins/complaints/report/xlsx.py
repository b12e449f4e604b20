"""The KPI report as a workbook (openpyxl): figures for staff who want to sort and filter.

Sheets: สรุป (figures and score), รายเดือน, ช่องทาง, เขต, หน่วยงาน, ประเภทเรื่อง,
เรื่องค้างดำเนินการ, ความเป็นปัจจุบันข้อมูล. Thai headers in row 1 (frozen), counts as integers
with a thousands format, percentages as numbers with the ``0.00`` format, dates as real dates
next to their Thai Buddhist-era spelling. No personal data: the result holds none.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from complaints.indicator.result import BreakdownRow, IndicatorResult
from complaints.thai_time import BANGKOK, THAI_MONTHS, thai_date

if TYPE_CHECKING:
    from complaints.report.content import UnitTexts

INT_FMT = "#,##0"
PCT_FMT = "0.00"
DATE_FMT = "yyyy-mm-dd"
DATETIME_FMT = "yyyy-mm-dd hh:mm"

# (header, kind) — kind picks the number format and the alignment.
_FIG_COLS = [
    ("เรื่องทั้งสิ้น", "int"),
    ("แก้ไขเรียบร้อยแล้ว", "int"),
    ("ร้อยละแก้ไขเรียบร้อยแล้ว", "pct"),
    ("อยู่ระหว่างดำเนินการ", "int"),
    ("ร้อยละอยู่ระหว่างดำเนินการ", "pct"),
]


def _num(value: Decimal | None) -> float | None:
    # Two-decimal Decimals become floats: Excel has no decimal type, and 98.08 reads back as 98.08.
    return None if value is None else float(value)


def _naive_bangkok(value: datetime | None) -> datetime | None:
    """Excel has no time zones: Bangkok wall-clock time, as the headers say."""
    if value is None:
        return None
    return value.astimezone(BANGKOK).replace(tzinfo=None) if value.tzinfo else value


def write_sheet(wb, title: str, columns: list[tuple[str, str]], rows: list[list[Any]], first: bool = False):
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.active if first else wb.create_sheet()
    ws.title = title
    ws.append([h for h, _ in columns])
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="E8EEF5")
    for cell in ws[1]:
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    # Cells addressed by their row number: ws.max_row and ws[row] scan every cell of the sheet,
    # which made a sheet of n rows take n² (tens of thousands of open matters: hours).
    for number, row in enumerate(rows, start=2):
        ws.append(row)
        for column in range(1, len(row) + 1):
            cell = ws.cell(row=number, column=column)
            # A text from a source that starts with "=" (a hostile ticket id or description) would be
            # written as a formula and run when the sheet is opened: keep every value as data.
            if cell.data_type == "f":
                cell.data_type = "s"
    formats = {"int": INT_FMT, "pct": PCT_FMT, "date": DATE_FMT, "datetime": DATETIME_FMT}
    for idx, (header, kind) in enumerate(columns, start=1):
        letter = get_column_letter(idx)
        if kind in formats:
            for (cell,) in ws.iter_rows(min_row=2, min_col=idx, max_col=idx):
                if isinstance(cell.value, int | float | date):
                    cell.number_format = formats[kind]
        longest = max([len(str(header))] + [len(str(r[idx - 1])) for r in rows if r[idx - 1] is not None])
        # Thai marks above/below the line take no width: the character count overstates a little.
        ws.column_dimensions[letter].width = min(60, max(10, longest * 0.9 + 2))
    ws.freeze_panes = "A2"
    ws.row_dimensions[1].height = 30
    if rows:
        ws.auto_filter.ref = ws.dimensions
    return ws


def _breakdown(wb, title: str, what: str, rows: list[BreakdownRow], counted: set[str] | None = None) -> None:
    columns = [("ลำดับ", "int"), ("รหัส", "text"), (what, "text"), ("ชื่อภาษาอังกฤษ", "text")]
    if counted is not None:
        columns.append(("นับในตัวชี้วัด", "text"))
    columns += _FIG_COLS
    data = []
    for i, r in enumerate(rows, start=1):
        f = r.figures
        row = [i, r.code, r.name_th, r.name_en]
        if counted is not None:
            row.append("นับ" if r.code in counted else "ไม่นับ")
        row += [f.received, f.resolved, _num(f.pct_resolved), f.in_progress, _num(f.pct_in_progress)]
        data.append(row)
    write_sheet(wb, title, columns, data)


def build_workbook(result: IndicatorResult, texts: UnitTexts):
    """The workbook, not yet saved (tests and callers may inspect it)."""
    from openpyxl import Workbook

    from complaints.fiscal import fiscal_year_end
    from complaints.report.content import channel_names, freshness_rows

    wb = Workbook()
    t = result.totals
    s = result.score
    summary: list[list[Any]] = [
        ["ตัวชี้วัด", "ร้อยละความสำเร็จในการจัดการเรื่องที่ได้รับแจ้งจากประชาชน/ผู้รับบริการ", None],
        ["หน่วยงาน", texts.unit_name_th, None],
        ["ปีงบประมาณ (พ.ศ.)", result.fiscal_year_be, None],
        ["ไตรมาส", result.quarter, None],
        ["ข้อมูลตั้งแต่วันที่", thai_date(result.fiscal_year_start), result.fiscal_year_start],
        ["ข้อมูลถึงวันที่ (วันตัดยอด)", thai_date(result.cutoff), result.cutoff],
        ["สิ้นปีงบประมาณ", thai_date(fiscal_year_end(result.fiscal_year_be)), fiscal_year_end(result.fiscal_year_be)],
        [
            "ช่องทางที่นับในตัวชี้วัด",
            ", ".join(channel_names(result).get(c, c) for c in result.channels),
            ", ".join(result.channels),
        ],
        ["จำนวนเรื่องทั้งสิ้น", t.received, None],
        ["ดำเนินการแก้ไขเรียบร้อยแล้ว", t.resolved, None],
        ["ร้อยละแก้ไขเรียบร้อยแล้ว", _num(t.pct_resolved), None],
        ["อยู่ระหว่างดำเนินการ", t.in_progress, None],
        ["ร้อยละอยู่ระหว่างดำเนินการ", _num(t.pct_in_progress), None],
    ]
    for i, p in enumerate(s.parts, start=1):
        summary += [
            [f"ส่วนที่ {i} {p.name_th}: คะแนนเต็ม", _num(p.max_points), None],
            [f"ส่วนที่ {i}: ผลที่วัดได้ (ร้อยละ)", _num(p.basis_pct), None],
            [f"ส่วนที่ {i}: คะแนนที่ได้", _num(p.points), p.explanation],
        ]
    summary += [
        ["คะแนนรวม (ผลงานที่ทำได้)", _num(s.total), None],
        ["เป้าหมาย", _num(s.target), None],
        ["ผลการประเมิน", "ผ่านเป้าหมาย" if s.met else "ไม่ผ่านเป้าหมาย", None],
        ["เกณฑ์การให้คะแนนฉบับ", result.rubric_version, None],
        ["ประมวลผลเมื่อ (เวลากรุงเทพฯ)", _naive_bangkok(result.computed_at), None],
    ]
    ws = write_sheet(wb, "สรุป", [("รายการ", "text"), ("ค่า", "value"), ("หมายเหตุ", "note")], summary, first=True)
    # Formats cell by cell: column B mixes counts, percentages, points and text.
    pct_labels = ("ร้อยละ", "คะแนน", "เป้าหมาย")
    for row in ws.iter_rows(min_row=2):
        label, value, note = row
        if isinstance(value.value, int) and not isinstance(value.value, bool):
            value.number_format = "0" if label.value in ("ปีงบประมาณ (พ.ศ.)", "ไตรมาส") else INT_FMT
        elif isinstance(value.value, float) and any(k in str(label.value) for k in pct_labels):
            value.number_format = PCT_FMT
        elif isinstance(value.value, datetime):
            value.number_format = DATETIME_FMT
        if isinstance(note.value, date):
            note.number_format = DATE_FMT

    write_sheet(
        wb,
        "รายเดือน",
        [
            ("เดือน", "date"),
            ("เดือน (พ.ศ.)", "text"),
            ("รับเรื่องในเดือน", "int"),
            ("แก้ไขเสร็จในเดือน", "int"),
            ("รับเรื่องสะสม", "int"),
            ("แก้ไขเรียบร้อยแล้วสะสม", "int"),
            ("ร้อยละแก้ไขเรียบร้อยแล้วสะสม", "pct"),
        ],
        [
            [
                m.month,
                f"{THAI_MONTHS[m.month.month - 1]} {m.month.year + 543}",
                m.received,
                m.resolved,
                m.cumulative_received,
                m.cumulative_resolved,
                _num(m.cumulative_pct_resolved),
            ]
            for m in result.monthly
        ],
    )
    _breakdown(wb, "ช่องทาง", "ช่องทาง", result.by_channel, set(result.channels))
    _breakdown(wb, "เขต", "เขต", result.by_district)
    _breakdown(wb, "หน่วยงาน", "หน่วยงาน", result.by_unit)
    _breakdown(wb, "ประเภทเรื่อง", "ประเภทเรื่อง", result.by_category)

    matters = sorted(result.open_matters, key=lambda m: (-m.age_business_days, m.received_date))
    write_sheet(
        wb,
        "เรื่องค้างดำเนินการ",
        [
            ("ลำดับ", "int"),
            ("ช่องทาง", "text"),
            ("เลขที่เรื่อง", "text"),
            ("วันที่รับแจ้ง", "date"),
            ("วันที่รับแจ้ง (พ.ศ.)", "text"),
            ("รหัสเขต", "text"),
            ("เขต", "text"),
            ("รหัสประเภทเรื่อง", "text"),
            ("ประเภทเรื่อง", "text"),
            ("หน่วยงานรับผิดชอบ", "text"),
            ("สถานะ", "text"),
            ("อายุเรื่อง (วันทำการ)", "int"),
        ],
        [
            [
                i,
                m.channel,
                m.source_id,
                m.received_date,
                thai_date(m.received_date),
                m.district_code,
                m.district_name_th,
                m.category_code,
                m.category_name_th,
                m.unit_name_th or "ไม่ระบุ",
                m.status_name_th,
                m.age_business_days,
            ]
            for i, m in enumerate(matters, start=1)
        ],
    )

    states = {"ok": "เป็นปัจจุบัน", "stale": "ไม่เป็นปัจจุบัน", "missing": "ไม่มีข้อมูล"}
    write_sheet(
        wb,
        "ความเป็นปัจจุบันข้อมูล",
        [
            ("ช่องทาง", "text"),
            ("ชื่อช่องทาง", "text"),
            ("นับในตัวชี้วัด", "text"),
            ("สถานะข้อมูล", "text"),
            ("นำเข้าสำเร็จล่าสุด (เวลากรุงเทพฯ)", "datetime"),
            ("ข้อมูลครอบคลุมถึง", "date"),
            ("หมายเหตุ", "text"),
        ],
        [
            [
                f.channel,
                f.name_th,
                "นับ" if f.counted else "ไม่นับ",
                states[f.state],
                _naive_bangkok(f.last_successful_load),
                f.covered_until,
                f.note_th,
            ]
            for f in freshness_rows(result)
        ],
    )
    wb.properties.title = f"ตัวชี้วัดการจัดการเรื่องร้องเรียน ปีงบประมาณ {result.fiscal_year_be} ไตรมาสที่ {result.quarter}"
    wb.properties.creator = "complaints.report"
    return wb


def write_xlsx(result: IndicatorResult, texts: UnitTexts, target: Path) -> None:
    build_workbook(result, texts).save(target)
