"""The SQL under include/sql/: includes resolve, and the status-as-of-cut-off rule is written once."""

from __future__ import annotations

from complaints.paths import SQL_DIR, read_sql


def test_every_include_resolves_to_sql_text():
    for path in SQL_DIR.rglob("*.sql"):
        text = read_sql(str(path.relative_to(SQL_DIR)))
        assert "-- @include" not in text, path


def test_the_status_as_of_a_cut_off_is_defined_in_one_fragment():
    fragment = "fragments/status_as_of_cutoff.sql"
    users = [p for p in SQL_DIR.rglob("*.sql") if f"-- @include {fragment}" in p.read_text(encoding="utf-8")]
    assert len(users) >= 4
    for path in users:
        expanded = read_sql(str(path.relative_to(SQL_DIR)))
        assert "ranked AS (" in expanded and "matters_in_scope" in expanded, path
    raw_definitions = [p for p in SQL_DIR.rglob("*.sql") if "\nranked AS (" in p.read_text(encoding="utf-8")]
    # monthly.sql needs the status at every month end: it uses status spans, not a ranking.
    assert sorted(p.name for p in raw_definitions) == ["status_as_of_cutoff.sql"]
