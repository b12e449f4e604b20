from __future__ import annotations

from datetime import UTC, datetime, timedelta

from complaints.canonical import CanonicalComplaint
from complaints.validation import build_suite, split_duplicates, validate_records, validation_frame
from conftest import bkk


def record(source_id: str = "A-1", **overrides) -> CanonicalComplaint:
    base: CanonicalComplaint = {
        "channel": "mis",
        "source_id": source_id,
        "received_at": bkk(2019, 1, 15, 9, 0),
        "district_code": "1004",
        "category_code": "waste",
        "description": "ขยะล้นถังบริเวณปากซอยเจริญกรุง 42",
        "latitude": 13.72,
        "longitude": 100.51,
        "reporter_pseudonym": "abc",
        "responsible_unit": "cleansing_parks",
        "status": "resolved",
        "acknowledged_at": bkk(2019, 1, 15, 10, 0),
        "resolved_at": bkk(2019, 1, 16, 9, 0),
        "resolution_report": "จัดเก็บขยะเรียบร้อยแล้ว",
        "source_updated_at": bkk(2019, 1, 16, 9, 0),
    }
    base.update(overrides)  # type: ignore[typeddict-item]
    return base


def reasons_of(outcome, source_id: str) -> list[str]:
    return next(reasons for rec, reasons in outcome.failed if rec["source_id"] == source_id)


def test_a_clean_record_passes_every_expectation():
    outcome = validate_records("mis", [record()])
    assert [r["source_id"] for r in outcome.valid] == ["A-1"]
    assert outcome.failed == []


def test_each_kind_of_bad_row_is_failed_with_a_readable_reason():
    rows = [
        record("ok"),
        record("unknown-district", district_code=None),
        record("resolved-early", resolved_at=bkk(2019, 1, 1, 0, 0)),
        record("mojibake", description="à¸‚à¸¢à¸°à¸¥à¹‰à¸™"),
        record("swapped-coords", latitude=100.51, longitude=13.72),
        record(
            "future",
            received_at=datetime.now(UTC) + timedelta(days=30),
            source_updated_at=datetime.now(UTC) + timedelta(days=30),
            acknowledged_at=None,
            resolved_at=None,
        ),
        record("ce-year-as-be", received_at=datetime(1476, 1, 15, tzinfo=UTC)),
        record("bad-status", status="finished"),
    ]
    outcome = validate_records("mis", rows)
    assert [r["source_id"] for r in outcome.valid] == ["ok"]
    assert len(outcome.valid) + len(outcome.failed) == len(rows)
    assert reasons_of(outcome, "unknown-district") == ["unknown or missing district"]
    assert reasons_of(outcome, "resolved-early") == ["resolved before received"]
    assert reasons_of(outcome, "mojibake") == ["description is mojibake (wrong text encoding)"]
    assert "latitude outside Bangkok (swapped coordinates?)" in reasons_of(outcome, "swapped-coords")
    assert any("in the future" in r for r in reasons_of(outcome, "future"))
    assert any("Buddhist/Christian era" in r for r in reasons_of(outcome, "ce-year-as-be"))
    assert reasons_of(outcome, "bad-status") == ["status not in the configured list"]


def test_suite_value_sets_come_from_the_pipeline_config():
    from complaints.config import load_config

    suite = build_suite("mis")
    district_rule = next(
        e
        for e in suite.expectations
        if e.expectation_type == "expect_column_values_to_be_in_set" and e.column == "district_code"
    )
    assert sorted(district_rule.value_set) == sorted(load_config().codes("districts"))
    assert len(district_rule.value_set) == 50


def test_duplicate_ids_keep_the_latest_row_and_quarantine_the_rest():
    older = record("D-1", status="in_progress", resolved_at=None, source_updated_at=bkk(2019, 1, 15, 12, 0))
    newer = record("D-1")
    identical = record("D-2")
    kept, dropped = split_duplicates([older, newer, identical, dict(identical)])
    assert [r["source_id"] for r in kept] == ["D-1", "D-2"]
    assert kept[0]["status"] == "resolved"
    assert sorted(reasons[0] for _, reasons in dropped) == [
        "duplicate delivery of an identical row in the same batch",
        "superseded by a more recent row with the same source id in the same batch",
    ]


def test_great_expectations_never_sees_free_text_or_the_pseudonym():
    rows = [
        record("plain"),
        record("garbled", description="à¸‚à¸¢à¸° โทร 081-234-5678"),
        record("empty", description=None, resolution_report=None),
    ]
    frame = validation_frame(rows)
    assert not {"description", "resolution_report", "reporter_pseudonym"} & set(frame.columns)
    assert frame["description_is_mojibake"].tolist() == [False, True, False]
    assert frame["resolution_report_is_mojibake"].tolist() == [False, False, False]
    assert frame["row"].tolist() == [0, 1, 2]
    assert "081-234-5678" not in frame.to_csv()


def test_unmapped_values_are_counted_not_quarantined_and_fail_only_over_their_own_threshold():
    clean = [record(f"ok-{i}") for i in range(18)]
    unmapped = [
        record("unit", responsible_unit="unmapped", unmapped_unit="กรุงเทพโปร่งใส"),
        record("state", status="unmapped", unmapped_status="ศึกษาปัญหา", resolved_at=None),
    ]
    outcome = validate_records("mis", clean + unmapped)
    assert outcome.failed == [] and len(outcome.valid) == 20  # source errors: none
    assert outcome.unmapped == {("unit", "กรุงเทพโปร่งใส"): 1, ("status", "ศึกษาปัญหา"): 1}
    assert outcome.unmapped_over_threshold == []  # 1 of 20 each: 5 %, not over
    more = [record(f"u-{i}", responsible_unit="unmapped", unmapped_unit="หน่วยใหม่") for i in range(2)]
    over = validate_records("mis", clean + unmapped + more)
    assert over.failed == []
    assert [m for m in over.unmapped_over_threshold if m.startswith("13.6% of rows: unit label")], over
    assert not [m for m in over.unmapped_over_threshold if "status label" in m]


def test_a_unit_code_outside_the_config_is_still_quarantined_beside_the_unmapped_code():
    outcome = validate_records("mis", [record("bad", responsible_unit="unknown-unit")])
    assert reasons_of(outcome, "bad") == ["responsible unit not in the configured list"]


def test_the_fast_validation_path_reports_exactly_what_a_plain_complete_validation_reports():
    """Two passes (pass/fail, then details of the failures) with memoised GX configurations give
    the same failing rows, reasons and statistics as one COMPLETE validation of the whole suite."""
    from great_expectations.expectations.expectation import Expectation

    from complaints import validation

    rows = [record(f"ok-{i}") for i in range(20)]
    rows += [record("no-district", district_code=None), record("bad-status", status="finished")]
    rows += [record("early", resolved_at=bkk(2019, 1, 1, 0, 0))]
    frame = validation_frame(rows)
    batch = validation._batch_definition().get_batch(batch_parameters={"dataframe": frame})
    suite = build_suite("mis")
    # A suite stored in a context (as Data Docs stores each channel's) has expectation ids; the
    # detail pass must still be able to build its own suite from them.
    validation._batch_definition().data_asset.datasource.data_context.suites.add(suite)
    assert all(e.id for e in suite.expectations)
    plain = batch.validate(
        suite,
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": list(validation.ROW_ID_COLUMNS)},
    )
    property_before = Expectation.__dict__["configuration"]
    with validation._memoised_expectation_configurations():
        fast = validation._validate_two_pass(batch, suite, frame)
    assert Expectation.__dict__["configuration"] is property_before, "GX's own property is put back"

    def failures(result) -> dict[str, list[int]]:
        return {
            item.expectation_config.meta["reason"]: sorted(i["row"] for i in item.result["unexpected_index_list"])
            for item in result.results
            if not item.success
        }

    assert failures(fast) == failures(plain)
    assert set(failures(fast)) >= {"unknown or missing district", "status not in the configured list"}
    assert fast.statistics == plain.statistics
    assert [r.success for r in fast.results] == [r.success for r in plain.results]
