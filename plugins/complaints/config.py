"""Typed access to ``include/config/pipeline.yaml`` and the normalisers built on it.

The config is read at every DAG parse (the DAG files take their channels and schedules from
it), so :func:`load_config` parses the YAML only when the file changed: the parsed document is
kept as JSON in a cache folder, keyed by the sha256 of the YAML's bytes (see :func:`cached_document`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from complaints.paths import CONFIG_DIR

log = logging.getLogger(__name__)

PIPELINE_CONFIG = CONFIG_DIR / "pipeline.yaml"
# Another city (or a test) runs the pipeline on its own config file: set this to its path
# before Airflow starts.
CONFIG_ENV = "COMPLAINTS_CONFIG"
# Where the parsed config is cached (default ``$XDG_CACHE_HOME/complaints``, else
# ``~/.cache/complaints``): a folder only the Airflow user writes, as a changed cache file
# changes the config.
CACHE_DIR_ENV = "COMPLAINTS_CACHE_DIR"
# Cache files kept per folder (older ones are removed when a new one is written).
CACHE_ENTRIES = 32
_CACHE_FORMAT = 1
# The Airflow Asset the daily DAGs update and the quarterly DAG follows.
WAREHOUSE_ASSET_URI = "warehouse://complaints/complaint"

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_DISTRICT_PREFIXES = ("เขต", "khet ", "district ")
# How sources write a province: "จังหวัดกรุงเทพมหานคร", "จ.ยโสธร", "Changwat Yasothon", "Yasothon Province".
_PROVINCE_PREFIXES = ("จังหวัด", "จ.", "changwat ", "province ")
_PROVINCE_SUFFIXES = (" province",)

# The code a unit, category or status takes when the source's label maps to none of the
# configured ones (a crosswalk line is missing): stored with the raw label beside it, never
# as a silent NULL. It is seeded into every dimension table (complaints.warehouse).
UNMAPPED = "unmapped"
UNMAPPED_NAMES = ("ยังจับคู่รหัสไม่ได้", "unmapped (crosswalk line missing)")


# The code lists a channel's ``crosswalk:`` block may map source labels onto.
CROSSWALK_KINDS = ("statuses", "categories", "units", "districts")


@dataclass(frozen=True)
class Channel:
    code: str
    name_th: str
    name_en: str
    adapter: str
    start_date: str
    settings: dict[str, Any] = field(default_factory=dict)
    # The channel's own source labels -> config codes (its ``crosswalk:`` block), per kind,
    # keyed by ``match_key``; consulted before the shared aliases of the code lists.
    crosswalk: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class CodeEntry:
    """A row of a code list (status, category, unit, district)."""

    code: str
    name_th: str
    name_en: str
    extra: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=1 << 16)
def match_key(text: str) -> str:
    """Fold a label to the form used for matching: NFC, no zero-width marks, lower case, single spaces.

    Cached: a source repeats a few hundred labels (districts, categories, units, statuses) over
    millions of rows, and folding them was a tenth of the parse time of a 1555 file."""
    text = unicodedata.normalize("NFC", str(text)).translate(_ZERO_WIDTH)
    return re.sub(r"\s+", " ", text).strip().lower()


@dataclass(frozen=True)
class PipelineConfig:
    raw: dict[str, Any]

    @property
    def timezone(self) -> str:
        return self.raw["timezone"]

    @property
    def max_text_chars(self) -> int:
        return int(self.raw["quarantine"]["max_text_chars"])

    @property
    def max_failed_share(self) -> float:
        return float(self.raw["quarantine"]["max_failed_share"])

    @property
    def min_rows_for_share_rule(self) -> int:
        return int(self.raw["quarantine"]["min_rows_for_share_rule"])

    @property
    def max_unmapped_share(self) -> float:
        """The share of a batch's rows with an unmapped unit, category or status (each counted on its
        own) above which the batch is held: values the pipeline cannot read yet, not source errors."""
        return float(self.raw["quarantine"].get("max_unmapped_share", 0.05))

    @property
    def report_open_matters_limit(self) -> int:
        """Open matters the PDF/HTML report lists (the XLSX lists all); see pipeline.yaml."""
        return int(self.raw["quarterly"]["report_open_matters_limit"])

    @property
    def bangkok_bounds(self) -> dict[str, float]:
        return dict(self.raw["bangkok_bounds"])

    @property
    def earliest_received_date(self) -> str:
        return str(self.raw["earliest_received_date"])

    @property
    def channels(self) -> dict[str, Channel]:
        out = {}
        for code, entry in self.raw["channels"].items():
            known = {"name_th", "name_en", "adapter", "start_date", "crosswalk"}
            out[code] = Channel(
                code=code,
                name_th=entry["name_th"],
                name_en=entry["name_en"],
                adapter=entry["adapter"],
                start_date=str(entry["start_date"]),
                settings={k: v for k, v in entry.items() if k not in known},
                crosswalk=self._crosswalk(code, entry.get("crosswalk") or {}),
            )
        return out

    def _crosswalk(self, channel: str, raw: dict[str, Any]) -> dict[str, dict[str, str]]:
        """A channel's ``crosswalk:`` block, match-keyed; every target must be a configured code."""
        out: dict[str, dict[str, str]] = {}
        for kind, labels in raw.items():
            if kind not in CROSSWALK_KINDS:
                raise ValueError(f"channel {channel}: crosswalk.{kind} is not one of {', '.join(CROSSWALK_KINDS)}")
            known = set(self.codes(kind))
            table: dict[str, str] = {}
            for label, code in (labels or {}).items():
                if str(code) not in known:
                    raise ValueError(f"channel {channel}: crosswalk.{kind} maps {label!r} to unknown code {code!r}")
                table[match_key(str(label))] = str(code)
            out[kind] = table
        return out

    def _entries(self, key: str) -> list[CodeEntry]:
        return [
            CodeEntry(
                code=str(e["code"]),
                name_th=e["name_th"],
                name_en=e["name_en"],
                extra={k: v for k, v in e.items() if k not in {"code", "name_th", "name_en"}},
            )
            for e in self.raw[key]
        ]

    @property
    def statuses(self) -> list[CodeEntry]:
        return self._entries("statuses")

    @property
    def categories(self) -> list[CodeEntry]:
        return self._entries("categories")

    @property
    def units(self) -> list[CodeEntry]:
        return self._entries("units")

    @property
    def districts(self) -> list[CodeEntry]:
        return self._entries("districts")

    def codes(self, key: str) -> list[str]:
        """Codes of one list: ``statuses``, ``categories``, ``units``, ``districts`` or ``channels``."""
        if key == "channels":
            return list(self.raw["channels"])
        return [e.code for e in self._entries(key)]

    @property
    def resolved_statuses(self) -> list[str]:
        return [s.code for s in self.statuses if s.extra.get("resolved")]


def _lookup(entries: list[CodeEntry]) -> dict[str, str]:
    table: dict[str, str] = {}
    for e in entries:
        for label in [e.code, e.name_th, e.name_en, *e.extra.get("aliases", [])]:
            key = match_key(label)
            table[key] = e.code
            table.setdefault(key.replace(" ", ""), e.code)
    return table


def config_path(path: str | None = None) -> Path:
    """``path``, else the file ``$COMPLAINTS_CONFIG`` names, else Bangkok's pipeline.yaml."""
    return Path(path or os.environ.get(CONFIG_ENV) or PIPELINE_CONFIG)


@cache
def load_config(path: str | None = None) -> PipelineConfig:
    """The pipeline config: ``path``, else the file ``$COMPLAINTS_CONFIG`` names, else Bangkok's."""
    return PipelineConfig(cached_document(config_path(path).read_bytes()))


def cache_dir() -> Path | None:
    """``$COMPLAINTS_CACHE_DIR``, else ``$XDG_CACHE_HOME/complaints``, else ``~/.cache/complaints``;
    None (no cache) for a user without a home folder."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "complaints"
    home = os.path.expanduser("~")
    return None if home == "~" else Path(home) / ".cache" / "complaints"


def parse_yaml(source: bytes) -> Any:
    """The YAML document, parsed with libyaml's safe loader when available (several times faster)."""
    import yaml

    return yaml.load(source, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def cached_document(source: bytes) -> Any:
    """The YAML ``source`` parsed, from the JSON cache when it holds this exact text.

    Why: parsing pipeline.yaml took 4–8 ms of every DAG file's parse; reading its JSON copy
    takes a tenth of a millisecond. The cache file is named by the sha256 of the YAML's bytes
    and records it, so an edited config is parsed again; a document JSON cannot hold exactly
    (dates, non-string keys) is not cached, and a folder that cannot be written is only skipped.
    """
    folder = cache_dir()
    if folder is None:
        return parse_yaml(source)
    digest = hashlib.sha256(source).hexdigest()
    path = folder / f"config-{digest[:32]}.json"
    try:
        cached = json.loads(path.read_bytes())
        if cached.get("format") == _CACHE_FORMAT and cached.get("sha256") == digest:
            return cached["document"]
    except (OSError, ValueError, AttributeError):
        pass
    document = parse_yaml(source)
    _write_cache(path, digest, document)
    return document


def _write_cache(path: Path, digest: str, document: Any) -> None:
    try:
        text = json.dumps({"format": _CACHE_FORMAT, "sha256": digest, "document": document}, ensure_ascii=False)
        exact = json.loads(text)["document"] == document
    except (TypeError, ValueError):
        exact = False
    if not exact:
        log.debug("config not cached: JSON cannot hold it exactly (dates, non-string keys)")
        return
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
        tmp = None
        others = [p for p in path.parent.glob("config-*.json") if p != path]
        for old in sorted(others, key=lambda p: p.stat().st_mtime, reverse=True)[CACHE_ENTRIES - 1 :]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("config not cached in %s: %s", path.parent, exc)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


@cache
def _lookups() -> dict[str, dict[str, str]]:
    cfg = load_config()
    return {key: _lookup(getattr(cfg, key)) for key in ("statuses", "categories", "units", "districts")}


def _missing(label: object) -> bool:
    return label is None or (isinstance(label, float) and label != label)


def _from_crosswalk(kind: str, keys: list[str], channel: Channel | None) -> str | None:
    table = channel.crosswalk.get(kind) if channel is not None else None
    if not table:
        return None
    for key in keys:
        code = table.get(key) or table.get(key.replace(" ", ""))
        if code:
            return code
    return None


def normalise_district(label: object, channel: Channel | None = None) -> str | None:
    """District code for a Thai or English name, with or without the ``เขต`` prefix; None if unknown.

    With ``channel``, the channel's ``crosswalk.districts`` (e.g. its misspellings) is tried first."""
    if _missing(label):
        return None
    key = match_key(str(label))
    stripped = key
    for prefix in _DISTRICT_PREFIXES:
        if key.startswith(prefix):
            stripped = key[len(prefix) :].strip()
            break
    found = _from_crosswalk("districts", [key, stripped], channel)
    if found:
        return found
    table = _lookups()["districts"]
    return table.get(key) or table.get(stripped) or table.get(stripped.replace(" ", ""))


def province_key(label: object) -> str | None:
    """A province name folded for matching, without ``จังหวัด``/``จ.``/``Changwat``/``... Province``:
    ``"จังหวัดกรุงเทพมหานคร"`` and ``"กรุงเทพมหานคร"`` are one province. None when empty."""
    if _missing(label):
        return None
    key = match_key(str(label))
    for prefix in _PROVINCE_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            key = key[len(prefix) :].strip()
            break
    for suffix in _PROVINCE_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)].strip()
            break
    return key or None


def _normalise(kind: str, label: object, channel: Channel | None = None) -> str | None:
    if _missing(label):
        return None
    key = match_key(str(label))
    return _from_crosswalk(kind, [key], channel) or _lookups()[kind].get(key)


def normalise_status(label: object, channel: Channel | None = None) -> str | None:
    return _normalise("statuses", label, channel)


def normalise_category(label: object, channel: Channel | None = None) -> str | None:
    return _normalise("categories", label, channel)


def normalise_unit(label: object, channel: Channel | None = None) -> str | None:
    return _normalise("units", label, channel)


def default_unit_for(category_code: str | None) -> str | None:
    for c in load_config().categories:
        if c.code == category_code:
            return c.extra.get("default_unit")
    return None
