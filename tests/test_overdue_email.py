"""The overdue digest's summary e-mail, sent through Airflow's SMTP provider to a real SMTP
server (aiosmtpd) on 127.0.0.1: counts per district/unit and the published paths, nothing else."""

from __future__ import annotations

import json
import re
import socket
from datetime import date

import pytest

from complaints.config import load_config
from complaints.overdue import DigestSummary, PublishedUnit, UnitCounts, publish_digest, send_summary_email
from complaints.overdue_tasks import email_overdue_summary
from complaints.publish import LocalFolderTarget
from smtp_inbox import FROM_EMAIL, smtp_inbox  # noqa: F401  (the fixture)
from test_overdue_digest import DESCRIPTION, PSEUDONYM, REPORT, digest  # noqa: F401  (digest is a fixture)

RECIPIENTS = ["director@district.example", "duty-officer@district.example"]


@pytest.fixture
def summary(digest, tmp_path) -> DigestSummary:  # noqa: F811
    drive = tmp_path / "shared-drive"
    drive.mkdir()
    return publish_digest(digest, LocalFolderTarget(drive))


def test_the_summary_email_is_received_with_counts_and_paths_and_no_matter_details(summary, smtp_inbox):  # noqa: F811
    send_summary_email(summary, RECIPIENTS)

    [mail] = smtp_inbox.received
    assert mail.mail_from == FROM_EMAIL  # the connection's from_email extra
    assert mail.rcpt_tos == RECIPIENTS
    assert mail.subject == ("รายการเรื่องร้องเรียนที่เกินกำหนดหรือใกล้ครบกำหนด ข้อมูล ณ 11 เมษายน 2562: 9 เรื่อง 4 หน่วยงาน")
    html = mail.html
    assert "ข้อมูล ณ สิ้นวันที่ 11 เมษายน 2562" in html
    for unit in summary.units:
        for path in unit.files:
            assert path in html
    # Bang Rak, cleansing and parks: acknowledgement 0 breached / 1 due soon, resolution 2 / 2, 5 matters
    rows = {
        (m[1], m[2]): [int(n) for n in re.findall(r'<td align="right">(\d+)</td>', m[3])]
        for m in re.finditer(r"<tr>\s*<td>([^<]*)</td><td>([^<]*)</td>(.*?)</tr>", html, re.S)
    }
    assert rows[("บางรัก", "ฝ่ายรักษาความสะอาดและสวนสาธารณะ")] == [0, 1, 2, 2, 5]
    assert rows[("บางรัก", "ไม่ระบุหน่วยงาน")] == [1, 0, 0, 0, 1]
    assert len(rows) == 4
    assert "รวมทั้งสิ้น" in html and "เฟซบุ๊ก" in html  # totals row; stale channel named
    for detail in ("due-tomorrow", "resolved-later", PSEUDONYM, DESCRIPTION, REPORT, "081-234-5678"):
        assert detail not in html and detail not in mail.subject


def test_the_summary_survives_the_trip_between_tasks_as_json(summary):
    assert DigestSummary.from_dict(json.loads(json.dumps(summary.to_dict()))) == summary


def test_the_email_task_sends_to_the_configured_recipients_or_to_nobody(summary, smtp_inbox, monkeypatch):  # noqa: F811
    settings = load_config().raw["overdue_digest"]
    monkeypatch.setitem(settings, "recipients", [])
    assert email_overdue_summary(summary.to_dict()) == {"sent": False, "recipients": 0}
    assert smtp_inbox.received == []

    monkeypatch.setitem(settings, "recipients", RECIPIENTS[:1])
    monkeypatch.setitem(settings, "from_email", "overdue-digest@district.example")
    assert email_overdue_summary(summary.to_dict()) == {"sent": True, "recipients": 1}
    [mail] = smtp_inbox.received
    assert (mail.mail_from, mail.rcpt_tos) == ("overdue-digest@district.example", RECIPIENTS[:1])


def test_names_in_the_email_are_escaped(smtp_inbox):  # noqa: F811
    unit = PublishedUnit("1004", "บางรัก", "x", "<script>alert(1)</script>", UnitCounts(1, 1, 0, 0, 0), ["/a/b.xlsx"])
    summary = DigestSummary(date(2019, 4, 11), 3, 1, 15, "local folder /a", [unit], ["<img src=x>"])
    send_summary_email(summary, RECIPIENTS[:1])
    html = smtp_inbox.received[0].html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html


def test_an_empty_digest_still_sends_a_summary_saying_so(smtp_inbox):  # noqa: F811
    empty = DigestSummary(date(2019, 4, 11), 3, 1, 15, "local folder /a", [], [])
    send_summary_email(empty, RECIPIENTS[:1])
    [mail] = smtp_inbox.received
    assert mail.subject.endswith(": 0 เรื่อง 0 หน่วยงาน")
    assert "ไม่มีเรื่องที่เกินกำหนดหรือใกล้ครบกำหนด" in mail.html


def test_an_unreachable_smtp_server_fails_the_send(summary, monkeypatch):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(
        "AIRFLOW_CONN_COMPLAINTS_SMTP",
        json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                    "extra": {"disable_ssl": True, "disable_tls": True, "from_email": FROM_EMAIL, "timeout": 5}}),
    )  # fmt: skip
    with pytest.raises(OSError):
        send_summary_email(summary, RECIPIENTS)
