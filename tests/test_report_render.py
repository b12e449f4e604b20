"""The KPI report: HTML and PDF (WeasyPrint) renderings of an IndicatorResult.

The PDF is checked through its text (numbers exactly; Thai phrases normalised, because text
extracted from a PDF is lossy: SARA AM can come back as SARA AA and stacked marks may
double) and through its pixels: pages are rendered with PDFium (pypdfium2) at 50 dpi and kept under
``test-artifacts/report/`` for people to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from pypdf import PdfReader

from complaints.config import load_config
from complaints.report import render_report, report_basename
from complaints.report.content import load_unit_texts
from complaints.report.fonts import thai_font
from complaints.report.render import (
    REPORT_TEMPLATES_DIR,
    RefusedURL,
    build_context,
    figures_sentence,
    local_url_fetcher,
    make_environment,
    render_html,
)
from test_report_fixtures import sample_result, stale_freshness

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "report"
SEED_SENTENCE = (
    "ผลการดำเนินงานแก้ไขเรื่องร้องเรียน ระหว่างวันที่ 1 ตุลาคม 2561 ถึงวันที่ 30 สิงหาคม 2562 "
    "มีจำนวนเรื่องร้องเรียนทั้งสิ้น 1,669 เรื่อง และดำเนินการแก้ไขเรื่องร้องเรียนเรียบร้อยแล้ว จำนวน 1,637 เรื่อง "
    "คิดเป็นร้อยละ 98.08 เรื่องที่อยู่ระหว่างดำเนินการ จำนวน 32 เรื่อง คิดเป็นร้อยละ 1.92"
)
INDICATOR = "ร้อยละความสำเร็จในการจัดการเรื่องที่ได้รับแจ้งจากประชาชน/ผู้รับบริการ"
CERTIFY = "ขอรับรองว่า ข้อความที่ปรากฏในเอกสารฉบับนี้ หน่วยงานได้จัดพิมพ์จากระบบงานจริง เพื่อเป็นหลักฐานไว้ตรวจสอบ"
SCRIPT = "<script>alert(1)</script>"

_THAI_MARKS = "\u0e31\u0e34-\u0e3a\u0e47-\u0e4e"


def norm_thai(text: str, drop_marks: bool = True) -> str:
    """Fold what PDF text extraction loses: SARA AM → SARA AA, doubled marks, all whitespace.

    With ``drop_marks`` (the default) the vowel and tone marks above and below the line are
    dropped altogether: which of them come back depends on how the font subset maps shared
    glyph variants to text (seen here: "ผู้" extracted as "ผ้" in one rendering and not in
    another). The consonants, spacing vowels, digits and punctuation still pin the phrase down,
    the numbers are compared exactly, and the page images show the marks.
    """
    text = text.replace("\u0e4d\u0e32", "\u0e32").replace("\u0e33", "\u0e32")
    text = re.sub(f"([{_THAI_MARKS}])\\1+", r"\1", text)
    if drop_marks:
        text = re.sub(f"[{_THAI_MARKS}]", "", text)
    return re.sub(r"\s+", "", text)


def text_of(html: str) -> str:
    """Visible text of an HTML page, whitespace collapsed."""
    body = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("report")
    paths = render_report(sample_result(), out)
    return {"paths": paths, "out": out}


@pytest.fixture(scope="module")
def pdf_text(rendered) -> list[str]:
    reader = PdfReader(rendered["paths"][0])
    return [page.extract_text() for page in reader.pages]


@pytest.fixture(scope="module")
def page_pngs(rendered) -> list[Path]:
    import pypdfium2

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("report-page-*.png"):
        old.unlink()
    pdf = pypdfium2.PdfDocument(rendered["paths"][0])
    pngs = []
    for number, page in enumerate(pdf, start=1):
        path = ARTIFACTS / f"report-page-{number}.png"
        page.render(scale=50 / 72).to_pil().save(path)
        pngs.append(path)
    pdf.close()
    assert pngs, "PDFium rendered no page"
    return pngs


# ------------------------------------------------------------------ files


def test_every_format_is_written_with_a_sortable_descriptive_name(rendered):
    paths = rendered["paths"]
    base = "kpi-complaints_fy2562_q4_cutoff-2019-08-30"
    assert [p.name for p in paths] == [f"{base}.pdf", f"{base}.xlsx", f"{base}.html"]
    assert paths[0].read_bytes()[:5] == b"%PDF-"
    assert paths[1].read_bytes()[:2] == b"PK"
    assert paths[2].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in rendered["out"].iterdir()) == sorted(p.name for p in paths), "no temp files left"


def test_file_names_sort_by_fiscal_year_quarter_and_cutoff():
    r = sample_result()
    names = [
        report_basename(replace(r, fiscal_year_be=2562, quarter=2, cutoff=date(2019, 3, 31))),
        report_basename(replace(r, fiscal_year_be=2562, quarter=3, cutoff=date(2019, 6, 24))),
        report_basename(r),
        report_basename(replace(r, fiscal_year_be=2563, quarter=1, cutoff=date(2019, 12, 31))),
    ]
    assert names == sorted(names)
    assert report_basename(r, "bang_rak") == "kpi-complaints_fy2562_q4_cutoff-2019-08-30_unit-bang_rak"


def test_only_the_requested_formats_are_written(tmp_path):
    paths = render_report(sample_result(), tmp_path, formats=("xlsx",))
    assert [p.suffix for p in paths] == [".xlsx"]
    assert [p.name for p in tmp_path.iterdir()] == [paths[0].name]
    with pytest.raises(ValueError, match="formats"):
        render_report(sample_result(), tmp_path, formats=("docx",))


# ------------------------------------------------------------------ PDF


def test_pdf_is_a4_portrait_with_the_sarabun_font_embedded(rendered):
    reader = PdfReader(rendered["paths"][0])
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    fonts = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            fonts.add(str(font["/BaseFont"]))
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            assert "/FontFile2" in descendant["/FontDescriptor"] or "/FontFile3" in descendant["/FontDescriptor"], font
    assert fonts and all("Sarabun" in f for f in fonts), fonts
    assert {f.split("+", 1)[1] for f in fonts} == {"Sarabun", "Sarabun-Bold"}, "subsets of the regular and bold faces"


def test_pdf_carries_the_figures_and_the_score(pdf_text):
    text = "\n".join(pdf_text)
    for number in ("1,669", "1,637", "98.08", "32", "1.92", "98.00", "19.54", "78.46"):
        assert number in text, number
    # Section 5: target 90, result 98 (the seed's figures).
    assert re.search(r"=\s*98\s*\(", text), "ผลงานที่ทำได้ = 98"
    assert "1669" not in text, "counts carry thousands separators"


def test_pdf_thai_text_survives_after_normalisation(pdf_text):
    text = norm_thai("".join(pdf_text))
    for phrase in (
        INDICATOR,
        CERTIFY,
        SEED_SENTENCE,
        "30 สิงหาคม 2562",
        "1 ตุลาคม 2561",
        "ข้อมูลที่ใช้วัดผล เรื่องที่ได้รับแจ้งระหว่างวันที่ 1 ตุลาคม 2561 ถึง 30 สิงหาคม 2562",
        "ยังไม่สิ้นปีงบประมาณ",
        "ภาคผนวก",
        "ป้อมปราบศัตรูพ่าย",
        "บางบอน",
    ):
        assert norm_thai(phrase) in text, phrase


def test_pdf_pages_are_not_blank_and_contain_the_charts(page_pngs, pdf_text):
    from PIL import Image

    with Image.open(page_pngs[0]) as im:
        grey = im.convert("L")
        dark = sum(1 for v in grey.getdata() if v < 128) / (grey.width * grey.height)
        assert abs(grey.width - 413) <= 2 and abs(grey.height - 585) <= 2  # A4 at 50 dpi
    assert 0.02 < dark < 0.5, f"page 1 dark-pixel share {dark:.3f}"

    # The charts are drawn into the PDF: the page with annex ข has many chart-green pixels.
    chart_page = next(i for i, t in enumerate(pdf_text) if norm_thai("แผนภูมิที่ 1") in norm_thai(t))
    with Image.open(page_pngs[chart_page]) as im:
        rgb = im.convert("RGB")
        green = sum(1 for r, g, b in rgb.getdata() if g > r + 40 and g > b + 40)
    assert green > 500, f"chart colours on page {chart_page + 1}: {green} px"


# ------------------------------------------------------------------ HTML


def test_html_has_the_form_sections_dates_and_seed_sentence(rendered):
    html = rendered["paths"][2].read_text(encoding="utf-8")
    text = text_of(html)
    assert SEED_SENTENCE in text
    assert "ข้อมูลที่ใช้วัดผล เรื่องที่ได้รับแจ้งระหว่างวันที่ 1 ตุลาคม 2561 ถึง 30 สิงหาคม 2562" in text
    for heading in (
        "1. ชื่อตัวชี้วัด",
        "2. ระดับความสำเร็จ",
        "3. คำนิยาม",
        "4. วิธีการคำนวณ",
        "5. เป้าหมาย",
        "6. รายงานผลการดำเนินงาน (รายไตรมาส)",
        "(6.1) ไตรมาสที่ 1",
        "(6.4) ไตรมาสที่ 4",
        "(6.5) สรุปผลการดำเนินงาน (ปลายปีงบประมาณ)",
        "7. ปัจจัยสนับสนุนการดำเนินงาน",
        "8. อุปสรรคต่อการดำเนินงาน",
        "9. หลักฐานอ้างอิง",
        CERTIFY,
        "(ผู้รายงานข้อมูล)",
        "ตำแหน่ง",
    ):
        assert heading in text, heading
    assert "5. เป้าหมาย : 90 (ร้อยละ)" in text
    assert "ผลงานที่ทำได้ = 98 (ร้อยละ)" in text
    assert "ยังไม่สิ้นปีงบประมาณ" in text
    assert "ส่วนที่ 1 ด้านปริมาณและการตอบสนองในการแก้ไขปัญหาที่ได้รับแจ้ง (20 คะแนน)" in text
    assert "ส่วนที่ 2 ด้านคุณภาพการแก้ไขปัญหาและการรายงานผลในระบบเรื่องราวร้องทุกข์ของกรุงเทพมหานคร (80 คะแนน)" in text
    # Defaults of report.yaml: clearly marked blanks.
    assert text.count("................") >= 6
    # Every district row, and the open matters with their business-day age.
    assert html.count('<td class="c">10') == 50
    assert "อายุ (วันทำการ)" in text and "MIS-62-10999" in text
    # Charts embedded, nothing fetched from elsewhere.
    assert html.count('src="data:image/svg+xml;base64,') == 3
    assert "http://" not in html and "https://" not in html


def test_html_dates_are_buddhist_era(rendered):
    text = text_of(rendered["paths"][2].read_text(encoding="utf-8"))
    text = text.replace(rendered["paths"][2].stem, "")  # the file name in the footer has the ISO cut-off
    assert "30 สิงหาคม 2562" in text and "1 ตุลาคม 2561" in text
    assert "31 สิงหาคม 2562 เวลา 06:15 น." in text  # last load, Bangkok time
    assert "2019" not in text and "2018" not in text


def test_complaint_derived_text_is_escaped(tmp_path):
    r = sample_result()
    first = r.by_district[0]
    r = replace(
        r,
        by_district=[replace(first, name_th=f"บางรัก $x^2$ {SCRIPT}"), *r.by_district[1:]],
        by_category=[replace(r.by_category[0], name_th=f"$x$ {SCRIPT}"), *r.by_category[1:]],
        by_unit=[replace(r.by_unit[0], name_th=SCRIPT), *r.by_unit[1:]],
        open_matters=[
            replace(r.open_matters[0], unit_name_th=SCRIPT, source_id='"><img src=x onerror=alert(1)>'),
            *r.open_matters[1:],
        ],
    )
    config = tmp_path / "report.yaml"
    config.write_text(
        f"units:\n  default:\n    unit_name_th: '{SCRIPT}'\n    obstacles: ['{SCRIPT}']\n", encoding="utf-8"
    )
    (html_path,) = render_report(r, tmp_path / "out", formats=("html",), report_config=config)
    html = html_path.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "<img src=x" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_templates_are_strict_and_autoescaped():
    env = make_environment()
    assert env.autoescape is True
    with pytest.raises(UndefinedError):
        env.from_string("{{ not_in_context }}").render()
    assert env.from_string("{{ v }}").render(v="<b>") == "&lt;b&gt;"


def test_stale_or_missing_channels_are_warned_about():
    r = sample_result()
    texts = load_unit_texts()
    fresh = render_html(r, texts)
    assert 'id="freshness-warning"' not in fresh
    assert "ข้อมูลทุกช่องทางเป็นปัจจุบัน" in fresh

    stale = text_of(render_html(replace(r, freshness=stale_freshness(r)), texts))
    assert "คำเตือน: ข้อมูลบางช่องทางไม่เป็นปัจจุบันหรือไม่มีข้อมูล" in stale
    assert "ไลน์ผู้ว่าฯ กทม. : ข้อมูลไม่เป็นปัจจุบัน (ข้อมูลล่าสุดถึงวันที่ 27 สิงหาคม 2562)" in stale
    assert "เฟซบุ๊ก : ไม่มีข้อมูล" in stale
    assert "มี 2 ช่องทางที่ข้อมูลไม่เป็นปัจจุบันหรือไม่มีข้อมูล" in stale

    # A counted channel the freshness list does not mention at all is missing, and says it counts.
    gone = replace(r, freshness=[f for f in r.freshness if f.channel != "mis"])
    warned = text_of(render_html(gone, texts))
    assert "ระบบ MIS (ระบบเรื่องราวร้องทุกข์) : ไม่มีข้อมูล" in warned
    assert "ช่องทางนี้นับในตัวชี้วัด" in warned


def test_year_end_summary_appears_only_at_the_end_of_the_fiscal_year():
    r = sample_result()
    year_end = replace(r, cutoff=date(2019, 9, 30))
    text = text_of(render_html(year_end, load_unit_texts()))
    assert "ยังไม่สิ้นปีงบประมาณ" not in text
    section = text[text.index("(6.5)") : text.index("7. ปัจจัยสนับสนุน")]
    assert figures_sentence(r.fiscal_year_start, date(2019, 9, 30), r.totals) in section
    assert "ถึงวันที่ 30 กันยายน 2562" in section


def test_earlier_quarters_point_to_their_own_reports_and_later_ones_are_not_due():
    r = replace(sample_result(), quarter=3, cutoff=date(2019, 6, 24))
    text = text_of(render_html(r, load_unit_texts()))
    assert "(6.1) ไตรมาสที่ 1 : รายงานผลไว้แล้วในรายงานรอบไตรมาสที่ 1" in text
    assert "(6.4) ไตรมาสที่ 4 : ยังไม่ถึงรอบรายงาน" in text
    assert "ระหว่างวันที่ 1 ตุลาคม 2561 ถึงวันที่ 24 มิถุนายน 2562" in text


def test_a_result_with_nothing_in_it_still_renders(tmp_path):
    from complaints.indicator.result import Figures

    zero = Figures(0, 0, 0, Decimal("0.00"), Decimal("0.00"))
    r = replace(
        sample_result(),
        totals=zero,
        by_channel=[],
        by_district=[],
        by_unit=[],
        by_category=[],
        monthly=[],
        open_matters=[],
        freshness=[],
        computed_at=None,
    )
    paths = render_report(r, tmp_path)
    assert [p.suffix for p in paths] == [".pdf", ".xlsx", ".html"]
    text = text_of(paths[2].read_text(encoding="utf-8"))
    assert "มีจำนวนเรื่องร้องเรียนทั้งสิ้น 0 เรื่อง" in text
    assert "ไม่มีเรื่องที่อยู่ระหว่างดำเนินการ" in text and "ไม่มีข้อมูลรายเดือน" in text
    assert "mis : ไม่มีข้อมูล" in text, "the counted channel has no freshness row: warned as missing"


# ------------------------------------------------------------------ per-unit texts


def test_unit_texts_fall_back_to_default_and_unknown_units_are_refused(tmp_path):
    default = load_unit_texts()
    assert default.reporter_name == default.reporter_position == "................"
    assert default.supporting_factors == default.obstacles == default.evidence == ["................"]

    config = tmp_path / "report.yaml"
    config.write_text(
        "units:\n"
        "  default: {unit_name_th: '................', reporter: {name: '................', position: 'ผอ.'}}\n"
        "  bang_rak:\n"
        "    unit_name_th: สำนักงานเขตบางรัก\n"
        "    supporting_factors: [ผู้บริหารเขต ทุกฝ่าย สนับสนุนการดำเนินการแก้ไขเรื่องร้องเรียนที่เกี่ยวข้อง]\n"
        "    evidence: รายงานการแก้ไขเรื่องร้องเรียน\n"
        "    reporter: {name: นายทดสอบ ระบบ}\n",
        encoding="utf-8",
    )
    texts = load_unit_texts("bang_rak", config)
    assert texts.unit_name_th == "สำนักงานเขตบางรัก"
    assert texts.evidence == ["รายงานการแก้ไขเรื่องร้องเรียน"]
    assert texts.obstacles == ["................"]
    assert (texts.reporter_name, texts.reporter_position) == ("นายทดสอบ ระบบ", "ผอ.")

    (html,) = render_report(sample_result(), tmp_path, "bang_rak", ("html",), report_config=config)
    assert html.name.endswith("_unit-bang_rak.html")
    page = text_of(html.read_text(encoding="utf-8"))
    assert "หน่วยงาน : สำนักงานเขตบางรัก" in page and "( นายทดสอบ ระบบ )" in page

    with pytest.raises(KeyError, match="nowhere"):
        load_unit_texts("nowhere", config)
    with pytest.raises(ValueError, match="file names"):
        load_unit_texts("../etc", config)


# ------------------------------------------------------------------ no network, no heavy imports


def test_pdf_renderer_never_fetches_from_the_network():
    fetcher = local_url_fetcher()
    for url in (
        "http://example.com/logo.png",
        "https://fonts.googleapis.com/css?family=Sarabun",
        "ftp://example.com/x",
        "file:///etc/passwd",
        "file://otherhost/usr/share/fonts/x.ttf",
    ):
        with pytest.raises(RefusedURL):
            fetcher(url)
    assert fetcher("data:text/plain;base64,aGk=").read() == b"hi"
    font = thai_font().regular
    assert fetcher(font.as_uri()).read(4) == b"\x00\x01\x00\x00"


def test_pdf_with_a_remote_resource_fails_instead_of_fetching_it(tmp_path):
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    html = '<html><body><img src="http://127.0.0.1:9/never.png"></body></html>'
    with pytest.raises(FatalURLFetchingError):
        HTML(string=html, url_fetcher=local_url_fetcher()).write_pdf(tmp_path / "x.pdf")


def test_stylesheet_never_names_th_sarabun():
    # fonts-thai-tlwg aliases "TH Sarabun…" to Laksaman scaled by 0.66; WeasyPrint then sets every
    # line with the scaled advances and unscaled glyphs (overlapping text). Seen on this machine.
    css = (REPORT_TEMPLATES_DIR / "report.css.j2").read_text(encoding="utf-8")
    assert not re.search(r"font-family:[^;]*TH Sarabun", css)
    assert "local(" not in css, "the font comes from the configured files, never from a system lookup"


def test_report_font_falls_back_to_the_next_candidate_and_accepts_font_files(tmp_path):
    from complaints.report import fonts

    config = tmp_path / "report.yaml"
    config.write_text("font:\n  candidates: [no_such_fontpkg, fontpkg_noto_sans_thai]\n", encoding="utf-8")
    assert fonts.thai_font(config).family == "Noto Sans Thai"
    (tmp_path / "f").mkdir()
    shutil.copy(thai_font().regular, tmp_path / "f" / "Custom.ttf")
    custom_config = tmp_path / "custom.yaml"
    custom_config.write_text("font:\n  candidates:\n    - {family: Custom, regular: f/Custom.ttf}\n", encoding="utf-8")
    custom = fonts.thai_font(custom_config)
    assert (custom.family, custom.regular, custom.bold) == ("Custom", (tmp_path / "f" / "Custom.ttf").resolve(), None)


def test_a_missing_report_font_is_an_error_naming_what_was_tried(tmp_path):
    from complaints.report import fonts

    config = tmp_path / "report.yaml"
    config.write_text("font:\n  candidates: [no_such_fontpkg, {regular: missing.ttf}]\n", encoding="utf-8")
    with pytest.raises(fonts.ThaiFontMissing) as caught:
        fonts.thai_font(config)
    assert caught.value.tried == ["package no_such_fontpkg", "file missing.ttf"]


def test_importing_the_report_package_loads_no_heavy_library():
    code = (
        "import sys, complaints.report; "
        "print(sorted(m for m in ('matplotlib', 'weasyprint', 'openpyxl') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={"PYTHONPATH": str(PROJECT_ROOT / "plugins"), "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == "[]"


def test_charts_are_svg_with_thai_labels_drawn_as_outlines():
    from complaints.report import charts

    r = sample_result()
    svg = charts.district_bars_chart(r.by_district)
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "<text" not in svg, "text is drawn as glyph outlines, so the SVG needs no font"
    assert 'id="Sarabun-' in svg
    assert charts.month_label(date(2018, 10, 1), " ") == "ต.ค. 61"
    assert charts.thai_font().regular.name == "Sarabun-Regular.ttf"
    assert charts.cumulative_rate_chart(r.monthly) == charts.cumulative_rate_chart(r.monthly), "deterministic"


# ------------------------------------------------------------------ open-matters annex


def _open_rows(html: str) -> list[str]:
    """Source ids listed in the open-matters annex, in order."""
    table = html.split('id="open-table"', 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<td>(.*?)</td>", row)[0] for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]]


def test_the_open_matters_annex_lists_the_oldest_up_to_the_limit_and_the_xlsx_lists_all(tmp_path):
    from openpyxl import load_workbook

    r = sample_result()
    oldest = sorted(r.open_matters, key=lambda m: (-m.age_business_days, m.received_date))
    html_path, xlsx_path = render_report(r, tmp_path, formats=("html", "xlsx"), open_matters_limit=10)
    html = html_path.read_text(encoding="utf-8")
    assert _open_rows(html) == [m.source_id for m in oldest[:10]]
    text = text_of(html)
    assert f"({len(oldest)} เรื่อง)" in text  # the heading counts every open matter
    assert f"แสดง 10 เรื่องที่ค้างนานที่สุด ยังมีอีก {len(oldest) - 10} เรื่อง" in text
    assert f"รายการครบทั้ง {len(oldest)} เรื่องอยู่ในไฟล์ XLSX ของรายงานฉบับนี้ ({xlsx_path.name})" in text
    sheet = load_workbook(xlsx_path)["เรื่องค้างดำเนินการ"]
    assert [row[2].value for row in sheet.iter_rows(min_row=2)] == [m.source_id for m in oldest]


def test_the_open_matters_limit_comes_from_the_pipeline_config():
    limit = load_config().report_open_matters_limit
    r = sample_result()
    many = [replace(r.open_matters[k % len(r.open_matters)], source_id=f"MIS-X-{k:05d}") for k in range(limit + 7)]
    context = build_context(replace(r, open_matters=many), load_unit_texts())
    assert len(context["open_matters"]) == limit
    assert (context["open_matters_total"], context["open_matters_more"]) == (limit + 7, 7)


def test_an_annex_within_the_limit_lists_every_open_matter_and_no_more_line(rendered):
    html = rendered["paths"][2].read_text(encoding="utf-8")
    assert len(_open_rows(html)) == len(sample_result().open_matters)
    assert 'id="open-more"' not in html
