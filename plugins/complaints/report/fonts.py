"""The Thai font the reports are set in, found through an installed Python package.

Thai official documents are set in the Sarabun family (TH Sarabun is the government's standard
document font; Sarabun by Cadson Demak is its OFL-licensed open version). ``requirements.txt``
installs it from PyPI (``fontpkg-sarabun``, with ``fontpkg-noto-sans-thai`` as a fallback), so a
report needs no Debian font package. Which font is used is set in ``include/config/report.yaml``
(``font:``): a list of fontpkg packages tried in order, or explicit font files.

The fontpkg packages (https://pypi.org/project/fontpkg-sarabun/) are plain wheels: a module with
``FAMILY`` and ``ROOT``, and a ``metadata.json`` that lists each file with its style and weight.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from complaints.paths import CONFIG_DIR

REPORT_CONFIG = CONFIG_DIR / "report.yaml"
DEFAULT_PACKAGES = ("fontpkg_sarabun", "fontpkg_noto_sans_thai")
REGULAR, BOLD = 400, 700


class ThaiFontMissing(RuntimeError):
    """No configured Thai font could be found; Thai text would render as boxes."""

    def __init__(self, tried: list[str]) -> None:
        self.tried = tried
        super().__init__(
            "no Thai report font found (tried: "
            + "; ".join(tried)
            + "). Install the project's requirements (fontpkg-sarabun) or set font: in "
            + str(REPORT_CONFIG)
        )


@dataclass(frozen=True)
class ThaiFont:
    family: str
    regular: Path
    bold: Path | None

    @property
    def directory(self) -> Path:
        """Where the font files are: the only place besides the templates the PDF renderer may read."""
        return self.regular.parent


def _from_package(module_name: str) -> ThaiFont | None:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    root = Path(module.ROOT)
    meta = json.loads((root / "metadata.json").read_text(encoding="utf-8"))
    upright = {f["weight"]: root / f["path"] for f in meta["files"] if f.get("style") == "normal"}
    if not upright:
        return None
    # A variable font (Noto Sans Thai) has one file for every weight.
    regular = upright.get(REGULAR) or next(iter(upright.values()))
    bold = upright.get(BOLD) or (regular if meta["files"][0].get("variable") else None)
    return ThaiFont(family=str(module.FAMILY), regular=regular, bold=bold)


def _from_files(spec: dict[str, Any], base: Path) -> ThaiFont | None:
    regular = (base / spec["regular"]).resolve()
    if not regular.is_file():
        return None
    bold = (base / spec["bold"]).resolve() if spec.get("bold") else None
    return ThaiFont(family=str(spec.get("family") or regular.stem), regular=regular, bold=bold)


def font_settings(path: Path | None = None) -> list[Any]:
    """The ``font:`` candidates of report.yaml, in order (the packaged defaults when absent)."""
    with open(path or REPORT_CONFIG, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    candidates = (raw.get("font") or {}).get("candidates")
    if candidates is None:
        return list(DEFAULT_PACKAGES)
    if not isinstance(candidates, list) or not candidates:
        raise ValueError(f"{path or REPORT_CONFIG}: font.candidates must be a non-empty list")
    return candidates


@cache
def thai_font(path: Path | None = None) -> ThaiFont:
    """The first configured font that is installed; :class:`ThaiFontMissing` if none is."""
    config = path or REPORT_CONFIG
    tried: list[str] = []
    for candidate in font_settings(config):
        if isinstance(candidate, str):
            font = _from_package(candidate)
            tried.append(f"package {candidate}")
        elif isinstance(candidate, dict) and "regular" in candidate:
            font = _from_files(candidate, config.parent)
            tried.append(f"file {candidate['regular']}")
        else:
            raise ValueError(f"{config}: font candidate {candidate!r} is neither a package name nor {{regular: file}}")
        if font is not None:
            return font
    raise ThaiFontMissing(tried)
