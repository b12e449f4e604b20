"""End to end through Airflow, against a real SMTP server (aiosmtpd) and the SMTP provider:

* a daily run that breaches the quarantine threshold fails under ``dag.test()``, which runs
  the task, and so its ``on_failure_callback``, in-process: the quality-gate alert arrives;
* the Deadline Alert the way the scheduler and triggerer handle it: a scheduled run created
  from the DAG as serialised in the metadata database gets a ``deadline`` row at 07:00
  Bangkok the morning after its day; Airflow's own miss handling queues a CallbackTrigger,
  and running that trigger mails the deadline alert (or, for a long-past day, only logs it).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pendulum
import pytest
from sqlalchemy import create_engine, select, text

from adapter_fixtures import hotline_csv, hotline_row
from conftest import PSEUDONYM_KEY
from test_alerts import Inbox, assert_no_personal_data, running_smtp_server

pytestmark = [pytest.mark.airflow]

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"
BANGKOK = pendulum.timezone("Asia/Bangkok")
DAG_ID = "complaints_daily_hotline_1555"


@pytest.fixture
def mail(monkeypatch) -> Inbox:
    with running_smtp_server(monkeypatch) as inbox:
        yield inbox


@pytest.fixture
def failing_1555_day(airflow_db, tmp_path, monkeypatch):
    """A 1555 file for 15 January with 5 of 35 rows in an unknown district (14% > the 5% threshold),
    a SQLite warehouse and the connections the daily DAG reads."""
    data = tmp_path / "data"
    inbox = data / "inbox" / "1555"
    inbox.mkdir(parents=True)
    rows = [hotline_row(f"62011500{i:02d}") for i in range(30)]
    rows += [hotline_row(f"62011599{i:02d}", {"เขต": "ปากเกร็ด"}) for i in range(5)]
    (inbox / "1555_20190115.csv").write_bytes(b"\xef\xbb\xbf" + hotline_csv(rows).encode("utf-8"))
    warehouse = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(data))
    monkeypatch.setenv(
        "AIRFLOW_CONN_COMPLAINTS_WAREHOUSE", json.dumps({"conn_type": "sqlite", "extra": {"sqlalchemy_url": warehouse}})
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_COMPLAINTS_PSEUDONYM_KEY", json.dumps({"conn_type": "generic", "password": PSEUDONYM_KEY})
    )
    return {"warehouse_url": warehouse, "data": data}


@pytest.fixture
def hotline_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(DAGS_DIR))
    assert bag.import_errors == {}
    dag = bag.dags[DAG_ID]
    # Production retries twice (5 and 10 minutes apart) before the task fails for good and the
    # failure callback runs; dag.test() would wait out those delays, so this run does not retry.
    for task in dag.tasks:
        task.retries = 0
    return dag


def test_a_run_over_the_quarantine_threshold_fails_and_mails_the_quality_gate_alert(
    failing_1555_day, hotline_dag, mail
):
    # dag.test() makes a manual run, whose data interval is the last whole day before its
    # logical date: this is the run of 15 January.
    run = hotline_dag.test(logical_date=pendulum.datetime(2019, 1, 16, tz=BANGKOK))
    assert str(run.state) == "failed"
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states == {
        "prepare_warehouse": "success",
        "ingest_interval": "failed",
        "check_channel_freshness": "upstream_failed",
    }

    engine = create_engine(failing_1555_day["warehouse_url"])
    with engine.connect() as conn:
        (batch_id,) = conn.execute(text("SELECT batch_id FROM ingest_batch WHERE outcome = 'rejected'")).one()
    engine.dispose()
    subject, body, recipients = mail.only()
    assert recipients == ["complaints-data-team@example.org"]  # alerts.email.to
    assert "Data-quality gate" in subject and "hotline_1555" in subject and DAG_ID in subject
    assert "2019-01-15" in subject
    assert "2019-01-15 00:00+07:00 to 2019-01-16 00:00+07:00" in body
    assert "QualityGateError" in body and "5 of 35 rows (14.3%) failed validation" in body
    assert f"FROM quarantine WHERE batch_id = &#x27;{batch_id}&#x27;" in body
    assert (failing_1555_day["data"] / "data-docs" / "index.html").as_uri() in body
    assert f"/dags/{DAG_ID}/runs/{run.run_id.replace(':', '%3A').replace('+', '%2B')}" in body
    assert_no_personal_data(subject, body)


def _serialise_dags_to_the_metadata_db() -> None:
    """What the DAG processor does: parse the bundle and write the serialised DAGs (and their
    deadline alerts) to the metadata database."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(bag, bundle.name, bundle.version)


def _scheduled_run_deadline(session, day: datetime):
    """Create the scheduled run of ``day`` as the scheduler does; return its Deadline row."""
    from airflow.models import DagRun
    from airflow.models.deadline import Deadline
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    scheduler_dag = SerializedDagModel.get_dag(DAG_ID, session=session)
    start, end = day, day + timedelta(days=1)
    run = scheduler_dag.create_dagrun(
        run_id=DagRun.generate_run_id(run_type=DagRunType.SCHEDULED, logical_date=start, run_after=end),
        logical_date=start,
        data_interval=(start, end),
        run_after=end,
        run_type=DagRunType.SCHEDULED,
        triggered_by=DagRunTriggeredByType.TIMETABLE,
        state=DagRunState.QUEUED,
        session=session,
    )
    session.flush()
    (deadline,) = session.scalars(select(Deadline).where(Deadline.dagrun_id == run.id)).all()
    return run, deadline


def _fire(session, deadline) -> list[dict]:
    """Airflow's miss handling (the scheduler's call), then the queued CallbackTrigger run to completion
    (the triggerer's part); returns the trigger's events."""
    from airflow.sdk._shared.module_loading import import_string

    deadline.handle_miss(session)
    session.flush()
    trigger = deadline.callback.trigger
    assert trigger.classpath == "airflow.triggers.callback.CallbackTrigger"
    classpath, kwargs = trigger.classpath, trigger.kwargs

    async def run_trigger():
        return [event.payload async for event in import_string(classpath)(**kwargs).run()]

    return asyncio.run(run_trigger())


def test_a_scheduled_daily_run_gets_its_deadline_and_a_missed_one_mails_the_alert(airflow_db, mail):
    from airflow import settings

    _serialise_dags_to_the_metadata_db()
    session = settings.Session()
    try:
        # 15 January 2019: the deadline is 07:00 Bangkok on the 16th; it is long past, so the
        # notifier treats the run as a catch-up and only logs it.
        _, old_deadline = _scheduled_run_deadline(session, datetime(2019, 1, 15, tzinfo=BANGKOK))
        assert old_deadline.deadline_time == datetime(2019, 1, 16, 7, 0, tzinfo=BANGKOK)
        assert old_deadline.callback.data["path"] == "complaints.alerts.DeadlineMissedNotifier"
        assert old_deadline.callback.data["kwargs"] == {"channel": "hotline_1555", "deadline_local_time": "07:00"}
        assert _fire(session, old_deadline)[-1] == {"state": "success", "body": "logged: historical run"}
        assert mail.messages == []

        # Yesterday's run: its deadline is 07:00 this morning, so a miss is mailed.
        today = datetime.now(UTC).astimezone(BANGKOK).replace(hour=0, minute=0, second=0, microsecond=0)
        yesterday = today - timedelta(days=1)
        run, deadline = _scheduled_run_deadline(session, yesterday)
        assert deadline.deadline_time == today.replace(hour=7)
        assert _fire(session, deadline)[-1] == {"state": "success", "body": "sent: email"}
        subject, body, _ = mail.only()
        assert "past its deadline" in subject and "hotline_1555" in subject
        assert yesterday.date().isoformat() in subject and "07:00 Bangkok time" in body
        assert "Run state when the deadline passed: queued" in body
        assert run.run_id.replace(":", "%3A").replace("+", "%2B") in body
    finally:
        session.rollback()
        session.close()
