"""The reporting queries run under a read-only warehouse role (include/sql/roles/), on PostgreSQL.

The role is created from the project's DDL in a fresh schema; the indicator and the overdue
digest are computed through an engine that logs in as that role (trust auth on 127.0.0.1) and
must give the same figures as the owner's engine; every kind of write through it must fail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from complaints.indicator.business_calendar import ensure_calendar
from complaints.indicator.compute import compute_indicator
from complaints.open311_export import write_georeport_files
from complaints.overdue import compute_digest
from complaints.quarterly import compute_and_store, load_snapshot
from complaints.roles import grant_reporting_role, reporting_role_statements
from complaints.warehouse import ensure_schema, make_engine
from conftest import PG_ADMIN_URL, fresh_pg_schema
from test_overdue_digest import AS_OF, load_scenario

pytestmark = pytest.mark.postgres
CUTOFF = date(2019, 4, 11)


def _schema_of(url: str) -> str:
    return make_url(url).query["options"].split("search_path=")[1]


@pytest.fixture
def owner_and_reader() -> Iterator[tuple[Engine, Engine, str]]:
    """(owner engine, engine logged in as a fresh read-only reporting role, role name)."""
    role = f"reporting_{uuid.uuid4().hex[:10]}"
    with fresh_pg_schema() as url:
        owner = make_engine(url)
        ensure_schema(owner)
        ensure_calendar(owner, date(2018, 10, 1), date(2019, 12, 31))
        load_scenario(owner)
        grant_reporting_role(owner, role, _schema_of(url))
        grant_reporting_role(owner, role, _schema_of(url))  # idempotent: a re-run changes nothing
        # NullPool: every connect() is a fresh login with the role's own defaults.
        reader = create_engine(make_url(PG_ADMIN_URL).set(username=role), poolclass=NullPool)
        try:
            yield owner, reader, role
        finally:
            reader.dispose()
            with owner.begin() as conn:
                conn.execute(text(f'DROP OWNED BY "{role}"'))
                conn.execute(text(f'DROP ROLE "{role}"'))
            owner.dispose()


def test_the_indicator_and_the_digest_computed_as_the_reporting_role_equal_the_owners(owner_and_reader, tmp_path):
    owner, reader, role = owner_and_reader
    with reader.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == role
    as_reader = compute_indicator(reader, CUTOFF, writer=owner)
    as_owner = compute_indicator(owner, CUTOFF)
    assert as_reader.totals == as_owner.totals and as_reader.totals.received > 0
    assert as_reader.by_channel == as_owner.by_channel
    digest = compute_digest(reader, AS_OF, 3, writer=owner)
    assert digest.units == compute_digest(owner, AS_OF, 3).units
    assert sum(len(u.matters) for u in digest.units) > 0
    as_reader_files = write_georeport_files(reader, CUTOFF, tmp_path / "reader")
    as_owner_files = write_georeport_files(owner, CUTOFF, tmp_path / "owner")
    assert as_reader_files and [p.read_bytes() for p in as_reader_files] == [p.read_bytes() for p in as_owner_files]
    # The quarterly task: computed as the reader, stored by the owner, read back as the reader.
    stored = compute_and_store(owner, CUTOFF, reader)
    assert load_snapshot(reader, CUTOFF).totals == stored.totals == as_owner.totals


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO dim_channel (channel_code, name_th, name_en) VALUES ('x', 'x', 'x')",
        "UPDATE complaint SET status = 'resolved'",
        "DELETE FROM complaint_status_history",
        "DELETE FROM indicator_snapshot",
        "TRUNCATE quarantine",
        "DROP TABLE complaint",
        "ALTER TABLE complaint ADD COLUMN hacked TEXT",
        "CREATE TABLE hacked (x INTEGER)",
    ],
)
def test_the_reporting_role_cannot_write_even_in_a_read_write_transaction(owner_and_reader, statement):
    owner, reader, _ = owner_and_reader
    before = _table_counts(owner)
    # The role's default is a read-only transaction; switch it off so the grants alone must refuse.
    with reader.connect() as conn:
        conn.execute(text("SET default_transaction_read_only = off"))
        conn.commit()
        assert conn.execute(text("SHOW transaction_read_only")).scalar_one() == "off"
        with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
            conn.execute(text(statement))
        conn.rollback()
    # A fresh login runs read-only transactions: refused before the grants are even consulted.
    with reader.connect() as conn, pytest.raises(DBAPIError, match="read-only transaction"):
        conn.execute(text(statement))
    assert _table_counts(owner) == before


def test_the_role_script_only_accepts_plain_identifiers(owner_and_reader):
    owner, _, _ = owner_and_reader
    with pytest.raises(ValueError, match="not a plain lower-case SQL identifier"):
        reporting_role_statements(owner, 'x"; DROP TABLE complaint; --', "public")
    sql = "\n".join(reporting_role_statements(owner, "reporting_ro", "complaints"))
    assert ':"role"' not in sql and 'GRANT SELECT ON ALL TABLES IN SCHEMA "complaints" TO "reporting_ro"' in sql
    grants = [line for line in sql.splitlines() if line.startswith("GRANT")]
    assert grants and all(line.startswith(("GRANT USAGE ON SCHEMA", "GRANT SELECT ON")) for line in grants)


def _table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars()
        return {t: conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in sorted(tables)}


def test_the_indicator_as_the_reporting_role_writes_only_its_own_temporary_tables(owner_and_reader):
    owner, reader, _ = owner_and_reader
    compute_indicator(owner, CUTOFF)  # the calendar is complete: the reader's run writes nothing through the owner
    before = _table_counts(owner)
    # Its transaction is read-write (for CREATE TEMPORARY TABLE); no table of the schema changes
    # and none is added to it.
    assert compute_indicator(reader, CUTOFF).totals.received > 0
    assert _table_counts(owner) == before
