"""Secrets stay out of logs and errors, the pseudonym key comes only from its connection, and
every SQL statement takes its values as bound parameters.

The SQL proof is a scan: the statements under include/sql/ carry no string-formatting
placeholders, and no call that runs SQL in plugins/ or dags/ is given a string built with an
f-string, ``%`` or ``.format()`` -- the ways data gets spliced into SQL text.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest

from adapter_fixtures import START, api_request
from complaints import airflow_tasks
from complaints.adapters import ExtractRequest, SourceError
from complaints.adapters.http_client import mask_secrets
from complaints.config import load_config
from complaints.ingest import IngestError, ingest_channel
from complaints.paths import PROJECT_ROOT, SQL_DIR
from complaints.warehouse import ensure_schema, make_engine
from conftest import PSEUDONYM_KEY
from devtools.demo.api_server import ApiServer

SECRET_TOKEN = "tok3n-Sup3rSecret-9f8e7d"
SECRET_PASSWORD = "pa55-Sup3rSecret-1a2b3c"

# -- SQL takes parameters --------------------------------------------------------------------

# psql variables naming identifiers (roles cannot be bound parameters; complaints.roles quotes them)
_PSQL_IDENTIFIER_FILES = {"roles/reporting_readonly.sql"}


def test_sql_files_bind_values_and_hold_no_string_formatting_placeholders():
    files = sorted(SQL_DIR.rglob("*.sql"))
    assert len(files) >= 30
    for path in files:
        sql = "\n".join(line.split("--", 1)[0] for line in path.read_text(encoding="utf-8").splitlines())
        name = str(path.relative_to(SQL_DIR))
        assert not re.search(r"%\(?\w*\)?s|\{\w*\}", sql), f"{name}: Python formatting placeholder"
        psql_vars = re.findall(r':"\w+"|:\'\w+\'', sql)
        assert not psql_vars or name in _PSQL_IDENTIFIER_FILES, f"{name}: psql variable {psql_vars}"


_SQL_CALLS = {"text", "execute", "exec_driver_sql", "executescript", "executemany"}


def _built_string(node: ast.AST) -> str | None:
    """How ``node`` splices values into a string, if it does."""
    if isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in node.values):
        return "f-string"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant):
        return "% formatting"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        sides = (node.left, node.right)
        if any(isinstance(s, ast.Constant) and isinstance(s.value, str) for s in sides) or any(
            _built_string(s) for s in sides
        ):
            return "string concatenation"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return ".format()"
    return None


def _formatted_sql_calls(path: Path, root: Path = PROJECT_ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        how = _built_string(node.args[0]) if name in _SQL_CALLS else None
        if how:
            found.append(f"{path.relative_to(root)}:{node.lineno} {name}() of a {how}")
    return found


def test_no_code_runs_sql_built_by_string_formatting():
    sources = sorted([*(PROJECT_ROOT / "plugins").rglob("*.py"), *(PROJECT_ROOT / "dags").rglob("*.py")])
    assert len(sources) > 30
    assert [f for path in sources for f in _formatted_sql_calls(path)] == []


def test_the_scan_would_catch_formatted_sql(tmp_path):
    """Control: each way of splicing a value into SQL is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "conn.execute(text(f\"SELECT * FROM complaint WHERE source_id = '{sid}'\"))\n"
        "conn.execute(\"DELETE FROM quarantine WHERE batch_id = '%s'\" % batch)\n"
        "conn.exec_driver_sql('UPDATE complaint SET status = ' + status)\n"
        "text('SELECT {} FROM complaint'.format(column))\n"
        "conn.execute(text('SELECT 1 WHERE x = :x'), {'x': value})\n",
        encoding="utf-8",
    )
    found = sorted(f.split(" ", 1)[1] for f in _formatted_sql_calls(bad, tmp_path))
    assert found == sorted(
        [
            "text() of a f-string",
            "execute() of a % formatting",
            "exec_driver_sql() of a string concatenation",
            "text() of a .format()",
        ]
    )


# -- secrets in logs and errors --------------------------------------------------------------


def test_mask_secrets_hides_every_token_like_query_parameter():
    url = f"https://graph.example/v19/104857/feed?access_token={SECRET_TOKEN}&limit=25&api_key={SECRET_PASSWORD}#x"
    masked = mask_secrets(f"GET {url} failed; token={SECRET_TOKEN}")
    assert SECRET_TOKEN not in masked and SECRET_PASSWORD not in masked
    assert "access_token=***" in masked and "api_key=***" in masked and "limit=25" in masked


@pytest.mark.parametrize("channel", ["line", "facebook"])
def test_an_api_token_appears_in_no_log_line_error_or_warehouse_row(channel, tmp_path, caplog):
    """Every page answers 503 until retries run out (urllib3 logs each retried URL) and then a
    wrong token is refused: the token must not appear in any of it."""
    caplog.set_level(logging.DEBUG)
    (tmp_path / "sources").mkdir()
    for name in ("line_events.json", "facebook_posts.json"):
        (tmp_path / "sources" / name).write_text("[]", encoding="utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    ensure_schema(engine)
    errors = []
    for faults, token in (({(channel, 1): "error"}, SECRET_TOKEN), ({}, SECRET_TOKEN + "-wrong")):
        with ApiServer(tmp_path, token=SECRET_TOKEN, flaky=False, faults=faults) as server:
            with pytest.raises(IngestError) as error:
                ingest_channel(api_request(channel, server.base_url, token, page_size=5), engine)
            errors.append(str(error.value))
    assert "page 1" in errors[0] and ("401" in errors[1] or "refused" in errors[1].lower())
    logged = [r.getMessage() for r in caplog.records] + [r.exc_text or "" for r in caplog.records]
    assert any("Retry" in line or "retr" in line.lower() for line in logged), "urllib3 retries were not logged"
    assert not [line for line in [*errors, *logged] if SECRET_TOKEN in line]
    from sqlalchemy import text

    with engine.connect() as conn:
        ledger = [str(row) for row in conn.execute(text("SELECT * FROM ingest_batch"))]
    assert not [row for row in ledger if SECRET_TOKEN in row]
    engine.dispose()


def test_a_database_password_appears_in_no_mis_error_or_log_line(caplog):
    caplog.set_level(logging.DEBUG)
    url = f"postgresql+psycopg2://mis_reader:{SECRET_PASSWORD}@127.0.0.1:1/mis"  # nothing listens on port 1
    request = ExtractRequest(
        load_config().channels["mis"], START, START + timedelta(days=1), PSEUDONYM_KEY, source_url=url
    )
    from complaints.adapters import mis

    (part,) = mis.plan(request)
    with pytest.raises(SourceError) as error:
        mis.read(request, part)
    assert "mis_reader:***@127.0.0.1:1/mis" in str(error.value)
    logged = [r.getMessage() for r in caplog.records] + [r.exc_text or "" for r in caplog.records]
    assert SECRET_PASSWORD not in str(error.value) and not [line for line in logged if SECRET_PASSWORD in line]


# -- the pseudonym key and the reporting connection ------------------------------------------


def _connection(monkeypatch, conn_id: str, conn: dict | None) -> None:
    name = f"AIRFLOW_CONN_{conn_id.upper()}"
    if conn is None:
        monkeypatch.delenv(name, raising=False)
    else:
        monkeypatch.setenv(name, json.dumps(conn))


def test_the_pseudonym_key_comes_from_its_connection_and_a_short_or_missing_one_is_refused(monkeypatch):
    key = "k" * 40
    _connection(monkeypatch, "complaints_pseudonym_key", {"conn_type": "generic", "password": key})
    assert airflow_tasks.pseudonym_key() == key
    for weak in ("", "short-key"):
        _connection(monkeypatch, "complaints_pseudonym_key", {"conn_type": "generic", "password": weak})
        with pytest.raises(ValueError, match="at least 16 characters"):
            airflow_tasks.pseudonym_key()
    _connection(monkeypatch, "complaints_pseudonym_key", None)
    with pytest.raises(Exception, match="complaints_pseudonym_key"):
        airflow_tasks.pseudonym_key()


def test_no_module_outside_tests_and_the_demo_holds_a_pseudonym_key():
    """The production path reads the key from the connection only: no module passes a literal."""
    offenders = []
    for path in (PROJECT_ROOT / "plugins" / "complaints").rglob("*.py"):
        if "demo" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.keyword)
                and node.arg in ("pseudonym_key", "key")
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                offenders.append(f"{path.name}:{node.value.lineno}")
    assert offenders == []


def test_the_reporting_engine_uses_its_own_connection_else_the_warehouses(monkeypatch, tmp_path):
    warehouse = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    reporting = f"sqlite:///{tmp_path / 'reporting.sqlite'}"
    _connection(monkeypatch, "complaints_warehouse", {"conn_type": "sqlite", "extra": {"sqlalchemy_url": warehouse}})
    _connection(monkeypatch, "complaints_warehouse_reporting", None)
    assert str(airflow_tasks.reporting_engine().url) == warehouse
    _connection(
        monkeypatch, "complaints_warehouse_reporting", {"conn_type": "sqlite", "extra": {"sqlalchemy_url": reporting}}
    )
    assert str(airflow_tasks.reporting_engine().url) == reporting
    assert str(airflow_tasks.warehouse_engine().url) == warehouse
