"""The SQL under include/sql/: includes resolve, and the status-as-of-cut-off rule is written once."""

from __future__ import annotations

import re

from complaints.paths import SQL_DIR, read_sql


def test_every_include_resolves_to_sql_text():
    for path in SQL_DIR.rglob("*.sql"):
        text = read_sql(str(path.relative_to(SQL_DIR)))
        assert "-- @include" not in text, path


def test_the_status_as_of_a_cut_off_is_defined_in_one_fragment():
    fragment = "fragments/status_as_of_cutoff.sql"
    users = [p for p in SQL_DIR.rglob("*.sql") if f"-- @include {fragment}" in p.read_text(encoding="utf-8")]
    # The indicator ranks the history once (status_tables.sql); the overdue digest and the
    # GeoReport export run outside it and include the fragment themselves.
    assert {p.relative_to(SQL_DIR).as_posix() for p in users} >= {
        "indicator/status_tables.sql",
        "overdue/due_matters.sql",
        "open311/requests_as_of.sql",
    }
    for path in users:
        expanded = read_sql(str(path.relative_to(SQL_DIR)))
        assert "ranked AS (" in expanded and "matters_in_scope" in expanded, path
    raw_definitions = [p for p in SQL_DIR.rglob("*.sql") if "\nranked AS (" in p.read_text(encoding="utf-8")]
    assert sorted(p.name for p in raw_definitions) == ["status_as_of_cutoff.sql"]


def test_the_indicator_queries_read_the_status_computed_once_per_computation():
    for name in ("figures", "monthly", "open_matters", "response_on_time", "report_quality"):
        text = read_sql(f"indicator/{name}.sql")
        assert "indicator_matter" in text, name
        assert not re.search(r"(FROM|JOIN)\s+complaint_status_history\b", text) and "OVER (" not in text, name
