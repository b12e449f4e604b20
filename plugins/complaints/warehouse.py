"""The warehouse: schema, dimension seeding and the transactional load of one batch.

All statements come from ``include/sql/warehouse/`` and take bound parameters. The same
code runs on PostgreSQL (production) and SQLite (the embedded default).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError

from complaints.canonical import CANONICAL_COLUMNS, CanonicalComplaint, StatusEvent, raw_json
from complaints.config import UNMAPPED, UNMAPPED_NAMES, load_config
from complaints.paths import read_sql
from complaints.thai_time import BANGKOK
from complaints.vocabulary import BatchOutcome


def make_engine(url: str) -> Engine:
    """An engine for the warehouse URL; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


@cache
def sql(name: str) -> str:
    return read_sql(f"warehouse/{name}.sql")


def statements(script: str) -> list[str]:
    """Split a script on lines holding only ';' (no SQL parser needed, no ';' inside data)."""
    parts, current = [], []
    for line in script.splitlines():
        if line.strip() == ";":
            parts.append("\n".join(current))
            current = []
        else:
            current.append(line)
    parts.append("\n".join(current))
    return [p for p in parts if any(ln.strip() and not ln.strip().startswith("--") for ln in p.splitlines())]


SCHEMA_LOCK_KEY = 2562_0001  # any fixed number: the one advisory lock for warehouse DDL


def serialise_schema_changes(conn: Connection) -> None:
    """Wait for any other run's schema step to finish (PostgreSQL); see schema_lock.sql."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(sql("schema_lock")), {"lock_key": SCHEMA_LOCK_KEY})


def ensure_schema(engine: Engine) -> None:
    """Create missing tables and (re)seed the dimensions from the config; safe to run every time."""
    cfg = load_config()
    dimension_rows: list[list[dict[str, Any]]] = [
        [{"code": c.code, "name_th": c.name_th, "name_en": c.name_en} for c in cfg.channels.values()],
        [{"code": d.code, "name_th": d.name_th, "name_en": d.name_en} for d in cfg.districts],
        [
            {"code": c.code, "name_th": c.name_th, "name_en": c.name_en, "default_unit": c.extra.get("default_unit")}
            for c in cfg.categories
        ],
        [{"code": u.code, "name_th": u.name_th, "name_en": u.name_en} for u in cfg.units],
        [
            {"code": s.code, "name_th": s.name_th, "name_en": s.name_en, "is_resolved": bool(s.extra.get("resolved"))}
            for s in cfg.statuses
        ],
    ]
    # UNMAPPED: the code a label with no crosswalk line yet is stored under (beside the raw label)
    unmapped = {"code": UNMAPPED, "name_th": UNMAPPED_NAMES[0], "name_en": UNMAPPED_NAMES[1]}
    dimension_rows[2].append({**unmapped, "default_unit": None})
    dimension_rows[3].append(unmapped)
    dimension_rows[4].append({**unmapped, "is_resolved": False})
    with engine.begin() as conn:
        serialise_schema_changes(conn)
        for statement in statements(sql("schema")):
            conn.execute(text(statement))
    add_missing_columns(engine)
    with engine.begin() as conn:
        serialise_schema_changes(conn)
        for statement, rows in zip(statements(sql("seed_dimensions")), dimension_rows, strict=True):
            conn.execute(text(statement), rows)


_ADD_COLUMN = re.compile(r"^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)\s", re.IGNORECASE | re.MULTILINE)


def _columns(engine: Engine, table: str) -> set[str]:
    with engine.connect() as conn:
        return {c["name"].lower() for c in inspect(conn).get_columns(table)}


def add_missing_columns(engine: Engine) -> list[str]:
    """Bring an existing warehouse up to schema.sql: add the columns of add_columns.sql it lacks.

    Each column is checked with SQLAlchemy's inspector and added in its own transaction, so a
    re-run adds nothing, on SQLite and PostgreSQL alike. Returns ``table.column`` of those added.
    """
    added = []
    for statement in statements(sql("add_columns")):
        match = _ADD_COLUMN.search(statement)
        if not match:
            raise ValueError(f"add_columns.sql holds a statement that is not ALTER TABLE ... ADD COLUMN: {statement!r}")
        table, column = match[1], match[2].lower()
        if column in _columns(engine, table):
            continue
        if engine.dialect.name == "postgresql":  # another run may be adding it right now
            statement = re.sub(r"ADD\s+COLUMN", "ADD COLUMN IF NOT EXISTS", statement, count=1, flags=re.IGNORECASE)
        try:
            with engine.begin() as conn:
                conn.execute(text(statement))
        except DBAPIError:
            if column not in _columns(engine, table):  # not a lost race: a real failure
                raise
        added.append(f"{table}.{column}")
    return added


def utc_naive(value: datetime | None) -> datetime | None:
    """Timestamps are stored as UTC without zone, the one form both databases compare alike."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} reached the warehouse; adapters must attach a zone")
    return value.astimezone(UTC).replace(tzinfo=None)


def complaint_row(record: CanonicalComplaint, batch_id: str) -> dict[str, Any]:
    row: dict[str, Any] = dict(record)
    for column in CANONICAL_COLUMNS:  # a record built before a column existed leaves it empty
        row.setdefault(column, None)
    row["received_date"] = record["received_at"].astimezone(BANGKOK).date()
    for column in ("received_at", "acknowledged_at", "resolved_at", "source_updated_at"):
        row[column] = utc_naive(record.get(column))  # type: ignore[arg-type]
    for column in ("latitude", "longitude"):
        value = row.get(column)
        row[column] = None if value is None or value != value else float(value)
    row["batch_id"] = batch_id
    return row


# Columns of the staging tables (stage_tables.sql), in COPY order; ``ord`` is added last.
STAGED_COMPLAINT_COLUMNS: tuple[str, ...] = (*CANONICAL_COLUMNS, "received_date", "batch_id")
STAGED_HISTORY_COLUMNS: tuple[str, ...] = ("channel", "source_id", "changed_at", "status", "note", "batch_id")


def _copy_field(value: Any) -> str:
    """One field in PostgreSQL's COPY text format (str.replace runs in C: cheaper than translate)."""
    if value is None:
        return "\\N"
    if type(value) is str:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _stage(conn: Connection, table: str, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """Bulk-load a batch's rows into its staging table, inside the batch's transaction.

    PostgreSQL: one COPY (a statement per row, as executemany sends them, is a network round
    trip and a parse per row: ~1 ms each, see docs/benchmarks.md). SQLite runs in-process, so
    executemany is already a tight loop there.
    """
    if conn.dialect.name != "postgresql":
        conn.execute(text(sql(table)), [{**row, "ord": n} for n, row in enumerate(rows)])
        return
    buffer = io.StringIO()
    for n, row in enumerate(rows):
        buffer.write("\t".join([*(_copy_field(row[c]) for c in columns), str(n)]))
        buffer.write("\n")
    buffer.seek(0)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}, ord) FROM STDIN", buffer)
    finally:
        cursor.close()


@dataclass(frozen=True)
class BatchLedger:
    batch_id: str
    channel: str
    interval_start: datetime
    interval_end: datetime
    source_part: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    checksum: str | None
    outcome: BatchOutcome
    message: str | None
    status_events_held: int = 0  # status changes for complaints the batch did not load (held_status_event)
    content_sha256: str | None = None  # sha256 of the rows as read, for every batch (checksum: a file's bytes)


def write_batch(
    engine: Engine,
    ledger: BatchLedger,
    complaints: Sequence[CanonicalComplaint],
    status_events: Iterable[StatusEvent],
    quarantined: Sequence[tuple[str | None, list[str], dict[str, Any]]],
    file_name: str | None = None,
    held_events: Sequence[StatusEvent] = (),
) -> None:
    """Write one batch in one transaction: complaints, their history, quarantine and the ledger.

    ``quarantined`` holds (source_id, reasons, raw row). Any failure rolls everything back,
    so no run leaves half a batch; a retry re-writes the same rows (the batch id is stable).
    ``held_events`` are status changes for complaints the batch does not load: they are held
    (see :func:`hold_and_apply_status_events`) in the same transaction.
    """
    with engine.begin() as conn:
        _write_batch(conn, ledger, complaints, status_events, quarantined, file_name)
        if complaints or held_events:
            hold_and_apply_status_events(conn, ledger, held_events)


def _write_batch(
    conn: Connection,
    ledger: BatchLedger,
    complaints: Sequence[CanonicalComplaint],
    status_events: Iterable[StatusEvent],
    quarantined: Sequence[tuple[str | None, list[str], dict[str, Any]]],
    file_name: str | None,
) -> None:
    history = [
        {
            "channel": e.channel,
            "source_id": e.source_id,
            "changed_at": utc_naive(e.changed_at),
            "status": e.status,
            "note": e.note,
            "batch_id": ledger.batch_id,
        }
        for e in status_events
    ]
    if complaints or history:
        for statement in statements(sql("stage_tables")):
            conn.execute(text(statement))
    if complaints:
        _stage(
            conn, "stage_complaint", STAGED_COMPLAINT_COLUMNS, [complaint_row(r, ledger.batch_id) for r in complaints]
        )
        conn.execute(text(sql("upsert_complaint")))
    if history:
        _stage(conn, "stage_status_history", STAGED_HISTORY_COLUMNS, history)
        conn.execute(text(sql("insert_status_history")))
    conn.execute(text(sql("delete_quarantine_of_batch")), {"batch_id": ledger.batch_id})
    if quarantined:
        conn.execute(
            text(sql("insert_quarantine")),
            [
                {
                    "batch_id": ledger.batch_id,
                    "row_number": number,
                    "channel": ledger.channel,
                    "source_id": source_id,
                    "reasons": "; ".join(reasons),
                    "raw_record": raw_json(raw),
                }
                for number, (source_id, reasons, raw) in enumerate(quarantined, start=1)
            ],
        )
    now = datetime.now(UTC).replace(tzinfo=None)
    conn.execute(
        text(sql("upsert_ingest_batch")),
        {
            **ledger.__dict__,
            "interval_start": utc_naive(ledger.interval_start),
            "interval_end": utc_naive(ledger.interval_end),
            "finished_at": now,
        },
    )
    if file_name and ledger.checksum and ledger.outcome != BatchOutcome.REJECTED:
        conn.execute(
            text(sql("insert_ingested_file")),
            {
                "channel": ledger.channel,
                "file_sha256": ledger.checksum,
                "file_name": file_name,
                "batch_id": ledger.batch_id,
                "ingested_at": now,
            },
        )


def hold_and_apply_status_events(conn: Connection, ledger: BatchLedger, held_events: Iterable[StatusEvent]) -> None:
    """Hold status changes that arrived before (or without) their complaint, then apply every held
    change of the channel whose complaint is now in the warehouse. Called inside the batch's
    transaction, after its complaints are written, so an update is never lost to arrival order."""
    rows = [
        {
            "batch_id": ledger.batch_id,
            "channel": e.channel,
            "source_id": e.source_id,
            "changed_at": utc_naive(e.changed_at),
            "status": e.status,
            "note": e.note,
        }
        for e in held_events
    ]
    if rows:
        conn.execute(text(sql("insert_held_status_event")), rows)
    conn.execute(text(sql("apply_held_status_events")), {"channel": ledger.channel})
    conn.execute(text(sql("mark_held_status_events_applied")), {"channel": ledger.channel, "batch_id": ledger.batch_id})


def find_ingested_file(engine: Engine, channel: str, file_sha256: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(text(sql("find_ingested_file")), {"channel": channel, "file_sha256": file_sha256})
        found = row.mappings().first()
        return dict(found) if found else None


def find_newer_delivery(engine: Engine, channel: str, file_name: str, file_sha256: str) -> dict[str, Any] | None:
    """The correction that replaced an already ingested file of this name, if one was ingested since."""
    params = {"channel": channel, "file_name": file_name, "file_sha256": file_sha256}
    with engine.connect() as conn:
        found = conn.execute(text(sql("find_newer_delivery")), params).mappings().first()
        return dict(found) if found else None


def unmapped_values_summary(engine: Engine, channel: str | None = None) -> list[dict[str, Any]]:
    """The daily 'unmapped values' summary (unmapped_values.sql): each raw unit, category or status
    label stored as ``unmapped`` with its count of complaints, most frequent first per kind: the
    crosswalk lines the config still lacks."""
    with engine.connect() as conn:
        rows = conn.execute(text(sql("unmapped_values")), {"channel": channel}).mappings().all()
    return [dict(row) for row in rows]


def load_summary(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql("load_summary"))).mappings()]
