"""The warehouse's read-only reporting role (PostgreSQL), from include/sql/roles/.

Role and schema names cannot be bound parameters in DDL, so the script names them as psql
variables (``:"role"``, ``:"schema"``); here they are checked against a strict identifier
pattern and quoted by the dialect before substitution.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

from complaints.paths import read_sql
from complaints.warehouse import statements

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_VARIABLE = re.compile(r':"(role|schema)"')
_CREATE_ROLE = re.compile(r"^\s*CREATE\s+ROLE\b", re.IGNORECASE | re.MULTILINE)


def reporting_role_statements(engine: Engine, role: str, schema: str) -> list[str]:
    """The statements of reporting_readonly.sql for ``role`` on ``schema``."""
    names = {"role": role, "schema": schema}
    for kind, name in names.items():
        if not _IDENTIFIER.match(name):
            raise ValueError(f"{kind} {name!r} is not a plain lower-case SQL identifier")
    quote = engine.dialect.identifier_preparer.quote_identifier
    script = _VARIABLE.sub(lambda m: quote(names[m[1]]), read_sql("roles/reporting_readonly.sql"))
    return statements(script)


def grant_reporting_role(engine: Engine, role: str, schema: str) -> None:
    """Create ``role`` if it does not exist and give it read-only access to ``schema``; idempotent.

    ``engine`` must log in as the schema's owner (or a superuser)."""
    if engine.dialect.name != "postgresql":
        raise NotImplementedError(f"roles need PostgreSQL, not {engine.dialect.name}")
    with engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}).first()
        for statement in reporting_role_statements(engine, role, schema):
            if exists and _CREATE_ROLE.search(statement):
                continue
            conn.execute(text(statement))
