"""Great Expectations validation of canonical records, and the split into load / quarantine.

The suite is built from ``include/config/pipeline.yaml`` (the same lists the warehouse
dimensions are seeded from), so a status or district added there is accepted everywhere
at once. Each expectation carries a ``reason`` in its meta: that text is what a data
engineer reads in the quarantine table.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from complaints.canonical import CANONICAL_COLUMNS, TIMESTAMP_COLUMNS, CanonicalComplaint
from complaints.config import load_config

if TYPE_CHECKING:
    import great_expectations as gx
    import pandas as pd

log = logging.getLogger(__name__)

# Thai UTF-8 decoded as Latin-1/cp1252 ("à¸‚"), or undecodable bytes replaced (U+FFFD).
MOJIBAKE_PATTERN = r"(?:à¸|à¹|Ã[\u0080-\u00ff]|\ufffd)"
# Clock skew tolerated between a source and this machine before a date counts as future.
FUTURE_TOLERANCE = timedelta(hours=1)


@dataclass
class ValidationOutcome:
    valid: list[CanonicalComplaint] = field(default_factory=list)
    # (record, reasons) for rows that failed at least one expectation
    failed: list[tuple[CanonicalComplaint, list[str]]] = field(default_factory=list)
    statistics: dict[str, Any] = field(default_factory=dict)


def _expectations(now: datetime) -> list[tuple[str, dict[str, Any], str]]:
    """(expectation class name, kwargs, reason) for every rule a canonical row must pass."""
    cfg = load_config()
    bounds = cfg.bangkok_bounds
    earliest = datetime.fromisoformat(cfg.earliest_received_date).replace(tzinfo=UTC)
    latest = now + FUTURE_TOLERANCE
    rules: list[tuple[str, dict[str, Any], str]] = [
        ("ExpectColumnValuesToNotBeNull", {"column": "source_id"}, "missing source id"),
        ("ExpectColumnValuesToNotBeNull", {"column": "received_at"}, "missing received date"),
        ("ExpectColumnValuesToNotBeNull", {"column": "source_updated_at"}, "missing update time"),
        ("ExpectColumnValuesToNotBeNull", {"column": "district_code"}, "unknown or missing district"),
        ("ExpectColumnValuesToNotBeNull", {"column": "category_code"}, "unknown or missing category"),
        ("ExpectColumnValuesToNotBeNull", {"column": "status"}, "unknown or missing status"),
        ("ExpectColumnValuesToBeInSet", {"column": "channel", "value_set": cfg.codes("channels")}, "unknown channel"),
        (
            "ExpectColumnValuesToBeInSet",
            {"column": "district_code", "value_set": cfg.codes("districts")},
            "district not one of Bangkok's 50",
        ),
        (
            "ExpectColumnValuesToBeInSet",
            {"column": "category_code", "value_set": cfg.codes("categories")},
            "category not in the configured list",
        ),
        (
            "ExpectColumnValuesToBeInSet",
            {"column": "status", "value_set": cfg.codes("statuses")},
            "status not in the configured list",
        ),
        (
            "ExpectColumnValuesToBeInSet",
            {"column": "responsible_unit", "value_set": cfg.codes("units")},
            "responsible unit not in the configured list",
        ),
        (
            "ExpectColumnValuesToBeBetween",
            {"column": "received_at", "min_value": earliest, "max_value": latest},
            f"received date before {cfg.earliest_received_date} or in the future (Buddhist/Christian era mix-up?)",
        ),
        (
            "ExpectColumnValuesToBeBetween",
            {"column": "source_updated_at", "max_value": latest},
            "update time in the future",
        ),
        (
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "acknowledged_at",
                "column_B": "received_at",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            "acknowledged before received",
        ),
        (
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "resolved_at",
                "column_B": "received_at",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            "resolved before received",
        ),
        (
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "source_updated_at",
                "column_B": "received_at",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            "updated before received",
        ),
        (
            "ExpectColumnValuesToBeBetween",
            {"column": "latitude", "min_value": bounds["lat_min"], "max_value": bounds["lat_max"]},
            "latitude outside Bangkok (swapped coordinates?)",
        ),
        (
            "ExpectColumnValuesToBeBetween",
            {"column": "longitude", "min_value": bounds["lon_min"], "max_value": bounds["lon_max"]},
            "longitude outside Bangkok (swapped coordinates?)",
        ),
        (
            "ExpectColumnValuesToNotMatchRegex",
            {"column": "description", "regex": MOJIBAKE_PATTERN},
            "description is mojibake (wrong text encoding)",
        ),
        (
            "ExpectColumnValuesToNotMatchRegex",
            {"column": "resolution_report", "regex": MOJIBAKE_PATTERN},
            "resolution report is mojibake (wrong text encoding)",
        ),
    ]
    return rules


def build_suite(channel: str, now: datetime | None = None) -> gx.ExpectationSuite:
    """The expectation suite for one channel's batches."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=f"complaints_{channel}")
    for class_name, kwargs, reason in _expectations(now or datetime.now(UTC)):
        expectation_class = getattr(gx.expectations, class_name)
        suite.add_expectation(expectation_class(**kwargs, meta={"reason": reason}))
    return suite


@cache
def _suite_of_the_hour(channel: str, hour: datetime) -> gx.ExpectationSuite:
    """Suites are rebuilt once an hour, not per batch: the future-date bound is the only thing
    that moves, and FUTURE_TOLERANCE covers the hour."""
    return build_suite(channel, hour + timedelta(hours=1))


@cache
def _batch_definition() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("complaints").add_dataframe_asset("batch")
    return asset.add_batch_definition_whole_dataframe("whole_batch")


def records_frame(records: list[CanonicalComplaint]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame.from_records(records, columns=list(CANONICAL_COLUMNS))
    for column in TIMESTAMP_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    for column in ("latitude", "longitude"):
        frame[column] = pd.to_numeric(frame[column])
    return frame


def validate_records(channel: str, records: list[CanonicalComplaint], now: datetime | None = None) -> ValidationOutcome:
    """Run the channel's suite over ``records``; every record ends in exactly one of valid/failed."""
    if not records:
        return ValidationOutcome()
    frame = records_frame(records)
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    suite = _suite_of_the_hour(channel, (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0))
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    reasons: dict[int, list[str]] = {}
    for item in result.results:
        if item.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"expectation {item.expectation_config.type} could not run on channel {channel}: "
                f"{item.exception_info.get('exception_message')}"
            )
        if item.success:
            continue
        reason = item.expectation_config.meta["reason"]
        for index in item.result.get("unexpected_index_list") or []:
            reasons.setdefault(int(index), []).append(reason)
    outcome = ValidationOutcome(statistics=dict(result.statistics))
    for position, record in enumerate(records):
        if position in reasons:
            outcome.failed.append((record, reasons[position]))
        else:
            outcome.valid.append(record)
    return outcome


def split_duplicates(
    records: list[CanonicalComplaint],
) -> tuple[list[CanonicalComplaint], list[tuple[CanonicalComplaint, list[str]]]]:
    """Keep one row per source id (the most recently updated; the later one on a tie).

    The others are returned for quarantine with the reason, so a duplicate delivery is
    visible and conservation holds.
    """
    keep: dict[Any, int] = {}
    dropped: list[tuple[CanonicalComplaint, list[str]]] = []
    for position, record in enumerate(records):
        key = record.get("source_id")
        if key is None:
            continue
        if key in keep:
            previous = records[keep[key]]
            newer = (record.get("source_updated_at") or datetime.min.replace(tzinfo=UTC)) >= (
                previous.get("source_updated_at") or datetime.min.replace(tzinfo=UTC)
            )
            loser, keep_pos = (previous, position) if newer else (record, keep[key])
            identical = loser == records[keep_pos]
            reason = (
                "duplicate delivery of an identical row in the same batch"
                if identical
                else "superseded by a more recent row with the same source id in the same batch"
            )
            dropped.append((loser, [reason]))
            keep[key] = keep_pos
        else:
            keep[key] = position
    kept_positions = set(keep.values())
    kept = [r for i, r in enumerate(records) if r.get("source_id") is None or i in kept_positions]
    return kept, dropped
