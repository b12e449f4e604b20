"""Schema of the MIS complaint system as the pipeline reads it (demo SQLite, test PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Engine, text

MIS_DDL = (
    """
    CREATE TABLE IF NOT EXISTS mis_complaint (
        complaint_no      TEXT PRIMARY KEY,
        received_at       TIMESTAMP NOT NULL,
        district_name     TEXT,
        category_name     TEXT,
        subject           TEXT,
        detail            TEXT,
        complainant_name  TEXT,
        complainant_phone TEXT,
        latitude          DOUBLE PRECISION,
        longitude         DOUBLE PRECISION,
        assigned_unit     TEXT,
        status            TEXT,
        result_detail     TEXT,
        updated_at        TIMESTAMP NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS ix_mis_complaint_updated_at ON mis_complaint (updated_at)",
    """
    CREATE TABLE IF NOT EXISTS mis_complaint_action (
        action_id    INTEGER PRIMARY KEY,
        complaint_no TEXT NOT NULL,
        action_at    TIMESTAMP NOT NULL,
        status       TEXT NOT NULL,
        note         TEXT
    )
    """,
    "CREATE INDEX IF NOT EXISTS ix_mis_action_complaint ON mis_complaint_action (complaint_no)",
)


def create_mis_schema(engine: Engine) -> None:
    with engine.begin() as conn:
        for statement in MIS_DDL:
            conn.execute(text(statement))
