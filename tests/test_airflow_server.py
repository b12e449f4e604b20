"""`make airflow` end to end: the launcher starts Airflow (API server, scheduler, DAG processor,
triggerer; LocalExecutor, SQLite metadata) in a temporary home and data directory on a free port,
the REST API v2 lists every DAG of the project without import errors, a triggered daily run
loads the warehouse, the API server's plugin app receives a signed LINE webhook into the
warehouse's inbox, and the UI shows the DAG list in a real (headless) Chromium."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import PROJECT_ROOT
from devtools.demo.airflow_local import AirflowApi, running

pytestmark = [pytest.mark.airflow]

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
DAILY_DAG = "complaints_daily_mis"
LOGICAL_DATE = "2019-01-14T00:00:00+07:00"
RUN_CONF = {"interval_start": "2019-01-14", "interval_end": "2019-01-17"}  # three demo days
DAG_LIST_TIMEOUT_S = 90
RUN_TIMEOUT_S = 150
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def expected_dag_ids() -> list[str]:
    """The DAGs the project's dags/ folder defines, parsed here the way the DAG processor does."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    assert bag.dag_ids, "no DAGs in dags/"
    return sorted(bag.dag_ids)


@pytest.fixture(scope="module")
def airflow_server(tmp_path_factory) -> Iterator[tuple[AirflowApi, Path]]:
    """One Airflow for the module, as `make airflow` starts it; its process group is always killed."""
    root = tmp_path_factory.mktemp("airflow-server")
    with running(airflow_home=root / "home", data=root / "data", log_file=root / "launcher.log") as api:
        yield api, root


def wait_for_dags(api: AirflowApi, expected: list[str]) -> list[str]:
    """The DAG ids the API lists, once every expected one is there (the DAG processor parses them)."""
    deadline = time.monotonic() + DAG_LIST_TIMEOUT_S
    listed = api.dag_ids()
    while not set(expected) <= set(listed) and time.monotonic() < deadline:
        time.sleep(2)
        listed = api.dag_ids()
    return listed


def test_rest_api_lists_every_dag_and_a_triggered_daily_run_succeeds(airflow_server, expected_dag_ids):
    api, root = airflow_server
    assert api.health()["metadatabase"]["status"] == "healthy"

    assert wait_for_dags(api, expected_dag_ids) == expected_dag_ids
    assert api.import_errors() == []

    assert DAILY_DAG in expected_dag_ids
    state, tasks = api.run_dag(DAILY_DAG, logical_date=LOGICAL_DATE, conf=RUN_CONF, timeout=RUN_TIMEOUT_S)
    assert state == "success", f"{DAILY_DAG} ended {state}: {tasks}"
    assert tasks and set(tasks.values()) == {"success"}

    # The run read the conf's window (Bangkok days = 17:00 UTC) and loaded the warehouse.
    engine = create_engine(f"sqlite:///{root / 'data' / 'warehouse.sqlite'}")
    with engine.connect() as conn:
        batches = conn.execute(
            text("SELECT interval_start, interval_end, rows_loaded FROM ingest_batch WHERE channel = 'mis'")
        ).all()
        complaints = conn.execute(text("SELECT COUNT(*) FROM complaint WHERE channel = 'mis'")).scalar_one()
    engine.dispose()
    window = [
        b for b in batches if str(b[0]).startswith("2019-01-13 17:00") and str(b[1]).startswith("2019-01-16 17:00")
    ]
    assert window, f"no batch for the window: {batches}"
    assert sum(b.rows_loaded for b in window) > 0
    assert complaints > 0


def test_the_api_server_receives_a_signed_line_webhook_into_the_inbox(airflow_server):
    import base64
    import hashlib
    import hmac
    import json

    import requests

    from devtools.demo.environment import LINE_CHANNEL_SECRET

    api, root = airflow_server
    url = f"{api.base_url}/complaints-webhooks/line/webhook"
    body = (PROJECT_ROOT / "tests" / "fixtures" / "line" / "conversation.json").read_bytes()
    digest = hmac.new(LINE_CHANNEL_SECRET.encode(), body, hashlib.sha256).digest()
    assert requests.post(url, data=body, headers={"X-Line-Signature": "bad"}, timeout=30).status_code == 401
    answer = requests.post(url, data=body, headers={"X-Line-Signature": base64.b64encode(digest).decode()}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] + answer.json()["redelivered"] == len(json.loads(body)["events"])
    engine = create_engine(f"sqlite:///{root / 'data' / 'warehouse.sqlite'}")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT COUNT(*) FROM webhook_inbox WHERE source = 'line'")).scalar_one()
    engine.dispose()
    assert stored == len(json.loads(body)["events"])


def test_ui_shows_the_dag_list(airflow_server, expected_dag_ids):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"the UI check needs Chromium ({CHROMIUM}): `make test` installs the Debian package when root")
    api, _ = airflow_server
    wait_for_dags(api, expected_dag_ids)
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "airflow-dag-list.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 420 + 135 * len(expected_dag_ids)})
            page.set_default_timeout(30_000)
            page.goto(f"{api.base_url}/dags")
            page.wait_for_load_state("networkidle")
            asked_to_log_in = "/auth/login" in page.url
            if asked_to_log_in:  # SimpleAuthManager's login form
                page.fill("input[name=username]", api.username)
                page.fill("input[name=password]", api.password)
                page.locator("button[type=submit]").click()
                page.wait_for_url(re.compile(r".*/dags"))
            for dag_id in expected_dag_ids:
                page.get_by_text(dag_id, exact=True).first.wait_for()
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(screenshot))
            body = page.inner_text("body")
        finally:
            browser.close()
    assert asked_to_log_in, "the local UI is documented to ask for the admin login"
    assert f"{len(expected_dag_ids)} Dags" in body
    missing = [dag_id for dag_id in expected_dag_ids if dag_id not in body]
    assert missing == [], f"DAGs not on the page: {missing}"
    assert screenshot.stat().st_size > 10_000
