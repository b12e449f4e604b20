"""The daily overdue digest: per district and responsible unit, the open matters that have
breached, or will within a few business days breach, their time limits.

"The quarterly percentage is lost or won day by day": a matter still open at a quarter's
cut-off fails Part 2 of the indicator, and one not acknowledged in time fails Part 1. Every
morning each unit gets the list of its matters that need action now.

* :func:`compute_digest` runs ``include/sql/overdue/due_matters.sql`` (every state and count is
  computed there) as of the end of a Bangkok day, with the limits of that day's fiscal-year
  rubric: acknowledgement within ``parts.response.within_business_days`` (Part 1) and
  resolution within ``resolution_within_business_days``, both counted in business days from
  ``dim_calendar``; the look-ahead comes from ``overdue_digest`` in pipeline.yaml.
* :func:`render_unit_files` writes one unit's XLSX (openpyxl) and HTML (Jinja2,
  ``include/templates/overdue/``, autoescaped): Thai headers, Buddhist-era dates.
* :func:`publish_digest` publishes each unit's files atomically with
  :func:`complaints.publish.publish_files` to
  ``<share>/รายการเรื่องใกล้ครบกำหนด/เขต<district>/<unit>/<as_of>.{xlsx,html}``.
* :func:`send_summary_email` e-mails the counts per district/unit and the published paths
  through the Airflow SMTP provider (connection ``complaints_smtp``).

No personal data anywhere: the SQL selects no reporter pseudonym, no description and no
resolution report; the location is the reported place's coordinates.
Heavy libraries (openpyxl, the SMTP hook) are imported inside the functions that use them.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Connection, Engine, String, bindparam, text

from complaints.config import load_config
from complaints.fiscal import fiscal_year_be, fiscal_year_start
from complaints.indicator.business_calendar import (
    as_date,
    calendar_covers,
    calendar_exists,
    end_of_day_bound,
    ensure_calendar,
)
from complaints.indicator.compute import NO_UNIT_NAME_TH, run_query
from complaints.indicator.rubric import Rubric, load_rubric
from complaints.paths import TEMPLATES_DIR, read_sql
from complaints.report.render import short_name
from complaints.thai_time import BANGKOK, thai_date
from complaints.vocabulary import COVERING_OUTCOMES

log = logging.getLogger(__name__)

DIGEST_TEMPLATES_DIR = TEMPLATES_DIR / "overdue"
SMTP_CONN_ID = "complaints_smtp"
FORMATS = ("xlsx", "html")
EXPANDING_PARAMETERS = ("reopen_statuses", "response_statuses", "indicator_channels")
# What each limit's state is called in the files and the e-mail.
STATE_TH = {
    "done": "ตอบรับแล้ว",
    "breached": "เกินกำหนด",
    "due_soon": "ใกล้ครบกำหนด",
    "later": "ยังไม่ถึงกำหนด",
}
TITLE_TH = "รายการเรื่องร้องเรียนที่เกินกำหนดหรือใกล้ครบกำหนด"


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class DigestSettings:
    """The ``overdue_digest`` section of include/config/pipeline.yaml."""

    look_ahead_business_days: int = 3
    recipients: tuple[str, ...] = ()
    from_email: str | None = None
    publish: Mapping[str, Any] = field(default_factory=dict)  # as quarterly.publish (its default)


def digest_settings() -> DigestSettings:
    raw = load_config().raw
    section = raw.get("overdue_digest") or {}
    look_ahead = section.get("look_ahead_business_days", 3)
    if isinstance(look_ahead, bool) or not isinstance(look_ahead, int) or look_ahead < 0:
        raise ValueError(f"overdue_digest.look_ahead_business_days must be a whole number >= 0, not {look_ahead!r}")
    recipients = section.get("recipients") or []
    if isinstance(recipients, str):
        recipients = [recipients]
    publish = section.get("publish")
    if publish is None:
        publish = (raw.get("quarterly") or {}).get("publish") or {}
    return DigestSettings(
        look_ahead_business_days=look_ahead,
        recipients=tuple(str(r).strip() for r in recipients if str(r).strip()),
        from_email=section.get("from_email") or None,
        publish=dict(publish),
    )


# --------------------------------------------------------------------------- the digest


@dataclass(frozen=True)
class DueMatter:
    """One open matter with a breached or nearly due limit. No reporter, no description."""

    channel: str
    channel_name_th: str
    source_id: str
    received_date: date
    category_code: str
    category_name_th: str
    status: str
    status_name_th: str
    latitude: float | None
    longitude: float | None
    age_business_days: int  # business days after the received date up to the as-of day
    acknowledged: bool
    ack_due_date: date
    ack_days_left: int  # business days after the as-of day; <= 0: breached
    ack_state: str  # done | breached | due_soon | later
    res_due_date: date
    res_days_left: int
    res_state: str  # breached | due_soon | later
    in_indicator: bool  # counts in the as-of day's fiscal-year indicator


@dataclass(frozen=True)
class UnitCounts:
    matters: int = 0
    ack_breached: int = 0
    ack_due_soon: int = 0
    res_breached: int = 0
    res_due_soon: int = 0

    def __add__(self, other: UnitCounts) -> UnitCounts:
        return UnitCounts(*(a + b for a, b in zip(asdict(self).values(), asdict(other).values(), strict=True)))


@dataclass(frozen=True)
class UnitDigest:
    """The matters of one responsible unit in one district (``unit_code`` "" = no unit assigned)."""

    district_code: str
    district_name_th: str
    unit_code: str
    unit_name_th: str
    counts: UnitCounts
    matters: list[DueMatter]

    @property
    def district_folder(self) -> str:
        return f"เขต{self.district_name_th}"

    @property
    def unit_folder(self) -> str:
        return self.unit_name_th


@dataclass(frozen=True)
class OverdueDigest:
    as_of: date  # states as of the end of this Bangkok day
    look_ahead_business_days: int
    ack_within_business_days: int
    resolution_within_business_days: int
    rubric_version: str
    fiscal_year_be: int
    units: list[UnitDigest]
    stale_channels: list[str]  # Thai names of the channels whose loads do not reach the end of as_of
    computed_at: datetime

    @property
    def totals(self) -> UnitCounts:
        return sum((u.counts for u in self.units), UnitCounts())


@cache
def overdue_sql(name: str) -> str:
    return read_sql(f"overdue/{name}.sql")


def _query(conn: Connection, name: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    sql = overdue_sql(name)
    expanding = [bindparam(p, expanding=True, type_=String) for p in EXPANDING_PARAMETERS if re.search(rf":{p}\b", sql)]
    return [dict(row) for row in conn.execute(text(sql).bindparams(*expanding), dict(params)).mappings()]


def _ensure_calendar(engine: Engine, as_of: date, rubric: Rubric, look_ahead: int, writer: Engine) -> None:
    """The calendar must hold every received date of a listed matter and every due date.

    Reads through ``engine`` (possibly the read-only reporting role), writes through ``writer``."""
    with engine.connect() as conn:
        [row] = _query(conn, "earliest_received", {"as_of": as_of})
    first = min(as_of, as_date(row["first_day"]) or as_of)
    # Business days ahead of the as-of day that a due date can fall on, as calendar days with room
    # for weekends and the longest run of holidays (Songkran with its substitution days).
    ahead = max(rubric.resolution_within_business_days, rubric.response.within_business_days, look_ahead)
    last = as_of + timedelta(days=2 * ahead + 31)
    if not calendar_exists(engine) or not calendar_covers(engine, first, last):
        ensure_calendar(writer, first, last)


def _matter(row: Mapping[str, Any]) -> DueMatter:
    def number(value: Any) -> float | None:
        return None if value is None else float(value)

    if row["ack_due_date"] is None or row["res_due_date"] is None:
        raise LookupError(f"dim_calendar does not reach the due dates of {row['channel']}/{row['source_id']}")
    return DueMatter(
        channel=row["channel"],
        channel_name_th=row["channel_name_th"],
        source_id=str(row["source_id"]),
        received_date=as_date(row["received_date"]),
        category_code=row["category_code"],
        category_name_th=row["category_name_th"],
        status=row["status"],
        status_name_th=row["status_name_th"],
        latitude=number(row["latitude"]),
        longitude=number(row["longitude"]),
        age_business_days=int(row["age_business_days"]),
        acknowledged=bool(int(row["acknowledged"])),
        ack_due_date=as_date(row["ack_due_date"]),
        ack_days_left=int(row["ack_days_left"]),
        ack_state=row["ack_state"],
        res_due_date=as_date(row["res_due_date"]),
        res_days_left=int(row["res_days_left"]),
        res_state=row["res_state"],
        in_indicator=bool(int(row["in_indicator"])),
    )


def _units(rows: list[dict[str, Any]]) -> list[UnitDigest]:
    """The rows come ordered by district and unit; each carries its group's counts."""
    units: list[UnitDigest] = []
    for row in rows:
        unit_code = row["responsible_unit"] or ""
        if not units or (units[-1].district_code, units[-1].unit_code) != (row["district_code"], unit_code):
            counts = UnitCounts(
                matters=int(row["unit_matters"]),
                ack_breached=int(row["unit_ack_breached"]),
                ack_due_soon=int(row["unit_ack_due_soon"]),
                res_breached=int(row["unit_res_breached"]),
                res_due_soon=int(row["unit_res_due_soon"]),
            )
            units.append(
                UnitDigest(
                    district_code=row["district_code"],
                    district_name_th=row["district_name_th"],
                    unit_code=unit_code,
                    unit_name_th=row["unit_name_th"] or NO_UNIT_NAME_TH,
                    counts=counts,
                    matters=[],
                )
            )
        units[-1].matters.append(_matter(row))
    return units


def compute_digest(
    engine: Engine,
    as_of: date,
    look_ahead_business_days: int | None = None,
    rubric: Rubric | None = None,
    *,
    writer: Engine | None = None,
) -> OverdueDigest:
    """The digest as of the end of the Bangkok day ``as_of``, with the limits of its fiscal year's rubric.

    The queries run through ``engine`` (the read-only reporting role may be used); ``writer``
    (default ``engine``) only completes the business calendar when it is short."""
    if isinstance(as_of, datetime):
        raise TypeError("as_of is a Bangkok calendar date, not a datetime")
    as_of = date(as_of.year, as_of.month, as_of.day)  # a plain date: the DB drivers do not know pendulum's
    look_ahead = look_ahead_business_days
    if look_ahead is None:
        look_ahead = digest_settings().look_ahead_business_days
    fiscal_year = fiscal_year_be(as_of)
    rubric = rubric or load_rubric(fiscal_year)
    _ensure_calendar(engine, as_of, rubric, look_ahead, writer or engine)
    asof_before = end_of_day_bound(as_of)
    params = {
        "as_of": as_of,
        "asof_before": asof_before,
        "fy_start": fiscal_year_start(fiscal_year),
        "look_ahead": look_ahead,
        "ack_within": rubric.response.within_business_days,
        "resolution_within": rubric.resolution_within_business_days,
        "reopen_statuses": list(rubric.reopen_statuses),
        "response_statuses": list(rubric.response.response_statuses),
        "indicator_channels": list(rubric.channels),
    }
    connection = engine.connect()
    if engine.dialect.name == "postgresql":
        # One snapshot for both queries, so a load committing meanwhile cannot make them disagree.
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
    with connection as conn, conn.begin():
        rows = _query(conn, "due_matters", params)
        freshness = run_query(
            conn, "freshness", {"asof_before": asof_before, "covering_outcomes": list(COVERING_OUTCOMES)}
        )
    return OverdueDigest(
        as_of=as_of,
        look_ahead_business_days=look_ahead,
        ack_within_business_days=rubric.response.within_business_days,
        resolution_within_business_days=rubric.resolution_within_business_days,
        rubric_version=rubric.version,
        fiscal_year_be=fiscal_year,
        units=_units(rows),
        stale_channels=[r["name_th"] for r in freshness if r["stale"]],
        computed_at=datetime.now(UTC),
    )


# --------------------------------------------------------------------------- rendering


def fmt_days_left(days: int | None) -> str:
    """1 → "เหลือ 1 วันทำการ"; 0 (due on the as-of day, now ended) → "ครบกำหนดวันทำการล่าสุด";
    -2 → "เกิน 2 วันทำการ"."""
    if days is None:
        return "-"
    if days > 0:
        return f"เหลือ {days} วันทำการ"
    return "ครบกำหนดวันทำการล่าสุด" if days == 0 else f"เกิน {-days} วันทำการ"


def make_environment() -> Environment:
    """Jinja2 for the digest templates: autoescape on, undefined names are errors."""
    env = Environment(
        loader=FileSystemLoader(str(DIGEST_TEMPLATES_DIR)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        short_name=short_name,
        thai_date=lambda d: "-" if d is None else thai_date(d),
        thai_datetime=lambda t: f"{thai_date(t.astimezone(BANGKOK).date())} เวลา {t.astimezone(BANGKOK):%H:%M} น.",
        num=lambda n: f"{int(n):,}",
        days_left=fmt_days_left,
        state_th=lambda s: STATE_TH.get(s, s),
    )
    return env


def digest_basename(as_of: date) -> str:
    """The files of one day: ``2019-04-11`` (ISO, so they sort by date in the unit's folder)."""
    return as_of.isoformat()


def digest_title(digest: OverdueDigest) -> str:
    return f"{TITLE_TH} ข้อมูล ณ สิ้นวันที่ {thai_date(digest.as_of)}"


def render_unit_html(digest: OverdueDigest, unit: UnitDigest) -> str:
    return make_environment().get_template("digest.html.j2").render(d=digest, u=unit, title=digest_title(digest))


def build_unit_workbook(digest: OverdueDigest, unit: UnitDigest):
    """The unit's workbook (not saved): a summary sheet and the list of matters."""
    from openpyxl import Workbook

    # The quarterly report's sheet writer: Thai headers, frozen header row, formats, filter.
    from complaints.report.xlsx import write_sheet

    wb = Workbook()
    c = unit.counts
    summary: list[list[Any]] = [
        ["รายการ", TITLE_TH],
        ["ข้อมูล ณ สิ้นวันที่", thai_date(digest.as_of)],
        ["เขต", unit.district_name_th],
        ["หน่วยงานรับผิดชอบ", unit.unit_name_th],
        ["กำหนดตอบรับเรื่อง (วันทำการถัดจากวันที่ได้รับแจ้ง)", digest.ack_within_business_days],
        ["กำหนดแก้ไขแล้วเสร็จ (วันทำการถัดจากวันที่ได้รับแจ้ง)", digest.resolution_within_business_days],
        ["ใกล้ครบกำหนด: ครบกำหนดภายใน (วันทำการ)", digest.look_ahead_business_days],
        ["จำนวนเรื่องในรายการ", c.matters],
        ["ยังไม่ตอบรับ เกินกำหนด", c.ack_breached],
        ["ยังไม่ตอบรับ ใกล้ครบกำหนด", c.ack_due_soon],
        ["ยังไม่แล้วเสร็จ เกินกำหนด", c.res_breached],
        ["ยังไม่แล้วเสร็จ ใกล้ครบกำหนด", c.res_due_soon],
        ["ช่องทางที่ข้อมูลยังไม่เป็นปัจจุบัน", ", ".join(digest.stale_channels) or "-"],
        ["เกณฑ์การให้คะแนนฉบับ", digest.rubric_version],
        ["จัดทำเมื่อ (เวลากรุงเทพฯ)", digest.computed_at.astimezone(BANGKOK).replace(tzinfo=None)],
    ]
    ws = write_sheet(wb, "สรุป", [("รายการ", "text"), ("ค่า", "value")], summary, first=True)
    ws["B" + str(len(summary) + 1)].number_format = "yyyy-mm-dd hh:mm"
    write_sheet(
        wb,
        "รายการเรื่อง",
        [
            ("ลำดับ", "int"),
            ("ช่องทาง", "text"),
            ("เลขที่เรื่อง", "text"),
            ("วันที่รับแจ้ง", "date"),
            ("วันที่รับแจ้ง (พ.ศ.)", "text"),
            ("ประเภทเรื่อง", "text"),
            ("สถานะ", "text"),
            ("อายุเรื่อง (วันทำการ)", "int"),
            ("การตอบรับ", "text"),
            ("ครบกำหนดตอบรับ", "date"),
            ("ครบกำหนดตอบรับ (พ.ศ.)", "text"),
            ("วันทำการคงเหลือ (ตอบรับ)", "int"),
            ("การแก้ไขแล้วเสร็จ", "text"),
            ("ครบกำหนดแก้ไขแล้วเสร็จ", "date"),
            ("ครบกำหนดแก้ไขแล้วเสร็จ (พ.ศ.)", "text"),
            ("วันทำการคงเหลือ (แก้ไข)", "int"),
            ("นับในตัวชี้วัด", "text"),
            ("ละติจูด", "text"),
            ("ลองจิจูด", "text"),
        ],
        [
            [
                i,
                m.channel_name_th,
                m.source_id,
                m.received_date,
                thai_date(m.received_date),
                m.category_name_th,
                m.status_name_th,
                m.age_business_days,
                STATE_TH[m.ack_state],
                m.ack_due_date,
                thai_date(m.ack_due_date),
                None if m.acknowledged else m.ack_days_left,
                STATE_TH[m.res_state],
                m.res_due_date,
                thai_date(m.res_due_date),
                m.res_days_left,
                "นับ" if m.in_indicator else "ไม่นับ",
                m.latitude,
                m.longitude,
            ]
            for i, m in enumerate(unit.matters, start=1)
        ],
    )
    wb.properties.title = f"{digest_title(digest)} {unit.district_folder} {unit.unit_name_th}"
    wb.properties.creator = "complaints.overdue"
    return wb


def render_unit_files(digest: OverdueDigest, unit: UnitDigest, out_dir: Path) -> list[Path]:
    """Write ``<as_of>.xlsx`` and ``<as_of>.html`` of one unit into ``out_dir``; return them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = digest_basename(digest.as_of)
    xlsx, html = out_dir / f"{base}.xlsx", out_dir / f"{base}.html"
    build_unit_workbook(digest, unit).save(xlsx)
    html.write_text(render_unit_html(digest, unit), encoding="utf-8")
    return [xlsx, html]


# --------------------------------------------------------------------------- publishing


@dataclass(frozen=True)
class PublishedUnit:
    district_code: str
    district_name_th: str
    unit_code: str
    unit_name_th: str
    counts: UnitCounts
    files: list[str]  # where the files now are (local or UNC paths)


@dataclass(frozen=True)
class DigestSummary:
    """What the e-mail says: plain data, passed between the DAG's tasks as JSON."""

    as_of: date
    look_ahead_business_days: int
    ack_within_business_days: int
    resolution_within_business_days: int
    target: str
    units: list[PublishedUnit]
    stale_channels: list[str]

    @property
    def totals(self) -> UnitCounts:
        return sum((u.counts for u in self.units), UnitCounts())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DigestSummary:
        units = [PublishedUnit(**{**u, "counts": UnitCounts(**u["counts"])}) for u in data["units"]]
        return cls(**{**data, "as_of": date.fromisoformat(data["as_of"]), "units": units})


class DigestPublishError(RuntimeError):
    """Some units' files could not be published (the others were); the message names them."""


def publish_digest(digest: OverdueDigest, target: Any) -> DigestSummary:
    """Render and publish every unit's files; one unit failing does not stop the others.

    Raises :class:`DigestPublishError` after trying every unit if any failed.
    """
    from complaints.publish import digest_folder, publish_files

    published: list[PublishedUnit] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="overdue-digest-") as work:
        for n, unit in enumerate(digest.units):
            where = f"{unit.district_folder}/{unit.unit_folder}"
            try:
                folder = digest_folder(unit.district_folder, unit.unit_folder)
                files = render_unit_files(digest, unit, Path(work) / str(n))
                paths = publish_files(files, target, folder)
            except Exception as exc:
                log.exception("could not publish the overdue digest of %s", where)
                failures.append(f"{where}: {exc}")
                continue
            published.append(
                PublishedUnit(
                    unit.district_code, unit.district_name_th, unit.unit_code, unit.unit_name_th, unit.counts, paths
                )
            )
    if failures:
        raise DigestPublishError(
            f"{len(failures)} of {len(digest.units)} unit(s) not published (the others were): " + "; ".join(failures)
        )
    log.info("overdue digest of %s: %d unit folder(s) published", digest.as_of, len(published))
    return DigestSummary(
        as_of=digest.as_of,
        look_ahead_business_days=digest.look_ahead_business_days,
        ack_within_business_days=digest.ack_within_business_days,
        resolution_within_business_days=digest.resolution_within_business_days,
        target=target.describe(),
        units=published,
        stale_channels=list(digest.stale_channels),
    )


# --------------------------------------------------------------------------- e-mail


def summary_email(summary: DigestSummary) -> tuple[str, str]:
    """Subject and HTML body: counts per district/unit and the published paths, no matter details."""
    t = summary.totals
    # Matters and units, not limits: one matter can have both limits breached.
    subject = f"{TITLE_TH} ข้อมูล ณ {thai_date(summary.as_of)}: {t.matters:,} เรื่อง {len(summary.units):,} หน่วยงาน"
    body = make_environment().get_template("email.html.j2").render(s=summary, totals=t, title=TITLE_TH)
    return subject, body


def send_summary_email(
    summary: DigestSummary, recipients: Sequence[str], from_email: str | None = None, conn_id: str = SMTP_CONN_ID
) -> None:
    """Send the summary through the Airflow SMTP provider's hook and connection ``conn_id``."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    subject, body = summary_email(summary)
    with SmtpHook(smtp_conn_id=conn_id) as hook:
        hook.send_email_smtp(to=list(recipients), subject=subject, html_content=body, from_email=from_email)
    log.info("overdue digest summary of %s sent to %d recipient(s)", summary.as_of, len(recipients))
