"""Where the project's files live, so no module hard-codes a path."""

from __future__ import annotations

import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INCLUDE_DIR = PROJECT_ROOT / "include"
SQL_DIR = INCLUDE_DIR / "sql"
CONFIG_DIR = INCLUDE_DIR / "config"
TEMPLATES_DIR = INCLUDE_DIR / "templates"


def data_dir() -> Path:
    """Root of file drops, archives and the embedded warehouse (``COMPLAINTS_DATA_DIR`` overrides)."""
    return Path(os.environ.get("COMPLAINTS_DATA_DIR", PROJECT_ROOT / "data"))


_INCLUDE = re.compile(r"^[ \t]*-- @include (\S+)[ \t]*$", re.MULTILINE)


def read_sql(name: str) -> str:
    """Text of ``include/sql/<name>``; every statement the code runs comes from there.

    A line ``-- @include <path>`` is replaced by that file's text, so a rule several queries
    share (the status as of a cut-off) is written once.
    """
    text = (SQL_DIR / name).read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda m: read_sql(m.group(1)).rstrip("\n"), text)
