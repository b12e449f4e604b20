"""End to end: the daily overdue digest DAG, run through Airflow (``dag.test()``) on a small
SQLite warehouse, publishes each unit's files to the shared drive and e-mails the summary to a
real SMTP server."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pendulum
import pytest
from openpyxl import load_workbook

from complaints.config import load_config
from complaints.overdue_tasks import digest_as_of
from complaints.warehouse import ensure_schema, make_engine
from smtp_inbox import smtp_inbox  # noqa: F401  (the fixture)
from test_overdue_digest import CLEANSING, DIGEST_ROOT, load_scenario

pytestmark = [pytest.mark.airflow]

DAG_FILE = Path(__file__).resolve().parents[1] / "dags" / "complaints_overdue_digest.py"


@pytest.fixture
def digest_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(DAG_FILE))
    assert bag.import_errors == {}
    dag = bag.dags["complaints_overdue_digest"]
    for task in dag.tasks:  # a failure fails the test now instead of waiting for the retry delay
        task.retries = 0
    return dag


def test_the_6am_run_publishes_yesterdays_digest_and_emails_the_summary(
    digest_dag,
    smtp_inbox,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    engine = make_engine(url)
    ensure_schema(engine)
    load_scenario(engine)
    engine.dispose()
    drive = tmp_path / "data" / "shared-drive"  # quarterly.publish (kind: local) is the default target
    drive.mkdir(parents=True)
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(drive.parent))
    monkeypatch.setenv(
        "AIRFLOW_CONN_COMPLAINTS_WAREHOUSE", json.dumps({"conn_type": "sqlite", "extra": {"sqlalchemy_url": url}})
    )
    monkeypatch.setitem(load_config().raw["overdue_digest"], "recipients", ["duty-officer@district.example"])

    # The run of Friday 12 April 2019, 06:00 Bangkok: the states at the end of Thursday 11 April.
    run = digest_dag.test(logical_date=pendulum.datetime(2019, 4, 12, 6, tz="Asia/Bangkok"))
    assert str(run.state) == "success"

    folder = drive / DIGEST_ROOT / "เขตบางรัก" / CLEANSING
    assert sorted(p.name for p in folder.iterdir()) == ["2019-04-11.html", "2019-04-11.xlsx"]
    assert len(list(drive.rglob("*.xlsx"))) == 4
    sheet = load_workbook(folder / "2019-04-11.xlsx", read_only=True)["รายการเรื่อง"]
    assert [r[2] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        "breached",
        "resolved-later",
        "due-tomorrow",
        "fresh",
        "holiday",
    ]
    assert "ข้อมูล ณ สิ้นวันที่ 11 เมษายน 2562" in (folder / "2019-04-11.html").read_text(encoding="utf-8")

    [mail] = smtp_inbox.received
    assert mail.rcpt_tos == ["duty-officer@district.example"]
    assert "ข้อมูล ณ 11 เมษายน 2562" in mail.subject
    assert str(folder / "2019-04-11.xlsx") in mail.html


@pytest.mark.parametrize(
    ("logical_date", "as_of"),
    [
        (pendulum.datetime(2019, 4, 12, 6, tz="Asia/Bangkok"), date(2019, 4, 11)),
        (pendulum.datetime(2019, 4, 11, 23, tz="UTC"), date(2019, 4, 11)),  # the same instant
        (pendulum.datetime(2019, 10, 1, 0, 30, tz="Asia/Bangkok"), date(2019, 9, 30)),
    ],
)
def test_the_digest_day_is_the_bangkok_day_before_the_run(logical_date, as_of):
    assert digest_as_of({"logical_date": logical_date}) == as_of
    assert digest_as_of({"logical_date": logical_date, "params": {"as_of": "2019-01-02"}}) == date(2019, 1, 2)
