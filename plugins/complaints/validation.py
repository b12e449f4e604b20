"""Great Expectations validation of canonical records, and the split into load / quarantine.

The suite is built from ``include/config/pipeline.yaml`` (the same lists the warehouse
dimensions are seeded from), so a status or district added there is accepted everywhere
at once. Each expectation carries a ``reason`` in its meta: that text is what a data
engineer reads in the quarantine table (and, as the expectation's notes, in Data Docs).

What Great Expectations sees is :func:`validation_frame`, not the canonical records: the
free-text columns and the reporter pseudonym are left out, and the mojibake rule runs on a
derived boolean column. A validation result (and so the Data Docs built from it, see
:mod:`complaints.data_docs`) lists the *values* that failed an expectation; with the raw
description in the frame, a mojibake description -- which may hold a caller's phone number
or name -- would be copied verbatim into the result store and the HTML. A result format that
hides unexpected values was not enough: it applies to the whole run and would also hide the
district codes and dates an engineer needs, and any expectation added later on a text column
would leak again. With the text columns absent from the frame, such an expectation fails
loudly ("column not found") instead. Rows are identified in results by ``source_id`` (a
ticket / event id, not personal data) and ``row`` (the position in the validated batch).
"""

from __future__ import annotations

import copy
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from complaints.canonical import CANONICAL_COLUMNS, TIMESTAMP_COLUMNS, CanonicalComplaint
from complaints.config import UNMAPPED, load_config

if TYPE_CHECKING:
    import great_expectations as gx
    import pandas as pd

log = logging.getLogger(__name__)

# Thai UTF-8 decoded as Latin-1/cp1252 ("à¸‚"), undecodable bytes replaced (U+FFFD), or Thai
# UTF-8 decoded as Windows-874/TIS-620: every Thai letter's E0 B8/B9 xx bytes become "เธ"/"เน" and
# one character of 0x80-0xBF (or nothing, where the byte is undefined) -- three such in a row
# never occur in Thai words ("เธอ", "เน้น" are followed by other letters).
MOJIBAKE_PATTERN = r"(?:à¸|à¹|Ã[\u0080-\u00ff]|\ufffd|(?:เ[ธน][\u00a0\u0e01-\u0e1f€…‘’“”•–—]?){3})"
_MOJIBAKE = re.compile(MOJIBAKE_PATTERN)
# Clock skew tolerated between a source and this machine before a date counts as future.
FUTURE_TOLERANCE = timedelta(hours=1)
_MEMO_LOCK = threading.Lock()  # one validation at a time replaces GX's configuration property


# Text columns Great Expectations never sees: they may hold personal data (see the module doc).
FREE_TEXT_COLUMNS = ("description", "resolution_report")
# Derived from FREE_TEXT_COLUMNS: True when the text looks like mojibake.
MOJIBAKE_FLAG = "{}_is_mojibake"
# Derived from FREE_TEXT_COLUMNS: the text's length in characters (0 when empty).
TEXT_LENGTH = "{}_chars"
# Columns that identify a failing row in a validation result (neither is personal data).
ROW_ID_COLUMNS = ("source_id", "row")
# The raw labels of values stored as UNMAPPED, by kind (canonical columns): not source errors but
# labels the pipeline cannot read yet. Their expectations (meta kind "unmapped") quarantine no
# row; each fails when its column's share of rows exceeds quarantine.max_unmapped_share.
UNMAPPED_COLUMNS = {"unit": "unmapped_unit", "category": "unmapped_category", "status": "unmapped_status"}
UNMAPPED_KIND = "unmapped"


@dataclass
class ValidationOutcome:
    valid: list[CanonicalComplaint] = field(default_factory=list)
    # (record, reasons) for rows that failed at least one expectation
    failed: list[tuple[CanonicalComplaint, list[str]]] = field(default_factory=list)
    statistics: dict[str, Any] = field(default_factory=dict)
    # The Data Docs page of this validation (a file under <data dir>/data-docs/), when recorded
    data_docs_path: Path | None = None
    data_docs_url: str | None = None
    # (kind, raw label) -> rows of the valid records stored with that label as UNMAPPED
    unmapped: dict[tuple[str, str], int] = field(default_factory=dict)
    # One message per unmapped expectation over its threshold (the batch is then held, see ingest)
    unmapped_over_threshold: list[str] = field(default_factory=list)


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
            {"column": "category_code", "value_set": [*cfg.codes("categories"), UNMAPPED]},
            "category not in the configured list",
        ),
        (
            "ExpectColumnValuesToBeInSet",
            {"column": "status", "value_set": [*cfg.codes("statuses"), UNMAPPED]},
            "status not in the configured list",
        ),
        (
            "ExpectColumnValuesToBeInSet",
            {"column": "responsible_unit", "value_set": [*cfg.codes("units"), UNMAPPED]},
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
            "ExpectColumnValuesToBeBetween",
            {"column": "acknowledged_at", "max_value": latest},
            "acknowledged date in the future (Buddhist/Christian era mix-up?)",
        ),
        (
            "ExpectColumnValuesToBeBetween",
            {"column": "resolved_at", "max_value": latest},
            "resolved date in the future (Buddhist/Christian era mix-up?)",
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
            "ExpectColumnValuesToBeInSet",
            {"column": MOJIBAKE_FLAG.format("description"), "value_set": [False]},
            "description is mojibake (wrong text encoding)",
        ),
        (
            "ExpectColumnValuesToBeInSet",
            {"column": MOJIBAKE_FLAG.format("resolution_report"), "value_set": [False]},
            "resolution report is mojibake (wrong text encoding)",
        ),
        *(
            (
                "ExpectColumnValuesToBeBetween",
                {"column": TEXT_LENGTH.format(column), "max_value": cfg.max_text_chars},
                f"{column.replace('_', ' ')} longer than {cfg.max_text_chars:,} characters (a broken export?)",
            )
            for column in FREE_TEXT_COLUMNS
        ),
        (
            "ExpectColumnValuesToBeBetween",
            {"column": "satisfaction_star", "min_value": 1, "max_value": 5},
            "satisfaction star not between 1 and 5",
        ),
        (
            "ExpectColumnValuesToBeBetween",
            {"column": "reopen_count", "min_value": 0},
            "negative reopen count",
        ),
    ]
    return rules


def _unmapped_expectations() -> list[tuple[str, dict[str, Any], str]]:
    """(class, kwargs, reason) of the unmapped-value counts: ``mostly`` is 1 - max_unmapped_share,
    so each fails only when too many rows carry a label with no crosswalk line; the result (and
    Data Docs) lists the raw labels with their counts."""
    share = load_config().max_unmapped_share
    return [
        (
            "ExpectColumnValuesToBeNull",
            {"column": column, "mostly": 1.0 - share},
            f"{kind} label with no crosswalk line (stored as '{UNMAPPED}' with its raw value)",
        )
        for kind, column in UNMAPPED_COLUMNS.items()
    ]


def build_suite(channel: str, now: datetime | None = None) -> gx.ExpectationSuite:
    """The expectation suite for one channel's batches."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=f"complaints_{channel}")
    rules = [(rule, {}) for rule in _expectations(now or datetime.now(UTC))]
    rules += [(rule, {"kind": UNMAPPED_KIND}) for rule in _unmapped_expectations()]
    for (class_name, kwargs, reason), extra_meta in rules:
        expectation_class = getattr(gx.expectations, class_name)
        suite.add_expectation(expectation_class(**kwargs, meta={"reason": reason, **extra_meta}, notes=reason))
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


@contextmanager
def _memoised_expectation_configurations() -> Iterator[None]:
    """While a suite is validated, build each expectation's configuration once.

    GX 1.x's ``Expectation.configuration`` is a property that re-serialises the expectation
    (a pydantic ``.dict()``) on every access, and the validator reads it once per kwarg per
    metric: about 2,000 times per validation of our 29 expectations, half of a validation's
    time whatever the batch size (profiled with cProfile on the demo's 1555 year: 68 of 138 s).
    Nothing mutates an expectation during a validation, so its configuration can be built
    once. Only the property is replaced, only for the duration, and not at all if a future
    GX no longer has it as a property.
    """
    from great_expectations.expectations.expectation import Expectation

    original = Expectation.__dict__.get("configuration")
    if not isinstance(original, property) or original.fget is None:
        yield
        return
    build = original.fget
    memo: dict[int, tuple[Any, Any]] = {}

    def configuration(self: Any) -> Any:
        hit = memo.get(id(self))
        if hit is None or hit[0] is not self:
            hit = memo[id(self)] = (self, build(self))
        return hit[1]

    with _MEMO_LOCK:
        Expectation.configuration = property(configuration, doc=original.__doc__)  # type: ignore[method-assign]
        try:
            yield
        finally:
            Expectation.configuration = original  # type: ignore[method-assign]


def _validate_two_pass(batch: Any, suite: gx.ExpectationSuite, frame: pd.DataFrame) -> Any:
    """Validate ``batch``: a pass/fail pass over the whole suite, then the details of the failures.

    Most batches pass every expectation, and GX's cost is per expectation and result format, not
    per row: ``BOOLEAN_ONLY`` costs about half of ``COMPLETE``. Only the expectations that failed
    are run again with ``COMPLETE`` (every failing row, named by ``ROW_ID_COLUMNS``), and their
    detailed results replace the pass/fail ones, so the result (and its Data Docs page) lists
    every failing row; passing expectations carry no observed values.
    """
    import great_expectations as gx

    result = batch.validate(suite, result_format={"result_format": "BOOLEAN_ONLY"})
    failing = [i for i, item in enumerate(result.results) if not item.success]
    if any(result.results[i].exception_info.get("raised_exception") for i in failing):
        return result
    # Unmapped-value counts are shown even within their threshold (the labels to add to the
    # crosswalk): their details are needed whenever the batch holds such a value.
    present = {column for column in UNMAPPED_COLUMNS.values() if column in frame and frame[column].notna().any()}
    failing += [
        i
        for i, item in enumerate(result.results)
        if item.success
        and item.expectation_config.meta.get("kind") == UNMAPPED_KIND
        and item.expectation_config.kwargs.get("column") in present
    ]
    if not failing:
        return result
    failing.sort()
    details = gx.ExpectationSuite(
        # copies without the id: an expectation that belongs to a stored suite may not join another
        name=suite.name,
        expectations=[copy.copy(result.results[i].expectation_config.to_domain_obj()) for i in failing],
    )
    # a fresh dict each time: GX may modify it
    complete = {"result_format": "COMPLETE", "unexpected_index_column_names": list(ROW_ID_COLUMNS)}
    detailed = batch.validate(details, result_format=complete)
    for position, item in zip(failing, detailed.results, strict=True):
        result.results[position] = item
    return result


def _utc_column(values: list[Any]) -> pd.Series:
    """Aware datetimes (a naive one counts as UTC) as a ``datetime64[us, UTC]`` column (what pandas infers too).

    pandas infers such a column element by element through each value's tzinfo, which was
    half the cost of building a validation frame; microseconds since the epoch computed here
    are exact for the years a complaint can have (float64 resolves 0.25 µs there)."""
    import numpy as np
    import pandas as pd

    if not all(v is None or isinstance(v, datetime) for v in values):
        return pd.Series(pd.to_datetime(values, utc=True))  # not a canonical record: pandas decides
    missing = np.iinfo(np.int64).min  # NaT
    micros = np.fromiter(
        (
            missing if v is None else round((v if v.tzinfo else v.replace(tzinfo=UTC)).timestamp() * 1_000_000)
            for v in values
        ),
        dtype=np.int64,
        count=len(values),
    )
    return pd.Series(micros.view("datetime64[us]")).dt.tz_localize(UTC)


def records_frame(records: list[CanonicalComplaint]) -> pd.DataFrame:
    import pandas as pd

    columns: dict[str, Any] = {}
    for column in CANONICAL_COLUMNS:
        values = [record.get(column) for record in records]
        if column in TIMESTAMP_COLUMNS:
            columns[column] = _utc_column(values)
        elif column in ("latitude", "longitude"):
            columns[column] = pd.to_numeric(pd.Series(values, dtype=object))
        else:
            columns[column] = pd.Series(values, dtype=object).infer_objects()
    return pd.DataFrame(columns)


def _is_mojibake(text: str | None) -> bool:
    """MOJIBAKE_PATTERN, searched only in a text holding one of the characters it starts with
    (most Thai text holds none of them, and the search is the costly part)."""
    if not text or not ("à" in text or "Ã" in text or "\ufffd" in text or "เธ" in text or "เน" in text):
        return False
    return _MOJIBAKE.search(text) is not None


def validation_frame(records: list[CanonicalComplaint]) -> pd.DataFrame:
    """The frame Great Expectations validates: no free text, no pseudonym (see the module doc).

    ``row`` is the record's position in ``records``; ``<text column>_is_mojibake`` and
    ``<text column>_chars`` replace each free-text column (False and 0 for an empty text).
    """
    frame = records_frame(records)
    for column in FREE_TEXT_COLUMNS:
        texts = [record.get(column) for record in records]
        frame[MOJIBAKE_FLAG.format(column)] = [_is_mojibake(text) for text in texts]
        frame[TEXT_LENGTH.format(column)] = [len(text) if text else 0 for text in texts]
    frame = frame.drop(columns=[*FREE_TEXT_COLUMNS, "reporter_pseudonym"])
    frame["row"] = range(len(frame))
    return frame


def validate_records(
    channel: str,
    records: list[CanonicalComplaint],
    now: datetime | None = None,
    *,
    batch_id: str | None = None,
    source_part: str | None = None,
    data_dir: Path | None = None,
) -> ValidationOutcome:
    """Run the channel's suite over ``records``; every record ends in exactly one of valid/failed.

    With a ``batch_id`` (the ingest ledger's, see ``complaints.ingest.batch_id_for``) the result
    is also stored and rendered as a Data Docs page under ``<data_dir>/data-docs/`` (``data_dir``
    defaults to ``complaints.paths.data_dir()``), named by ``source_part`` (file name or interval)
    and replacing the page of an earlier validation of the same batch; the outcome then carries the
    page's path and URL. The site index is built separately, once per ingest run
    (:func:`complaints.data_docs.build_data_docs`). A failure to write Data Docs is logged and
    never fails the validation.
    """
    if not records:
        return ValidationOutcome()
    frame = validation_frame(records)
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    suite = _suite_of_the_hour(channel, (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0))
    with _memoised_expectation_configurations():
        result = _validate_two_pass(batch, suite, frame)
    reasons: dict[int, list[str]] = {}
    over_threshold: list[str] = []
    for item in result.results:
        if item.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"expectation {item.expectation_config.type} could not run on channel {channel}: "
                f"{item.exception_info.get('exception_message')}"
            )
        if item.success:
            continue
        reason = item.expectation_config.meta["reason"]
        if item.expectation_config.meta.get("kind") == UNMAPPED_KIND:  # counted, never quarantined
            share = float(item.result.get("unexpected_percent") or 0.0) / 100
            limit = load_config().max_unmapped_share
            over_threshold.append(f"{share:.1%} of rows: {reason}, over the {limit:.0%} threshold")
            continue
        for index in item.result.get("unexpected_index_list") or []:
            reasons.setdefault(int(index["row"]), []).append(reason)
    outcome = ValidationOutcome(statistics=dict(result.statistics), unmapped_over_threshold=over_threshold)
    if batch_id is not None:
        from complaints import data_docs

        try:
            page = data_docs.record_validation(
                result,
                channel=channel,
                batch_id=batch_id,
                source_part=source_part or batch_id,
                data_dir=data_dir,
                rows=len(records),
            )
        except Exception:
            log.exception("Data Docs: could not record the validation of %s batch %s", channel, batch_id)
        else:
            outcome.data_docs_path, outcome.data_docs_url = page.path, page.url
    for position, record in enumerate(records):
        if position in reasons:
            outcome.failed.append((record, reasons[position]))
        else:
            outcome.valid.append(record)
            for kind, column in UNMAPPED_COLUMNS.items():
                raw = record.get(column)
                if raw is not None:
                    outcome.unmapped[(kind, str(raw))] = outcome.unmapped.get((kind, str(raw)), 0) + 1
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
