"""The per-fiscal-year scoring rubric: loading, version selection and point mapping."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from complaints.indicator.rubric import (
    RUBRIC_DIR,
    PointMapping,
    RubricError,
    load_rubric,
    normalise_report_text,
    parse_rubric,
)

D = Decimal


def fy2562_raw() -> dict:
    with open(RUBRIC_DIR / "fy2562.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def write_rubric(directory: Path, fiscal_year: int, **changes) -> Path:
    raw = fy2562_raw()
    raw.update(fiscal_year=fiscal_year, version=f"fy{fiscal_year}-test", **changes)
    path = directory / f"fy{fiscal_year}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_the_fy2562_rubric_holds_the_published_shape():
    rubric = load_rubric(2562)
    assert rubric.version == "fy2562-v1"
    assert rubric.fiscal_year == 2562
    assert rubric.target == D(90)
    assert rubric.channels == ("mis",)
    assert (rubric.response.max_points, rubric.quality.max_points) == (D(20), D(80))
    assert rubric.response.within_business_days == 1
    assert rubric.response.mapping.method == rubric.quality.mapping.method == "linear"
    assert rubric.quality.reopened_fails is True
    assert rubric.quality.reopen_count_fails is True
    assert {"เรียบร้อย", "ดำเนินการแล้ว"} <= set(rubric.quality.boilerplate_reports)


def test_a_fiscal_year_without_its_own_rubric_uses_the_newest_earlier_version(tmp_path):
    write_rubric(tmp_path, 2562)
    write_rubric(tmp_path, 2565, target=95)
    assert load_rubric(2562, tmp_path).version == "fy2562-test"
    assert load_rubric(2564, tmp_path).version == "fy2562-test"
    assert load_rubric(2565, tmp_path).version == "fy2565-test"
    assert load_rubric(2570, tmp_path).target == D(95)
    with pytest.raises(RubricError, match="no rubric for fiscal year 2561"):
        load_rubric(2561, tmp_path)


def test_two_files_declaring_one_fiscal_year_are_refused(tmp_path):
    write_rubric(tmp_path, 2562)
    raw = fy2562_raw()
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RubricError, match="both declare fiscal year 2562"):
        load_rubric(2562, tmp_path)


@pytest.mark.parametrize(
    ("pct", "max_points", "points"),
    [
        (D("0"), D(20), D("0.00")),
        (D("100"), D(20), D("20.00")),
        (D("99.89"), D(20), D("19.98")),  # 19.978
        (D("98.08"), D(80), D("78.46")),  # 78.464
        (D("0.05"), D(50), D("0.03")),  # 0.025 rounds half up, not to even
        (D("0.01"), D(50), D("0.01")),  # 0.005 rounds half up
        (D("120"), D(20), D("20.00")),  # clamped to 100 %
    ],
)
def test_linear_mapping_gives_max_points_times_the_percentage_rounded_half_up(pct, max_points, points):
    assert PointMapping("linear").points(pct, max_points) == points


BANDS = PointMapping("bands", ((D(60), D(8)), (D(80), D(16)), (D(95), D(20))))


@pytest.mark.parametrize(
    ("pct", "points"),
    [
        (D("0"), D("0.00")),
        (D("59.99"), D("0.00")),
        (D("60.00"), D("8.00")),
        (D("79.99"), D("8.00")),
        (D("80"), D("16.00")),
        (D("94.99"), D("16.00")),
        (D("95.00"), D("20.00")),
        (D("100"), D("20.00")),
    ],
)
def test_band_mapping_gives_the_points_of_the_highest_band_reached(pct, points):
    assert BANDS.points(pct, D(20)) == points


def test_bands_are_read_from_the_rubric_per_part(tmp_path):
    write_rubric(
        tmp_path,
        2563,
        parts={
            **fy2562_raw()["parts"],
            "response": {
                **fy2562_raw()["parts"]["response"],
                "mapping": {"method": "bands", "bands": [[95, 20], [60, 8], [80, 16]]},
            },
        },
    )
    rubric = load_rubric(2563, tmp_path)
    assert rubric.response.mapping == BANDS  # sorted by min_pct
    assert rubric.quality.mapping.method == "linear"
    assert "ร้อยละ 95 ขึ้นไป 20 คะแนน" in rubric.response.mapping.describe_th()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"channels": ["mis", "pigeon_post"]}, "channels"),
        ({"channels": []}, "at least one channel"),
        ({"target": 120}, "target"),
        ({"reopen_statuses": ["gone"]}, "reopen_statuses"),
    ],
)
def test_an_invalid_rubric_is_refused_with_a_message_naming_the_problem(change, message):
    raw = {**fy2562_raw(), **change}
    with pytest.raises(RubricError, match=message):
        parse_rubric(raw, "test.yaml")


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"method": "bands", "bands": [[60, 8], [80, 4]]}, "fewer points for a higher percentage"),
        ({"method": "bands", "bands": [[60, 30]]}, "not within 0..20"),
        ({"method": "bands", "bands": [[160, 3]]}, "not within 0..100"),
        ({"method": "bands", "bands": []}, "lists none"),
        ({"method": "bands", "bands": [[60, 8], [60, 9]]}, "repeats a min_pct"),
        ({"method": "curve"}, "must be 'linear' or 'bands'"),
        ({"method": "linear", "bands": [[60, 8]]}, "linear but lists bands"),
    ],
)
def test_an_invalid_point_mapping_is_refused(mapping, message):
    raw = fy2562_raw()
    raw["parts"]["response"]["mapping"] = mapping
    with pytest.raises(RubricError, match=message):
        parse_rubric(raw, "test.yaml")


def test_the_parts_must_add_up_to_100_points():
    raw = fy2562_raw()
    raw["parts"]["quality"]["max_points"] = 70
    with pytest.raises(RubricError, match="add up to 90"):
        parse_rubric(raw, "test.yaml")


def test_report_text_is_compared_without_spaces_dots_line_breaks_or_case():
    assert normalise_report_text(" ดำเนินการ เรียบร้อยแล้ว.\n") == "ดำเนินการเรียบร้อยแล้ว"
    assert normalise_report_text("Done.") == "done"
