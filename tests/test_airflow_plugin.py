"""The plugins folder registers the fiscal-quarter timetable and the LINE webhook receiver app."""

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
    "fastapi_apps": sorted(
        (a["url_prefix"], sorted(getattr(r, "path", "") for r in a["app"].routes))
        for a in plugins_manager.get_fastapi_plugins()[0]
    ),
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
    # the API server mounts the receiver: LINE posts to <api server>/complaints-webhooks/line/webhook
    assert [[prefix, "/line/webhook" in paths] for prefix, paths in loaded["fastapi_apps"]] == [
        ["/complaints-webhooks", True]
    ]
    assert loaded["stdlib_calendar_intact"]
    assert loaded["bare_names_loaded"] == []
