"""Registers the project's Airflow extensions (the fiscal-quarter timetable)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from complaints.fiscal_timetable import FiscalQuarterTimetable


class ComplaintsPlugin(AirflowPlugin):
    name = "complaints"
    timetables = [FiscalQuarterTimetable]  # noqa: RUF012 (AirflowPlugin declares it a list)
