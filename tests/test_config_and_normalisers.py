from __future__ import annotations

import pytest

from complaints.config import (
    default_unit_for,
    load_config,
    normalise_category,
    normalise_district,
    normalise_status,
    normalise_unit,
)


@pytest.mark.parametrize(
    "label", ["เขตบางรัก", "บางรัก", "Bang Rak", "bang rak", "BangRak", " เขต บางรัก ", "Khet Bang Rak", "บาง\u200bรัก"]
)
def test_every_spelling_of_a_district_maps_to_one_code(label):
    assert normalise_district(label) == "1004"


@pytest.mark.parametrize("label", ["เขตเมืองทอง", "ปากเกร็ด", "", None, float("nan")])
def test_places_outside_bangkok_or_blank_have_no_district(label):
    assert normalise_district(label) is None


def test_the_config_lists_bangkoks_fifty_districts_with_unique_codes_and_names():
    districts = load_config().districts
    assert len(districts) == 50
    assert len({d.code for d in districts}) == 50
    assert len({d.name_th for d in districts}) == 50


def test_thai_status_labels_map_to_canonical_codes():
    assert normalise_status("เสร็จสิ้น") == "resolved"
    assert normalise_status("ดำเนินการแก้ไขเรียบร้อยแล้ว") == "resolved"
    assert normalise_status("อยู่ระหว่างดำเนินการ") == "in_progress"
    assert normalise_status("ไม่รู้จัก") is None


def test_categories_and_units_map_and_each_category_has_a_known_default_unit():
    cfg = load_config()
    assert normalise_category("ขยะ") == "waste"
    assert normalise_unit("ฝ่ายเทศกิจ") == "city_law_enforcement"
    for category in cfg.categories:
        assert default_unit_for(category.code) in cfg.codes("units")


def test_aliases_never_point_at_two_codes():
    cfg = load_config()
    for kind in ("statuses", "categories", "units", "districts"):
        seen: dict[str, str] = {}
        for entry in getattr(cfg, kind):
            for label in [entry.code, entry.name_th, entry.name_en, *entry.extra.get("aliases", [])]:
                key = label.strip().lower()
                assert seen.setdefault(key, entry.code) == entry.code, f"{kind}: {label!r} is ambiguous"
