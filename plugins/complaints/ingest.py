"""Extract → validate → quarantine → load for one channel over one interval.

This is everything a daily DAG run does; the DAG file only wires it. Each source part
(a file, a query window, a page range) is one batch, written in one transaction, with a
ledger row whose counts satisfy ``rows_read == rows_loaded + rows_quarantined``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Any

from sqlalchemy import Engine

from complaints.adapters import ExtractRequest, SourceError, load_adapter
from complaints.canonical import (
    CANONICAL_COLUMNS,
    CanonicalComplaint,
    ExtractedBatch,
    StatusEvent,
    derived_status_events,
    json_safe,
    raw_json,
)
from complaints.config import load_config
from complaints.errors import HeldBatch, IngestError, QualityGateError
from complaints.validation import build_suite, split_duplicates, validate_records
from complaints.vocabulary import BatchOutcome
from complaints.warehouse import BatchLedger, find_ingested_file, find_newer_delivery, write_batch

log = logging.getLogger(__name__)


@dataclass
class BatchReport:
    batch_id: str
    source_part: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    outcome: BatchOutcome
    message: str | None = None
    # The batch's validation page in the Data Docs site (None when nothing was validated)
    data_docs_path: str | None = None
    # Labels the batch stored as 'unmapped' (no crosswalk line yet): {"kind", "raw_value", "rows"}
    unmapped: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class IngestSummary:
    channel: str
    interval_start: str
    interval_end: str
    batches: list[BatchReport] = field(default_factory=list)
    unreadable_parts: list[str] = field(default_factory=list)
    source_warnings: list[str] = field(default_factory=list)  # what the sources warned of (ExtractedBatch)

    @property
    def rows_read(self) -> int:
        return sum(b.rows_read for b in self.batches)

    @property
    def rows_loaded(self) -> int:
        return sum(b.rows_loaded for b in self.batches)

    @property
    def rows_quarantined(self) -> int:
        return sum(b.rows_quarantined for b in self.batches)

    @property
    def unmapped_values(self) -> list[dict[str, Any]]:
        """The run's 'unmapped values' summary: each (kind, raw label) with its rows over all batches,
        most frequent first: the crosswalk lines the config still lacks."""
        counts: dict[tuple[str, str], int] = {}
        for b in self.batches:
            for item in b.unmapped:
                key = (item["kind"], item["raw_value"])
                counts[key] = counts.get(key, 0) + item["rows"]
        ordered = sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
        return [{"kind": kind, "raw_value": raw, "rows": n} for (kind, raw), n in ordered]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(rows_read=self.rows_read, rows_loaded=self.rows_loaded, rows_quarantined=self.rows_quarantined)
        out["unmapped_values"] = self.unmapped_values
        return out


def batch_id_for(request: ExtractRequest, batch: ExtractedBatch) -> str:
    """Stable across retries and re-runs: a file is identified by its name and content,
    any other part by the interval it covers."""
    if batch.checksum:
        key = f"{batch.channel}|{batch.source_part}|{batch.checksum}"
    else:
        interval = f"{request.interval_start.isoformat()}|{request.interval_end.isoformat()}"
        key = f"{batch.channel}|{batch.source_part}|{interval}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def content_sha256(batch: ExtractedBatch) -> str | None:
    """The sha256 of a batch's rows as read (each canonical record as a JSON array of its values in
    CANONICAL_COLUMNS order, then each raw rejected row as JSON, one line each): the ledger's
    evidence of what an API page range or MIS window delivered, which has no file bytes to hash.
    None for a batch that read nothing. Records are encoded by the C JSON encoder directly (a
    generic JSON-safe copy of each record first was the costliest step of a large batch)."""
    if not batch.rows_read:
        return None
    digest = hashlib.sha256()
    encode = json.JSONEncoder(ensure_ascii=False, default=json_safe).encode
    for record in batch.records:
        digest.update(encode([record.get(column) for column in CANONICAL_COLUMNS]).encode("utf-8") + b"\n")
    for reject in batch.rejects:
        digest.update(raw_json(reject.raw).encode("utf-8") + b"\n")
    return digest.hexdigest()


def _record_raw(record: CanonicalComplaint) -> dict[str, Any]:
    return json_safe(dict(record))


def held_status_events(events: list[StatusEvent], loaded_ids: set[str]) -> list[StatusEvent]:
    """The status changes of complaints the batch does not load, once each (by the history's key):
    they are held in the warehouse until their complaint arrives, not dropped."""
    held: dict[tuple[str, str, Any, str], StatusEvent] = {}
    for event in events:
        if event.source_id not in loaded_ids:
            held.setdefault((event.channel, event.source_id, event.changed_at, event.status), event)
    return list(held.values())


def superseded_delivery(engine: Engine, ledger_base: dict[str, Any], file_name: str) -> BatchReport | None:
    """An older file replayed after its correction was loaded: skipped, so the correction keeps
    winning (an equally recent snapshot would otherwise overwrite it again). Nothing is written:
    the older delivery's own ledger row, quarantine and history stay as they were."""
    newer = find_newer_delivery(engine, ledger_base["channel"], file_name, ledger_base["checksum"])
    if newer is None:
        return None
    message = f"older content of {file_name}, replaced by the correction in batch {newer['batch_id']}: not reloaded"
    log.warning("%s: %s", ledger_base["source_part"], message)
    return BatchReport(
        ledger_base["batch_id"], ledger_base["source_part"], 0, 0, 0, BatchOutcome.DUPLICATE_DELIVERY, message
    )


def process_batch(
    request: ExtractRequest, batch: ExtractedBatch, engine: Engine, write: Callable[..., None] = write_batch
) -> BatchReport:
    """Validate one extracted batch and write it (one ``write`` call); returns what was done.

    ``write`` takes ``write_batch``'s arguments: :func:`ingest_channel` passes one that hands the
    write to its background loader."""
    cfg = load_config()
    channel = request.channel.code
    batch_id = batch_id_for(request, batch)
    ledger_base = dict(
        batch_id=batch_id,
        channel=channel,
        interval_start=request.interval_start,
        interval_end=request.interval_end,
        source_part=batch.source_part,
        checksum=batch.checksum,
        content_sha256=content_sha256(batch),
    )

    # The file a batch was read from: the part itself, or the file of a chunk (a big file is read
    # as several batches that all carry the whole file's checksum). Content already ingested
    # under another file name is a duplicate delivery; the same file again (a re-run, the next
    # chunk) is loaded, idempotently.
    file_name = batch.file_name or batch.source_part
    if batch.checksum:
        earlier = find_ingested_file(engine, channel, batch.checksum)
        if earlier and earlier["file_name"] != file_name:
            message = f"same content as {earlier['file_name']} (batch {earlier['batch_id']}), not counted again"
            ledger = BatchLedger(
                **ledger_base,
                rows_read=0,
                rows_loaded=0,
                rows_quarantined=0,
                outcome=BatchOutcome.DUPLICATE_DELIVERY,
                message=message,
            )
            write(engine, ledger, [], [], [])
            log.warning("%s: %s", batch.source_part, message)
            return BatchReport(batch_id, batch.source_part, 0, 0, 0, BatchOutcome.DUPLICATE_DELIVERY, message)
        if earlier:
            superseded = superseded_delivery(engine, ledger_base, file_name)
            if superseded:
                return superseded

    kept, duplicates = split_duplicates(batch.records)
    validation = validate_records(
        channel, kept, batch_id=batch_id, source_part=batch.source_part, data_dir=request.data_dir
    )
    docs_page = str(validation.data_docs_path) if validation.data_docs_path else None
    quarantined: list[tuple[str | None, list[str], dict[str, Any]]] = [
        (r.source_id, [r.reason], r.raw) for r in batch.rejects
    ]
    quarantined += [(rec.get("source_id"), reasons, _record_raw(rec)) for rec, reasons in duplicates]
    quarantined += [(rec.get("source_id"), reasons, _record_raw(rec)) for rec, reasons in validation.failed]
    rows_read = batch.rows_read
    share = len(quarantined) / rows_read if rows_read else 0.0
    unmapped = [
        {"kind": kind, "raw_value": raw, "rows": n}
        for (kind, raw), n in sorted(validation.unmapped.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
    ]
    big_enough = rows_read >= cfg.min_rows_for_share_rule
    # Two gates: source errors (quarantined rows) and values the pipeline cannot read yet
    # (labels with no crosswalk line, loaded as 'unmapped'); each holds the batch on its own threshold.
    hold_reason = None
    if big_enough and share > cfg.max_failed_share:
        message = (
            f"{len(quarantined)} of {rows_read} rows ({share:.1%}) failed validation, over the "
            f"{cfg.max_failed_share:.0%} threshold: the whole batch is held in quarantine and nothing was loaded"
        )
        hold_reason = "held: batch over the quarantine threshold"
    elif big_enough and validation.unmapped_over_threshold:
        top = ", ".join(f"{u['kind']} {u['raw_value']!r} ({u['rows']})" for u in unmapped[:5])
        message = (
            "values the pipeline cannot read yet (not source errors): "
            + "; ".join(validation.unmapped_over_threshold)
            + f". Add crosswalk lines to channels.{channel}.crosswalk in include/config/pipeline.yaml for: {top}."
            " The whole batch is held in quarantine and nothing was loaded"
        )
        hold_reason = "held: batch over the unmapped-values threshold"
    if hold_reason is not None:
        held = [(rec["source_id"], [hold_reason], _record_raw(rec)) for rec in validation.valid]
        held_events = held_status_events(batch.status_events, set())
        ledger = BatchLedger(
            **ledger_base,
            rows_read=rows_read,
            rows_loaded=0,
            rows_quarantined=len(quarantined) + len(held),
            outcome=BatchOutcome.REJECTED,
            message=message,
            status_events_held=len(held_events),
        )
        write(engine, ledger, [], [], quarantined + held, held_events=held_events)
        return BatchReport(
            batch_id,
            batch.source_part,
            rows_read,
            0,
            ledger.rows_quarantined,
            BatchOutcome.REJECTED,
            message,
            docs_page,
            unmapped,
        )

    loaded_ids = {rec["source_id"] for rec in validation.valid}
    explicit_ids = {e.source_id for e in batch.status_events}
    events: list[StatusEvent] = [e for e in batch.status_events if e.source_id in loaded_ids]
    held_events = held_status_events(batch.status_events, loaded_ids)
    for rec in validation.valid:
        if rec["source_id"] not in explicit_ids:
            events.extend(derived_status_events(rec))

    outcome = BatchOutcome.LOADED_WITH_WARNINGS if quarantined else BatchOutcome.LOADED
    message = None
    if quarantined:
        message = f"{len(quarantined)} of {rows_read} rows quarantined ({share:.1%})"
        log.warning("%s %s: %s", channel, batch.source_part, message)
    if unmapped:
        log.warning(
            "%s %s: labels with no crosswalk line, loaded as 'unmapped': %s",
            channel,
            batch.source_part,
            ", ".join(f"{u['kind']} {u['raw_value']!r} ×{u['rows']}" for u in unmapped),
        )
    ledger = BatchLedger(
        **ledger_base,
        rows_read=rows_read,
        rows_loaded=len(validation.valid),
        rows_quarantined=len(quarantined),
        outcome=outcome,
        message=message,
        status_events_held=len(held_events),
    )
    write(
        engine,
        ledger,
        validation.valid,
        events,
        quarantined,
        file_name=file_name if batch.checksum else None,
        held_events=held_events,
    )
    return BatchReport(
        batch_id,
        batch.source_part,
        rows_read,
        ledger.rows_loaded,
        ledger.rows_quarantined,
        outcome,
        message,
        docs_page,
        unmapped,
    )


def _recorder(calls: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> Callable[..., None]:
    """A ``write`` for process_batch that only records its arguments (the loader writes later)."""

    def record(*args: Any, **kwargs: Any) -> None:
        calls.append((args, kwargs))

    return record


class _Loader:
    """Writes batches on one background thread, in order, one at a time, so that the next part is
    read and validated (Python, one core) while PostgreSQL loads this one (the server's process,
    the other core). At most one write is in flight: memory holds two batches at most. Each batch
    is still one transaction with its ledger row; a part's ``after_load`` (archiving the file)
    runs only once its write has committed. A failed write is raised by the next ``submit`` or
    ``wait``, and nothing is written after it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-loader")
        self.pending: Future[None] | None = None

    def submit(self, write: tuple[tuple[Any, ...], dict[str, Any]] | None, after: Callable[[], None] | None) -> None:
        """Queue ``write_batch(*args, **kwargs)`` (None: a batch that writes nothing) and then ``after``."""
        self.wait()

        def job() -> None:
            if write is not None:
                write_batch(*write[0], **write[1])
            if after is not None:
                after()

        self.pending = self.executor.submit(job)

    def wait(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Let a write in flight finish (committed or rolled back), whatever happened meanwhile."""
        self.executor.shutdown(wait=True)


def _build_data_docs(request: ExtractRequest) -> None:
    """The Data Docs index, once per run (each batch's page was written when it was validated)."""
    from complaints.data_docs import build_data_docs

    try:
        index = build_data_docs([build_suite(request.channel.code)], request.data_dir)
    except Exception:  # diagnostics only: never fails a load
        log.exception("Data Docs: could not build the index for channel %s", request.channel.code)
    else:
        log.info("Data Docs: %s", index)


def ingest_channel(request: ExtractRequest, engine: Engine) -> IngestSummary:
    """Ingest every part the adapter plans for the interval.

    Unreadable parts and batches over the quarantine threshold do not stop the other parts;
    they fail the run at the end with a message naming each of them.
    """
    adapter = load_adapter(request.channel)
    if request.warehouse is None:
        request = replace(request, warehouse=engine)
    summary = IngestSummary(
        channel=request.channel.code,
        interval_start=request.interval_start.isoformat(),
        interval_end=request.interval_end.isoformat(),
    )
    loader = _Loader(engine)
    previous_file: tuple[str, str] | None = None
    try:
        for part in adapter.plan(request):
            try:
                batch = adapter.read(request, part)
            except SourceError as exc:
                log.error("%s: %s", request.channel.code, exc)
                summary.unreadable_parts.append(str(exc))
                continue
            for warning in batch.source_warnings:
                log.warning("%s %s: %s", request.channel.code, part, warning)
                summary.source_warnings.append(f"{part}: {warning}")
            # process_batch reads the warehouse only for a batch with a checksum (a file's
            # duplicate-delivery check), which must see every earlier batch committed but the
            # earlier chunks of its own file. A batch without one (an API page range, an MIS
            # slice) reads nothing there: it is validated while the previous one loads.
            this_file = (batch.file_name, batch.checksum) if batch.file_name and batch.checksum else None
            if batch.checksum and (this_file is None or this_file != previous_file):
                loader.wait()
            previous_file = this_file
            calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
            report = process_batch(request, batch, engine, write=_recorder(calls))
            summary.batches.append(report)
            after = None
            if report.outcome != BatchOutcome.REJECTED:
                after = partial(adapter.after_load, request, part, batch)
            if len(calls) > 1:
                raise RuntimeError(f"{part}: process_batch wrote {len(calls)} times; a batch is one write")
            loader.submit(calls[0] if calls else None, after)  # none: a replay superseded by its correction
        loader.wait()
    finally:
        loader.close()
        if any(b.data_docs_path for b in summary.batches):
            _build_data_docs(request)
    rejected = tuple(
        HeldBatch(b.source_part, b.message or "") for b in summary.batches if b.outcome == BatchOutcome.REJECTED
    )
    if summary.unreadable_parts or rejected:
        error = QualityGateError if rejected and not summary.unreadable_parts else IngestError
        raise error(
            request.channel.code,
            summary.interval_start,
            summary.interval_end,
            unreadable_parts=tuple(summary.unreadable_parts),
            held_batches=rejected,
        )
    return summary
