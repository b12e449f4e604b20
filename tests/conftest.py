"""Shared fixtures: a real PostgreSQL schema per test, a SQLite file per test, and an
Airflow home with a migrated metadata database for the tests that run DAGs."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

# Airflow reads its configuration on first import: point it at a throw-away home first.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="complaints-airflow-test-"))
PROJECT_ROOT = Path(__file__).resolve().parents[1]
os.environ.update(
    AIRFLOW_HOME=str(_AIRFLOW_HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT_ROOT / "dags"),
    AIRFLOW__CORE__PLUGINS_FOLDER=str(PROJECT_ROOT / "plugins"),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__UNIT_TEST_MODE="False",
    GX_ANALYTICS_ENABLED="False",
    # Nothing a test does by default lands in the project's own data/ folder.
    COMPLAINTS_DATA_DIR=str(_AIRFLOW_HOME / "data"),
    # nor in the user's cache folder (the parsed pipeline config, see complaints.config)
    COMPLAINTS_CACHE_DIR=str(_AIRFLOW_HOME / "cache"),
)

PG_ADMIN_URL = os.environ.get("COMPLAINTS_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
PSEUDONYM_KEY = "test-key-not-a-secret"


@contextmanager
def fresh_pg_schema() -> Iterator[str]:
    """A new schema in the real PostgreSQL server (URL with its search_path), dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_pg_schema() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'warehouse.sqlite'}"


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The warehouse tests run on both supported databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(warehouse_url: str) -> Iterator[Any]:
    """A warehouse with its schema, on each database (a module may define its own ``engine``)."""
    from complaints.warehouse import ensure_schema, make_engine

    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the throw-away Airflow metadata database once per session."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, env=dict(os.environ)
    )
    return _AIRFLOW_HOME


def bkk(*args: int) -> datetime:
    from complaints.thai_time import BANGKOK

    return datetime(*args, tzinfo=BANGKOK)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules that run DAGs through Airflow first (a stable sort): they are the long ones, and
    with `make test`'s two xdist workers (one module per worker at a time) starting them first
    keeps one worker from finishing them alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("airflow") is None)
