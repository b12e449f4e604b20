"""The pieces `make demo` is built from: its mail server, its job queue and its held delivery."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from adapter_fixtures import day_request
from complaints.ingest import QualityGateError, ingest_channel
from complaints.thai_time import BANGKOK
from complaints.warehouse import ensure_schema, make_engine
from devtools.demo.generate import write_held_hotline_delivery
from devtools.demo.mail_sink import MailSink
from devtools.demo.run_dags import take_job, write_jobs


def test_mail_sent_through_the_airflow_smtp_hook_is_saved_as_an_eml_file(tmp_path, monkeypatch):
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with MailSink(tmp_path / "mail") as sink:
        for name, value in sink.connection_env().items():
            monkeypatch.setenv(name, value)
        with SmtpHook(smtp_conn_id="complaints_smtp") as hook:
            hook.send_email_smtp(
                to=["district-head@district.example"],
                subject="รายการเรื่องใกล้ครบกำหนด ณ 30 ส.ค. 2562",
                html_content="<p>เขตบางรัก 3 เรื่อง</p>",
            )
    [saved] = sink.saved
    assert saved.suffix == ".eml" and saved.parent == tmp_path / "mail"
    assert "รายการเรื่องใกล้ครบกำหนด" in saved.name, "the Thai subject survives in the file name"
    message = email.message_from_bytes(saved.read_bytes(), policy=email.policy.default)
    assert message["To"] == "district-head@district.example"
    assert message["Subject"] == "รายการเรื่องใกล้ครบกำหนด ณ 30 ส.ค. 2562"
    assert "เขตบางรัก 3 เรื่อง" in message.get_body(("html",)).get_content()


def test_two_workers_take_every_job_once_in_queue_order(tmp_path):
    jobs = [("daily", f"channel{i}", "2018-10-01", "2019-11-01") for i in range(40)]
    write_jobs(tmp_path, jobs)
    taken: dict[str, list[list[str]]] = {"a": [], "b": []}

    def worker(name: str) -> None:
        while (job := take_job(tmp_path, name)) is not None:
            taken[name].append(job)

    threads = [threading.Thread(target=worker, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = taken["a"] + taken["b"]
    assert sorted(map(tuple, everything)) == sorted(jobs), "no job lost, none taken twice"
    for name in taken:
        positions = [jobs.index(tuple(job)) for job in taken[name]]
        assert positions == sorted(positions), "each worker takes the jobs in the queue's order"
    assert not list(tmp_path.glob("*.job")), "every job file is claimed (renamed)"
    claimed = sorted(tmp_path.glob("000.taken-*"))
    assert len(claimed) == 1 and json.loads(claimed[0].read_text()) == list(jobs[0])


def test_the_demos_late_1555_delivery_is_held_by_the_quality_gate(tmp_path):
    path = write_held_hotline_delivery(tmp_path / "inbox" / "1555", date(2019, 11, 1))
    assert path.name == "1555_20191101.csv"
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    ensure_schema(engine)
    request = day_request("hotline_1555", datetime(2019, 11, 1, tzinfo=BANGKOK), tmp_path)
    with pytest.raises(QualityGateError, match=r"6 of 24 rows \(25.0%\) failed validation"):
        ingest_channel(request, engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM complaint")).scalar_one() == 0, "nothing of it loaded"
        assert conn.execute(text("SELECT count(*) FROM quarantine")).scalar_one() == 24, "every row kept"
    engine.dispose()
    assert path.exists(), "a held file stays in the inbox"
    assert Path(path).read_bytes() == write_held_hotline_delivery(tmp_path / "again", date(2019, 11, 1)).read_bytes()
