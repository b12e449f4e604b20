"""What the indicator computation returns and every report format renders.

The numbers in here come from the SQL in ``include/sql/indicator/`` (the only place they
are computed); the report, later APIs and the tests read this structure and never
recount.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Figures:
    """Matters received from 1 October to the cut-off, split by their status as of the cut-off."""

    received: int
    resolved: int
    in_progress: int
    pct_resolved: Decimal  # two decimals, ROUND_HALF_UP; 0.00 when nothing was received
    pct_in_progress: Decimal


@dataclass(frozen=True)
class BreakdownRow:
    code: str
    name_th: str
    name_en: str
    figures: Figures


@dataclass(frozen=True)
class MonthRow:
    month: date  # first day of the month
    received: int  # received in that month
    resolved: int  # resolved (first time) in that month, whatever month they were received in
    cumulative_received: int  # from 1 October up to the end of the month (or the cut-off)
    cumulative_resolved: int  # of those, resolved as of the end of the month (or the cut-off)
    cumulative_pct_resolved: Decimal


@dataclass(frozen=True)
class OpenMatter:
    """A matter still open at the cut-off. No personal data: no reporter, no description."""

    channel: str
    source_id: str
    received_date: date
    district_code: str
    district_name_th: str
    category_code: str
    category_name_th: str
    responsible_unit: str | None
    unit_name_th: str | None
    status: str
    status_name_th: str
    age_business_days: int


@dataclass(frozen=True)
class PartScore:
    name_th: str
    name_en: str
    max_points: Decimal
    basis_pct: Decimal  # the percentage the points are derived from
    points: Decimal
    explanation: str  # how basis_pct was measured, in Thai, for the report


@dataclass(frozen=True)
class Score:
    parts: list[PartScore]
    total: Decimal
    target: Decimal
    met: bool


@dataclass(frozen=True)
class ChannelFreshness:
    channel: str
    name_th: str
    last_successful_load: datetime | None  # when the last batch of the channel was written
    covered_until: date | None  # end of the last interval loaded for the channel
    stale: bool
    note_th: str  # e.g. "ข้อมูลล่าสุดถึงวันที่ 29 สิงหาคม 2562" or "ไม่มีข้อมูล"


@dataclass
class IndicatorResult:
    fiscal_year_be: int  # 2562
    fiscal_year_start: date  # 2018-10-01
    cutoff: date  # inclusive, Bangkok calendar date
    quarter: int  # fiscal quarter the cut-off falls in (1-4)
    rubric_version: str
    channels: list[str]  # channel codes counted in the indicator
    totals: Figures
    score: Score
    by_channel: list[BreakdownRow] = field(default_factory=list)  # every channel in the warehouse
    by_district: list[BreakdownRow] = field(default_factory=list)  # all 50, zeros included
    by_unit: list[BreakdownRow] = field(default_factory=list)
    by_category: list[BreakdownRow] = field(default_factory=list)
    monthly: list[MonthRow] = field(default_factory=list)
    open_matters: list[OpenMatter] = field(default_factory=list)
    freshness: list[ChannelFreshness] = field(default_factory=list)
    computed_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(hint: Any, value: Any) -> Any:
    import dataclasses
    import types
    import typing

    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode(inner[0], value)
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_decode(item, v) for v in value]
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        return hint(
            **{f.name: _decode(hints[f.name], value[f.name]) for f in dataclasses.fields(hint) if f.name in value}
        )
    if hint is Decimal:
        return Decimal(value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    return value


def result_to_json(result: IndicatorResult) -> str:
    """JSON of a result, exact (Decimals as strings), for storing the computed snapshot."""
    import json

    return json.dumps(_encode(result.as_dict()), ensure_ascii=False, sort_keys=True)


def result_from_json(text: str) -> IndicatorResult:
    import json

    return _decode(IndicatorResult, json.loads(text))
