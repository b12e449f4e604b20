"""The daily overdue digest: the SQL on both databases with hand-built warehouses, the XLSX and
HTML files (read back, no personal data, autoescaped), publishing to the shared drive, and the
rubric's resolution time limit.

Calendar used below (FY 2562, from the `holidays` package): Monday 8 April 2019 is the
substitution day of Chakri Day; 13–15 April are Songkran and Tuesday 16 April its substitution
day. So from Thursday 11 April the next business days are Fri 12, Wed 17, Thu 18, Fri 19 April.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from complaints.config import load_config
from complaints.indicator.rubric import RubricError, load_rubric, parse_rubric
from complaints.overdue import (
    DigestPublishError,
    OverdueDigest,
    compute_digest,
    publish_digest,
    render_unit_files,
    render_unit_html,
)
from complaints.pseudonym import pseudonymise
from complaints.publish import LocalFolderTarget
from complaints.warehouse import ensure_schema, make_engine
from conftest import PSEUDONYM_KEY, bkk
from test_indicator_compute import load, matter
from test_rubric import fy2562_raw

AS_OF = date(2019, 4, 11)  # a Thursday
LOOK_AHEAD = 3
# Personal data the warehouse holds and no digest output may contain.
PSEUDONYM = pseudonymise("0812345678", PSEUDONYM_KEY)
DESCRIPTION = "นายสมมติ ใจดี บ้านเลขที่ 12/3 ซอยทดสอบ โทร 081-234-5678 ขยะล้นหน้าบ้าน"
REPORT = "แจ้งนายสมมติ ใจดี ทางโทรศัพท์แล้ว เก็บขยะเรียบร้อย"
DIGEST_ROOT = "รายการเรื่องใกล้ครบกำหนด"
CLEANSING = "ฝ่ายรักษาความสะอาดและสวนสาธารณะ"


def m(source_id: str, received_at: datetime, *events, **kwargs):
    record, changes = matter(source_id, received_at, *events, **kwargs)
    record.update(description=DESCRIPTION, reporter_pseudonym=PSEUDONYM, resolution_report=REPORT)
    return record, changes


def load_scenario(engine: Engine) -> None:
    """Bang Rak (1004) and Phra Nakhon (1001); acknowledgement 1, resolution 15 business days."""
    ack = "acknowledged"
    load(
        engine,
        # resolution due Fri 12 April, the day after AS_OF
        m("due-tomorrow", bkk(2019, 3, 21, 9), (ack, bkk(2019, 3, 21, 14))),
        # resolution was due Mon 25 March
        m("breached", bkk(2019, 3, 4, 9), (ack, bkk(2019, 3, 4, 10)), ("in_progress", bkk(2019, 3, 5, 9))),
        m("resolved", bkk(2019, 3, 4, 9), (ack, bkk(2019, 3, 4, 10)), ("resolved", bkk(2019, 3, 8, 9))),
        # resolved only after AS_OF: open as of AS_OF
        m("resolved-later", bkk(2019, 3, 4, 9), (ack, bkk(2019, 3, 4, 10)), ("resolved", bkk(2019, 4, 20, 9))),
        # 15 business days after Mon 25 March: Thu 18 April, not Mon 15 April (Chakri substitution
        # day and Songkran skipped): 3 business days left, within the look-ahead
        m("holiday", bkk(2019, 3, 25, 9), (ack, bkk(2019, 3, 25, 10))),
        # due Fri 19 April (4 business days left; Tue 16 April if holidays were ignored): not listed
        m("holiday-later", bkk(2019, 3, 26, 9), (ack, bkk(2019, 3, 26, 10))),
        # received on AS_OF, not acknowledged: acknowledgement due Fri 12 April
        m("fresh", bkk(2019, 4, 11, 10)),
        # not acknowledged, acknowledgement was due Wed 10 April
        m("no-ack", bkk(2019, 4, 9, 9), unit="public_works", category="roads"),
        # no responsible unit, acknowledgement due on AS_OF itself: breached at the end of it
        m("unassigned", bkk(2019, 4, 10, 9), unit=None),
        # received after AS_OF: not in the digest of AS_OF
        m("future", bkk(2019, 4, 12, 9)),
        # reopened before AS_OF: open again, its resolution limit long past
        m("reopened", bkk(2019, 3, 1, 9), ("resolved", bkk(2019, 3, 5, 10)), ("reopened", bkk(2019, 4, 1, 8)),
          district="1001"),
    )  # fmt: skip
    # A channel the FY 2562 indicator does not count: listed, marked as not counted.
    load(
        engine,
        m("line-1", bkk(2019, 3, 20, 9), (ack, bkk(2019, 3, 20, 10)), channel="line", district="1001"),
        channel="line",
    )


@pytest.fixture
def wh(warehouse_url) -> Iterator[Engine]:
    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def digest(tmp_path_factory) -> OverdueDigest:
    """The scenario's digest as of AS_OF, on SQLite, for the tests of the files."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('digest') / 'warehouse.sqlite'}")
    ensure_schema(engine)
    load_scenario(engine)
    try:
        return compute_digest(engine, AS_OF, LOOK_AHEAD)
    finally:
        engine.dispose()


def rows(d: OverdueDigest) -> dict[str, tuple]:
    return {
        mt.source_id: (u.district_code, u.unit_code, mt.ack_state, mt.ack_days_left, mt.res_state, mt.res_days_left)
        for u in d.units
        for mt in u.matters
    }


# --------------------------------------------------------------------------- the SQL, both databases


def test_the_digest_lists_breached_and_nearly_due_matters_per_district_and_unit(wh):
    load_scenario(wh)
    d = compute_digest(wh, AS_OF, LOOK_AHEAD)

    assert (d.ack_within_business_days, d.resolution_within_business_days, d.rubric_version) == (1, 15, "fy2562-v1")
    assert [(u.district_code, u.unit_code, u.unit_name_th) for u in d.units] == [
        ("1001", "cleansing_parks", CLEANSING),
        ("1004", "cleansing_parks", CLEANSING),
        ("1004", "public_works", "ฝ่ายโยธา"),
        ("1004", "", "ไม่ระบุหน่วยงาน"),
    ]
    assert rows(d) == {
        "reopened": ("1001", "cleansing_parks", "done", -27, "breached", -13),
        "line-1": ("1001", "cleansing_parks", "done", -14, "breached", 0),
        "breached": ("1004", "cleansing_parks", "done", -26, "breached", -12),
        "resolved-later": ("1004", "cleansing_parks", "done", -26, "breached", -12),
        "due-tomorrow": ("1004", "cleansing_parks", "done", -13, "due_soon", 1),
        "fresh": ("1004", "cleansing_parks", "due_soon", 1, "later", 15),
        "holiday": ("1004", "cleansing_parks", "done", -11, "due_soon", 3),
        "no-ack": ("1004", "public_works", "breached", -1, "later", 13),
        "unassigned": ("1004", "", "breached", 0, "later", 14),
    }
    # most urgent first within a unit: the earliest limit still to meet
    urgent_first = ["breached", "resolved-later", "due-tomorrow", "fresh", "holiday"]
    assert [x.source_id for x in d.units[1].matters] == urgent_first

    by_id = {x.source_id: x for u in d.units for x in u.matters}
    assert by_id["due-tomorrow"].res_due_date == date(2019, 4, 12)
    assert by_id["holiday"].res_due_date == date(2019, 4, 18)
    assert by_id["fresh"].ack_due_date == date(2019, 4, 12)
    assert by_id["no-ack"].ack_due_date == date(2019, 4, 10)
    assert by_id["breached"].res_due_date == date(2019, 3, 25)
    assert by_id["breached"].age_business_days == 27
    assert by_id["fresh"].age_business_days == 0
    assert by_id["reopened"].status == "reopened"
    assert by_id["line-1"].in_indicator is False and by_id["breached"].in_indicator is True
    assert (by_id["line-1"].channel_name_th, by_id["breached"].category_name_th) == ("ไลน์ผู้ว่าฯ กทม.", "ขยะ")
    assert (by_id["breached"].latitude, by_id["breached"].longitude) == (13.72, 100.51)

    # the counts per unit come from the SQL and agree with the rows
    bang_rak = d.units[1].counts
    assert (bang_rak.matters, bang_rak.ack_breached, bang_rak.ack_due_soon) == (5, 0, 1)
    assert (bang_rak.res_breached, bang_rak.res_due_soon) == (2, 2)
    for u in d.units:
        assert u.counts.matters == len(u.matters)
        assert u.counts.ack_breached == sum(x.ack_state == "breached" for x in u.matters)
        assert u.counts.res_due_soon == sum(x.res_state == "due_soon" for x in u.matters)
    t = d.totals
    assert (t.matters, t.ack_breached, t.ack_due_soon, t.res_breached, t.res_due_soon) == (9, 2, 1, 4, 2)
    # MIS and LINE were loaded up to November; nothing of the other channels (1555, Facebook, ...)
    not_loaded = {c.name_th for c in load_config().channels.values() if c.code not in ("mis", "line")}
    assert set(d.stale_channels) == not_loaded and "เฟซบุ๊ก" in not_loaded


def test_the_states_are_those_at_the_end_of_the_as_of_day(wh):
    load_scenario(wh)
    before = rows(compute_digest(wh, date(2019, 4, 10), LOOK_AHEAD))
    assert "fresh" not in before and "unassigned" in before
    # on 10 April the unassigned matter's acknowledgement is due the next day: not yet breached
    assert before["unassigned"][2:4] == ("due_soon", 1)
    after = rows(compute_digest(wh, date(2019, 4, 22), LOOK_AHEAD))
    assert "resolved-later" not in after  # resolved on 20 April
    assert after["holiday"][4:] == ("breached", -2)  # due Thu 18 April; Fri 19 and Mon 22 have passed


def test_a_due_date_moves_past_the_songkran_holidays(wh):
    # Received Friday 12 April: one business day later is Wednesday 17 April, not Monday 15.
    load(wh, m("songkran", bkk(2019, 4, 12, 10)))
    for as_of, days_left, state in [
        (date(2019, 4, 12), 1, "due_soon"),
        (date(2019, 4, 14), 1, "due_soon"),  # a Sunday in the holidays: still one business day left
        (date(2019, 4, 16), 1, "due_soon"),  # the substitution day
        (date(2019, 4, 17), 0, "breached"),  # the end of the due day has passed
    ]:
        [unit] = compute_digest(wh, as_of, LOOK_AHEAD).units
        [x] = unit.matters
        assert (x.ack_due_date, x.ack_days_left, x.ack_state) == (date(2019, 4, 17), days_left, state), as_of


def test_a_look_ahead_of_zero_lists_only_breached_limits(wh):
    load_scenario(wh)
    listed = rows(compute_digest(wh, AS_OF, 0))
    assert set(listed) == {"reopened", "line-1", "breached", "resolved-later", "no-ack", "unassigned"}


def test_an_empty_warehouse_gives_an_empty_digest(wh):
    d = compute_digest(wh, AS_OF, LOOK_AHEAD)
    assert d.units == [] and d.totals.matters == 0


# --------------------------------------------------------------------------- the files


def test_the_xlsx_reads_back_with_thai_headers_dates_and_the_matters(digest, tmp_path):
    unit = digest.units[1]  # Bang Rak, cleansing and parks
    xlsx, html = render_unit_files(digest, unit, tmp_path)
    assert (xlsx.name, html.name) == ("2019-04-11.xlsx", "2019-04-11.html")
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["สรุป", "รายการเรื่อง"]
    summary = {r[0]: r[1] for r in wb["สรุป"].iter_rows(min_row=2, values_only=True)}
    assert summary["ข้อมูล ณ สิ้นวันที่"] == "11 เมษายน 2562"
    assert summary["เขต"] == "บางรัก" and summary["หน่วยงานรับผิดชอบ"] == CLEANSING
    assert summary["ยังไม่แล้วเสร็จ เกินกำหนด"] == 2 and summary["จำนวนเรื่องในรายการ"] == 5

    sheet = wb["รายการเรื่อง"]
    header, *data = list(sheet.iter_rows(values_only=True))
    assert header[:4] == ("ลำดับ", "ช่องทาง", "เลขที่เรื่อง", "วันที่รับแจ้ง")
    assert "ครบกำหนดแก้ไขแล้วเสร็จ (พ.ศ.)" in header and "ละติจูด" in header
    col = {name: i for i, name in enumerate(header)}
    assert [r[col["เลขที่เรื่อง"]] for r in data] == ["breached", "resolved-later", "due-tomorrow", "fresh", "holiday"]
    holiday = data[4]
    assert holiday[col["ครบกำหนดแก้ไขแล้วเสร็จ"]] == datetime(2019, 4, 18)
    assert holiday[col["ครบกำหนดแก้ไขแล้วเสร็จ (พ.ศ.)"]] == "18 เมษายน 2562"
    assert holiday[col["การแก้ไขแล้วเสร็จ"]] == "ใกล้ครบกำหนด"
    assert holiday[col["วันทำการคงเหลือ (แก้ไข)"]] == 3
    assert holiday[col["การตอบรับ"]] == "ตอบรับแล้ว" and holiday[col["วันทำการคงเหลือ (ตอบรับ)"]] is None
    assert data[3][col["วันทำการคงเหลือ (ตอบรับ)"]] == 1  # "fresh", acknowledgement due tomorrow
    assert data[0][col["วันที่รับแจ้ง (พ.ศ.)"]] == "4 มีนาคม 2562"
    assert (data[0][col["ละติจูด"]], data[0][col["ลองจิจูด"]]) == (13.72, 100.51)
    assert data[0][col["นับในตัวชี้วัด"]] == "นับ"
    assert sheet.freeze_panes == "A2"


def test_the_html_has_thai_headers_buddhist_era_dates_and_the_location(digest):
    html = render_unit_html(digest, digest.units[1])
    assert '<html lang="th">' in html
    assert "ข้อมูล ณ สิ้นวันที่ 11 เมษายน 2562" in html
    assert "เขตบางรัก" in html and CLEANSING in html
    assert "<th>ครบกำหนดแก้ไขแล้วเสร็จ</th>" in html
    assert "18 เมษายน 2562" in html and "เหลือ 3 วันทำการ" in html and "เกิน 12 วันทำการ" in html
    assert "13.720000, 100.510000" in html
    assert "เฟซบุ๊ก" in html  # the stale-data warning names the channel


def test_no_personal_data_reaches_the_xlsx_or_the_html(digest, tmp_path):
    secrets = [PSEUDONYM, DESCRIPTION, "081-234-5678", "นายสมมติ", REPORT, "บ้านเลขที่"]
    scanned = []
    for n, unit in enumerate(digest.units):
        xlsx, html = render_unit_files(digest, unit, tmp_path / str(n))
        with zipfile.ZipFile(xlsx) as archive:  # every part of the workbook, as stored
            scanned += [archive.read(name).decode("utf-8") for name in archive.namelist()]
        scanned += [str(c) for ws in load_workbook(xlsx) for row in ws.iter_rows(values_only=True) for c in row]
        scanned.append(html.read_text(encoding="utf-8"))
    everything = "\n".join(scanned)
    assert all(x.source_id in everything for u in digest.units for x in u.matters)  # the scan read the files
    for secret in secrets:
        assert secret not in everything


def test_html_autoescapes_names_from_the_warehouse(wh, tmp_path):
    load_scenario(wh)
    with wh.begin() as conn:
        conn.execute(
            text("UPDATE dim_category SET name_th = :n WHERE category_code = 'waste'"),
            {"n": "<script>alert('category')</script>ขยะ"},
        )
        conn.execute(
            text("UPDATE dim_unit SET name_th = :n WHERE unit_code = 'public_works'"),
            {"n": "ฝ่าย<script>alert(1)</script>โยธา"},
        )
    d = compute_digest(wh, AS_OF, LOOK_AHEAD)
    for unit in d.units:
        html = render_unit_html(d, unit)
        assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;category&#39;)&lt;/script&gt;ขยะ" in render_unit_html(d, d.units[1])
    assert "ฝ่าย&lt;script&gt;alert(1)&lt;/script&gt;โยธา" in render_unit_html(d, d.units[2])

    # A unit name Windows cannot use as a folder fails that unit alone; the others are published.
    drive = tmp_path / "drive"
    drive.mkdir()
    with pytest.raises(DigestPublishError, match=r"1 of 4 unit\(s\) not published.*เขตบางรัก/ฝ่าย<script>"):
        publish_digest(d, LocalFolderTarget(drive))
    published = {p.relative_to(drive).parts[1:3] for p in drive.rglob("*.html")}
    assert published == {("เขตบางรัก", "ไม่ระบุหน่วยงาน"), ("เขตบางรัก", CLEANSING), ("เขตพระนคร", CLEANSING)}


# --------------------------------------------------------------------------- publishing


def test_each_unit_gets_its_files_in_its_own_folder_and_a_republish_keeps_the_old_ones(digest, tmp_path):
    drive = tmp_path / "shared-drive"
    drive.mkdir()
    summary = publish_digest(digest, LocalFolderTarget(drive))

    files = sorted(str(p.relative_to(drive)) for p in drive.rglob("*") if p.is_file())
    assert files == sorted(
        f"{DIGEST_ROOT}/{district}/{unit}/2019-04-11.{ext}"
        for district, unit in [
            ("เขตพระนคร", CLEANSING),
            ("เขตบางรัก", CLEANSING),
            ("เขตบางรัก", "ฝ่ายโยธา"),
            ("เขตบางรัก", "ไม่ระบุหน่วยงาน"),
        ]
        for ext in ("xlsx", "html")
    )
    assert [u.files for u in summary.units][1] == [
        str(drive / DIGEST_ROOT / "เขตบางรัก" / CLEANSING / f"2019-04-11.{ext}") for ext in ("xlsx", "html")
    ]
    assert summary.totals == digest.totals
    assert summary.target == f"local folder {drive}"

    publish_digest(digest, LocalFolderTarget(drive))
    kept = sorted(p.name for p in (drive / DIGEST_ROOT / "เขตบางรัก" / "ฝ่ายโยธา" / "_previous").rglob("*.*"))
    assert kept == ["2019-04-11.html", "2019-04-11.xlsx"]
    assert not [p for p in drive.rglob(".*")]  # no temporary file left behind


def test_a_missing_share_fails_every_unit_and_names_them(digest, tmp_path):
    with pytest.raises(DigestPublishError, match=r"4 of 4 unit\(s\) not published.*drive mounted"):
        publish_digest(digest, LocalFolderTarget(tmp_path / "not-mounted"))


# --------------------------------------------------------------------------- the rubric's resolution limit


def test_the_fy2562_rubric_has_a_resolution_limit_of_15_business_days():
    assert load_rubric(2562).resolution_within_business_days == 15


@pytest.mark.parametrize(
    ("value", "problem"),
    [(0, "at least 1"), ("15", "not a whole number"), (1.5, "not a whole number"), (True, "not a whole number")],
)
def test_a_bad_resolution_limit_is_refused(value, problem):
    raw = {**fy2562_raw(), "resolution_within_business_days": value}
    with pytest.raises(RubricError, match=problem):
        parse_rubric(raw, "fy-test.yaml")


def test_a_resolution_limit_shorter_than_the_acknowledgement_limit_is_refused():
    raw = fy2562_raw()
    raw["parts"]["response"]["within_business_days"] = 3
    raw["resolution_within_business_days"] = 2
    with pytest.raises(RubricError, match=r"not shorter than parts\.response\.within_business_days"):
        parse_rubric(raw, "fy-test.yaml")


def test_a_rubric_without_a_resolution_limit_gets_the_default(tmp_path):
    raw = fy2562_raw()
    del raw["resolution_within_business_days"]
    path = tmp_path / "fy2570.yaml"
    path.write_text(yaml.safe_dump({**raw, "fiscal_year": 2570}, allow_unicode=True), encoding="utf-8")
    assert load_rubric(2570, tmp_path).resolution_within_business_days == 15


def test_the_digest_takes_the_limits_from_the_rubric_it_is_given(wh, tmp_path: Path):
    import dataclasses

    load_scenario(wh)
    stricter = dataclasses.replace(load_rubric(2562), resolution_within_business_days=10)
    d = compute_digest(wh, AS_OF, LOOK_AHEAD, rubric=stricter)
    listed = rows(d)
    assert d.resolution_within_business_days == 10
    assert listed["holiday"][4:] == ("breached", -2)  # due 10 business days after 25 March: 9 April
    assert listed["holiday-later"][4:] == ("breached", -1)
