"""The plugins folder registers the fiscal-quarter timetable and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import calendar, json, sys
from airflow import plugins_manager
plugins, errors = plugins_manager._get_plugins()
print(json.dumps({
    "plugins": sorted(p.name for p in plugins),
    "errors": {k: str(v) for k, v in (errors or {}).items()},
    "timetables": sorted(t.__module__ + "." + t.__qualname__ for p in plugins for t in p.timetables),
    "stdlib_calendar_intact": hasattr(sys.modules["calendar"], "timegm"),
    "bare_names_loaded": [m for m in ("config", "warehouse", "ingest", "validation", "result") if m in sys.modules],
}))
"""


def test_only_the_complaints_plugin_is_loaded_and_it_registers_the_fiscal_timetable():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["errors"] == {}
    assert loaded["plugins"] == ["complaints"]
    assert loaded["timetables"] == ["complaints.fiscal_timetable.FiscalQuarterTimetable"]
    assert loaded["stdlib_calendar_intact"]
    assert loaded["bare_names_loaded"] == []
