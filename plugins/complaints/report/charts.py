"""Charts for the KPI report, drawn with matplotlib (Agg backend) in the report's Thai font
(Sarabun by default, see :mod:`complaints.report.fonts`).

The captions are the report's (``<figcaption>``), so the charts carry no title. Every chart is
returned as an SVG document (text drawn as glyph outlines, so the file needs no
font to display and the same bytes go into the HTML page and the PDF). The values plotted are
the ones in :class:`~complaints.indicator.result.IndicatorResult`; nothing is recounted here.

matplotlib is imported inside the functions only: DAG files import ``complaints.report`` and
must not pay for (or be broken by) a plotting library at parse time.
"""

from __future__ import annotations

import io
from functools import cache
from typing import TYPE_CHECKING

from complaints.report.fonts import thai_font
from complaints.thai_time import BE_OFFSET

if TYPE_CHECKING:
    from complaints.indicator.result import BreakdownRow, MonthRow

THAI_MONTHS_ABBR = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
RESOLVED_COLOUR = "#2e7d32"
IN_PROGRESS_COLOUR = "#ef6c00"
RECEIVED_COLOUR = "#1565c0"


@cache
def matplotlib_family() -> str:
    """Register the report's Thai font files with matplotlib; return the family name it knows them by."""
    from matplotlib import font_manager

    font = thai_font()
    for path in {font.regular, font.bold or font.regular}:
        font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(font.regular)).get_name()


def month_label(month, sep: str = "\n") -> str:
    """ "ต.ค.⏎61": Thai abbreviated month and two-digit Buddhist-era year (two lines: 12 fit)."""
    return f"{THAI_MONTHS_ABBR[month.month - 1]}{sep}{str(month.year + BE_OFFSET)[-2:]}"


def _rc() -> dict:
    return {
        "font.family": [matplotlib_family()],
        "font.size": 11,
        "text.language": "th",
        "svg.fonttype": "path",  # glyph outlines: no font needed to display, shaping done by raqm
        "svg.hashsalt": "kpi-complaints",  # stable element ids, so equal input gives equal SVG
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 13,
        "axes.titleweight": "bold",
    }


def _plain(texts) -> None:
    """Labels come from data (district, category names): never let a ``$`` start mathtext."""
    for t in texts:
        t.set_parse_math(False)


def _tight_month_labels(ax) -> None:
    # Thai fonts have tall line boxes: two-line month labels need less than the default spacing.
    for t in ax.get_xticklabels():
        t.set_linespacing(0.95)


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return buf.getvalue()


def _new_figure(width_in: float, height_in: float):
    """A figure on its own Agg canvas: no pyplot, no GUI backend, no global backend switch."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def cumulative_rate_chart(monthly: list[MonthRow]) -> str:
    """Line: cumulative share of matters resolved, from 1 October to the end of each month."""
    from matplotlib import rc_context

    with rc_context(_rc()):
        fig = _new_figure(6.8, 2.9)
        ax = fig.add_subplot()
        xs = list(range(len(monthly)))
        ys = [float(m.cumulative_pct_resolved) for m in monthly]
        ax.plot(xs, ys, marker="o", color=RESOLVED_COLOUR, linewidth=2)
        for x, m in zip(xs, monthly, strict=True):
            ax.annotate(
                f"{m.cumulative_pct_resolved:.2f}",
                (x, float(m.cumulative_pct_resolved)),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=9,
            )
        ax.set_xticks(xs, [month_label(m.month) for m in monthly])
        _tight_month_labels(ax)
        low = min(ys, default=0.0)
        ax.set_ylim(max(0.0, min(low - 5.0, 90.0)), 101.5)
        ax.set_ylabel("ร้อยละ")
        ax.grid(axis="y", alpha=0.3)
        return _svg(fig)


def monthly_bars_chart(monthly: list[MonthRow]) -> str:
    """Grouped bars: matters received and matters resolved in each month."""
    from matplotlib import rc_context

    with rc_context(_rc()):
        fig = _new_figure(6.8, 2.9)
        ax = fig.add_subplot()
        xs = list(range(len(monthly)))
        width = 0.4
        ax.bar(
            [x - width / 2 for x in xs],
            [m.received for m in monthly],
            width,
            label="รับเรื่องในเดือน",
            color=RECEIVED_COLOUR,
        )
        ax.bar(
            [x + width / 2 for x in xs],
            [m.resolved for m in monthly],
            width,
            label="แก้ไขเสร็จในเดือน",
            color=RESOLVED_COLOUR,
        )
        ax.set_xticks(xs, [month_label(m.month) for m in monthly])
        _tight_month_labels(ax)
        ax.set_ylabel("จำนวนเรื่อง")
        ax.legend(frameon=False, ncols=2, loc="lower left", bbox_to_anchor=(0, 1), borderaxespad=0.2)
        ax.grid(axis="y", alpha=0.3)
        ax.yaxis.get_major_locator().set_params(integer=True)
        return _svg(fig)


def district_bars_chart(by_district: list[BreakdownRow]) -> str:
    """Horizontal stacked bars, one per district: resolved + in progress = received."""
    from matplotlib import rc_context

    rows = sorted(by_district, key=lambda r: (-r.figures.received, r.code))
    rows.reverse()  # barh draws the first row at the bottom: largest on top
    with rc_context(_rc()):
        fig = _new_figure(6.8, max(3.0, 0.17 * len(rows) + 1.2))
        ax = fig.add_subplot()
        ys = list(range(len(rows)))
        resolved = [r.figures.resolved for r in rows]
        ax.barh(ys, resolved, color=RESOLVED_COLOUR, label="แก้ไขเรียบร้อยแล้ว", height=0.7)
        ax.barh(
            ys,
            [r.figures.in_progress for r in rows],
            left=resolved,
            color=IN_PROGRESS_COLOUR,
            label="อยู่ระหว่างดำเนินการ",
            height=0.7,
        )
        ax.set_yticks(ys, [r.name_th for r in rows], fontsize=9)
        _plain(ax.get_yticklabels())
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xlabel("จำนวนเรื่อง")
        ax.legend(frameon=False, ncols=2, loc="lower left", bbox_to_anchor=(0, 1), borderaxespad=0.2)
        ax.grid(axis="x", alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        return _svg(fig)
