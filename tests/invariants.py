"""The conservation invariant, checked on a warehouse after any scenario (PostgreSQL or SQLite).

For every ``ingest_batch`` ledger row: it names its channel, interval, source part (file, chunk
or interval) and outcome, a file batch carries its checksum, a batch that read rows the checksum
of its content, and ``rows_read = rows_loaded + rows_quarantined``; the quarantine holds exactly
``rows_quarantined`` rows of the batch and the held status changes exactly ``status_events_held``.
Every complaint and history row was written by a ledgered batch that loaded rows (or held the
change); a held status change whose complaint has arrived has been applied to the history.
Optionally, the source ids a scenario delivered are all either loaded or quarantined, none lost.

``assert_conservation`` raises ``AssertionError`` listing every violation and returns what it
checked, so a test can also report the figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Engine, text

LOADING_OUTCOMES = ("loaded", "loaded_with_warnings")
OUTCOMES = (*LOADING_OUTCOMES, "rejected", "duplicate_delivery")
# Channels whose parts are files: their batches carry the file's sha256.
FILE_CHANNELS = ("hotline_1555", "traffy_fondue")


@dataclass(frozen=True)
class Checked:
    batches: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    complaints: int
    held_events: int


def _rows(engine: Engine, sql: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql)).mappings()]


def assert_conservation(engine: Engine, delivered: Mapping[str, Iterable[str]] | None = None) -> Checked:
    """Check the invariant on ``engine``'s warehouse; ``delivered`` maps a channel to the source ids
    a scenario offered it (each must be loaded or quarantined)."""
    problems: list[str] = []
    ledger = _rows(
        engine,
        "SELECT b.batch_id, b.channel, b.interval_start, b.interval_end, b.source_part, b.rows_read, "
        "b.rows_loaded, b.rows_quarantined, b.checksum, b.content_sha256, b.outcome, b.finished_at, "
        "b.status_events_held, "
        "(SELECT COUNT(*) FROM quarantine q WHERE q.batch_id = b.batch_id) AS quarantine_rows, "
        "(SELECT COUNT(*) FROM held_status_event h WHERE h.batch_id = b.batch_id) AS held_rows "
        "FROM ingest_batch b",
    )
    for b in ledger:
        name = f"batch {b['batch_id']} ({b['channel']} {b['source_part']})"
        if not b["channel"] or not b["source_part"] or b["finished_at"] is None:
            problems.append(f"{name}: ledger lacks channel, source part or finish time")
        if not (b["interval_start"] and b["interval_end"] and b["interval_start"] < b["interval_end"]):
            problems.append(f"{name}: no interval {b['interval_start']} .. {b['interval_end']}")
        if b["outcome"] not in OUTCOMES:
            problems.append(f"{name}: unknown outcome {b['outcome']!r}")
        if b["channel"] in FILE_CHANNELS and not b["checksum"]:
            problems.append(f"{name}: a file batch without its checksum")
        if b["rows_read"] and not b["content_sha256"]:
            problems.append(f"{name}: read {b['rows_read']} rows but has no content checksum")
        if min(b["rows_read"], b["rows_loaded"], b["rows_quarantined"]) < 0:
            problems.append(f"{name}: negative count")
        if b["rows_read"] != b["rows_loaded"] + b["rows_quarantined"]:
            problems.append(
                f"{name}: rows_read {b['rows_read']} != loaded {b['rows_loaded']} + quarantined {b['rows_quarantined']}"
            )
        if b["quarantine_rows"] != b["rows_quarantined"]:
            problems.append(
                f"{name}: {b['quarantine_rows']} quarantine rows stored, ledger says {b['rows_quarantined']}"
            )
        if b["outcome"] not in LOADING_OUTCOMES and b["rows_loaded"] != 0:
            problems.append(f"{name}: outcome {b['outcome']} but {b['rows_loaded']} rows loaded")
        if b["held_rows"] != (b["status_events_held"] or 0):
            problems.append(
                f"{name}: {b['held_rows']} held status changes stored, ledger says {b['status_events_held']}"
            )

    loading = {b["batch_id"] for b in ledger if b["outcome"] in LOADING_OUTCOMES and b["rows_loaded"] > 0}
    holding = {b["batch_id"] for b in ledger if b["held_rows"]}  # a held change enters the history under its batch
    writers = {"complaint": loading, "complaint_status_history": loading | holding}
    for table, allowed in writers.items():
        found = _rows(engine, f"SELECT DISTINCT batch_id FROM {table}")  # table from the fixed dict above
        stray = sorted(r["batch_id"] for r in found if r["batch_id"] not in allowed)
        if stray:
            problems.append(f"{table} rows written by batches the ledger does not show loading them: {stray[:5]}")
    per_channel_loaded: dict[str, int] = {}
    for b in ledger:
        per_channel_loaded[b["channel"]] = per_channel_loaded.get(b["channel"], 0) + b["rows_loaded"]
    for row in _rows(engine, "SELECT channel, COUNT(*) AS n FROM complaint GROUP BY channel"):
        ledgered = per_channel_loaded.get(row["channel"], 0)
        if row["n"] > ledgered:
            problems.append(f"{row['channel']}: {row['n']} complaints but the ledger loaded only {ledgered}")

    waiting = _rows(
        engine,
        "SELECT h.channel, h.source_id, h.changed_at, h.status FROM held_status_event h "
        "WHERE h.applied_batch_id IS NULL AND EXISTS "
        "(SELECT 1 FROM complaint c WHERE c.channel = h.channel AND c.source_id = h.source_id)",
    )
    if waiting:
        problems.append(f"held status changes whose complaint has arrived but were not applied: {waiting[:5]}")
    unapplied = _rows(
        engine,
        "SELECT h.channel, h.source_id, h.changed_at, h.status FROM held_status_event h "
        "WHERE h.applied_batch_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM complaint_status_history s "
        "WHERE s.channel = h.channel AND s.source_id = h.source_id AND s.changed_at = h.changed_at "
        "AND s.status = h.status)",
    )
    if unapplied:
        problems.append(f"held status changes marked applied but missing from the history: {unapplied[:5]}")

    if delivered is not None:
        loaded_ids = _rows(engine, "SELECT channel, source_id FROM complaint")
        quarantined_ids = _rows(engine, "SELECT channel, source_id FROM quarantine WHERE source_id IS NOT NULL")
        present = {(r["channel"], r["source_id"]) for r in loaded_ids + quarantined_ids}
        for channel, ids in delivered.items():
            lost = sorted(i for i in set(ids) if (channel, i) not in present)
            if lost:
                problems.append(
                    f"{channel}: {len(lost)} delivered source ids neither loaded nor quarantined: {lost[:5]}"
                )

    assert not problems, "conservation violated:\n  " + "\n  ".join(problems)
    held = _rows(engine, "SELECT COUNT(*) AS n FROM held_status_event")[0]["n"]
    complaints = _rows(engine, "SELECT COUNT(*) AS n FROM complaint")[0]["n"]
    return Checked(
        batches=len(ledger),
        rows_read=sum(b["rows_read"] for b in ledger),
        rows_loaded=sum(b["rows_loaded"] for b in ledger),
        rows_quarantined=sum(b["rows_quarantined"] for b in ledger),
        complaints=complaints,
        held_events=held,
    )
