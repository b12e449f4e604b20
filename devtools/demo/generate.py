"""Deterministic demo sources for fiscal year 2562 (1 Oct 2018 - 30 Sep 2019, Asia/Bangkok).

``python -m devtools.demo.generate --out DIR [--seed 2562]`` writes::

    DIR/sources/mis.sqlite              MIS source DB (complaints + action log), naive Bangkok times
    DIR/inbox/1555/1555_YYYYMMDD.csv    1555 hotline daily exports (UTF-8 BOM / UTF-8 / cp874), a few .xlsx
    DIR/sources/line_events.json        LINE complaint events (JSON list, as the LINE API serves them)
    DIR/sources/facebook_posts.json     Facebook page posts (JSON list, as the Graph-shaped API serves them)
    DIR/inbox/traffy_fondue/traffy_fondue_YYYYMMDD.csv   Traffy Fondue open-data exports, one per month
    DIR/demo_manifest.json              what was generated, and every deliberately bad row with its reason

Status changes run up to 31 Oct 2019. The MIS channel is calibrated *by construction*:
counting the valid MIS complaints received from 1 Oct 2018 up to each cut-off date and
judging "resolved" by the latest action at or before the end of that day gives exactly
the published figures (:data:`CALIBRATION`), whatever the seed. Deliberately bad rows
(unknown district, impossible dates, missing status, mojibake, ...) are *extra* rows
on top of the calibrated ones and are listed in the summary so tests can check that
the pipeline quarantines exactly them.

Same seed, same bytes: everything comes from ``random.Random`` seeded per channel and
from fixed dates; nothing reads the wall clock (xlsx files get fixed zip and document times).
"""

from __future__ import annotations

import argparse
import codecs
import csv
import hashlib
import io
import itertools
import json
import math
import random
import sys
import time as _time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect

from complaints.config import load_config, normalise_category
from complaints.thai_time import BANGKOK, BE_OFFSET
from devtools.demo import thai_text as tt
from devtools.demo.mis_schema import create_mis_schema

DEFAULT_SEED = 2562

FY_START = date(2018, 10, 1)
FY_END = date(2019, 9, 30)
# No status change after this moment (naive Bangkok wall-clock).
UPDATES_END = datetime(2019, 10, 31, 18, 0, 0)

# (cut-off date, received, resolved, in progress): the published FY2562 MIS figures.
CALIBRATION: tuple[tuple[date, int, int, int], ...] = (
    (date(2019, 3, 31), 915, 914, 1),
    (date(2019, 6, 24), 1335, 1301, 34),
    (date(2019, 8, 30), 1669, 1637, 32),
)

# Thai public holidays (with in-lieu days) from Oct 2018 to Oct 2019, fixed here so the
# output never depends on the installed version of the `holidays` package.
THAI_HOLIDAYS: frozenset[date] = frozenset(
    date.fromisoformat(d)
    for d in (
        "2018-10-13",
        "2018-10-15",
        "2018-10-23",
        "2018-12-05",
        "2018-12-10",
        "2018-12-31",
        "2019-01-01",
        "2019-02-19",
        "2019-04-06",
        "2019-04-08",
        "2019-04-13",
        "2019-04-14",
        "2019-04-15",
        "2019-04-16",
        "2019-05-01",
        "2019-05-06",
        "2019-05-18",
        "2019-05-20",
        "2019-06-03",
        "2019-07-16",
        "2019-07-17",
        "2019-07-28",
        "2019-07-29",
        "2019-08-12",
        "2019-10-13",
        "2019-10-14",
        "2019-10-23",
    )
)

HOTLINE_HEADERS: tuple[str, ...] = (
    "เลขที่รับแจ้ง",
    "วันที่รับแจ้ง",
    "ชื่อผู้แจ้ง",
    "เบอร์โทรศัพท์",
    "เขต",
    "ประเภทเรื่อง",
    "รายละเอียด",
    "พิกัด",
    "หน่วยงานรับผิดชอบ",
    "สถานะ",
    "วันที่ตอบรับ",
    "วันที่ดำเนินการเสร็จ",
    "ผลการดำเนินการ",
    "วันที่ปรับปรุงล่าสุด",
)
# Personal fields per channel: what the adapters must pseudonymise.
PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "mis": ("complainant_name", "complainant_phone"),
    "hotline_1555": ("ชื่อผู้แจ้ง", "เบอร์โทรศัพท์"),
    "line": ("source.userId",),
    "facebook": ("from.id", "from.name"),
    "traffy_fondue": (),  # the open-data export holds no reporter identity
}
FACEBOOK_PAGE_ID = "104857"

_OFFICE_OPEN = time(8, 30)
_OFFICE_CLOSE = time(16, 30)
_FIXED_ZIP_TIME = (2019, 1, 1, 0, 0, 0)
_MIN_GAP = timedelta(minutes=5)


# =========================================================================== summary


@dataclass(frozen=True)
class BadRow:
    """One deliberately bad source row: where it is, its source id (if it has one) and why it is bad."""

    locator: str
    source_id: str | None
    reason: str


@dataclass
class ChannelSummary:
    channel: str
    rows: int  # rows/records written (1555: data rows over all files, the resend copy excluded)
    bad_rows: int
    matters: int  # distinct matters behind the rows (valid ones)
    paths: list[Path]
    bad: list[BadRow] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class DemoSummary:
    out_dir: Path
    seed: int
    channels: dict[str, ChannelSummary]
    calibration: tuple[tuple[date, int, int, int], ...] = CALIBRATION

    def bad_source_ids(self, channel: str) -> list[str]:
        return [b.source_id for b in self.channels[channel].bad if b.source_id]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form with paths relative to ``out_dir`` (so it is identical for any DIR)."""

        def rel(p: Path) -> str:
            return p.relative_to(self.out_dir).as_posix()

        return {
            "seed": self.seed,
            "fiscal_year_be": FY_START.year + 1 + BE_OFFSET,
            "received_window": [FY_START.isoformat(), FY_END.isoformat()],
            "updates_until": UPDATES_END.isoformat(sep=" "),
            "mis_calibration": [
                {"cutoff": c.isoformat(), "received": r, "resolved": s, "in_progress": p}
                for c, r, s, p in self.calibration
            ],
            "channels": {
                code: {
                    "rows": ch.rows,
                    "bad_rows": ch.bad_rows,
                    "matters": ch.matters,
                    "personal_fields": list(PERSONAL_FIELDS[code]),
                    "paths": [rel(p) for p in ch.paths],
                    "bad": [_bad_dict(b) for b in ch.bad],
                    "notes": ch.notes,
                }
                for code, ch in self.channels.items()
            },
        }

    def __str__(self) -> str:
        lines = [f"demo data FY2562 (seed {self.seed}) in {self.out_dir}"]
        for ch in self.channels.values():
            where = ch.paths[0].parent if len(ch.paths) > 1 else ch.paths[0]
            lines.append(
                f"  {ch.channel:<13} rows {ch.rows:>6}  bad {ch.bad_rows:>4}  matters {ch.matters:>5}"
                f"  files {len(ch.paths):>4}  {where}"
            )
        for c, r, s, p in self.calibration:
            lines.append(f"  MIS cut-off {c}: received {r}, resolved {s}, in progress {p}")
        return "\n".join(lines)


def _bad_dict(b: BadRow) -> dict[str, str | None]:
    return {"locator": b.locator, "source_id": b.source_id, "reason": b.reason}


# =========================================================================== calendar


def is_business_day(d: date) -> bool:
    return d.weekday() < 5 and d not in THAI_HOLIDAYS


def _next_business_day(d: date) -> date:
    d += timedelta(days=1)
    while not is_business_day(d):
        d += timedelta(days=1)
    return d


def _add_business_days(d: date, n: int) -> date:
    for _ in range(n):
        d = _next_business_day(d)
    return d


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _end_of_day(d: date) -> datetime:
    return datetime.combine(d, time(23, 59, 59))


def _office_time(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    """A moment in ``(lo, hi]``, in office hours of a business day when the window has any."""
    if hi - lo < timedelta(seconds=2):
        raise ValueError(f"empty window {lo} .. {hi}")
    spans = []
    for d in _days(lo.date(), hi.date()):
        if is_business_day(d):
            a = max(lo, datetime.combine(d, _OFFICE_OPEN))
            b = min(hi, datetime.combine(d, _OFFICE_CLOSE))
            if b - a >= timedelta(seconds=2):
                spans.append((a, b))
    if not spans:
        spans = [(lo, hi)]
    total = sum((b - a).total_seconds() for a, b in spans)
    x = rng.random() * total
    for a, b in spans:
        length = (b - a).total_seconds()
        if x <= length:
            break
        x -= length
    t = a + timedelta(seconds=int(x))
    return min(max(t, lo + timedelta(seconds=1)), hi)


def _snap_to_office(rng: random.Random, t: datetime) -> datetime:
    """``t`` if it falls in office hours of a business day, else a random office time of the next one."""
    d = t.date()
    if is_business_day(d) and _OFFICE_OPEN <= t.time() <= _OFFICE_CLOSE:
        return t
    if not (is_business_day(d) and t.time() < _OFFICE_OPEN):
        d = _next_business_day(d)
    start = datetime.combine(d, _OFFICE_OPEN)
    return start + timedelta(seconds=rng.randrange(8 * 3600))


def _received_time(rng: random.Random, d: date, profile: str) -> datetime:
    """When a matter arrives on day ``d``: office hours for MIS/1555, evenings too for social media."""
    if profile == "social":
        minutes = rng.triangular(6 * 60, 23 * 60 + 55, 20 * 60)
    elif is_business_day(d):
        u = rng.random()
        if u < 0.82:
            minutes = rng.triangular(8 * 60, 16 * 60 + 30, 10 * 60 + 30)
        elif u < 0.93:
            minutes = rng.uniform(16 * 60 + 30, 21 * 60)
        else:
            minutes = rng.uniform(6 * 60 + 30, 8 * 60)
    else:
        minutes = rng.uniform(9 * 60, 20 * 60)
    return datetime.combine(d, time()) + timedelta(seconds=int(minutes * 60) + rng.randrange(60))


def _allocate(rng: random.Random, days: Sequence[date], total: int, off_day_weight: float) -> list[int]:
    """Split ``total`` over ``days`` (fewer on weekends and holidays); the sum is exactly ``total``."""
    weights = [(1.0 if is_business_day(d) else off_day_weight) * rng.uniform(0.55, 1.45) for d in days]
    scale = total / sum(weights)
    raw = [w * scale for w in weights]
    counts = [int(x) for x in raw]
    order = sorted(range(len(days)), key=lambda i: (counts[i] - raw[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _weighted_sample(rng: random.Random, items: Sequence[int], weights: Sequence[float], k: int) -> list[int]:
    """``k`` distinct items drawn with probability proportional to weight (Efraimidis-Spirakis)."""
    if k > len(items):
        raise ValueError(f"cannot pick {k} of {len(items)} candidates")
    pairs = enumerate(zip(items, weights, strict=True))
    keyed = sorted((rng.random() ** (1.0 / w), -n, item) for n, (item, w) in pairs)
    return [item for _, _, item in keyed[len(keyed) - k :]][::-1]


# =========================================================================== matters


@dataclass
class Place:
    phrase: str  # "บริเวณปากซอยเจริญกรุง 42"
    street: str  # "ซอยเจริญกรุง 42"
    latitude: float
    longitude: float


@dataclass
class Matter:
    """One complaint with its whole history, independent of how a channel writes it."""

    received_at: datetime
    district: str  # district code
    category: str
    unit: str
    place: Place
    subject: str
    description: str
    reporter_name: str
    reporter_phone: str | None
    female: bool = False
    actions: list[tuple[datetime, str, str | None]] = field(default_factory=list)  # (at, status code, note)
    report: str | None = None  # report of the (last) resolution
    role: str = "normal"

    def state_at(self, moment: datetime) -> tuple[datetime, str, str | None] | None:
        last = None
        for action in self.actions:
            if action[0] <= moment:
                last = action
        return last


def mojibake(text: str) -> str:
    """Thai UTF-8 bytes read as Windows-1252 (Latin-1 for bytes cp1252 lacks): "ขยะ" -> "à¸‚à¸¢à¸°"."""
    out = []
    for byte in text.encode("utf-8"):
        try:
            out.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(byte))
    return "".join(out)


class _World:
    """Config-derived lookups plus the text composer shared by every channel."""

    def __init__(self) -> None:
        cfg = load_config()
        self.cfg = cfg
        self.district_name = {d.code: d.name_th for d in cfg.districts}
        self.district_codes = [d.code for d in cfg.districts]
        self.categories = {c.code: c for c in cfg.categories}
        self.units = {u.code: u for u in cfg.units}
        self.status_name = {s.code: s.name_th for s in cfg.statuses}
        self.resolved_codes = set(cfg.resolved_statuses)
        b = cfg.bangkok_bounds
        self.bounds = (b["lat_min"], b["lat_max"], b["lon_min"], b["lon_max"])
        for code in self.district_codes:
            if code not in tt.DISTRICT_CENTROIDS or code not in tt.DISTRICT_ROADS:
                raise ValueError(f"thai_text has no place material for district {code}")
        for code in self.categories:
            if code not in tt.CATEGORY_TEXT:
                raise ValueError(f"thai_text has no phrases for category {code}")

    # ------------------------------------------------------------------ labels
    def category_label(self, rng: random.Random, code: str, alias_share: float) -> str:
        entry = self.categories[code]
        thai_aliases = [a for a in entry.extra.get("aliases", []) if not a.isascii()]
        if thai_aliases and rng.random() < alias_share:
            return rng.choice(thai_aliases)
        return entry.name_th

    def unit_label(self, rng: random.Random, code: str, alias_share: float) -> str:
        entry = self.units[code]
        aliases = [a for a in entry.extra.get("aliases", []) if not a.isascii()]
        if aliases and rng.random() < alias_share:
            return rng.choice(aliases)
        return entry.name_th

    def district_label(self, rng: random.Random, code: str, prefix_share: float) -> str:
        name = self.district_name[code]
        return f"เขต{name}" if rng.random() < prefix_share else name

    # ------------------------------------------------------------------ content
    def place(self, rng: random.Random, district: str) -> Place:
        road = rng.choice(tt.DISTRICT_ROADS[district])
        n = rng.randint(1, 80)
        if road[-1].isdigit():
            street, soi_short = f"ถนน{road} ซอย {n}", f" {n} ถนน{road}"
        else:
            street, soi_short = f"ซอย{road} {n}", f"{road} {n}"
        house = str(rng.randint(1, 999)) + (f"/{rng.randint(1, 40)}" if rng.random() < 0.3 else "")
        phrase = rng.choice(tt.PLACE_TEMPLATES).format(
            soi=street,
            soi_short=soi_short,
            road=road,
            landmark=rng.choice(tt.DISTRICT_LANDMARKS[district]),
            house=house,
        )
        lat0, lon0 = tt.DISTRICT_CENTROIDS[district]
        lat_min, lat_max, lon_min, lon_max = self.bounds
        lat = min(max(lat0 + rng.gauss(0, 0.007), lat_min + 0.001), lat_max - 0.001)
        lon = min(max(lon0 + rng.gauss(0, 0.007), lon_min + 0.001), lon_max - 0.001)
        return Place(phrase, street, round(lat, 6), round(lon, 6))

    def new_matter(self, rng: random.Random, received_at: datetime, district_weights: list[float]) -> Matter:
        district = rng.choices(self.district_codes, weights=district_weights)[0]
        category = rng.choices(list(tt.CATEGORY_WEIGHTS), weights=list(tt.CATEGORY_WEIGHTS.values()))[0]
        unit = self.categories[category].extra["default_unit"]
        if category == "drainage" and rng.random() < 0.2:
            unit = "public_works_drainage"
        text = tt.CATEGORY_TEXT[category]
        place = self.place(rng, district)
        problem = rng.choice(text["problems"]).format(place=place.phrase)
        description = f"{problem} {rng.choice(text['effects'])} {rng.choice(text['requests'])}"
        female = rng.random() < 0.55
        first = rng.choice(tt.FIRST_NAMES_FEMALE if female else tt.FIRST_NAMES_MALE)
        title = rng.choice(tt.TITLES_FEMALE if female else tt.TITLES_MALE)
        name = f"{title}{first} {rng.choice(tt.LAST_NAMES)}"
        prefix = f"0{rng.choice('689')}{rng.randrange(10)}"
        phone = f"{prefix}-{rng.randrange(1000):03d}-{rng.randrange(10000):04d}"
        return Matter(
            received_at=received_at,
            district=district,
            category=category,
            unit=unit,
            place=place,
            subject=rng.choice(text["subjects"]),
            description=description,
            reporter_name=name,
            reporter_phone=phone,
            female=female,
        )

    def report(self, rng: random.Random, m: Matter, agency: str | None, again: bool = False) -> str:
        unit_name = self.units[m.unit].name_th
        if agency:
            text = f"{unit_name}ได้ประสานส่งเรื่องให้{agency} ซึ่งได้ดำเนินการแก้ไขเรียบร้อยแล้ว และแจ้งผลให้ผู้ร้องทราบ"
        elif rng.random() < 0.012:
            text = rng.choice(tt.TERSE_REPORTS)
        else:
            text = rng.choice(tt.CATEGORY_TEXT[m.category]["reports"]).format(unit=unit_name)
        if again:
            text = f"ลงพื้นที่ตรวจสอบซ้ำตามที่ผู้ร้องแจ้ง {text}"
        return text

    # ------------------------------------------------------------------ timelines
    def natural_ack(self, rng: random.Random, r: datetime) -> datetime:
        """Acknowledgement: usually the same or the next business day, occasionally late."""
        d = r.date()
        u = rng.random()
        if u < 0.025:
            day = _add_business_days(d, rng.randint(2, 4))
            return datetime.combine(day, _OFFICE_OPEN) + timedelta(seconds=rng.randrange(8 * 3600))
        if is_business_day(d) and _OFFICE_OPEN <= r.time() <= time(15, 30) and u < 0.70:
            return r + timedelta(seconds=rng.randint(10 * 60, 120 * 60))
        day = _next_business_day(d)
        return datetime.combine(day, _OFFICE_OPEN) + timedelta(seconds=rng.randrange(int(3.5 * 3600)))

    def natural_resolution(self, rng: random.Random, m: Matter, ack: datetime, slow: float = 1.0) -> datetime:
        median = tt.CATEGORY_TEXT[m.category]["median_days"] * slow
        return _snap_to_office(rng, ack + timedelta(days=median * math.exp(rng.gauss(0, 0.8))))

    def forward_agency(self, rng: random.Random, m: Matter) -> str | None:
        agencies = tt.CATEGORY_TEXT[m.category]["forward"]
        if agencies and rng.random() < 0.25:
            return rng.choice(agencies)
        return None

    def build_actions(
        self,
        rng: random.Random,
        m: Matter,
        ack: datetime,
        resolved_at: datetime | None,
        reopened_at: datetime | None = None,
        re_resolved_at: datetime | None = None,
        agency: str | None = None,
        progress_share: float = 0.8,
    ) -> None:
        """Fill ``m.actions`` (strictly increasing times) and ``m.report`` from the chosen key moments."""
        r = m.received_at
        unit_name = self.units[m.unit].name_th
        text = tt.CATEGORY_TEXT[m.category]
        first_end = resolved_at or UPDATES_END
        acts: list[tuple[datetime, str, str | None]] = [(r, "received", rng.choice(tt.RECEIVE_NOTES))]
        if ack >= first_end - _MIN_GAP:
            ack = (r + (first_end - r) * rng.uniform(0.1, 0.4)).replace(microsecond=0)
        acts.append((ack, "acknowledged", rng.choice(tt.ACK_NOTES).format(unit=unit_name)))
        cursor = ack
        if agency and first_end - cursor > timedelta(days=1):
            latest = min(cursor + timedelta(days=2), first_end - timedelta(hours=2))
            at = _office_time(rng, cursor + _MIN_GAP, latest)
            acts.append((at, "forwarded", rng.choice(tt.FORWARD_NOTES).format(agency=agency)))
            cursor = at
        else:
            agency = None
        if (rng.random() < progress_share or not resolved_at) and first_end - cursor > timedelta(hours=1):
            at = _office_time(rng, cursor + _MIN_GAP, min(cursor + timedelta(days=3), first_end - _MIN_GAP))
            acts.append((at, "in_progress", rng.choice(text["progress"])))
        m.report = None
        if resolved_at:
            m.report = self.report(rng, m, agency)
            acts.append((resolved_at, "resolved", m.report))
        if reopened_at:
            acts.append((reopened_at, "reopened", rng.choice(tt.REOPEN_NOTES)))
            second_end = re_resolved_at or UPDATES_END
            if second_end - reopened_at > timedelta(hours=1):
                at = _office_time(
                    rng, reopened_at + _MIN_GAP, min(reopened_at + timedelta(days=2), second_end - _MIN_GAP)
                )
                acts.append((at, "in_progress", rng.choice(tt.REOPEN_PROGRESS)))
            if re_resolved_at:
                m.report = self.report(rng, m, None, again=True)
                acts.append((re_resolved_at, "resolved", m.report))
            else:
                m.report = None
        for (a, *_), (b, *_) in itertools.pairwise(acts):
            if not a < b:
                raise AssertionError(f"actions out of order for a matter received {r}: {acts}")
        if acts[-1][0] > UPDATES_END:
            raise AssertionError(f"action after {UPDATES_END}: {acts[-1]}")
        m.actions = acts

    def simple_timeline(self, rng: random.Random, m: Matter, never_share: float = 0.02) -> None:
        """Receive, acknowledge, maybe forward / work on it, resolve (unless it runs past 31 Oct 2019)."""
        ack = self.natural_ack(rng, m.received_at)
        agency = self.forward_agency(rng, m)
        resolved = self.natural_resolution(rng, m, ack, slow=1.8 if agency else 1.0)
        if resolved > UPDATES_END or rng.random() < never_share:
            resolved = None
        if ack > UPDATES_END:
            ack = _office_time(rng, m.received_at, UPDATES_END)
        self.build_actions(rng, m, ack, resolved, agency=agency)


def _daily_receipts(
    rng: random.Random, first: date, last: date, total: int, off_day_weight: float, profile: str
) -> list[datetime]:
    days = _days(first, last)
    out = []
    for d, n in zip(days, _allocate(rng, days, total, off_day_weight), strict=True):
        out.extend(_received_time(rng, d, profile) for _ in range(n))
    return sorted(out)


def _district_weights(rng: random.Random, world: _World) -> list[float]:
    return [rng.uniform(0.4, 2.0) for _ in world.district_codes]


def _spread(n_items: int, n_pick: int, rng: random.Random) -> list[int]:
    """``n_pick`` positions spread evenly over ``range(n_items)`` with a little jitter, distinct."""
    step = n_items / n_pick
    out = []
    for i in range(n_pick):
        pos = int((i + 0.5) * step + rng.uniform(-0.3, 0.3) * step)
        out.append(min(max(pos, 0), n_items - 1))
    if len(set(out)) != len(out):
        raise AssertionError("spread positions collide")
    return out


# =========================================================================== MIS


def mis_figures(matters: Sequence[Matter], cutoff: date, resolved_codes: set[str]) -> tuple[int, int, int]:
    """(received, resolved, in progress) as of the end of ``cutoff`` over ``matters``."""
    end = datetime.combine(cutoff, time(23, 59, 59, 999000))
    received = resolved = 0
    for m in matters:
        if FY_START <= m.received_at.date() <= cutoff:
            received += 1
            state = m.state_at(end)
            if state and state[1] in resolved_codes:
                resolved += 1
    return received, resolved, received - resolved


def _plan_mis(rng: random.Random, world: _World) -> list[Matter]:
    """The valid MIS matters, with histories chosen so that every cut-off figure is exact."""
    (c1, n1, _, open1), (c2, n2, _, open2), (c3, n3, _, open3) = CALIBRATION
    ends = [_end_of_day(c1), _end_of_day(c2), _end_of_day(c3)]
    n4 = round((FY_END - c3).days * (n3 - n2) / (c3 - c2).days * rng.uniform(0.9, 1.1))
    segments = [
        (FY_START, c1, n1),
        (c1 + timedelta(days=1), c2, n2 - n1),
        (c2 + timedelta(days=1), c3, n3 - n2),
        (c3 + timedelta(days=1), FY_END, n4),
    ]
    weights = _district_weights(rng, world)
    matters: list[Matter] = []
    seg_of: list[int] = []
    for k, (first, last, total) in enumerate(segments):
        for r in _daily_receipts(rng, first, last, total, 0.3, "office"):
            matters.append(world.new_matter(rng, r, weights))
            seg_of.append(k)
    ack = [world.natural_ack(rng, m.received_at) for m in matters]
    agency = [world.forward_agency(rng, m) for m in matters]
    natural = [
        world.natural_resolution(rng, m, a, slow=1.8 if g else 1.0)
        for m, a, g in zip(matters, ack, agency, strict=True)
    ]
    role = ["normal"] * len(matters)

    def candidates(k: int, first: date, last: date, pred=None) -> list[int]:
        return [
            i
            for i, m in enumerate(matters)
            if seg_of[i] == k
            and role[i] == "normal"
            and first <= m.received_at.date() <= last
            and (pred is None or pred(i))
        ]

    def recent_weights(idx: list[int], cutoff_end: datetime) -> list[float]:
        def weight(i: int) -> float:
            late = 2.5 if natural[i] > cutoff_end else 1.0
            return 0.8 ** (cutoff_end - matters[i].received_at).days * late

        return [weight(i) for i in idx]

    def pick_recent(k: int, count: int, cutoff: date) -> list[int]:
        cutoff_end = ends[k]
        for days_back in (10, 15, 25, 40):
            idx = candidates(k, cutoff - timedelta(days=days_back), cutoff)
            if len(idx) >= count:
                break
        forced = [i for i in idx if cutoff_end - matters[i].received_at < timedelta(minutes=90)]
        if len(forced) > count:  # cannot happen with office-hour receipts; fail loudly if it does
            raise AssertionError(f"{len(forced)} matters arrive too late on {cutoff} to be closed in time")
        rest = [i for i in idx if i not in forced]
        chosen = forced + _weighted_sample(rng, rest, recent_weights(rest, cutoff_end), count - len(forced))
        return chosen

    def assign(idx: list[int], name: str) -> None:
        for i in idx:
            role[i] = name

    # Open at the first cut-off: one matter received in its last days.
    assign(pick_recent(0, open1, c1), "open_c1")
    # Resolved before cut-off 1, reopened before cut-off 2, re-resolved before cut-off 3.
    early = candidates(
        0,
        date(2019, 1, 2),
        date(2019, 3, 10),
        lambda i: natural[i] < ends[0] - timedelta(days=3),
    )
    assign(rng.sample(early, 1), "reopen_c1_c2")
    # Long-running matters open at cut-off 2 (the first of them is still open at cut-off 3).
    long2 = rng.sample(candidates(1, date(2019, 4, 1), date(2019, 5, 24)), 3)
    assign(long2[:1], "long_c2_c3")
    assign(long2[1:], "long_c2")
    reopen2 = candidates(
        1,
        date(2019, 4, 1),
        date(2019, 5, 31),
        lambda i: natural[i] < ends[1] - timedelta(days=5),
    )
    assign(rng.sample(reopen2, 1), "reopen_c2_c3")
    assign(pick_recent(1, open2 - 1 - 3, c2), "open_c2")
    # Cut-off 3: the carried long-running one, the one reopened in August, two from July, the rest recent.
    long3 = rng.sample(candidates(2, date(2019, 7, 1), date(2019, 7, 31)), 2)
    assign(long3[:1], "long_c3_never")
    assign(long3[1:], "long_c3")
    recent3 = pick_recent(2, open3 - 1 - 1 - 2, c3)
    assign(recent3[:3], "open_c3_never")
    assign(recent3[3:], "open_c3")
    # Reopened and re-resolved between two cut-offs (no effect on any figure).
    for k, count in ((0, 3), (1, 2), (2, 2)):
        room = candidates(
            k,
            segments[k][0],
            segments[k][1],
            lambda i, k=k: natural[i] < ends[k] - timedelta(days=8),
        )
        assign(rng.sample(room, count), f"reopen_within_{k}")
    # After the last cut-off: some never resolved, two reopened in October.
    assign(rng.sample(candidates(3, date(2019, 9, 15), FY_END), 6), "never")
    assign(
        rng.sample(
            candidates(
                3,
                FY_END - timedelta(days=29),
                FY_END - timedelta(days=20),
                lambda i: natural[i] < datetime(2019, 10, 15),
            ),
            2,
        ),
        "reopen_late",
    )

    late_reopens = 0
    for i, m in enumerate(matters):
        k, nat, name = seg_of[i], natural[i], role[i]
        r = m.received_at
        reopen_at = re_resolved = None
        if name in ("normal", "reopen_c1_c2", "reopen_c2_c3") or name.startswith("reopen_within"):
            bound = ends[k] if k < 3 else UPDATES_END
            if nat <= bound:
                resolved = nat
            elif k < 3:
                resolved = _office_time(rng, r + timedelta(minutes=20), bound)
            else:
                resolved = None
        elif name in ("open_c1", "open_c2", "open_c3"):
            lo = ends[k]
            hi = ends[k + 1] if k + 1 < 3 else UPDATES_END
            soon = min(hi, lo + timedelta(days=rng.randint(2, 12)))
            resolved = nat if lo < nat <= hi else _office_time(rng, lo, soon)
        elif name == "long_c2":
            resolved = _office_time(rng, ends[1] + timedelta(days=3), ends[2] - timedelta(days=1))
        elif name == "long_c2_c3":
            resolved = _office_time(rng, ends[2] + timedelta(days=5), ends[2] + timedelta(days=28))
        elif name == "long_c3":
            resolved = _office_time(rng, ends[2] + timedelta(days=10), ends[2] + timedelta(days=45))
        elif name in ("long_c3_never", "open_c3_never", "never"):
            resolved = None
        elif name == "reopen_late":
            resolved = nat
        else:  # pragma: no cover - every role is handled above
            raise AssertionError(name)

        if name == "reopen_c1_c2":
            reopen_at = _office_time(rng, ends[1] - timedelta(days=25), ends[1] - timedelta(days=3))
            re_resolved = _office_time(rng, ends[1] + timedelta(days=2), ends[1] + timedelta(days=20))
        elif name == "reopen_c2_c3":
            reopen_at = _office_time(rng, ends[2] - timedelta(days=20), ends[2] - timedelta(days=2))
            re_resolved = _office_time(rng, ends[2] + timedelta(days=2), ends[2] + timedelta(days=20))
        elif name.startswith("reopen_within"):
            reopen_at = _office_time(rng, resolved + timedelta(days=1), resolved + timedelta(days=6))
            latest = min(reopen_at + timedelta(days=5), ends[k])
            re_resolved = _office_time(rng, reopen_at + timedelta(hours=1), latest)
        elif name == "reopen_late":
            reopen_at = _office_time(rng, resolved + timedelta(days=1), resolved + timedelta(days=10))
            late_reopens += 1
            if late_reopens == 1:
                re_resolved = _office_time(rng, reopen_at + timedelta(hours=1), UPDATES_END)
        a = ack[i] if ack[i] < UPDATES_END else _office_time(rng, r, UPDATES_END)
        world.build_actions(rng, m, a, resolved, reopen_at, re_resolved, agency=agency[i])
        m.role = name

    for cutoff, received, resolved, in_progress in CALIBRATION:
        got = mis_figures(matters, cutoff, world.resolved_codes)
        if got != (received, resolved, in_progress):
            want = (received, resolved, in_progress)
            raise AssertionError(f"MIS calibration failed at {cutoff}: {got} != {want}")
    return matters


_MIS_BAD_KINDS = (
    "unknown_district",
    "action_before_received",
    "mojibake_text",
    "missing_status",
    "null_district",
    "unknown_district",
    "action_before_received",
    "mojibake_text",
)


def _mis_rows(
    rng: random.Random,
    world: _World,
    matters: list[Matter],
) -> tuple[list[dict], list[dict], list[BadRow]]:
    """Complaint and action rows (Python datetimes, naive Bangkok) for valid and deliberately bad matters."""
    weights = _district_weights(rng, world)
    n_bad = max(12, round(len(matters) * 0.014))
    fy_days = _days(FY_START, FY_END - timedelta(days=35))
    bad: list[tuple[Matter, str]] = []
    for n, pos in enumerate(_spread(len(fy_days), n_bad, rng)):
        d = fy_days[pos]
        while not is_business_day(d):
            d += timedelta(days=1)
        m = world.new_matter(rng, _received_time(rng, d, "office"), weights)
        a = world.natural_ack(rng, m.received_at)
        world.build_actions(rng, m, a, _office_time(rng, a + timedelta(hours=1), a + timedelta(days=4)))
        bad.append((m, _MIS_BAD_KINDS[n % len(_MIS_BAD_KINDS)]))

    everything = [(m, None) for m in matters] + bad
    everything.sort(key=lambda item: item[0].received_at)
    be_year = FY_START.year + 1 + BE_OFFSET
    complaints, actions, bad_rows = [], [], []
    for seq, (m, kind) in enumerate(everything, start=1):
        no = f"MIS-{be_year}-{seq:05d}"
        acts = list(m.actions)
        received_at = m.received_at
        last_at, last_status, _ = acts[-1]
        status = world.status_name[last_status]
        if last_status == "resolved" and rng.random() < 0.05:
            status = "เสร็จสิ้น"
        row = {
            "complaint_no": no,
            "received_at": received_at,
            "district_name": world.district_label(rng, m.district, 0.55),
            "category_name": world.category_label(rng, m.category, 0.15),
            "subject": m.subject,
            "detail": m.description,
            "complainant_name": m.reporter_name if rng.random() > 0.04 else tt.ANONYMOUS,
            "complainant_phone": m.reporter_phone,
            "latitude": m.place.latitude if rng.random() < 0.7 else None,
            "longitude": None,
            "assigned_unit": world.unit_label(rng, m.unit, 0.15),
            "status": status,
            "result_detail": m.report if last_status in world.resolved_codes else None,
            "updated_at": last_at,
        }
        if row["latitude"] is not None:
            row["longitude"] = m.place.longitude
        if row["complainant_name"] != tt.ANONYMOUS and rng.random() < 0.04:
            row["complainant_phone"] = None
        if kind == "unknown_district":
            row["district_name"] = rng.choice(tt.UNKNOWN_DISTRICTS)
            row["latitude"] = row["longitude"] = None
        elif kind == "null_district":
            row["district_name"] = None
        elif kind == "missing_status":
            row["status"] = None
        elif kind == "mojibake_text":
            row["detail"] = mojibake(m.description)
            row["subject"] = mojibake(m.subject)
        elif kind == "action_before_received":
            if rng.random() < 0.5:  # acknowledged the day before it was received
                acts[1] = (received_at - timedelta(hours=rng.randint(20, 40)), *acts[1][1:])
                acts.sort(key=lambda a: a[0])
            else:  # received date keyed a month late: every action predates it
                row["received_at"] = received_at + timedelta(days=31)
        if kind:
            bad_rows.append(BadRow(no, no, kind))
        complaints.append(row)
        for at, code, note in acts:
            label = world.status_name[code]
            if code == "resolved" and status == "เสร็จสิ้น":
                label = "เสร็จสิ้น"
            actions.append({"complaint_no": no, "action_at": at, "status": label, "note": note})
    actions.sort(key=lambda a: (a["action_at"], a["complaint_no"]))
    for action_id, a in enumerate(actions, start=1):
        a["action_id"] = action_id
    return complaints, actions, bad_rows


def write_mis(engine: sa.Engine, complaints: list[dict], actions: list[dict]) -> None:
    """Create the MIS schema on ``engine`` (SQLite or PostgreSQL) and insert the rows in one transaction.

    On SQLite timestamps are stored as ``YYYY-MM-DD HH:MM:SS`` text (no fraction), as the MIS shows them.
    """
    create_mis_schema(engine)
    if engine.dialect.name == "sqlite":
        ts: Any = sqlite_dialect.DATETIME(
            storage_format="%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
        )
    else:
        ts = sa.DateTime()
    complaint = sa.table(
        "mis_complaint",
        *(sa.column(c, ts if c in ("received_at", "updated_at") else None) for c in complaints[0]),
    )
    action = sa.table(
        "mis_complaint_action",
        sa.column("action_id", sa.Integer()),
        sa.column("complaint_no", sa.Text()),
        sa.column("action_at", ts),
        sa.column("status", sa.Text()),
        sa.column("note", sa.Text()),
    )
    with engine.begin() as conn:
        conn.execute(sa.insert(complaint), complaints)
        conn.execute(sa.insert(action), actions)


# =========================================================================== 1555 hotline

_HOTLINE_LABELS_OLD = {
    "received": "รับเรื่องแล้ว",
    "acknowledged": "รับทราบ",
    "in_progress": "กำลังดำเนินการ",
    "forwarded": "ส่งต่อ",
    "resolved": "เสร็จสิ้น",
}
_HOTLINE_NEW_LABELS_FROM = date(2019, 4, 1)  # the export tool switched to the full labels
_HOTLINE_XLSX_DAYS = frozenset(
    date(y, m, d)
    for y, m, d in ((2018, 11, 5), (2018, 11, 6), (2019, 4, 17), (2019, 4, 18), (2019, 4, 19), (2019, 8, 5))
)
_HOTLINE_CP874 = ((date(2018, 12, 1), date(2018, 12, 20)), (date(2019, 7, 8), date(2019, 7, 21)))
_HOTLINE_NO_BOM = ((date(2019, 10, 14), date(2019, 10, 31)),)
_HOTLINE_RESEND_DAY = date(2019, 1, 15)
_HOTLINE_DUP_ROW_DAY = date(2019, 3, 5)
_HOTLINE_BAD_KINDS = ("missing_ticket", "unknown_district", "impossible_date", "ce_year", "mojibake_text")
_IMPOSSIBLE_DAYS = (
    "31/02/2562",
    "30/02/2562",
    "29/02/2562",
    "31/04/2562",
    "31/06/2562",
    "31/09/2562",
    "31/11/2561",
)


def be_datetime(value: datetime | None) -> str:
    """ "15/01/2562 14:05" (Buddhist era), or "" for None."""
    if value is None:
        return ""
    return f"{value.day:02d}/{value.month:02d}/{value.year + BE_OFFSET} {value.hour:02d}:{value.minute:02d}"


def _hotline_format(d: date) -> str:
    if d in _HOTLINE_XLSX_DAYS:
        return "xlsx"
    if any(a <= d <= b for a, b in _HOTLINE_CP874):
        return "cp874"
    if any(a <= d <= b for a, b in _HOTLINE_NO_BOM):
        return "utf-8"
    return "utf-8-sig"


@dataclass
class _HotlineMatter:
    matter: Matter
    ticket: str
    name: str
    phone: str
    district_label: str
    category_label: str
    unit_label: str
    with_coords: bool


def _hotline_row(h: _HotlineMatter, day: date, world: _World) -> list[str]:
    m = h.matter
    end = _end_of_day(day)
    done = [a for a in m.actions if a[0] <= end]
    status = done[-1][1]
    acknowledged = next((a[0] for a in done if a[1] == "acknowledged"), None)
    resolved = next((a for a in reversed(done) if a[1] == "resolved"), None) if status == "resolved" else None
    labels = world.status_name if day >= _HOTLINE_NEW_LABELS_FROM else _HOTLINE_LABELS_OLD
    return [
        h.ticket,
        be_datetime(m.received_at),
        h.name,
        h.phone,
        h.district_label,
        h.category_label,
        m.description,
        f"{m.place.latitude:.5f},{m.place.longitude:.5f}" if h.with_coords else "",
        h.unit_label,
        labels[status],
        be_datetime(acknowledged),
        be_datetime(resolved[0] if resolved else None),
        (resolved[2] or "") if resolved else "",
        be_datetime(done[-1][0]),
    ]


def _csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HOTLINE_HEADERS)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def _xlsx_bytes(rows: list[list[str]], day: date) -> bytes:
    """An xlsx export whose bytes depend only on its content (fixed document and zip entry times)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "รายงาน1555"
    ws.append(list(HOTLINE_HEADERS))
    for row in rows:
        ws.append([v if v != "" else None for v in row])
    fixed = datetime.combine(day, time(23, 0))
    wb.properties.creator = "1555 export"
    wb.properties.created = fixed
    raw = io.BytesIO()
    wb.save(raw)
    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                start = text.index("<dcterms:modified")
                stop = text.index("</dcterms:modified>") + len("</dcterms:modified>")
                text = (
                    text[:start]
                    + f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
                    + text[stop:]
                )
                data = text.encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, data)
    return out.getvalue()


def _just_received_hotline_matter(
    rng: random.Random, world: _World, weights: Any, received: datetime, number: int
) -> _HotlineMatter:
    """A new 1555 matter received at ``received`` (the day's ``number``-th ticket), nothing done yet."""
    m = world.new_matter(rng, received, weights)
    m.actions = [(received, "received", None)]
    return _HotlineMatter(
        m,
        f"1555-{received.year + BE_OFFSET}{received.month:02d}{received.day:02d}-{number:03d}",
        m.reporter_name,
        m.reporter_phone or "",
        world.district_label(rng, m.district, 0.5),
        world.category_label(rng, m.category, 0.3),
        world.unit_label(rng, m.unit, 0.3),
        False,
    )


def _generate_hotline(rng: random.Random, world: _World, inbox: Path) -> ChannelSummary:
    total = round(365 * 8.4 * rng.uniform(0.95, 1.05))
    receipts = _daily_receipts(rng, FY_START, FY_END, total, 0.55, "office")
    weights = _district_weights(rng, world)
    per_day_counter: dict[date, int] = {}
    hotline: list[_HotlineMatter] = []
    for r in receipts:
        m = world.new_matter(rng, r, weights)
        world.simple_timeline(rng, m)
        n = per_day_counter[r.date()] = per_day_counter.get(r.date(), 0) + 1
        ticket = f"1555-{r.year + BE_OFFSET}{r.month:02d}{r.day:02d}-{n:03d}"
        name = m.reporter_name
        if rng.random() < 0.6:  # call-takers often type the name without the title
            for title in ("นางสาว", "นาง", "นาย"):
                if name.startswith(title):
                    name = name[len(title) :]
                    break
        phone = m.reporter_phone or ""
        if rng.random() < 0.5:
            phone = phone.replace("-", "")
        hotline.append(
            _HotlineMatter(
                m,
                ticket,
                name,
                phone,
                world.district_label(rng, m.district, 0.5),
                world.category_label(rng, m.category, 0.35),
                world.unit_label(rng, m.unit, 0.3),
                rng.random() < 0.4,
            )
        )

    by_day: dict[date, list[int]] = {}
    for i, h in enumerate(hotline):
        for d in sorted({a[0].date() for a in h.matter.actions}):
            by_day.setdefault(d, []).append(i)
    days = sorted(by_day)
    files: dict[date, list[list[str]]] = {
        d: [_hotline_row(hotline[i], d, world) for i in sorted(by_day[d], key=lambda i: hotline[i].ticket)]
        for d in days
    }
    resend_day = next(d for d in days if d >= _HOTLINE_RESEND_DAY and _hotline_format(d) == "utf-8-sig")
    utf8_bom_days = [d for d in days if _hotline_format(d) == "utf-8-sig"]
    dup_day = next(d for d in utf8_bom_days if d >= _HOTLINE_DUP_ROW_DAY and len(files[d]) >= 3)
    # Deliberately bad rows: extra rows, at most one per file, spread over the year.
    eligible = [d for d in days if d not in (resend_day, dup_day) and len(files[d]) + 1 != 20]
    total_rows = sum(len(r) for r in files.values())
    n_bad = max(20, round(total_rows * 0.012))
    bad_at: dict[date, str] = {}
    kinds = list(_HOTLINE_BAD_KINDS)
    for n, pos in enumerate(_spread(len(eligible), n_bad, rng)):
        d = eligible[pos]
        kind = kinds[n % len(kinds)]
        if kind == "mojibake_text" and _hotline_format(d) != "utf-8-sig":
            kind = "unknown_district"
        bad_at[d] = kind

    paths: list[Path] = []
    bad: list[BadRow] = []
    notes: dict[str, Any] = {"encodings": {}, "duplicate_delivery": None, "duplicate_row": None}
    rows_written = 0
    for d in days:
        rows = files[d]
        fmt = _hotline_format(d)
        ext = "xlsx" if fmt == "xlsx" else "csv"
        fname = f"1555_{d:%Y%m%d}.{ext}"
        if d in bad_at:
            kind = bad_at[d]
            r = _received_time(rng, d, "office")
            n = per_day_counter[d] = per_day_counter.get(d, 0) + 1
            h = _just_received_hotline_matter(rng, world, weights, r, n)
            m = h.matter
            row = _hotline_row(h, d, world)
            if kind == "missing_ticket":
                row[0] = ""
            elif kind == "unknown_district":
                row[4] = rng.choice(tt.UNKNOWN_DISTRICTS)
            elif kind == "impossible_date":
                row[1] = f"{rng.choice(_IMPOSSIBLE_DAYS)} {r.hour:02d}:{r.minute:02d}"
            elif kind == "ce_year":
                row[1] = f"{r.day:02d}/{r.month:02d}/{r.year} {r.hour:02d}:{r.minute:02d}"
            elif kind == "mojibake_text":
                row[6] = mojibake(m.description)
            at = rng.randrange(len(rows) + 1)
            rows = [*rows[:at], row, *rows[at:]]
            line = at + 2  # header is line 1
            bad.append(BadRow(f"{fname}:{line}", row[0] or None, kind))
        if d == dup_day:
            rows = [*rows[:2], rows[1], *rows[2:]]
            notes["duplicate_row"] = {"file": fname, "lines": [3, 4], "source_id": rows[1][0]}
        if fmt == "xlsx":
            data = _xlsx_bytes(rows, d)
        else:
            try:
                data = _csv_bytes(rows, fmt)
            except UnicodeEncodeError:
                fmt = "utf-8-sig"
                data = _csv_bytes(rows, fmt)
        notes["encodings"][fname] = fmt
        path = inbox / fname
        path.write_bytes(data)
        paths.append(path)
        rows_written += len(rows)
        if d == resend_day:
            copy = inbox / f"1555_{d:%Y%m%d}_resend.csv"
            copy.write_bytes(data)
            paths.append(copy)
            notes["duplicate_delivery"] = {"original": fname, "copy": copy.name}
            notes["encodings"][copy.name] = fmt
    formats = list(notes["encodings"].values())
    notes["files_by_format"] = {f: formats.count(f) for f in ("utf-8-sig", "utf-8", "cp874", "xlsx")}
    return ChannelSummary("hotline_1555", rows_written, len(bad), len(hotline), paths, bad, notes)


# =========================================================================== LINE and Facebook

_LINE_LABELS = {
    "received": "รับเรื่อง",
    "acknowledged": "ตอบรับ",
    "in_progress": "อยู่ระหว่างดำเนินการ",
    "forwarded": "ส่งต่อ",
    "resolved": "เสร็จสิ้น",
}
_SOCIAL_BAD_KINDS = ("unknown_district", "resolved_before_received", "missing_id", "mojibake_text")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _epoch_ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    return int(value.replace(tzinfo=BANGKOK).timestamp()) * 1000


def _graph_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.replace(tzinfo=BANGKOK).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _post_id(created: datetime) -> str:
    """ "104857_20190115070500": page id and the UTC creation time, as in the Graph-shaped demo API."""
    utc = created.replace(tzinfo=BANGKOK).astimezone(UTC)
    return f"{FACEBOOK_PAGE_ID}_{utc:%Y%m%d%H%M%S}"


def _ulid(rng: random.Random, millis: int) -> str:
    value = (millis << 80) | rng.getrandbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


def _social_text(rng: random.Random, m: Matter, hashtags: bool) -> str:
    polite = tt.POLITE[m.female]
    opener = rng.choice(tt.SOCIAL_OPENERS).format(**polite)
    closer = rng.choice(tt.SOCIAL_CLOSERS).format(**polite)
    parts = [opener, m.description, rng.choice(tt.EMOJI), closer]
    if rng.random() < 0.5:
        parts.append(rng.choice(tt.EMOJI))
    if hashtags and rng.random() < 0.6:
        parts.append(" ".join(rng.sample(tt.HASHTAGS, 2)))
    return " ".join(p for p in parts if p)


def _final_state(m: Matter) -> dict[str, Any]:
    last_at, last_status, _ = m.actions[-1]
    ack = next((a[0] for a in m.actions if a[1] == "acknowledged"), None)
    resolved = m.actions[-1][0] if last_status == "resolved" else None
    return {"status": last_status, "ack": ack, "resolved": resolved, "updated": last_at}


def _social_matters(rng: random.Random, world: _World, total: int) -> list[Matter]:
    weights = _district_weights(rng, world)
    out = []
    for r in _daily_receipts(rng, FY_START, FY_END, total, 0.9, "social"):
        m = world.new_matter(rng, r, weights)
        world.simple_timeline(rng, m, never_share=0.03)
        out.append(m)
    return out


def _generate_line(rng: random.Random, world: _World, path: Path) -> ChannelSummary:
    matters = _social_matters(rng, world, round(1100 * rng.uniform(0.95, 1.05)))
    users: list[str] = []
    message_ids: set[str] = set()
    events = []
    for m in matters:
        if users and rng.random() < 0.15:
            user = rng.choice(users)
        else:
            user = f"U{rng.getrandbits(128):032x}"
            users.append(user)
        message_id = str(rng.randrange(9_000_000_000_000, 10_000_000_000_000))
        while message_id in message_ids:
            message_id = str(int(message_id) + 1)
        message_ids.add(message_id)
        ts = _epoch_ms(m.received_at) + rng.randrange(1000)
        st = _final_state(m)
        location = None
        if rng.random() < 0.7:
            location = {
                "latitude": m.place.latitude,
                "longitude": m.place.longitude,
                "address": f"{m.place.street} เขต{world.district_name[m.district]} กรุงเทพมหานคร",
            }
        events.append(
            {
                "type": "message",
                "webhookEventId": _ulid(rng, ts),
                "timestamp": ts,
                "source": {"type": "user", "userId": user},
                "message": {"type": "text", "id": message_id, "text": _social_text(rng, m, hashtags=False)},
                "location": location,
                "complaint": {
                    "district": world.district_label(rng, m.district, 0.7),
                    "category": world.category_label(rng, m.category, 0.2),
                    "assignedUnit": world.unit_label(rng, m.unit, 0.2),
                    "status": _LINE_LABELS[st["status"]],
                    "acknowledgedAt": _epoch_ms(st["ack"]),
                    "resolvedAt": _epoch_ms(st["resolved"]),
                    "resolution": m.report if st["resolved"] else None,
                    "updatedAt": _epoch_ms(st["updated"]),
                },
            }
        )
    bad = []
    n_bad = max(10, round(len(events) * 0.015))
    for n, pos in enumerate(_spread(len(events), n_bad, rng)):
        ev, kind = events[pos], _SOCIAL_BAD_KINDS[n % len(_SOCIAL_BAD_KINDS)]
        c = ev["complaint"]
        if kind == "unknown_district":
            c["district"] = rng.choice(tt.UNKNOWN_DISTRICTS)
            ev["location"] = None
        elif kind == "resolved_before_received":
            c["resolvedAt"] = ev["timestamp"] - rng.randint(2, 48) * 3_600_000
            c["status"] = _LINE_LABELS["resolved"]
            c["resolution"] = c["resolution"] or "ดำเนินการเรียบร้อยแล้ว"
        elif kind == "missing_id":
            del ev["webhookEventId"]
        elif kind == "mojibake_text":
            ev["message"]["text"] = mojibake(ev["message"]["text"])
        locator = f"{path.name}[{pos}] message.id={ev['message']['id']}"
        bad.append(BadRow(locator, ev.get("webhookEventId"), kind))
    path.write_text(json.dumps(events, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return ChannelSummary("line", len(events), len(bad), len(matters), [path], bad, {"users": len(users)})


def _generate_facebook(rng: random.Random, world: _World, path: Path) -> ChannelSummary:
    matters = _social_matters(rng, world, round(760 * rng.uniform(0.95, 1.05)))
    people: list[dict[str, str]] = []
    ids: set[str] = set()
    posts = []
    for m in matters:
        if people and rng.random() < 0.12:
            person = rng.choice(people)
        else:
            if rng.random() < 0.5:
                name = f"{rng.choice(tt.LATIN_FIRST_NAMES)} {rng.choice(tt.LATIN_LAST_NAMES)}"
            else:
                name = m.reporter_name.removeprefix("นางสาว").removeprefix("นาง").removeprefix("นาย")
            person = {"id": str(rng.randrange(10**14, 10**16)), "name": name}
            people.append(person)
        created = m.received_at
        while _post_id(created) in ids:  # two posts in the same second: Graph ids are unique
            created += timedelta(seconds=1)
        post_id = _post_id(created)
        ids.add(post_id)
        st = _final_state(m)
        post: dict[str, Any] = {
            "id": post_id,
            "created_time": _graph_time(created),
            "updated_time": _graph_time(st["updated"]),
            "message": _social_text(rng, m, hashtags=True),
            "from": dict(person),
        }
        if rng.random() < 0.55:
            post["place"] = {"location": {"latitude": m.place.latitude, "longitude": m.place.longitude}}
        post["complaint"] = {
            "district": world.district_label(rng, m.district, 0.4),
            "category": world.category_label(rng, m.category, 0.2),
            "assigned_unit": world.unit_label(rng, m.unit, 0.3),
            "status": world.status_name[st["status"]],
            "acknowledged_time": _graph_time(st["ack"]),
            "resolved_time": _graph_time(st["resolved"]),
            "resolution": m.report if st["resolved"] else None,
        }
        posts.append(post)
    bad = []
    n_bad = max(8, round(len(posts) * 0.015))
    for n, pos in enumerate(_spread(len(posts), n_bad, rng)):
        post, kind = posts[pos], _SOCIAL_BAD_KINDS[n % len(_SOCIAL_BAD_KINDS)]
        c = post["complaint"]
        locator = f"{path.name}[{pos}] created_time={post['created_time']}"
        if kind == "unknown_district":
            c["district"] = rng.choice(tt.UNKNOWN_DISTRICTS)
            post.pop("place", None)
        elif kind == "resolved_before_received":
            created = datetime.strptime(post["created_time"], "%Y-%m-%dT%H:%M:%S+0000")
            earlier = created - timedelta(hours=rng.randint(2, 48))
            c["resolved_time"] = earlier.strftime("%Y-%m-%dT%H:%M:%S+0000")
            c["status"] = world.status_name["resolved"]
            c["resolution"] = c["resolution"] or "ดำเนินการเรียบร้อยแล้ว"
        elif kind == "missing_id":
            del post["id"]
        elif kind == "mojibake_text":
            post["message"] = mojibake(post["message"])
        bad.append(BadRow(locator, post.get("id"), kind))
    path.write_text(json.dumps(posts, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    notes = {"people": len(people)}
    return ChannelSummary("facebook", len(posts), len(bad), len(matters), [path], bad, notes)


# =========================================================================== Traffy Fondue

# The columns in the real public export's order (coords right after comment; see the README of
# the real sample, /work/shared/realdata/traffy/): the adapter reads them by name.
TRAFFY_HEADERS: tuple[str, ...] = (
    "ticket_id",
    "type",
    "organization",
    "comment",
    "coords",
    "photo",
    "photo_after",
    "address",
    "subdistrict",
    "district",
    "province",
    "timestamp",
    "state",
    "star",
    "count_reopen",
    "last_activity",
)
# Traffy's states: no "acknowledged" (a matter taken up is in progress), and a reopened matter
# goes back to in progress (only count_reopen tells).
_TRAFFY_STATES = {
    "received": "รอรับเรื่อง",
    "acknowledged": "กำลังดำเนินการ",
    "in_progress": "กำลังดำเนินการ",
    "forwarded": "ส่งต่อ",
    "resolved": "เสร็จสิ้น",
    "reopened": "กำลังดำเนินการ",
}
# The type tags citizens pick for a matter of each category (Traffy's own labels, mapped back by
# the channel's crosswalk in pipeline.yaml); several tags are common.
_TRAFFY_TAGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "waste": (("ความสะอาด",), ("ความสะอาด",), ("ความสะอาด", "ทางเท้า")),
    "roads": (("ถนน",), ("ถนน",), ("ถนน", "ท่อระบายน้ำ"), ("สะพาน",)),
    "footpath": (("ทางเท้า",), ("ทางเท้า",), ("ทางเท้า", "ถนน")),
    "drainage": (("ท่อระบายน้ำ",), ("น้ำท่วม",), ("น้ำท่วม", "ถนน"), ("คลอง",)),
    "trees": (("ต้นไม้",), ("ต้นไม้", "ทางเท้า")),
    "lighting": (("แสงสว่าง",), ("แสงสว่าง",), ("สายไฟ", "แสงสว่าง")),
    "noise": (("เสียงรบกวน",),),
    "odour_pollution": (("PM2.5",), ("ความสะอาด", "PM2.5")),
    "street_vendors": (("ทางเท้า", "กีดขวาง"), ("กีดขวาง",)),
    "encroachment": (("กีดขวาง",), ("ป้าย",), ("กีดขวาง", "ทางเท้า")),
    "building_control": (("ร้องเรียน",), ("เสียงรบกวน", "ร้องเรียน")),
    "stray_animals": (("สัตว์จรจัด",),),
    "traffic": (("จราจร",), ("ป้ายจราจร",), ("จราจร", "ถนน")),
    "other": (("ร้องเรียน",), ("เสนอแนะ",), ("ความปลอดภัย",)),
}
# Agencies outside the district office that Traffy routes a category to.
_TRAFFY_AGENCIES: dict[str, tuple[str, ...]] = {
    "lighting": ("การไฟฟ้านครหลวง",),
    "drainage": ("สำนักการระบายน้ำ", "การประปานครหลวง"),
    "roads": ("สำนักการโยธา",),
    "traffic": ("กองบังคับการตำรวจจราจร", "สำนักการจราจรและขนส่ง"),
    "odour_pollution": ("สำนักสิ่งแวดล้อม",),
}
_TRAFFY_UNKNOWN_ORG = "บริษัท ทรู คอร์ปอเรชั่น จำกัด (มหาชน)"  # a cable company: no unit in the config
# Misspellings the channel's crosswalk knows (they load) and some it does not (quarantined).
_TRAFFY_MISSPELLED = {
    "1014": "พญาไทย",
    "1013": "สัมพันธ์วงศ์",
    "1006": "บางกะปี",
    "1008": "ป้อมปราบฯ",
    "1030": "จตุจักร์",
    "1024": "ราษฏร์บูรณะ",
}
_TRAFFY_UNKNOWN_DISTRICTS = ("บางรักษ์", "ห้วยขวางค์", "คลองเตยย", "ลาดพร้าวว")
# (province, district, subdistrict, lon, lat) of matters reported just outside Bangkok.
_TRAFFY_OUTSIDE = (
    ("นนทบุรี", "เมืองนนทบุรี", "บางกระสอ", 100.5144, 13.8621),
    ("นนทบุรี", "ปากเกร็ด", "ปากเกร็ด", 100.4983, 13.9129),
    ("ปทุมธานี", "คลองหลวง", "คลองหนึ่ง", 100.6489, 14.0648),
    ("สมุทรปราการ", "บางพลี", "บางพลีใหญ่", 100.7066, 13.6052),
)
_TRAFFY_FOLLOW_UPS = ("แจ้งซ้ำครั้งที่ 2 แล้ว", "ถ่ายรูปแนบมาให้แล้ว", "จุดเดิมกับที่เคยแจ้งไว้", "ตามเรื่องด้วยนะ")
_TRAFFY_QUOTES = ("อันตรายมาก", "รอมานานแล้ว", "ช่วยด่วน")
_TRAFFY_BAD_KINDS = ("outside_bangkok", "outside_bangkok", "unknown_district")
_TRAFFY_MAX_BAD_SHARE = 0.04  # per file: well under the quarantine threshold of one batch


@dataclass
class _TraffyTicket:
    matter: Matter
    ticket_id: str
    tags: tuple[str, ...]
    organizations: tuple[str, ...]
    district_label: str
    comment: str
    photo: str
    photo_after: str
    coords: str
    address: str
    subdistrict: str
    province: str
    micros: list[int]  # per action: Traffy keeps fractional seconds
    star: str
    kind: str = "normal"


def pg_utc(value: datetime, micros: int = 0) -> str:
    """A naive Bangkok time as the export writes it: UTC, fractional seconds, "+00"."""
    utc = value.replace(tzinfo=BANGKOK).astimezone(UTC) + timedelta(microseconds=micros)
    text = utc.strftime("%Y-%m-%d %H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "+00"


def _set_literal(labels: Sequence[str]) -> str:
    return "{" + ",".join(labels) + "}"


def _ticket_fraction(ticket_id: str, salt: str) -> float:
    """A fraction in [0, 1) fixed by the ticket id: per-ticket quirks that draw nothing from the
    generator's random streams (so every other channel's and ticket's data stays as it was)."""
    digest = hashlib.sha256(f"{salt}|{ticket_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _traffy_province(t: _TraffyTicket) -> str:
    """Bangkok written as the real export writes it: one row in seven with the จังหวัด prefix."""
    if t.province == "กรุงเทพมหานคร" and _ticket_fraction(t.ticket_id, "province") < 0.15:
        return "จังหวัด" + t.province
    return t.province


def _traffy_last_activity(t: _TraffyTicket, done: list[tuple[datetime, str, str | None]]) -> str:
    """last_activity as the real export has it: a ticket still only received shows it 8-72 ms
    *before* its timestamp (the platform's clock skew; the real sample has 139 such rows)."""
    m = t.matter
    if len(done) == 1:
        skew_micros = 8_000 + int(_ticket_fraction(t.ticket_id, "skew") * 64_000)
        return pg_utc(m.received_at, t.micros[0] - skew_micros)
    return pg_utc(done[-1][0], t.micros[len(done) - 1])


def _traffy_ticket_id(rng: random.Random, received: datetime, used: set[str]) -> str:
    while True:
        ticket = f"{received.year}-" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(6))
        if ticket not in used:
            used.add(ticket)
            return ticket


def _traffy_comment(rng: random.Random, m: Matter) -> str:
    text = m.description
    if rng.random() < 0.35:
        text = f"{rng.choice(tt.SOCIAL_OPENERS).format(**tt.POLITE[m.female])} {text}".strip()
    if rng.random() < 0.3:
        text += "\n" + rng.choice(_TRAFFY_FOLLOW_UPS)
    if rng.random() < 0.15:
        text += f' "{rng.choice(_TRAFFY_QUOTES)}"'
    if rng.random() < 0.5:
        text += " " + rng.choice(tt.EMOJI)
    return text


def _traffy_organizations(rng: random.Random, world: _World, m: Matter) -> tuple[str, ...]:
    name = world.district_name[m.district]
    office = f"สำนักงานเขต{name}" if rng.random() < 0.15 else f"เขต{name}"
    if m.unit == "public_works_drainage":
        return ("สำนักการระบายน้ำ", office)
    if m.category == "lighting" and rng.random() < 0.03:
        return (_TRAFFY_UNKNOWN_ORG,)
    agencies = _TRAFFY_AGENCIES.get(m.category, ())
    if agencies and rng.random() < 0.3:
        agency = rng.choice(agencies)
        return (agency, office) if rng.random() < 0.3 else (office, agency)
    return (office,)


def _traffy_reopen(rng: random.Random, m: Matter) -> None:
    """Reopen a resolved matter once (Traffy counts it in count_reopen), usually fixed again."""
    resolved_at = m.actions[-1][0]
    latest = min(resolved_at + timedelta(days=7), UPDATES_END - timedelta(days=2))
    if m.actions[-1][1] != "resolved" or latest - resolved_at < timedelta(hours=2):
        return
    reopen_at = _office_time(rng, resolved_at + timedelta(hours=1), latest)
    m.actions.append((reopen_at, "reopened", rng.choice(tt.REOPEN_NOTES)))
    if rng.random() < 0.75:
        again = _office_time(rng, reopen_at + timedelta(hours=1), min(reopen_at + timedelta(days=10), UPDATES_END))
        m.actions.append((again, "resolved", None))


def _traffy_ticket(rng: random.Random, world: _World, m: Matter, used: set[str], kind: str) -> _TraffyTicket:
    r = m.received_at
    tags = rng.choice(_TRAFFY_TAGS[m.category])
    if len(tags) > 1 and rng.random() < 0.3:
        tags = tags[::-1]
    if rng.random() < 0.04:
        tags = ()  # the reporter picked no type: {}
    if kind == "unknown_district":
        district = rng.choice(_TRAFFY_UNKNOWN_DISTRICTS)
    elif m.district in _TRAFFY_MISSPELLED and rng.random() < 0.35:
        district = _TRAFFY_MISSPELLED[m.district]
    else:
        district = world.district_label(rng, m.district, 0.5)
    name = world.district_name[m.district]
    lat, lon = m.place.latitude, m.place.longitude
    province = "" if rng.random() < 0.02 else "กรุงเทพมหานคร"
    subdistrict = name
    if kind == "outside_bangkok":
        province, district, subdistrict, lon, lat = rng.choice(_TRAFFY_OUTSIDE)
        lon, lat = round(lon + rng.gauss(0, 0.01), 6), round(lat + rng.gauss(0, 0.01), 6)
        address = f"{m.place.street} ตำบล{subdistrict} อำเภอ{district} {province} ประเทศไทย"
    else:
        postcode = 10100 + 10 * rng.randrange(0, 60)
        address = f"{m.place.street} แขวง{subdistrict} เขต{name} กรุงเทพมหานคร {postcode} ประเทศไทย"
    bucket = "https://storage.googleapis.com/traffy_public_bucket/attachment"
    star = ""
    if rng.random() < 0.45:
        star = str(rng.choices((1, 2, 3, 4, 5), weights=(4, 3, 8, 20, 65))[0])
    return _TraffyTicket(
        matter=m,
        ticket_id=_traffy_ticket_id(rng, r, used),
        tags=tags,
        organizations=_traffy_organizations(rng, world, m),
        district_label=district,
        comment=_traffy_comment(rng, m),
        photo=f"{bucket}/{r:%Y-%m}/{rng.getrandbits(128):032x}.jpg",
        photo_after=f"{bucket}/{r:%Y-%m}/{rng.getrandbits(128):032x}.jpg",
        coords=f"{lon:.6f},{lat:.6f}" if rng.random() < 0.9 or kind != "normal" else "",
        address=address,
        subdistrict=subdistrict,
        province=province,
        micros=[rng.randrange(1_000_000) for _ in m.actions],
        star=star,
        kind=kind,
    )


def _traffy_row(t: _TraffyTicket, upto: int | None = None) -> list[str]:
    """The ticket as an export shows it after its first ``upto`` actions (all by default)."""
    m = t.matter
    done = m.actions[: upto or len(m.actions)]
    _, status, _ = done[-1]
    resolved = status == "resolved"
    return [
        t.ticket_id,
        _set_literal(t.tags),
        # a plain comma list, as in the real export (not yet assigned while waiting: empty)
        ",".join(t.organizations if len(done) > 1 else ()),
        t.comment,
        t.coords,
        t.photo,
        t.photo_after if resolved else "",
        t.address,
        t.subdistrict,
        t.district_label,
        _traffy_province(t),
        pg_utc(m.received_at, t.micros[0]),
        _TRAFFY_STATES[status],
        t.star if resolved else "",
        str(sum(1 for a in done if a[1] == "reopened")),
        _traffy_last_activity(t, done),
    ]


def _traffy_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(TRAFFY_HEADERS)
    writer.writerows(rows)
    return codecs.BOM_UTF8 + buf.getvalue().encode("utf-8")  # the real export starts with a BOM


def _month_end(d: date) -> date:
    first_next = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def _generate_traffy(rng: random.Random, world: _World, inbox: Path) -> ChannelSummary:
    """Monthly exports ``traffy_fondue_<last day of the month>.csv``: every ticket with activity in
    the month, as it stood at the end of it. A ticket active in several months is re-exported
    with a newer state and last_activity; a few are exported twice in one file (the older state
    first or last); some are outside Bangkok or carry a district nobody can read (bad rows, on
    top of the others; their locator is ``<file>:<data row number>``)."""
    channel = world.cfg.channels["traffy_fondue"]
    for options in _TRAFFY_TAGS.values():
        for tags in options:
            for tag in tags:
                if normalise_category(tag, channel) is None:
                    raise ValueError(f"Traffy tag {tag!r} has no category in the channel's crosswalk")
    weights = _district_weights(rng, world)
    used: set[str] = set()
    tickets: list[_TraffyTicket] = []
    for r in _daily_receipts(rng, FY_START, FY_END, round(365 * 8 * rng.uniform(0.95, 1.05)), 0.9, "social"):
        m = world.new_matter(rng, r, weights)
        world.simple_timeline(rng, m, never_share=0.03)
        if rng.random() < 0.05:
            _traffy_reopen(rng, m)
        tickets.append(_traffy_ticket(rng, world, m, used, "normal"))
    # Deliberately bad tickets: extra, only ever waiting (so each is one row, in its month's file).
    n_bad = max(12, round(len(tickets) * 0.012))
    days = _days(FY_START, FY_END)
    bad_tickets: list[_TraffyTicket] = []
    for n, pos in enumerate(_spread(len(days), n_bad, rng)):
        m = world.new_matter(rng, _received_time(rng, days[pos], "social"), weights)
        m.actions = [(m.received_at, "received", None)]
        bad_tickets.append(_traffy_ticket(rng, world, m, used, _TRAFFY_BAD_KINDS[n % len(_TRAFFY_BAD_KINDS)]))

    months = sorted({date(a[0].year, a[0].month, 1) for t in tickets for a in t.matter.actions})
    paths: list[Path] = []
    bad: list[BadRow] = []
    notes: dict[str, Any] = {"files": 0, "re_exported_in_file": [], "re_exported_across_files": 0}
    rows_written = 0
    for month in months:
        end = _end_of_day(_month_end(month))
        fname = f"traffy_fondue_{_month_end(month):%Y%m%d}.csv"
        entries: list[tuple[str, _TraffyTicket, list[str]]] = []
        for t in tickets:
            done = [a for a in t.matter.actions if a[0] <= end]
            if done and done[-1][0] >= datetime.combine(month, time()):
                entries.append((pg_utc(t.matter.received_at, t.micros[0]), t, _traffy_row(t, len(done))))
        entries.sort(key=lambda e: (e[0], e[1].ticket_id))
        rows = [row for _, _, row in entries]
        # A few tickets exported twice: as they stood at an earlier action of the month, too.
        twice = [
            i
            for i, (_, t, _) in enumerate(entries)
            if sum(1 for a in t.matter.actions if datetime.combine(month, time()) <= a[0] <= end) >= 2
        ]
        chosen = sorted(rng.sample(twice, min(len(twice), max(1, len(entries) // 150))), reverse=True)
        for i in chosen:
            t = entries[i][1]
            upto = sum(1 for a in t.matter.actions if a[0] <= end)
            older = _traffy_row(t, upto - 1)
            at = i if rng.random() < 0.5 else i + 1
            rows.insert(at, older)
            notes["re_exported_in_file"].append({"file": fname, "ticket_id": t.ticket_id})
        month_bad = [t for t in bad_tickets if date(t.matter.received_at.year, t.matter.received_at.month, 1) == month]
        for t in month_bad:
            row = _traffy_row(t)
            at = rng.randrange(len(rows) + 1)
            rows.insert(at, row)
        n_spoiled = len(month_bad) + len(chosen)
        if n_spoiled > _TRAFFY_MAX_BAD_SHARE * len(rows):
            raise AssertionError(f"{fname}: {n_spoiled} of {len(rows)} rows would be quarantined")
        for number, row in enumerate(rows, start=1):  # the data row number (comments span lines)
            for t in month_bad:
                if row[0] == t.ticket_id:
                    bad.append(BadRow(f"{fname}:{number}", t.ticket_id, t.kind))
        path = inbox / fname
        path.write_bytes(_traffy_bytes(rows))
        paths.append(path)
        rows_written += len(rows)
        notes["files"] += 1
    seen: dict[str, int] = {}
    for t in tickets:
        seen[t.ticket_id] = sum(
            1 for month in months if any(date(a[0].year, a[0].month, 1) == month for a in t.matter.actions)
        )
    notes["re_exported_across_files"] = sum(1 for n in seen.values() if n > 1)
    notes["misspelled_districts"] = sum(1 for t in tickets if t.district_label in _TRAFFY_MISSPELLED.values())
    notes["untagged"] = sum(1 for t in tickets if not t.tags)
    notes["reopened"] = sum(1 for t in tickets if any(a[1] == "reopened" for a in t.matter.actions))
    return ChannelSummary("traffy_fondue", rows_written, len(bad), len(tickets), paths, bad, notes)


# =========================================================================== entry points


def _clear_previous(out_dir: Path) -> tuple[Path, Path]:
    sources = out_dir / "sources"
    inbox = out_dir / "inbox" / "1555"
    sources.mkdir(parents=True, exist_ok=True)
    inbox.mkdir(parents=True, exist_ok=True)
    for name in (
        "mis.sqlite",
        "mis.sqlite-journal",
        "mis.sqlite-wal",
        "mis.sqlite-shm",
        "line_events.json",
        "facebook_posts.json",
    ):
        (sources / name).unlink(missing_ok=True)
    for old in sorted(inbox.glob("1555_*")):
        if old.suffix in (".csv", ".xlsx"):
            old.unlink()
    traffy = out_dir / "inbox" / "traffy_fondue"
    traffy.mkdir(parents=True, exist_ok=True)
    for old in sorted(traffy.glob("traffy_fondue_*.csv")):
        old.unlink()
    return sources, inbox


def write_held_hotline_delivery(inbox: Path, day: date, seed: int = DEFAULT_SEED, rows: int = 24) -> Path:
    """A late 1555 export for ``day`` in which a quarter of the rows name a district outside
    Bangkok: more than the quarantine threshold, so the daily run holds the whole batch and the
    quality-gate alert goes out (what `make demo` shows after the year's loads)."""
    rng = random.Random(f"{seed}:held:{day.isoformat()}")
    world = _World()
    weights = _district_weights(rng, world)
    out: list[list[str]] = []
    for n in range(1, rows + 1):
        received = datetime.combine(day, time(8 + n % 9, (7 * n) % 60))  # naive Bangkok wall-clock
        row = _hotline_row(_just_received_hotline_matter(rng, world, weights, received, n), day, world)
        if n % 4 == 0:
            row[4] = rng.choice(tt.UNKNOWN_DISTRICTS)
        out.append(row)
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / f"1555_{day:%Y%m%d}.csv"
    path.write_bytes(_csv_bytes(out, "utf-8-sig"))
    return path


def generate_demo(out_dir: Path, seed: int = DEFAULT_SEED) -> DemoSummary:
    """Write every demo source under ``out_dir`` (replacing earlier demo output) and describe it."""
    out_dir = Path(out_dir)
    sources, inbox = _clear_previous(out_dir)
    world = _World()

    rng = random.Random(f"{seed}:mis")
    matters = _plan_mis(rng, world)
    complaints, actions, mis_bad = _mis_rows(rng, world, matters)
    mis_path = sources / "mis.sqlite"
    engine = sa.create_engine(f"sqlite:///{mis_path}")
    try:
        write_mis(engine, complaints, actions)
    finally:
        engine.dispose()
    roles: dict[str, int] = {}
    for m in matters:
        roles[m.role] = roles.get(m.role, 0) + 1
    mis = ChannelSummary(
        "mis",
        len(complaints),
        len(mis_bad),
        len(matters),
        [mis_path],
        mis_bad,
        {"actions": len(actions), "roles": dict(sorted(roles.items()))},
    )
    hotline = _generate_hotline(random.Random(f"{seed}:hotline_1555"), world, inbox)
    line = _generate_line(random.Random(f"{seed}:line"), world, sources / "line_events.json")
    facebook = _generate_facebook(random.Random(f"{seed}:facebook"), world, sources / "facebook_posts.json")
    traffy = _generate_traffy(random.Random(f"{seed}:traffy_fondue"), world, out_dir / "inbox" / "traffy_fondue")

    summary = DemoSummary(out_dir, seed, {c.channel: c for c in (mis, hotline, line, facebook, traffy)})
    (out_dir / "demo_manifest.json").write_text(
        json.dumps(summary.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.demo.generate",
        description=__doc__.split("\n")[0],
    )
    parser.add_argument("--out", required=True, type=Path, help="output directory (created if missing)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed (default {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    started = _time.perf_counter()
    summary = generate_demo(args.out, args.seed)
    print(summary)
    print(f"  generated in {_time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
