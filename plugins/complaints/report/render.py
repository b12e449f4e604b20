"""Render an :class:`IndicatorResult` as the Thai quarterly KPI report: HTML, PDF and XLSX.

The report reproduces the form the district offices publish (sections 1–9, the certification
line and the signature block) and adds annexes: data freshness, breakdowns by channel, district,
unit and category, and the matters still open at the cut-off. Every number comes from the
result as computed by the indicator SQL; this module only formats.

Free text that staff write (sections 7–9, the reporter's name and position) comes from
``include/config/report.yaml``, per reporting unit.

Heavy libraries (WeasyPrint, matplotlib, openpyxl) are imported inside the functions that use
them, so importing this module from a DAG file costs nothing.
"""

from __future__ import annotations

import base64
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from complaints.config import load_config
from complaints.fiscal import fiscal_year_end
from complaints.indicator.result import Figures, IndicatorResult
from complaints.paths import TEMPLATES_DIR
from complaints.report.content import (
    BLANK,
    UnitTexts,
    channel_names,
    freshness_rows,
    load_unit_texts,
)
from complaints.report.fonts import thai_font
from complaints.thai_time import BANGKOK, THAI_MONTHS, thai_date

REPORT_TEMPLATES_DIR = TEMPLATES_DIR / "report"
FORMATS = ("pdf", "xlsx", "html")


# --------------------------------------------------------------------------- file naming


def report_basename(result: IndicatorResult, unit: str = "default") -> str:
    """``kpi-complaints_fy2562_q4_cutoff-2019-08-30`` (+ ``_unit-<key>`` for a non-default unit).

    Fiscal year (Buddhist era), fiscal quarter and the ISO cut-off date, in that order, so
    the files of one unit sort chronologically by name.
    """
    name = f"kpi-complaints_fy{result.fiscal_year_be}_q{result.quarter}_cutoff-{result.cutoff.isoformat()}"
    return name if unit == "default" else f"{name}_unit-{unit}"


# --------------------------------------------------------------------------- per-unit texts


# --------------------------------------------------------------------------- formatting


def fmt_int(value: int | None) -> str:
    """1669 → "1,669"."""
    return "-" if value is None else f"{int(value):,}"


def fmt_pct(value: Decimal | float | None) -> str:
    """Two decimals with thousands separators: Decimal("98.08") → "98.08"."""
    return "-" if value is None else f"{Decimal(str(value)):,.2f}"


def fmt_points(value: Decimal | float | None) -> str:
    """Score points as the form writes them: "98" when whole, else two decimals ("97.55")."""
    if value is None:
        return "-"
    d = Decimal(str(value))
    return f"{d:,.0f}" if d == d.to_integral_value() else f"{d:,.2f}"


def fmt_datetime(value: datetime | None) -> str:
    """ "30 สิงหาคม 2562 เวลา 06:15 น." in Bangkok time (naive values are taken as Bangkok)."""
    if value is None:
        return "-"
    if value.tzinfo is not None:
        value = value.astimezone(BANGKOK)
    return f"{thai_date(value.date())} เวลา {value:%H:%M} น."


def fmt_date(value: date | None) -> str:
    return "-" if value is None else thai_date(value)


def figures_sentence(start: date, end: date, f: Figures) -> str:
    """The seed's quarterly sentence, on one line (section 6)."""
    return (
        f"ผลการดำเนินงานแก้ไขเรื่องร้องเรียน ระหว่างวันที่ {thai_date(start)} ถึงวันที่ {thai_date(end)} "
        f"มีจำนวนเรื่องร้องเรียนทั้งสิ้น {fmt_int(f.received)} เรื่อง "
        f"และดำเนินการแก้ไขเรื่องร้องเรียนเรียบร้อยแล้ว จำนวน {fmt_int(f.resolved)} เรื่อง "
        f"คิดเป็นร้อยละ {fmt_pct(f.pct_resolved)} "
        f"เรื่องที่อยู่ระหว่างดำเนินการ จำนวน {fmt_int(f.in_progress)} เรื่อง "
        f"คิดเป็นร้อยละ {fmt_pct(f.pct_in_progress)}"
    )


def short_name(name: str) -> str:
    """ "ระบบ MIS (ระบบเรื่องราวร้องทุกข์)" → "ระบบ MIS": the name without its parenthesised gloss."""
    short = re.sub(r"\s*\([^)]*\)\s*$", "", name).strip()
    return short or name


def thai_join(items: Sequence[str]) -> str:
    """ "ก, ข และ ค"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} และ {items[-1]}"


def make_environment() -> Environment:
    """Jinja2 environment for the report templates: autoescape on, undefined names are errors."""
    env = Environment(
        loader=FileSystemLoader(str(REPORT_TEMPLATES_DIR)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=fmt_int,
        pct=fmt_pct,
        points=fmt_points,
        thai_date=fmt_date,
        thai_datetime=fmt_datetime,
        short_name=short_name,
    )
    return env


# --------------------------------------------------------------------------- context


def build_context(
    result: IndicatorResult,
    texts: UnitTexts,
    charts: dict[str, str] | None = None,
    open_matters_limit: int | None = None,
) -> dict[str, Any]:
    """Everything the template shows, already chosen; numbers stay as the result has them.

    The open-matters annex lists the ``open_matters_limit`` oldest (default: the config's
    ``quarterly.report_open_matters_limit``): a PDF of every open matter of a large warehouse
    takes WeasyPrint tens of minutes and gigabytes. The XLSX lists them all."""
    if open_matters_limit is None:
        open_matters_limit = load_config().report_open_matters_limit
    open_matters = sorted(result.open_matters, key=lambda m: (-m.age_business_days, m.received_date))
    names = channel_names(result)
    counted_names = [names.get(c, c) for c in result.channels]
    quarters = []
    for q in range(1, 5):
        quarters.append(
            {
                "no": q,
                # Earlier quarters' figures are not in the result (each quarter is its own report);
                # when the result carries them, set "figures" here and the template shows them.
                "state": "current" if q == result.quarter else ("past" if q < result.quarter else "future"),
                "figures": result.totals if q == result.quarter else None,
                "cutoff": result.cutoff if q == result.quarter else None,
                "sentence": figures_sentence(result.fiscal_year_start, result.cutoff, result.totals)
                if q == result.quarter
                else None,
            }
        )
    year_end = fiscal_year_end(result.fiscal_year_be)
    fresh = freshness_rows(result)
    return {
        "r": result,
        "texts": texts,
        "blank": BLANK,
        "title": (
            f"รายงานผลการดำเนินงานตามตัวชี้วัด ปีงบประมาณ พ.ศ. {result.fiscal_year_be} "
            f"ไตรมาสที่ {result.quarter} (ข้อมูล ณ วันที่ {thai_date(result.cutoff)})"
        ),
        "window_start": result.fiscal_year_start,
        "counted_channels_th": thai_join(counted_names),
        "counted": set(result.channels),
        "channel_names": names,
        "month_names": THAI_MONTHS,
        "quarters": quarters,
        "current_sentence": figures_sentence(result.fiscal_year_start, result.cutoff, result.totals),
        "is_year_end": result.cutoff >= year_end,
        "year_end": year_end,
        "freshness": fresh,
        "freshness_problems": [f for f in fresh if f.state != "ok"],
        "open_matters": open_matters[: max(open_matters_limit, 0)],
        "open_matters_total": len(open_matters),
        "open_matters_more": max(len(open_matters) - max(open_matters_limit, 0), 0),
        "charts": charts or {},
        "generated_at": result.computed_at,
        "basename": "",
    }


def _svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def make_charts(result: IndicatorResult) -> dict[str, str]:
    """The report's charts as ``data:`` URIs (so the HTML file stands alone and the PDF embeds them)."""
    from complaints.report.charts import cumulative_rate_chart, district_bars_chart, monthly_bars_chart

    out = {}
    if result.monthly:
        out["cumulative"] = _svg_data_uri(cumulative_rate_chart(result.monthly))
        out["monthly"] = _svg_data_uri(monthly_bars_chart(result.monthly))
    if result.by_district:
        out["district"] = _svg_data_uri(district_bars_chart(result.by_district))
    return out


def render_html(
    result: IndicatorResult,
    texts: UnitTexts,
    charts: dict[str, str] | None = None,
    basename: str = "",
    open_matters_limit: int | None = None,
) -> str:
    """The report page (one HTML document, used for the HTML file and for the PDF)."""
    font = thai_font()
    context = build_context(result, texts, charts, open_matters_limit)
    context.update(
        basename=basename,
        font_regular_url=font.regular.as_uri(),
        font_bold_url=(font.bold or font.regular).as_uri(),
        font_family=font.family,
    )
    return make_environment().get_template("report.html.j2").render(context)


# --------------------------------------------------------------------------- PDF


class RefusedURL(ValueError):
    """The PDF renderer asked for something that is not a local template/font file or a data: URI."""


def local_url_fetcher(allowed_dirs: Iterable[Path] = ()):
    """A WeasyPrint URL fetcher that never touches the network.

    ``data:`` URIs are served; ``file:`` URLs only below the report templates and the report
    font's directory (plus ``allowed_dirs``); anything else raises :class:`RefusedURL`, which
    stops the rendering (``fail_on_errors``) instead of leaving a hole in the PDF.
    """
    from weasyprint.urls import URLFetcher

    roots = [p.resolve() for p in (REPORT_TEMPLATES_DIR, thai_font().directory, *allowed_dirs)]

    class LocalOnlyURLFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme == "file":
                path = Path(unquote(parts.path)).resolve()
                if parts.netloc not in ("", "localhost") or not any(path.is_relative_to(r) for r in roots):
                    raise RefusedURL(f"report renderer refuses file outside templates/fonts: {url}")
            elif scheme != "data":
                raise RefusedURL(f"report renderer refuses non-local URL: {url[:200]}")
            return super().fetch(url, headers)

    return LocalOnlyURLFetcher(allowed_protocols=("file", "data"), allow_redirects=False, fail_on_errors=True)


def write_pdf(html: str, target: Path) -> None:
    from weasyprint import HTML

    HTML(string=html, base_url=str(REPORT_TEMPLATES_DIR) + "/", url_fetcher=local_url_fetcher()).write_pdf(
        target, pdf_tags=False
    )


# --------------------------------------------------------------------------- entry point


def _atomic_write(target: Path, write) -> None:
    """Write through a temporary file in the same directory, then rename: readers of the
    published folder never see half a report."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_report(
    result: IndicatorResult,
    out_dir: Path,
    unit: str = "default",
    formats: Sequence[str] = FORMATS,
    *,
    report_config: Path | None = None,
    open_matters_limit: int | None = None,
) -> list[Path]:
    """Write the quarterly KPI report of ``result`` into ``out_dir``; return the paths written.

    Files are named ``kpi-complaints_fy<BE year>_q<quarter>_cutoff-<ISO cut-off>[_unit-<unit>].<ext>``,
    e.g. ``kpi-complaints_fy2562_q4_cutoff-2019-08-30.pdf`` for the default unit, so they sort by
    fiscal year, quarter and cut-off. ``_unit-<unit>`` is added for any unit other than
    ``default``.

    * ``html``: the report page, standalone (charts embedded as SVG ``data:`` URIs, CSS inline).
    * ``pdf``: the same page printed by WeasyPrint, A4 portrait, in the report font (Sarabun), no network access.
    * ``xlsx``: summary sheet plus one sheet per breakdown, monthly rows, open matters, freshness.

    ``unit`` selects the per-unit texts (sections 7–9, signature block) in
    ``include/config/report.yaml`` (or ``report_config``). The PDF/HTML list the
    ``open_matters_limit`` oldest open matters (default: the pipeline config's
    ``quarterly.report_open_matters_limit``) and say how many more the XLSX lists. Paths are
    returned in ``formats`` order.
    Existing files of the same name are replaced atomically.
    """
    formats = tuple(formats)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise ValueError(f"unknown or no report formats {unknown or formats!r}; choose from {FORMATS}")
    texts = load_unit_texts(unit, report_config)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    basename = report_basename(result, unit)

    html = None
    if "html" in formats or "pdf" in formats:
        html = render_html(result, texts, make_charts(result), basename, open_matters_limit)

    written = []
    for fmt in formats:
        target = out_dir / f"{basename}.{fmt}"
        if fmt == "html":
            _atomic_write(target, lambda p: p.write_text(html, encoding="utf-8"))
        elif fmt == "pdf":
            _atomic_write(target, lambda p: write_pdf(html, p))
        else:
            from complaints.report.xlsx import write_xlsx

            _atomic_write(target, lambda p: write_xlsx(result, texts, p))
        written.append(target)
    return written
