"""The local LINE / Facebook API server: paging, filtering, auth, flakiness, faults, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devtools.demo.api_server import ApiServer

PROJECT_ROOT = Path(__file__).resolve().parents[1]
T0 = 1_547_485_200_000  # 2019-01-15 00:00 Bangkok, in epoch ms
HOUR_MS = 3_600_000


def _line_event(n: int, updated_ms: int) -> dict:
    return {
        "type": "message",
        "webhookEventId": f"01HLINE{n:04d}",
        "timestamp": updated_ms - HOUR_MS,
        "source": {"type": "user", "userId": f"U4af4980629{n:04d}"},
        "message": {"type": "text", "id": f"4685{n:04d}", "text": f"ขยะล้นถังหน้าซอย {n}"},
        "location": None,
        "complaint": {"district": "เขตบางรัก", "category": "ขยะ", "status": "รับเรื่อง", "updatedAt": updated_ms},
    }


def _fb_post(n: int, updated: str) -> dict:
    return {
        "id": f"104857_{n:06d}",
        "created_time": "2019-01-15T01:00:00+0000",
        "updated_time": updated,
        "message": f"ถนนชำรุด เป็นหลุมลึก จุดที่ {n}",
        "from": {"id": f"2958310{n:03d}", "name": "สมศรี ใจดี"},
        "complaint": {"district": "บางรัก", "category": "ถนน", "status": "อยู่ระหว่างดำเนินการ"},
    }


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    sources = tmp_path / "sources"
    sources.mkdir()
    # 7 events inside [T0, T0 + 24h), one exactly at the end (excluded), one before the start
    events = [_line_event(n, T0 + n * HOUR_MS) for n in range(7)]
    events += [_line_event(90, T0 + 24 * HOUR_MS), _line_event(91, T0 - 1)]
    (sources / "line_events.json").write_text(json.dumps(events[::-1], ensure_ascii=False), encoding="utf-8")
    posts = [_fb_post(n, f"2019-01-15T0{n}:30:00+0000") for n in range(5)]
    posts += [_fb_post(90, "2019-01-15T17:00:00+0000"), _fb_post(91, "2019-01-14T16:59:59+0000")]
    (sources / "facebook_posts.json").write_text(json.dumps(posts, ensure_ascii=False), encoding="utf-8")
    return tmp_path


LINE_WINDOW = {"start_time": T0, "end_time": T0 + 24 * HOUR_MS}
FB_WINDOW = {"since": T0 // 1000, "until": T0 // 1000 + 86_400}


def test_line_pages_cover_the_updated_at_window_exactly_once(data_dir: Path) -> None:
    with ApiServer(data_dir, token="s3cret", flaky=False) as server:
        ids, page, has_next = [], 1, True
        while has_next:
            body = requests.get(
                f"{server.base_url}/v1/complaints",
                params={**LINE_WINDOW, "page": page, "limit": 3},
                headers={"Authorization": "Bearer s3cret"},
                timeout=5,
            ).json()
            assert body["page"] == page
            ids += [e["webhookEventId"] for e in body["events"]]
            has_next, page = body["hasNext"], page + 1
    assert page - 1 == 3
    assert ids == [f"01HLINE{n:04d}" for n in range(7)]  # sorted by updatedAt, end excluded, start included


def test_line_refuses_a_missing_or_wrong_bearer_token_with_401(data_dir: Path) -> None:
    with ApiServer(data_dir, token="s3cret", flaky=False) as server:
        url = f"{server.base_url}/v1/complaints"
        assert requests.get(url, params=LINE_WINDOW, timeout=5).status_code == 401
        wrong = requests.get(url, params=LINE_WINDOW, headers={"Authorization": "Bearer nope"}, timeout=5)
        assert wrong.status_code == 401
        assert "access token" in wrong.json()["message"]


def test_flaky_server_answers_503_once_per_distinct_page(data_dir: Path) -> None:
    with ApiServer(data_dir, flaky=True) as server:
        url = f"{server.base_url}/v1/complaints"
        statuses = [
            requests.get(url, params={**LINE_WINDOW, "page": p, "limit": 3}, timeout=5).status_code
            for p in (1, 1, 1, 2, 2)
        ]
    assert statuses == [503, 200, 200, 503, 200]


def test_facebook_cursor_paging_follows_absolute_next_urls_with_the_token(data_dir: Path) -> None:
    with ApiServer(data_dir, token="fbtoken", flaky=False) as server:
        url = f"{server.base_url}/v19.0/104857/complaints"
        params: dict | None = {**FB_WINDOW, "limit": 2, "access_token": "fbtoken"}
        ids, pages = [], 0
        while url:
            body = requests.get(url, params=params, timeout=5).json()
            pages += 1
            ids += [p["id"] for p in body["data"]]
            url, params = body.get("paging", {}).get("next"), None
            if url:
                assert url.startswith(server.base_url)
                assert parse_qs(urlsplit(url).query)["access_token"] == ["fbtoken"]
    assert pages == 3
    assert ids == [f"104857_{n:06d}" for n in range(5)]


def test_facebook_refuses_a_wrong_access_token_and_an_unknown_page(data_dir: Path) -> None:
    with ApiServer(data_dir, token="fbtoken", flaky=False) as server:
        wrong = requests.get(
            f"{server.base_url}/v19.0/104857/complaints",
            params={**FB_WINDOW, "access_token": "nope"},
            timeout=5,
        )
        unknown = requests.get(
            f"{server.base_url}/v19.0/999/complaints",
            params={**FB_WINDOW, "access_token": "fbtoken"},
            timeout=5,
        )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["type"] == "OAuthException"
    assert unknown.status_code == 404


def test_injected_faults_keep_failing_or_answer_a_body_that_is_not_json(data_dir: Path) -> None:
    faults = {("line", 2): "error", ("facebook", 1): "malformed"}
    with ApiServer(data_dir, flaky=False, faults=faults) as server:
        line = f"{server.base_url}/v1/complaints"
        assert requests.get(line, params={**LINE_WINDOW, "page": 1, "limit": 3}, timeout=5).status_code == 200
        assert [
            requests.get(line, params={**LINE_WINDOW, "page": 2, "limit": 3}, timeout=5).status_code for _ in range(3)
        ] == [500, 500, 500]
        broken = requests.get(f"{server.base_url}/v19.0/104857/complaints", params=FB_WINDOW, timeout=5)
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()


def test_bad_parameters_get_400_and_unknown_paths_404(data_dir: Path) -> None:
    with ApiServer(data_dir, flaky=False) as server:
        assert requests.get(f"{server.base_url}/v1/complaints", params={"page": "two"}, timeout=5).status_code == 400
        assert (
            requests.get(f"{server.base_url}/v19.0/104857/complaints", params={"after": "!!"}, timeout=5).status_code
            == 400
        )
        assert requests.get(f"{server.base_url}/v1/complaints", params={"limit": 0}, timeout=5).status_code == 400
        assert requests.get(f"{server.base_url}/v2/other", timeout=5).status_code == 404


def test_server_rereads_the_data_file_when_it_changes(data_dir: Path) -> None:
    with ApiServer(data_dir, flaky=False) as server:
        url = f"{server.base_url}/v1/complaints"
        before = requests.get(url, params={**LINE_WINDOW, "limit": 100}, timeout=5).json()["events"]
        (data_dir / "sources" / "line_events.json").write_text(
            json.dumps([_line_event(1, T0 + 5)], ensure_ascii=False), encoding="utf-8"
        )
        after = requests.get(url, params={**LINE_WINDOW, "limit": 100, "page": 1}, timeout=5).json()["events"]
    assert len(before) == 7
    assert [e["webhookEventId"] for e in after] == ["01HLINE0001"]


def test_missing_source_files_serve_empty_results(tmp_path: Path) -> None:
    with ApiServer(tmp_path, flaky=False) as server:
        line = requests.get(f"{server.base_url}/v1/complaints", timeout=5).json()
        facebook = requests.get(f"{server.base_url}/v19.0/104857/complaints", timeout=5).json()
    assert line == {"events": [], "page": 1, "hasNext": False}
    assert facebook == {"data": []}


def test_cli_prints_the_base_url_and_serves_until_terminated(data_dir: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.demo.api_server",
            "--data-dir",
            str(data_dir),
            "--token",
            "t0k",
            "--no-flaky",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
        env={"PYTHONPATH": f"{PROJECT_ROOT / 'plugins'}:{PROJECT_ROOT}", "PATH": "/usr/bin:/bin"},
    )
    try:
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        answer = requests.get(
            f"{base_url}/v1/complaints",
            params={**LINE_WINDOW, "limit": 100},
            headers={"Authorization": "Bearer t0k"},
            timeout=5,
        )
        assert answer.status_code == 200
        assert len(answer.json()["events"]) == 7
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
