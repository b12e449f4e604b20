"""The real public Traffy Fondue export (a 1,000-row sample of May 2023, its quirks listed in the
README beside it) loads: the batch is not held, only the rows really outside Bangkok are
quarantined, and no loaded row has an empty responsible unit unless it is flagged 'unmapped'
with the organization's raw label. The file is read where it lies (never copied into the repo:
it holds citizens' own text); without it the tests skip and say why."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from complaints import warehouse
from complaints.adapters import ExtractRequest
from complaints.adapters import traffy_fondue as traffy
from complaints.config import UNMAPPED, load_config
from complaints.ingest import ingest_channel
from complaints.thai_time import BANGKOK
from conftest import PSEUDONYM_KEY

REAL_EXPORT = Path("/work/shared/realdata/traffy/teamchadchart_2023-05.csv")
OUTSIDE_BANGKOK = {"ยโสธร": 2, "พะเยา": 1, "สมุทรปราการ": 1}  # README, point 7

pytestmark = pytest.mark.skipif(
    not REAL_EXPORT.is_file(),
    reason=f"the real Traffy Fondue sample {REAL_EXPORT} is not on this machine (see its README for the source)",
)


def _request(data_dir: Path) -> ExtractRequest:
    inbox = data_dir / "inbox" / "traffy_fondue"
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REAL_EXPORT, inbox / "traffy_fondue_20230512.csv")  # the file byte for byte, as dropped
    return ExtractRequest(
        channel=load_config().channels["traffy_fondue"],
        interval_start=datetime(2023, 5, 11, tzinfo=BANGKOK),
        interval_end=datetime(2023, 5, 13, tzinfo=BANGKOK),
        pseudonym_key=PSEUDONYM_KEY,
        data_dir=data_dir,
    )


def test_the_real_export_parses_with_only_the_rows_outside_bangkok_rejected(tmp_path: Path) -> None:
    request = _request(tmp_path)
    [part] = traffy.plan(request)
    batch = traffy.read(request, part)
    assert batch.rows_read == 1000
    assert Counter(r.reason for r in batch.rejects) == {
        f"outside Bangkok: province {name!r}": n for name, n in OUTSIDE_BANGKOK.items()
    }
    records = batch.records
    # the 145 rows spelled จังหวัดกรุงเทพมหานคร are Bangkok; every district is one of the 50
    assert all(r["district_code"] is not None for r in records)
    # the 12 tickets without ticket_id: surrogate keys, flagged, distinct
    surrogates = [r for r in records if r["source_id_is_surrogate"]]
    assert len(surrogates) == 12 and len({r["source_id"] for r in surrogates}) == 12
    assert all(r["source_id"].startswith(traffy.SURROGATE_PREFIX) for r in surrogates)
    # the source's clock skew (8-72 ms) is tolerated and recorded, never "updated before received"
    skewed = [r["clock_skew_ms"] for r in records if r["clock_skew_ms"] is not None]
    assert len(skewed) == 135 and min(skewed) >= 8 and max(skewed) <= 72  # 139 in the file, 4 outside Bangkok
    assert all(r["source_updated_at"] >= r["received_at"] for r in records)
    # the comma-list organization is read: no silent NULL unit
    for record in records:
        assert record["responsible_unit"] is not None, record["source_id"]
        if record["responsible_unit"] == UNMAPPED:
            assert record["unmapped_unit"], record["source_id"]
    # its three states map by their status_type (waiting, inprogress) or the label crosswalk
    assert Counter(r["status"] for r in records) == {"in_progress": 473, "received": 425, "resolved": 98}


def test_the_real_export_loads_without_being_held_and_lists_its_unmapped_values(engine, tmp_path: Path) -> None:
    summary = ingest_channel(_request(tmp_path), engine)
    [batch] = summary.batches
    assert batch.outcome == "loaded_with_warnings", batch.message
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (1000, 996, 4)
    with engine.connect() as conn:
        reasons = Counter(r for (r,) in conn.execute(text("SELECT reasons FROM quarantine")))
        silent = conn.execute(
            text(
                "SELECT COUNT(*) FROM complaint WHERE responsible_unit IS NULL"
                " OR (responsible_unit = 'unmapped' AND unmapped_unit IS NULL)"
            )
        ).scalar_one()
        surrogates = conn.execute(text("SELECT COUNT(*) FROM complaint WHERE source_id_is_surrogate")).scalar_one()
    assert reasons == {f"outside Bangkok: province {name!r}": n for name, n in OUTSIDE_BANGKOK.items()}
    assert silent == 0 and surrogates == 12
    # whoever keeps the config sees which crosswalk lines are missing, with counts
    listed = warehouse.unmapped_values_summary(engine, "traffy_fondue")
    assert listed and all(row["complaints"] > 0 and row["raw_value"] for row in listed)
    assert [(u["kind"], u["raw_value"], u["rows"]) for u in summary.unmapped_values] == [
        (row["kind"], row["raw_value"], row["complaints"]) for row in listed
    ]


def test_the_demo_generator_writes_the_real_export_format_and_one_reader_reads_both(tmp_path: Path) -> None:
    import random

    from devtools.demo import generate

    real_bytes = REAL_EXPORT.read_bytes()
    request = _request(tmp_path)
    (tmp_path / "gen").mkdir()
    generated = generate._generate_traffy(random.Random("2562:traffy_fondue"), generate._World(), tmp_path / "gen")
    first_generated = generated.paths[0]
    assert real_bytes.startswith(b"\xef\xbb\xbf") and first_generated.read_bytes().startswith(b"\xef\xbb\xbf")
    real_header = real_bytes[3:].split(b"\n", 1)[0].decode("utf-8").split(",")
    generated_header = first_generated.read_bytes()[3:].split(b"\n", 1)[0].decode("utf-8").split(",")
    assert real_header == generated_header == list(generate.TRAFFY_HEADERS)  # same columns, same order
    shutil.copyfile(first_generated, request.data_dir / "inbox" / "traffy_fondue" / first_generated.name)
    batches = {b.file_name: b for b in (traffy.read(request, part) for part in traffy.plan(request))}
    assert set(batches) == {first_generated.name, "traffy_fondue_20230512.csv"}
    for name, batch in batches.items():
        assert batch.records, name
        assert all(r["responsible_unit"] is not None for r in batch.records), name
        assert all(r["source_updated_at"] >= r["received_at"] for r in batch.records), name  # skew tolerated
        assert any(r["clock_skew_ms"] for r in batch.records), name
        assert all(reason.startswith("outside Bangkok") for reason in (r.reason for r in batch.rejects)), name
