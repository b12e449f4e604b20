"""The one place that says how Airflow runs on the embedded default, for `make demo` and `make airflow`.

Both run Airflow with this environment: the project's ``dags/`` and ``plugins/``, Airflow's
metadata database in SQLite under ``.airflow/`` (unless a URL is given), a SQLite warehouse
and the local folders under the data directory, and the connections the DAGs read, given as
``AIRFLOW_CONN_<ID>`` variables pointing at the demo sources: the MIS in SQLite and the
LINE/Facebook APIs served by ``devtools.demo.api_server`` on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from complaints.paths import PROJECT_ROOT

API_TOKEN = "demo-token"
# The demo LINE channel's secret: the webhook receiver in the API server checks X-Line-Signature with it.
LINE_CHANNEL_SECRET = "demo-line-channel-secret"
AIRFLOW_HOME = PROJECT_ROOT / ".airflow"


def demo_connections(
    data: Path, api_base_url: str, pseudonym_key: str, *, warehouse_url: str | None = None
) -> dict[str, dict[str, Any]]:
    """Airflow Connections (id -> JSON form) of the demo: every connection the DAGs read.

    The warehouse is ``<data>/warehouse.sqlite`` unless ``warehouse_url`` (SQLAlchemy) names another.
    """
    api = {"conn_type": "http", "password": API_TOKEN, "extra": {"base_url": api_base_url}}
    warehouse: dict[str, Any] = {"conn_type": "sqlite", "host": str(data / "warehouse.sqlite")}
    if warehouse_url:
        dialect = warehouse_url.split(":", 1)[0].split("+", 1)[0]  # postgresql+psycopg2:// -> postgresql
        conn_type = {"postgresql": "postgres"}.get(dialect, dialect)
        warehouse = {"conn_type": conn_type, "extra": {"sqlalchemy_url": warehouse_url}}
    return {
        "complaints_warehouse": warehouse,
        "complaints_mis_db": {"conn_type": "sqlite", "host": str(data / "sources" / "mis.sqlite")},
        "complaints_line_api": dict(api),
        "complaints_facebook_api": dict(api),
        "complaints_pseudonym_key": {"conn_type": "generic", "password": pseudonym_key},
        "complaints_line_webhook": {"conn_type": "generic", "password": LINE_CHANNEL_SECRET},
    }


def conn_env_name(conn_id: str) -> str:
    """The environment variable Airflow reads a connection from: ``AIRFLOW_CONN_<ID in upper case>``."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def airflow_env(
    data: Path,
    api_base_url: str,
    pseudonym_key: str,
    *,
    airflow_home: Path | None = None,
    metadata_db_url: str | None = None,
    warehouse_url: str | None = None,
) -> dict[str, str]:
    """Environment for Airflow on the embedded default, with the project's connections.

    ``airflow_home`` defaults to ``.airflow/`` in the repository; the metadata database is
    ``<airflow_home>/airflow.db`` (SQLite) unless ``metadata_db_url`` names another one, and the
    warehouse ``<data>/warehouse.sqlite`` unless ``warehouse_url`` does.
    """
    home = Path(airflow_home or AIRFLOW_HOME)
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=metadata_db_url or f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT_ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(PROJECT_ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DEFAULT_TIMEZONE="Asia/Bangkok",
        PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)]),  # devtools: the demo workers
        COMPLAINTS_DATA_DIR=str(data),
        GX_ANALYTICS_ENABLED="False",
    )
    for conn_id, conn in demo_connections(data, api_base_url, pseudonym_key, warehouse_url=warehouse_url).items():
        env[conn_env_name(conn_id)] = json.dumps(conn)
    return env


def demo_pseudonym_key(data: Path) -> str:
    """A per-installation key kept outside the repository (data/ is git-ignored)."""
    key_file = data / ".pseudonym_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()
