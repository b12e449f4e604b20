"""The quarterly KPI report: HTML, PDF (WeasyPrint) and XLSX renderings of an IndicatorResult.

``render_report(result, out_dir, unit="default", formats=("pdf", "xlsx", "html"))`` writes
``kpi-complaints_fy<BE year>_q<quarter>_cutoff-<YYYY-MM-DD>[_unit-<unit>].<ext>`` and returns the
paths. Importing this package is cheap: WeasyPrint, matplotlib and openpyxl load on first use.
"""

from complaints.report.render import render_report, report_basename

__all__ = ["render_report", "report_basename"]
