"""The scoring rubric, versioned per fiscal year in ``include/config/rubric/fyNNNN.yaml``.

A fiscal year uses its own file if there is one, else the newest earlier version, so a
file is added only when the rules change. Defaults and their reasoning: docs/rubric.md.
"""

from __future__ import annotations

import itertools
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import yaml

from complaints.config import load_config
from complaints.paths import CONFIG_DIR

RUBRIC_DIR = CONFIG_DIR / "rubric"
TWO_PLACES = Decimal("0.01")
HUNDRED = Decimal(100)
# Characters ignored when a resolution report is measured and compared with the
# boilerplate phrases. The SQL removes the same ones (include/sql/indicator/report_quality.sql).
REPORT_IGNORED_CHARS = (" ", ".", "\n", "\r", "\t")


class RubricError(ValueError):
    """A rubric file that cannot be used; the message names the file and the problem."""


def round2(value: Decimal) -> Decimal:
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PointMapping:
    """How a percentage becomes points.

    ``linear``: ``max_points × pct / 100``. ``bands``: the points of the highest band whose
    ``min_pct`` the percentage reaches (``pct >= min_pct``); below every band, 0 points.
    Either way the result is rounded half-up to two decimals.
    """

    method: str = "linear"
    bands: tuple[tuple[Decimal, Decimal], ...] = ()

    def points(self, pct: Decimal, max_points: Decimal) -> Decimal:
        pct = Decimal(pct)
        if self.method == "linear":
            bounded = min(max(pct, Decimal(0)), HUNDRED)
            return round2(max_points * bounded / HUNDRED)
        reached = [points for min_pct, points in self.bands if pct >= min_pct]
        return round2(max(reached) if reached else Decimal(0))

    def describe_th(self) -> str:
        if self.method == "linear":
            return "คิดคะแนนตามสัดส่วนร้อยละ"
        steps = ", ".join(f"ร้อยละ {_plain(p)} ขึ้นไป {_plain(pts)} คะแนน" for p, pts in self.bands)
        return f"คิดคะแนนเป็นขั้น ({steps})"


@dataclass(frozen=True)
class ResponsePart:
    """Part 1: the share of matters the unit responded to within N business days."""

    name_th: str
    name_en: str
    max_points: Decimal
    mapping: PointMapping
    within_business_days: int = 1
    response_statuses: tuple[str, ...] = ("acknowledged", "in_progress", "forwarded", "resolved")


@dataclass(frozen=True)
class QualityPart:
    """Part 2: the share of matters resolved as of the cut-off with a report that answers the complainant."""

    name_th: str
    name_en: str
    max_points: Decimal
    mapping: PointMapping
    min_report_chars: int = 10
    boilerplate_reports: tuple[str, ...] = ()
    reopened_fails: bool = True
    # A matter whose source counts a reopening (complaint.reopen_count > 0, e.g. Traffy Fondue's
    # count_reopen) fails too; sources without a count (NULL) are not affected.
    reopen_count_fails: bool = True


@dataclass(frozen=True)
class Rubric:
    version: str
    fiscal_year: int  # Buddhist era
    target: Decimal
    channels: tuple[str, ...]
    response: ResponsePart
    quality: QualityPart
    reopen_statuses: tuple[str, ...] = ("reopened",)
    # Business days after the received date by which a matter should be resolved. Not scored
    # (Part 2 judges the state at the cut-off); the daily overdue digest warns against it.
    resolution_within_business_days: int = 15
    source: str | None = field(default=None, compare=False)

    @property
    def max_points(self) -> Decimal:
        return self.response.max_points + self.quality.max_points


def normalise_report_text(value: str) -> str:
    """A report as the quality check compares it: NFC, lower case, without spaces, dots or line breaks."""
    text = unicodedata.normalize("NFC", value).strip().lower()
    for char in REPORT_IGNORED_CHARS:
        text = text.replace(char, "")
    return text


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


def _decimal(value: Any, what: str, source: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (ArithmeticError, ValueError):
        raise RubricError(f"{source}: {what} {value!r} is not a number") from None
    if not number.is_finite():
        raise RubricError(f"{source}: {what} {value!r} is not a number")
    return number


def _mapping(raw: Any, max_points: Decimal, where: str, source: str) -> PointMapping:
    raw = raw or {"method": "linear"}
    method = str(raw.get("method", "linear"))
    if method == "linear":
        if raw.get("bands"):
            raise RubricError(f"{source}: {where}.mapping is linear but lists bands")
        return PointMapping("linear")
    if method != "bands":
        raise RubricError(f"{source}: {where}.mapping.method must be 'linear' or 'bands', not {method!r}")
    bands = []
    for entry in raw.get("bands") or []:
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            raise RubricError(f"{source}: {where}.mapping.bands entries are [min_pct, points], not {entry!r}")
        min_pct = _decimal(entry[0], f"{where} band min_pct", source)
        points = _decimal(entry[1], f"{where} band points", source)
        if not Decimal(0) <= min_pct <= HUNDRED:
            raise RubricError(f"{source}: {where} band min_pct {min_pct} is not within 0..100")
        if not Decimal(0) <= points <= max_points:
            raise RubricError(f"{source}: {where} band points {points} is not within 0..{max_points}")
        bands.append((min_pct, points))
    if not bands:
        raise RubricError(f"{source}: {where}.mapping uses bands but lists none")
    bands.sort()
    if len({b[0] for b in bands}) != len(bands):
        raise RubricError(f"{source}: {where}.mapping.bands repeats a min_pct")
    if any(later[1] < earlier[1] for earlier, later in itertools.pairwise(bands)):
        raise RubricError(f"{source}: {where}.mapping.bands give fewer points for a higher percentage")
    return PointMapping("bands", tuple(bands))


def _codes(raw: Any, known: set[str], what: str, source: str) -> tuple[str, ...]:
    codes = tuple(str(c) for c in (raw or []))
    unknown = sorted(set(codes) - known)
    if unknown:
        raise RubricError(f"{source}: {what} {unknown} not in include/config/pipeline.yaml")
    return codes


def parse_rubric(raw: dict[str, Any], source: str = "<rubric>") -> Rubric:
    """Validate a rubric document against the pipeline config and build it."""
    cfg = load_config()
    try:
        parts = raw["parts"]
        response_raw, quality_raw = parts["response"], parts["quality"]
        version, fiscal_year = str(raw["version"]), int(raw["fiscal_year"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RubricError(f"{source}: missing or invalid {exc}") from None
    statuses = set(cfg.codes("statuses"))
    channels = _codes(raw.get("channels"), set(cfg.codes("channels")), "channels", source)
    if not channels:
        raise RubricError(f"{source}: channels must name at least one channel")

    response_max = _decimal(response_raw.get("max_points"), "parts.response.max_points", source)
    within = int(response_raw.get("within_business_days", 1))
    if within < 0:
        raise RubricError(f"{source}: parts.response.within_business_days must not be negative")
    response = ResponsePart(
        name_th=str(response_raw["name_th"]),
        name_en=str(response_raw.get("name_en", "")),
        max_points=response_max,
        mapping=_mapping(response_raw.get("mapping"), response_max, "parts.response", source),
        within_business_days=within,
        response_statuses=_codes(
            response_raw.get("response_statuses", list(ResponsePart.response_statuses)),
            statuses,
            "parts.response.response_statuses",
            source,
        ),
    )
    quality_max = _decimal(quality_raw.get("max_points"), "parts.quality.max_points", source)
    quality = QualityPart(
        name_th=str(quality_raw["name_th"]),
        name_en=str(quality_raw.get("name_en", "")),
        max_points=quality_max,
        mapping=_mapping(quality_raw.get("mapping"), quality_max, "parts.quality", source),
        min_report_chars=int(quality_raw.get("min_report_chars", 10)),
        boilerplate_reports=tuple(str(b) for b in quality_raw.get("boilerplate_reports") or []),
        reopened_fails=bool(quality_raw.get("reopened_fails", True)),
        reopen_count_fails=bool(quality_raw.get("reopen_count_fails", True)),
    )
    resolution_within = raw.get("resolution_within_business_days", 15)
    if isinstance(resolution_within, bool) or not isinstance(resolution_within, int):
        raise RubricError(f"{source}: resolution_within_business_days {resolution_within!r} is not a whole number")
    if resolution_within < max(within, 1):
        raise RubricError(
            f"{source}: resolution_within_business_days ({resolution_within}) must be at least 1 and not "
            f"shorter than parts.response.within_business_days ({within})"
        )
    rubric = Rubric(
        version=version,
        fiscal_year=fiscal_year,
        target=_decimal(raw.get("target", 90), "target", source),
        channels=channels,
        response=response,
        quality=quality,
        reopen_statuses=_codes(raw.get("reopen_statuses", ["reopened"]), statuses, "reopen_statuses", source),
        resolution_within_business_days=resolution_within,
        source=source,
    )
    if rubric.max_points != HUNDRED:
        raise RubricError(f"{source}: the parts' max_points add up to {rubric.max_points}, not 100")
    if not Decimal(0) <= rubric.target <= HUNDRED:
        raise RubricError(f"{source}: target {rubric.target} is not within 0..100")
    return rubric


def rubric_versions(directory: Path | None = None) -> dict[int, Path]:
    """Every rubric file by the fiscal year (Buddhist era) it declares."""
    directory = Path(directory) if directory else RUBRIC_DIR
    found: dict[int, Path] = {}
    for path in sorted(directory.glob("*.yaml")):
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh) or {}
        try:
            year = int(raw["fiscal_year"])
        except (KeyError, TypeError, ValueError):
            raise RubricError(f"{path}: no fiscal_year") from None
        if year in found:
            raise RubricError(f"{path} and {found[year]} both declare fiscal year {year}")
        found[year] = path
    return found


def load_rubric(fiscal_year: int, directory: Path | None = None) -> Rubric:
    """The rubric of a fiscal year (Buddhist era, e.g. 2562): its own version, else the newest earlier one."""
    versions = rubric_versions(directory)
    usable = [year for year in versions if year <= fiscal_year]
    if not usable:
        raise RubricError(
            f"no rubric for fiscal year {fiscal_year} or earlier in {directory or RUBRIC_DIR} "
            f"(versions: {sorted(versions) or 'none'})"
        )
    path = versions[max(usable)]
    with open(path, encoding="utf-8") as fh:
        return parse_rubric(yaml.safe_load(fh), source=str(path))
