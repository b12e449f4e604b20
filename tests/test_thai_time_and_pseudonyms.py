from __future__ import annotations

from datetime import date

import pytest

from complaints.pseudonym import pseudonymise
from complaints.thai_time import DateParseError, from_epoch_millis, parse_be_datetime, thai_date


def test_buddhist_era_datetime_becomes_bangkok_time():
    parsed = parse_be_datetime("15/01/2562 14:05")
    assert (parsed.year, parsed.month, parsed.day, parsed.hour, parsed.minute) == (2019, 1, 15, 14, 5)
    assert parsed.utcoffset().total_seconds() == 7 * 3600


def test_christian_era_year_where_buddhist_era_is_promised_is_refused():
    with pytest.raises(DateParseError, match="not Buddhist era"):
        parse_be_datetime("15/01/2019 14:05")


@pytest.mark.parametrize("text", ["31/02/2562 10:00", "15-13-2562", "yesterday", ""])
def test_impossible_or_malformed_dates_are_refused_with_the_value(text):
    with pytest.raises(DateParseError) as err:
        parse_be_datetime(text)
    assert repr(text) in str(err.value)


def test_epoch_milliseconds_are_read_in_bangkok_time():
    assert from_epoch_millis(1547532300000).isoformat() == "2019-01-15T13:05:00+07:00"


def test_thai_dates_are_written_in_buddhist_era():
    assert thai_date(date(2019, 8, 30)) == "30 สิงหาคม 2562"
    assert thai_date(date(2018, 10, 1)) == "1 ตุลาคม 2561"


def test_pseudonyms_are_stable_keyed_and_fold_phone_formatting():
    a = pseudonymise("081-234-5678", "k1")
    assert a == pseudonymise("0812345678", "k1") == pseudonymise("+66 81 234 5678", "k1")
    assert a != pseudonymise("0812345678", "k2")
    assert "0812345678" not in a and len(a) == 32
    assert pseudonymise(None, "k1") is None


def test_pseudonymising_without_a_key_is_an_error():
    with pytest.raises(ValueError, match="key is empty"):
        pseudonymise("0812345678", "")


def test_phone_and_national_id_numbers_typed_into_free_text_are_masked_and_other_numbers_kept() -> None:
    from complaints.pseudonym import NATIONAL_ID_MASK, PHONE_MASK, mask_personal_numbers

    typed = {
        "โทร 081-234-5678 ด่วน": f"โทร {PHONE_MASK} ด่วน",
        "ติดต่อ 0812345678": f"ติดต่อ {PHONE_MASK}",
        "สำนักงาน 02 123 4567": f"สำนักงาน {PHONE_MASK}",
        "call +66 81 234 5678.": f"call {PHONE_MASK}.",
        "บัตร 1-2345-67890-12-3": f"บัตร {NATIONAL_ID_MASK}",
        "เลขบัตร1234567890123ครับ": f"เลขบัตร{NATIONAL_ID_MASK}ครับ",
        "เลขที่ 2562/123 จำนวน 15000 บาท": "เลขที่ 2562/123 จำนวน 15000 บาท",
        "ticket 20190115123456": "ticket 20190115123456",
    }
    assert {text: mask_personal_numbers(text) for text in typed} == typed
    assert mask_personal_numbers(None) is None and mask_personal_numbers("") == ""
