"""Great Expectations Data Docs of the batch validations: a page per run linked from the index,
naming what failed on which rows; one site across processes; and no personal data in it."""

from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

import pytest

from adapter_fixtures import hotline_csv, hotline_row
from complaints import data_docs, validation
from complaints.adapters import ExtractRequest
from complaints.config import load_config
from complaints.data_docs import build_data_docs, docs_dir, stores_dir
from complaints.ingest import ingest_channel
from complaints.thai_time import BANGKOK
from complaints.validation import validate_records
from complaints.warehouse import ensure_schema, make_engine
from conftest import PSEUDONYM_KEY
from test_validation import record

PHONE = "089-765-4321"
MOJIBAKE_WITH_PHONE = f"à¸‚à¸¢à¸°à¸¥à¹‰à¸™ โทร {PHONE} คุณสมชาย"
BATCH_1, BATCH_2 = "a" * 32, "b" * 32


def text_of(path: Path) -> str:
    """The visible text of an HTML file, unescaped, blanks collapsed."""
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


def linked_pages(index: Path) -> set[Path]:
    hrefs = re.findall(r'href="([^"#?]+\.html)"', index.read_text(encoding="utf-8"))
    return {(index.parent / unquote(h)).resolve() for h in hrefs if not h.startswith(("http:", "https:"))}


def new_process() -> None:
    """What a new Airflow task process starts with: no GX context, no site builder in memory."""
    data_docs._docs.cache_clear()
    validation._batch_definition.cache_clear()


@pytest.fixture(autouse=True)
def fresh_contexts():
    new_process()
    yield
    new_process()


def validate(rows, batch_id: str, source_part: str, data_dir: Path):
    return validate_records("mis", rows, batch_id=batch_id, source_part=source_part, data_dir=data_dir)


def test_the_index_links_a_page_per_run_that_names_the_failed_expectation_and_the_offending_rows(tmp_path):
    rows = [record("T-0001"), record("T-0002", district_code="9999"), record("T-0003")]
    outcome = validate(rows, BATCH_1, "2019-01-15T00:00:00+07:00..2019-01-16T00:00:00+07:00", tmp_path)

    assert [r["source_id"] for r, _ in outcome.failed] == ["T-0002"]
    page = outcome.data_docs_path
    assert page is not None and page.is_file()
    assert page.is_relative_to(docs_dir(tmp_path) / "validations" / "complaints_mis")
    assert outcome.data_docs_url == page.as_uri().replace("+", "%2B")

    index = build_data_docs([validation.build_suite("mis")], tmp_path)
    assert index == (docs_dir(tmp_path) / "index.html").resolve()
    assert page.resolve() in linked_pages(index)
    listed = text_of(index)
    assert "2019-01-15T00:00:00+07:00..2019-01-16T00:00:00+07:00" in listed  # the source part
    assert BATCH_1 in listed and "district not one of Bangkok's 50" in listed and "9999" in listed

    shown = text_of(page)
    assert "district_code" in shown and "values must belong to this set" in shown
    unexpected = re.search(r"Unexpected Value Count source_id row (.{0,60})", shown)
    assert unexpected and unexpected.group(1).startswith("9999 1 T-0002 1"), shown
    assert "district not one of Bangkok's 50" in shown


def test_a_later_process_adds_its_runs_to_the_same_site_and_a_rerun_replaces_its_page(tmp_path):
    first = validate([record("T-0001", status="finished")], BATCH_1, "1555_20190115.csv", tmp_path)
    build_data_docs([validation.build_suite("mis")], tmp_path)

    new_process()
    second = validate([record("T-0101", district_code="9999")], BATCH_2, "1555_20190116.csv", tmp_path)
    index = build_data_docs([validation.build_suite("mis")], tmp_path)
    assert {first.data_docs_path.resolve(), second.data_docs_path.resolve()} <= linked_pages(index)
    assert "status not in the configured list" in text_of(index) and "finished" in text_of(index)

    new_process()  # the first file again (an Airflow retry): one page for the batch, the newer one
    again = validate([record("T-0001", status="finished")], BATCH_1, "1555_20190115.csv", tmp_path)
    index = build_data_docs([validation.build_suite("mis")], tmp_path)
    assert not first.data_docs_path.exists() and again.data_docs_path.is_file()
    pages = {p.resolve() for p in docs_dir(tmp_path).glob("validations/**/*.html")}
    assert pages == {again.data_docs_path.resolve(), second.data_docs_path.resolve()} == linked_pages(index) & pages
    assert len(list(stores_dir(tmp_path).glob("validations/**/*.json"))) == 2


def test_no_personal_data_reaches_the_data_docs_or_the_gx_stores(tmp_path):
    """A daily 1555 ingest: the mojibake description holds a phone number and a name."""
    inbox = tmp_path / "inbox" / "1555"
    inbox.mkdir(parents=True)
    rows = [
        hotline_row("6201150001"),
        hotline_row("6201150002", {"รายละเอียด": MOJIBAKE_WITH_PHONE, "ผลการดำเนินการ": f"โทรกลับ {PHONE}"}),
        hotline_row("6201150003", {"เขต": "เขตเมืองทอง"}),
    ]
    (inbox / "1555_20190115.csv").write_bytes(b"\xef\xbb\xbf" + hotline_csv(rows).encode("utf-8"))
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    ensure_schema(engine)
    request = ExtractRequest(
        channel=load_config().channels["hotline_1555"],
        interval_start=datetime(2019, 1, 15, tzinfo=BANGKOK),
        interval_end=datetime(2019, 1, 16, tzinfo=BANGKOK),
        pseudonym_key=PSEUDONYM_KEY,
        data_dir=tmp_path,
    )
    try:
        summary = ingest_channel(request, engine)
    finally:
        engine.dispose()

    [batch] = summary.batches
    assert (batch.rows_loaded, batch.rows_quarantined) == (1, 2)
    page = Path(batch.data_docs_path)
    assert page.resolve() in linked_pages(docs_dir(tmp_path) / "index.html")
    assert "description is mojibake (wrong text encoding)" in text_of(page)  # the rule ran and failed

    files = [p for root in (docs_dir(tmp_path), stores_dir(tmp_path)) for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" for p in files) and any(p.suffix == ".html" for p in files)
    forbidden = [PHONE, PHONE.replace("-", ""), "081-234-5678", "0812345678", "คุณสมชาย", "มาลี", "à¸"]
    for path in files:
        content = path.read_bytes().decode("utf-8", errors="replace")
        for needle in forbidden:
            assert needle not in content, f"{needle!r} in {path}"


def test_unmapped_labels_are_listed_with_their_counts_even_within_their_threshold(tmp_path):
    rows = [record(f"U-{i:04d}") for i in range(40)]
    rows[3] = record("U-0003", responsible_unit="unmapped", unmapped_unit="กรุงเทพโปร่งใส")
    outcome = validate(rows, BATCH_1, "traffy_fondue_20230512.csv", tmp_path)
    assert len(outcome.valid) == 40 and outcome.unmapped_over_threshold == []  # 1 of 40: within 5 %
    listed = text_of(build_data_docs([validation.build_suite("mis")], tmp_path))
    assert "unit label with no crosswalk line" in listed and "(within its threshold)" in listed
    assert "กรุงเทพโปร่งใส" in listed
    assert "กรุงเทพโปร่งใส" in text_of(outcome.data_docs_path)
