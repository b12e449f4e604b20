"""The demo generator: calibrated MIS figures, documented source formats, bad rows, determinism.

Every figure here is recomputed from the generated files with independent SQL / pandas /
csv code; nothing reuses the generator's internal counts except the list of rows it says
it spoiled on purpose, which the tests check against their own quality rules.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import sqlite3
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from complaints import config
from complaints.thai_time import DateParseError, parse_be_datetime
from devtools.demo.generate import DemoSummary, generate_demo

# The published FY2562 table (shared/docs/indicator.md), typed in here on purpose.
PUBLISHED = {
    "2019-03-31": (915, 914, 1),
    "2019-06-24": (1335, 1301, 34),
    "2019-08-30": (1669, 1637, 32),
}
HOTLINE_HEADERS = [
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
]
MOJIBAKE = re.compile("à[¸¹]")
PHONE = re.compile(r"^0[689]\d-?\d{3}-?\d{4}$")
BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoSummary, float]:
    started = time.perf_counter()
    summary = generate_demo(tmp_path_factory.mktemp("demo_a"), seed=2562)
    return summary, time.perf_counter() - started


@pytest.fixture(scope="module")
def summary(demo: tuple[DemoSummary, float]) -> DemoSummary:
    return demo[0]


def _resolved_labels() -> list[str]:
    labels = []
    for s in config.load_config().statuses:
        if s.extra.get("resolved"):
            labels += [s.name_th, *s.extra.get("aliases", [])]
    return labels


def _bounds_ok(lat: float | None, lon: float | None) -> bool:
    if lat is None and lon is None:
        return True
    b = config.load_config().bangkok_bounds
    return b["lat_min"] <= lat <= b["lat_max"] and b["lon_min"] <= lon <= b["lon_max"]


# --------------------------------------------------------------------------- MIS


def _mis_frames(db: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with sqlite3.connect(db) as con:
        complaints = pd.read_sql_query("SELECT * FROM mis_complaint", con)
        actions = pd.read_sql_query("SELECT * FROM mis_complaint_action", con)
    for frame, cols in ((complaints, ["received_at", "updated_at"]), (actions, ["action_at"])):
        for col in cols:
            frame[col] = pd.to_datetime(frame[col], format="%Y-%m-%d %H:%M:%S")
    return complaints, actions


def _mis_figures_pandas(db: Path, exclude: set[str], cutoff: str) -> tuple[int, int, int]:
    complaints, actions = _mis_frames(db)
    complaints = complaints[~complaints.complaint_no.isin(exclude)]
    day = complaints.received_at.dt.normalize()
    window = complaints[(day >= pd.Timestamp("2018-10-01")) & (day <= pd.Timestamp(cutoff))]
    end = pd.Timestamp(cutoff) + pd.Timedelta(days=1) - pd.Timedelta(milliseconds=1)
    upto = actions[actions.action_at <= end].sort_values(["complaint_no", "action_at", "action_id"])
    latest = upto.groupby("complaint_no").tail(1).set_index("complaint_no").status
    status = latest.reindex(window.complaint_no)
    resolved = int(status.isin(_resolved_labels()).sum())
    return len(window), resolved, len(window) - resolved


def _mis_figures_sql(db: Path, exclude: set[str], cutoff: str) -> tuple[int, int, int]:
    labels = _resolved_labels()
    sql = f"""
        SELECT COUNT(*),
               SUM(CASE WHEN (SELECT a.status FROM mis_complaint_action a
                              WHERE a.complaint_no = c.complaint_no AND a.action_at <= :end
                              ORDER BY a.action_at DESC, a.action_id DESC LIMIT 1)
                             IN ({",".join(f":l{i}" for i in range(len(labels)))})
                        THEN 1 ELSE 0 END)
        FROM mis_complaint c
        WHERE substr(c.received_at, 1, 10) BETWEEN '2018-10-01' AND :cutoff
          AND c.complaint_no NOT IN ({",".join(f":x{i}" for i in range(len(exclude)))})
    """
    params = {"end": f"{cutoff} 23:59:59.999", "cutoff": cutoff}
    params.update({f"l{i}": label for i, label in enumerate(labels)})
    params.update({f"x{i}": no for i, no in enumerate(sorted(exclude))})
    with sqlite3.connect(db) as con:
        received, resolved = con.execute(sql, params).fetchone()
    return received, resolved, received - resolved


def _mis_db(summary: DemoSummary) -> Path:
    return summary.out_dir / "sources" / "mis.sqlite"


def test_mis_calibration_reproduces_published_figures_by_independent_count(summary: DemoSummary) -> None:
    db = _mis_db(summary)
    bad = set(summary.bad_source_ids("mis"))
    for cutoff, expected in PUBLISHED.items():
        assert _mis_figures_pandas(db, bad, cutoff) == expected, cutoff
        assert _mis_figures_sql(db, bad, cutoff) == expected, cutoff


def test_mis_calibration_holds_for_any_seed(tmp_path: Path) -> None:
    other = generate_demo(tmp_path, seed=7)
    bad = set(other.bad_source_ids("mis"))
    for cutoff, expected in PUBLISHED.items():
        assert _mis_figures_sql(_mis_db(other), bad, cutoff) == expected, cutoff


def _mis_row_problems(complaints: pd.DataFrame, actions: pd.DataFrame) -> dict[str, list[str]]:
    """Independent quality rules; returns complaint_no -> the rules it breaks."""
    first_action = actions.groupby("complaint_no").action_at.min()
    problems: dict[str, list[str]] = {}
    for row in complaints.itertuples(index=False):
        found = []
        if config.normalise_district(row.district_name) is None:
            found.append("district")
        if config.normalise_status(row.status) is None:
            found.append("status")
        if None in (config.normalise_category(row.category_name), config.normalise_unit(row.assigned_unit)):
            found.append("label")
        if first_action[row.complaint_no] < row.received_at:
            found.append("action before received")
        if MOJIBAKE.search(f"{row.subject} {row.detail}"):
            found.append("mojibake")
        if found:
            problems[row.complaint_no] = found
    return problems


def test_mis_quality_rules_flag_exactly_the_deliberately_bad_rows(summary: DemoSummary) -> None:
    complaints, actions = _mis_frames(_mis_db(summary))
    problems = _mis_row_problems(complaints, actions)
    assert set(problems) == set(summary.bad_source_ids("mis"))
    reasons = {b.reason for b in summary.channels["mis"].bad}
    assert reasons == {
        "unknown_district",
        "null_district",
        "missing_status",
        "action_before_received",
        "mojibake_text",
    }
    share = len(problems) / len(complaints)
    assert 0.01 <= share <= 0.02


def test_mis_valid_rows_are_internally_consistent(summary: DemoSummary) -> None:
    complaints, actions = _mis_frames(_mis_db(summary))
    valid = complaints[~complaints.complaint_no.isin(summary.bad_source_ids("mis"))]
    ordered = actions.sort_values(["complaint_no", "action_at", "action_id"])
    latest = ordered.groupby("complaint_no").tail(1).set_index("complaint_no")
    resolved_codes = set(config.load_config().resolved_statuses)
    assert ordered.duplicated(["complaint_no", "action_at"]).sum() == 0
    assert actions.action_at.max() <= pd.Timestamp("2019-10-31 23:59:59")
    for row in valid.itertuples(index=False):
        last = latest.loc[row.complaint_no]
        assert row.status == last.status
        assert row.updated_at == last.action_at
        assert row.received_at.date() <= date(2019, 9, 30)
        resolved = config.normalise_status(row.status) in resolved_codes
        assert pd.notna(row.result_detail) == resolved, row.complaint_no
        assert config.normalise_status(last.status) is not None
        lat = None if pd.isna(row.latitude) else row.latitude
        lon = None if pd.isna(row.longitude) else row.longitude
        assert _bounds_ok(lat, lon)
        assert pd.isna(row.complainant_phone) or PHONE.match(row.complainant_phone)
    assert all(config.normalise_status(s) for s in actions.status.unique())
    prefixed = valid.district_name.str.startswith("เขต").mean()
    assert 0.2 < prefixed < 0.8


def _open_at(complaints: pd.DataFrame, actions: pd.DataFrame, cutoff: str) -> pd.DataFrame:
    end = pd.Timestamp(cutoff) + pd.Timedelta(days=1) - pd.Timedelta(milliseconds=1)
    upto = actions[actions.action_at <= end].sort_values(["complaint_no", "action_at", "action_id"])
    latest = upto.groupby("complaint_no").tail(1).set_index("complaint_no").status
    window = complaints[complaints.received_at.dt.normalize() <= pd.Timestamp(cutoff)]
    status = latest.reindex(window.complaint_no)
    return window[~status.isin(_resolved_labels()).to_numpy()]


def test_mis_open_matters_are_mostly_recent_with_a_few_long_running_and_reopened(
    summary: DemoSummary,
) -> None:
    complaints, actions = _mis_frames(_mis_db(summary))
    complaints = complaints[~complaints.complaint_no.isin(summary.bad_source_ids("mis"))]
    reopened = set(actions[actions.status == "เปิดเรื่องใหม่"].complaint_no)
    for cutoff in ("2019-06-24", "2019-08-30"):
        open_ = _open_at(complaints, actions, cutoff)
        age = (pd.Timestamp(cutoff) - open_.received_at.dt.normalize()).dt.days
        assert (age <= 14).mean() >= 0.75, cutoff
        assert (age > 30).sum() >= 2, cutoff  # long-running or reopened
        assert set(open_.complaint_no) & reopened, cutoff
    assert len(reopened) >= 5
    final = _open_at(complaints, actions, "2019-10-31")
    assert 3 <= len(final) <= 60  # some matters are still open at the end


def test_mis_acknowledgement_usually_within_one_business_day(summary: DemoSummary) -> None:
    import holidays

    complaints, actions = _mis_frames(_mis_db(summary))
    th = holidays.Thailand(years=[2018, 2019])
    ack = actions[actions.status == "ตอบรับเรื่องแล้ว"].groupby("complaint_no").action_at.min()
    valid = complaints[~complaints.complaint_no.isin(summary.bad_source_ids("mis"))]

    def deadline(received: datetime) -> date:
        d = received.date() + timedelta(days=1)
        while d.weekday() >= 5 or d in th:
            d += timedelta(days=1)
        return d

    on_time = [ack[r.complaint_no].date() <= deadline(r.received_at) for r in valid.itertuples()]
    share = sum(on_time) / len(on_time)
    assert 0.85 <= share < 1.0  # usually in time, occasionally late
    weekend = valid.received_at.dt.day_of_week >= 5
    assert weekend.mean() < 0.2


# --------------------------------------------------------------------------- 1555 hotline


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(BOM):
        return "utf-8-sig", data.decode("utf-8-sig")
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp874", data.decode("cp874")


def _hotline_rows(path: Path) -> tuple[str, list[list[str]]]:
    """(encoding, rows including the header) of one 1555 file."""
    if path.suffix == ".xlsx":
        ws = load_workbook(path, read_only=True).active
        return "xlsx", [["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]
    encoding, text = _decode(path.read_bytes())
    return encoding, list(csv.reader(io.StringIO(text, newline="")))


def _inbox(summary: DemoSummary) -> list[Path]:
    return sorted((summary.out_dir / "inbox" / "1555").iterdir())


def test_hotline_files_have_documented_names_headers_and_encodings(summary: DemoSummary) -> None:
    files = _inbox(summary)
    assert 300 <= len(files) <= 400
    encodings: dict[str, int] = {}
    for path in files:
        m = re.fullmatch(r"1555_(\d{8})(_[a-z]+)?\.(csv|xlsx)", path.name)
        assert m, path.name
        assert date(2018, 10, 1) <= datetime.strptime(m[1], "%Y%m%d").date() <= date(2019, 10, 31)
        encoding, rows = _hotline_rows(path)
        encodings[encoding] = encodings.get(encoding, 0) + 1
        assert rows[0] == HOTLINE_HEADERS, path.name
        assert all(len(r) == len(HOTLINE_HEADERS) for r in rows), path.name
    assert encodings["utf-8-sig"] > encodings["cp874"] > encodings["xlsx"] >= 3
    assert encodings.get("utf-8", 0) >= 1
    cp874 = [p for p in files if p.suffix == ".csv" and _decode(p.read_bytes())[0] == "cp874"]
    for path in cp874:  # really Windows-874, and Thai survives the round trip
        data = path.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        assert "เลขที่รับแจ้ง" in data.decode("cp874")


def test_hotline_xlsx_exports_are_plain_text_cells(summary: DemoSummary) -> None:
    xlsx = [p for p in _inbox(summary) if p.suffix == ".xlsx"]
    assert xlsx
    for path in xlsx:
        ws = load_workbook(path).active
        values = [c.value for row in ws.iter_rows(min_row=2) for c in row if c.value is not None]
        assert values and all(isinstance(v, str) for v in values)


def _hotline_row_problems(row: list[str]) -> list[str]:
    found = []
    if not row[0].strip():
        found.append("ticket")
    if config.normalise_district(row[4]) is None:
        found.append("district")
    for col in (1, 10, 11, 13):
        if row[col]:
            try:
                parse_be_datetime(row[col])
            except DateParseError:
                found.append(f"date {HOTLINE_HEADERS[col]}")
    if any(MOJIBAKE.search(v) for v in row):
        found.append("mojibake")
    labels = (
        config.normalise_status(row[9]),
        config.normalise_category(row[5]),
        config.normalise_unit(row[8]),
    )
    if None in labels:
        found.append("label")
    return found


def test_hotline_quality_rules_flag_exactly_the_deliberately_bad_rows(summary: DemoSummary) -> None:
    flagged, total = set(), 0
    for path in _inbox(summary):
        if "_resend" in path.name:
            continue
        _, rows = _hotline_rows(path)
        for line, row in enumerate(rows[1:], start=2):
            total += 1
            if _hotline_row_problems(row):
                flagged.add(f"{path.name}:{line}")
            else:
                received = parse_be_datetime(row[1])
                updated = parse_be_datetime(row[13])
                assert received <= updated
                assert PHONE.match(row[3]), row[3]
                if row[7]:
                    lat, lon = (float(x) for x in row[7].split(","))
                    assert _bounds_ok(lat, lon)
    hotline = summary.channels["hotline_1555"]
    assert flagged == {b.locator for b in hotline.bad}
    assert {b.reason for b in hotline.bad} == {
        "missing_ticket",
        "unknown_district",
        "impossible_date",
        "ce_year",
        "mojibake_text",
    }
    assert total == hotline.rows
    assert 0.01 <= len(flagged) / total <= 0.02
    assert 2000 <= hotline.matters <= 5000


def test_hotline_has_one_duplicate_delivery_and_one_duplicated_row(summary: DemoSummary) -> None:
    files = _inbox(summary)
    resends = [p for p in files if "_resend" in p.name]
    assert len(resends) == 1
    original = resends[0].with_name(resends[0].name.replace("_resend", ""))
    assert original.read_bytes() == resends[0].read_bytes()
    duplicated = []
    for path in files:
        _, rows = _hotline_rows(path)
        data = [tuple(r) for r in rows[1:]]
        if len(set(data)) != len(data):
            duplicated.append(path.name)
    assert len(duplicated) == 1


def test_hotline_snapshot_rows_follow_each_matter_through_the_year(summary: DemoSummary) -> None:
    last_status: dict[str, tuple[str, str]] = {}
    for path in _inbox(summary):
        if "_resend" in path.name:
            continue
        _, rows = _hotline_rows(path)
        for row in rows[1:]:
            if row[0] and not _hotline_row_problems(row):
                last_status[row[0]] = (path.name, config.normalise_status(row[9]))
    statuses = [s for _, s in last_status.values()]
    assert statuses.count("resolved") / len(statuses) > 0.9
    assert {"acknowledged", "in_progress"} & set(statuses)  # some still open at the end
    assert max(name for name, _ in last_status.values()) >= "1555_20191001"


# --------------------------------------------------------------------------- LINE and Facebook


def _line(summary: DemoSummary) -> list[dict]:
    return json.loads((summary.out_dir / "sources" / "line_events.json").read_text(encoding="utf-8"))


def _facebook(summary: DemoSummary) -> list[dict]:
    return json.loads((summary.out_dir / "sources" / "facebook_posts.json").read_text(encoding="utf-8"))


def test_line_events_match_the_documented_shape_and_bad_events_are_detectable(summary: DemoSummary) -> None:
    events = _line(summary)
    assert 300 <= len(events) <= 1500
    flagged = []
    for i, ev in enumerate(events):
        assert ev["type"] == "message" and ev["source"]["type"] == "user"
        assert ev["message"]["type"] == "text" and ev["message"]["id"].isdigit()
        c = ev["complaint"]
        problems = []
        if "webhookEventId" not in ev:
            problems.append("id")
        if config.normalise_district(c["district"]) is None:
            problems.append("district")
        if c["resolvedAt"] is not None and c["resolvedAt"] < ev["timestamp"]:
            problems.append("resolved before received")
        if MOJIBAKE.search(ev["message"]["text"]):
            problems.append("mojibake")
        if problems:
            flagged.append(i)
            continue
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", ev["webhookEventId"])
        assert ev["timestamp"] <= c["updatedAt"]
        assert c["acknowledgedAt"] is None or ev["timestamp"] <= c["acknowledgedAt"] <= c["updatedAt"]
        assert (c["resolvedAt"] is not None) == (config.normalise_status(c["status"]) == "resolved")
        assert c["resolvedAt"] is None or c["resolvedAt"] == c["updatedAt"]
        assert config.normalise_category(c["category"]) and config.normalise_unit(c["assignedUnit"])
        if ev["location"] is not None:
            assert _bounds_ok(ev["location"]["latitude"], ev["location"]["longitude"])
    line = summary.channels["line"]
    assert [int(b.locator.split("[")[1].split("]")[0]) for b in line.bad] == flagged
    assert 0.01 <= len(flagged) / len(events) <= 0.02
    assert any(ev["location"] is None for ev in events)
    assert sum(any(ord(ch) > 0x1F000 for ch in ev["message"]["text"]) for ev in events) > len(events) / 2
    ids = [ev["webhookEventId"] for ev in events if "webhookEventId" in ev]
    assert len(ids) == len(set(ids))


def test_facebook_posts_match_the_documented_shape_and_bad_posts_are_detectable(summary: DemoSummary) -> None:
    posts = _facebook(summary)
    assert 300 <= len(posts) <= 1500
    stamp = "%Y-%m-%dT%H:%M:%S+0000"
    flagged = []
    for i, post in enumerate(posts):
        c = post["complaint"]
        created = datetime.strptime(post["created_time"], stamp)
        problems = []
        if "id" not in post:
            problems.append("id")
        if config.normalise_district(c["district"]) is None:
            problems.append("district")
        if c["resolved_time"] and datetime.strptime(c["resolved_time"], stamp) < created:
            problems.append("resolved before received")
        if MOJIBAKE.search(post["message"]):
            problems.append("mojibake")
        if problems:
            flagged.append(i)
            continue
        assert re.fullmatch(r"104857_\d{14}", post["id"])
        assert created <= datetime.strptime(post["updated_time"], stamp)
        assert (c["resolved_time"] is not None) == (config.normalise_status(c["status"]) == "resolved")
        assert config.normalise_category(c["category"]) and config.normalise_unit(c["assigned_unit"])
        if "place" in post:
            loc = post["place"]["location"]
            assert _bounds_ok(loc["latitude"], loc["longitude"])
    facebook = summary.channels["facebook"]
    assert [int(b.locator.split("[")[1].split("]")[0]) for b in facebook.bad] == flagged
    assert 0.01 <= len(flagged) / len(posts) <= 0.02
    assert any("place" not in p for p in posts)
    ids = [p["id"] for p in posts if "id" in p]
    assert len(ids) == len(set(ids))


# --------------------------------------------------------------------------- Traffy Fondue

TRAFFY_HEADERS = [
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
]
TRAFFY_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00$")


def _traffy(summary: DemoSummary) -> dict[str, list[dict[str, str]]]:
    """Rows of every Traffy export by file name, read with the csv module (UTF-8 with a BOM, as the real one)."""
    out = {}
    for path in sorted((summary.out_dir / "inbox" / "traffy_fondue").iterdir()):
        content = path.read_bytes()
        assert content.startswith(BOM), path.name
        reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
        assert next(reader) == TRAFFY_HEADERS, path.name
        out[path.name] = [dict(zip(TRAFFY_HEADERS, row, strict=True)) for row in reader]
    return out


def _traffy_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_traffy_exports_are_monthly_with_every_quirk_of_the_real_files(summary: DemoSummary) -> None:
    files = _traffy(summary)
    assert list(files) == [
        f"traffy_fondue_{d}.csv"
        for d in (
            "20181031", "20181130", "20181231", "20190131", "20190228", "20190331", "20190430",
            "20190531", "20190630", "20190731", "20190831", "20190930", "20191031",
        )
    ]  # fmt: skip
    rows = [r for file_rows in files.values() for r in file_rows]
    assert 2000 <= summary.channels["traffy_fondue"].matters <= 5000
    assert len(rows) == summary.channels["traffy_fondue"].rows
    channel = config.load_config().channels["traffy_fondue"]
    assert any(r["type"] == "{}" for r in rows) and any("," in r["type"] for r in rows)
    # the real export's organization: a plain comma list, empty while nobody is assigned
    assert any(r["organization"] == "" for r in rows) and any("," in r["organization"] for r in rows)
    assert not any("{" in r["organization"] for r in rows)
    provinces = {r["province"] for r in rows}
    assert {"กรุงเทพมหานคร", "จังหวัดกรุงเทพมหานคร"} <= provinces  # spelled both ways, as in the real export
    skewed = [r for r in rows if _traffy_time(r["last_activity"]) < _traffy_time(r["timestamp"])]
    assert skewed and {r["state"] for r in skewed} == {"รอรับเรื่อง"}  # the real export's clock skew
    for r in rows:
        for tag in r["type"].strip("{}").split(","):
            assert not tag or config.normalise_category(tag, channel), tag
        assert TRAFFY_STAMP.match(r["timestamp"]) and TRAFFY_STAMP.match(r["last_activity"]), r
        assert _traffy_time(r["timestamp"]) - timedelta(milliseconds=72) <= _traffy_time(r["last_activity"])
        if r["coords"]:
            lon, lat = (float(x) for x in r["coords"].split(","))
            assert 100 < lon < 101 and 13 < lat < 15  # "lon,lat"
        assert r["state"] in {"รอรับเรื่อง", "กำลังดำเนินการ", "ส่งต่อ", "เสร็จสิ้น"}
        assert r["star"] == "" or (r["state"] == "เสร็จสิ้น" and 1 <= int(r["star"]) <= 5)
        assert int(r["count_reopen"]) >= 0
    assert {r["state"] for r in rows} == {"รอรับเรื่อง", "กำลังดำเนินการ", "ส่งต่อ", "เสร็จสิ้น"}
    assert len({len(r["timestamp"]) for r in rows}) > 3  # fractional seconds of varying length
    comments = [r["comment"] for r in rows]
    assert any("\n" in c for c in comments) and any('"' in c for c in comments)
    assert any(any(ord(ch) > 0x1F000 for ch in c) for c in comments)
    assert any(int(r["count_reopen"]) > 0 for r in rows)
    districts = {r["district"] for r in rows}
    assert any(d.startswith("เขต") for d in districts) and any(not d.startswith("เขต") for d in districts)
    misspelled = {
        d for d in districts if config.normalise_district(d) is None and config.normalise_district(d, channel)
    }
    assert len(misspelled) >= 3  # the channel's crosswalk reads them


def test_traffy_bad_rows_are_exactly_those_outside_bangkok_or_with_an_unreadable_district(summary: DemoSummary) -> None:
    channel = config.load_config().channels["traffy_fondue"]
    flagged = set()
    for name, rows in _traffy(summary).items():
        for number, r in enumerate(rows, start=1):
            bangkok = ("", "กรุงเทพมหานคร", "จังหวัดกรุงเทพมหานคร")
            if r["province"] not in bangkok or config.normalise_district(r["district"], channel) is None:
                flagged.add(f"{name}:{number}")
    traffy = summary.channels["traffy_fondue"]
    assert flagged == {b.locator for b in traffy.bad}
    assert {b.reason for b in traffy.bad} == {"outside_bangkok", "unknown_district"}


def test_traffy_tickets_are_re_exported_with_newer_activity_within_and_across_files(summary: DemoSummary) -> None:
    files = _traffy(summary)
    seen: dict[str, list[datetime]] = {}
    within = []
    for name, rows in files.items():
        per_ticket: dict[str, list[dict[str, str]]] = {}
        for r in rows:
            per_ticket.setdefault(r["ticket_id"], []).append(r)
        for ticket, copies in per_ticket.items():
            stamps = sorted(_traffy_time(c["last_activity"]) for c in copies)
            if len(copies) > 1:
                within.append(ticket)
                assert len(copies) == 2 and stamps[0] < stamps[1], (name, ticket)
            seen.setdefault(ticket, []).append(stamps[-1])
        bad_share = (
            len(rows)
            - len(per_ticket)
            + sum(1 for b in summary.channels["traffy_fondue"].bad if b.locator.startswith(name))
        ) / len(rows)
        assert bad_share < 0.05, name  # every file loads: under the quarantine threshold
    assert sorted(within) == sorted(
        e["ticket_id"] for e in summary.channels["traffy_fondue"].notes["re_exported_in_file"]
    )
    across = [stamps for stamps in seen.values() if len(stamps) > 1]
    assert len(across) > 500
    assert all(a < b for stamps in across for a, b in itertools.pairwise(stamps))


# --------------------------------------------------------------------------- all channels


def test_bad_rows_exist_in_every_channel(summary: DemoSummary) -> None:
    for code in ("mis", "hotline_1555", "line", "facebook"):
        ch = summary.channels[code]
        assert ch.bad_rows == len(ch.bad) > 0, code
        assert any(b.reason == "mojibake_text" for b in ch.bad), code
    manifest = json.loads((summary.out_dir / "demo_manifest.json").read_text(encoding="utf-8"))
    assert {k: v["bad_rows"] for k, v in manifest["channels"].items()} == {
        k: v.bad_rows for k, v in summary.channels.items()
    }


def test_every_record_carries_the_personal_fields_the_pipeline_must_pseudonymise(
    summary: DemoSummary,
) -> None:
    complaints, _ = _mis_frames(_mis_db(summary))
    assert {"complainant_name", "complainant_phone"} <= set(complaints.columns)
    assert (complaints.complainant_name.notna() | complaints.complainant_phone.notna()).all()
    assert complaints.complainant_phone.notna().mean() > 0.9
    for path in _inbox(summary):
        _, rows = _hotline_rows(path)
        assert {"ชื่อผู้แจ้ง", "เบอร์โทรศัพท์"} <= set(rows[0]), path.name
        assert all(r[2] and r[3] for r in rows[1:]), path.name
    for ev in _line(summary):
        assert re.fullmatch(r"U[0-9a-f]{32}", ev["source"]["userId"])
    for post in _facebook(summary):
        assert post["from"]["id"].isdigit() and post["from"]["name"]


def test_same_seed_gives_byte_identical_output(summary: DemoSummary, tmp_path: Path) -> None:
    again = generate_demo(tmp_path, seed=summary.seed)
    with sqlite3.connect(_mis_db(summary)) as a, sqlite3.connect(_mis_db(again)) as b:
        for table, key in (("mis_complaint", "complaint_no"), ("mis_complaint_action", "action_id")):
            sql = f"SELECT * FROM {table} ORDER BY {key}"
            assert a.execute(sql).fetchall() == b.execute(sql).fetchall(), table
    first = {p.relative_to(summary.out_dir) for p in summary.out_dir.rglob("*") if p.is_file()}
    second = {p.relative_to(again.out_dir) for p in again.out_dir.rglob("*") if p.is_file()}
    assert first == second
    for rel in sorted(first):
        if rel.suffix != ".sqlite":
            assert (summary.out_dir / rel).read_bytes() == (again.out_dir / rel).read_bytes(), rel


def test_generation_is_fast(demo: tuple[DemoSummary, float]) -> None:
    assert demo[1] < 20
