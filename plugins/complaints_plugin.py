"""Registers the project's Airflow extensions: the fiscal-quarter timetable and, in the API
server, the LINE webhook receiver (an Airflow 3 plugin FastAPI app, mounted under
``/complaints-webhooks``: LINE's webhook URL is ``<api server>/complaints-webhooks/line/webhook``)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from complaints.fiscal_timetable import FiscalQuarterTimetable
from complaints.webhooks.line import app_from_airflow_connections

WEBHOOKS_URL_PREFIX = "/complaints-webhooks"


class ComplaintsPlugin(AirflowPlugin):
    name = "complaints"
    timetables = [FiscalQuarterTimetable]  # noqa: RUF012 (AirflowPlugin declares it a list)
    fastapi_apps = [  # noqa: RUF012
        {"app": app_from_airflow_connections(), "url_prefix": WEBHOOKS_URL_PREFIX, "name": "Complaints webhooks"}
    ]
