"""What the report's renderings (PDF/HTML and XLSX) show beside the figures: the per-unit texts
staff write (``include/config/report.yaml``) and the freshness of each channel's data.

Shared by :mod:`complaints.report.render` and :mod:`complaints.report.xlsx`, so neither imports
the other for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from complaints.indicator.result import ChannelFreshness, IndicatorResult
from complaints.paths import CONFIG_DIR

REPORT_CONFIG = CONFIG_DIR / "report.yaml"
BLANK = "................"
_UNIT_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class UnitTexts:
    """What staff write on the form: sections 7–9 and the signature block."""

    unit_name_th: str = BLANK
    supporting_factors: list[str] = field(default_factory=lambda: [BLANK])
    obstacles: list[str] = field(default_factory=lambda: [BLANK])
    evidence: list[str] = field(default_factory=lambda: [BLANK])
    reporter_name: str = BLANK
    reporter_position: str = BLANK


def _lines(value: Any) -> list[str]:
    if value is None:
        return [BLANK]
    items = [value] if isinstance(value, str) else list(value)
    items = [str(v).strip() for v in items if str(v).strip()]
    return items or [BLANK]


def _text(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    return text or BLANK


def load_unit_texts(unit: str = "default", path: Path | None = None) -> UnitTexts:
    """Texts of ``unit`` from ``report.yaml``; fields the unit leaves out come from ``default``.

    An unknown unit is an error (a report for the wrong office is worse than none).
    """
    if not _UNIT_KEY.match(unit):
        raise ValueError(f"unit key {unit!r} must be letters, digits, '_' or '-' (it goes into file names)")
    with open(path or REPORT_CONFIG, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    units = raw.get("units") or {}
    if unit not in units:
        raise KeyError(f"unit {unit!r} is not in {path or REPORT_CONFIG}; known units: {sorted(units)}")
    merged: dict[str, Any] = {**(units.get("default") or {}), **(units[unit] or {})}
    reporter = {**((units.get("default") or {}).get("reporter") or {}), **(merged.get("reporter") or {})}
    return UnitTexts(
        unit_name_th=_text(merged.get("unit_name_th")),
        supporting_factors=_lines(merged.get("supporting_factors")),
        obstacles=_lines(merged.get("obstacles")),
        evidence=_lines(merged.get("evidence")),
        reporter_name=_text(reporter.get("name")),
        reporter_position=_text(reporter.get("position")),
    )


@dataclass(frozen=True)
class FreshnessRow:
    channel: str
    name_th: str
    counted: bool  # counted in the indicator
    state: str  # "ok", "stale" or "missing"
    last_successful_load: datetime | None
    covered_until: date | None
    note_th: str


def freshness_rows(result: IndicatorResult) -> list[FreshnessRow]:
    """One row per channel in ``result.freshness``, plus a "missing" row for every counted
    channel the freshness list does not mention at all."""
    counted = set(result.channels)
    rows = []
    seen = set()
    for f in result.freshness:
        seen.add(f.channel)
        state = _freshness_state(f)
        rows.append(
            FreshnessRow(
                f.channel, f.name_th, f.channel in counted, state, f.last_successful_load, f.covered_until, f.note_th
            )
        )
    names = channel_names(result)
    for code in result.channels:
        if code not in seen:
            rows.append(
                FreshnessRow(code, names.get(code, code), True, "missing", None, None, "ไม่มีข้อมูลการนำเข้าของช่องทางนี้")
            )
    return rows


def _freshness_state(f: ChannelFreshness) -> str:
    if f.last_successful_load is None or f.covered_until is None:
        return "missing"
    return "stale" if f.stale else "ok"


def channel_names(result: IndicatorResult) -> dict[str, str]:
    """Thai channel names by code, as the result carries them (breakdown rows, then freshness)."""
    names = {f.channel: f.name_th for f in result.freshness}
    names.update({r.code: r.name_th for r in result.by_channel})
    return names
