"""Property-based tests (hypothesis) of the parsers every source goes through: Buddhist-era dates,
coordinates, Traffy Fondue set literals and ``lon,lat``, 1555 CSV rows, and the masking of
personal numbers in free text. Each property holds for any input, not only the examples the
adapter tests spell out; an input no parser accepts must come back as a stated problem, never
as an unexpected exception or a silently wrong value."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from adapter_fixtures import HOTLINE_HEADER, hotline_row
from complaints.adapters import hotline_1555 as hotline
from complaints.adapters import traffy_fondue as traffy
from complaints.adapters._common import LATITUDE_LIMIT, LONGITUDE_LIMIT, clean_text, coordinate_pair
from complaints.adapters.line import _timestamp as line_timestamp
from complaints.pseudonym import (
    NATIONAL_ID_IN_TEXT,
    NATIONAL_ID_MASK,
    PHONE_IN_TEXT,
    PHONE_MASK,
    mask_personal_numbers,
    pseudonymise,
)
from complaints.thai_time import BANGKOK, BE_OFFSET, DateParseError, parse_be_datetime
from conftest import PSEUDONYM_KEY
from test_ingest import request as hotline_request

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

THAI_LETTERS = st.characters(min_codepoint=0x0E01, max_codepoint=0x0E5B, exclude_categories=("Nd",))
THAI_TEXT = st.text(THAI_LETTERS | st.sampled_from(" ,.\"'\n\r\t🙏😡\u200b\u200d{}<>&;-"), max_size=60)
DIGIT = st.integers(0, 9).map(str)
MOMENTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31, 23, 59))


# -- Buddhist-era dates ----------------------------------------------------------------------


@SETTINGS
@given(MOMENTS, st.sampled_from("/-."), st.sampled_from([":", "."]), st.booleans())
def test_a_buddhist_era_date_in_any_spelling_reads_back_as_the_same_bangkok_moment(moment, sep, colon, pad):
    day, month = (f"{moment.day:02d}", f"{moment.month:02d}") if pad else (str(moment.day), str(moment.month))
    text = f"{day}{sep}{month}{sep}{moment.year + BE_OFFSET} {moment.hour:02d}{colon}{moment.minute:02d}"
    assert parse_be_datetime(text) == moment.replace(second=0, microsecond=0, tzinfo=BANGKOK)


@SETTINGS
@given(MOMENTS)
@example(datetime(2019, 1, 15, 8, 30))  # "2562 read as a CE year" reversed: 2019 where 2562 belongs
def test_a_christian_era_year_where_the_buddhist_era_is_promised_never_passes(moment):
    with_ce_year = f"{moment.day:02d}/{moment.month:02d}/{moment.year} {moment.hour:02d}:{moment.minute:02d}"
    try:
        parse_be_datetime(with_ce_year)
    except DateParseError as exc:
        assert "not Buddhist era" in str(exc)
    else:
        raise AssertionError(f"{with_ce_year!r} was accepted as a Buddhist-era date")


@SETTINGS
@given(st.text(max_size=30))
def test_any_text_is_a_bangkok_datetime_or_a_date_parse_error_quoting_it(text):
    try:
        parsed = parse_be_datetime(text)
    except DateParseError as exc:
        assert repr(text) in str(exc)
    else:
        assert parsed.tzinfo is BANGKOK and parsed.year >= 2400 - BE_OFFSET


@SETTINGS
@given(st.integers(min_value=-(2**62), max_value=2**62))
def test_epoch_milliseconds_outside_2000_to_2100_are_a_problem_not_a_date(millis):
    problems: list[str] = []
    stamp = line_timestamp(millis, "timestamp", problems)
    if stamp is None:
        assert problems and "not plausible epoch milliseconds" in problems[0]
    else:
        assert problems == [] and 2000 <= stamp.year <= 2100 and stamp.utcoffset() == timedelta(hours=7)


# -- coordinates -----------------------------------------------------------------------------

FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)
ANY_FLOAT = st.floats(width=64)


@SETTINGS
@given(FINITE, FINITE)
def test_a_1555_lat_lon_cell_is_a_valid_pair_or_a_stated_problem(lat, lon):
    problems: list[str] = []
    parsed = hotline._lat_lon(f"{lat!r},{lon!r}", problems)
    if abs(lat) <= LATITUDE_LIMIT and abs(lon) <= LONGITUDE_LIMIT:
        assert parsed == (lat, lon) and problems == []
    else:
        assert parsed == (None, None) and len(problems) == 1 and "is not a coordinate" in problems[0]


@SETTINGS
@given(st.text(max_size=25))
def test_any_coordinates_text_never_raises_and_never_yields_an_impossible_pair(text):
    for parse in (hotline._lat_lon, traffy._lon_lat):
        problems: list[str] = []
        lat, lon = parse(text, problems)
        if lat is None:
            assert lon is None
        else:
            assert abs(lat) <= LATITUDE_LIMIT and abs(lon) <= LONGITUDE_LIMIT and not problems


@SETTINGS
@given(FINITE, FINITE)
def test_traffy_lon_lat_is_the_1555_lat_lon_reversed(lat, lon):
    assert traffy._lon_lat(f"{lon!r},{lat!r}", []) == hotline._lat_lon(f"{lat!r},{lon!r}", [])


@SETTINGS
@given(st.floats(13.45, 14.0), st.floats(100.3, 100.95))
def test_a_bangkok_point_given_the_wrong_way_round_is_named_as_swapped(lat, lon):
    problems: list[str] = []
    assert hotline._lat_lon(f"{lon},{lat}", problems) == (None, None)
    assert problems and problems[0].endswith("(latitude and longitude swapped?)")
    problems = []
    assert coordinate_pair(lon, lat, problems) == (None, None)
    assert problems and problems[0].endswith("(latitude and longitude swapped?)")


@SETTINGS
@given(st.one_of(st.none(), ANY_FLOAT, st.text(max_size=8)), st.one_of(st.none(), ANY_FLOAT, st.text(max_size=8)))
def test_a_coordinate_pair_is_whole_or_absent_never_half(lat_value, lon_value):
    problems: list[str] = []
    lat, lon = coordinate_pair(lat_value, lon_value, problems)
    assert (lat is None) == (lon is None) or problems
    if not problems and lat is not None:
        assert abs(lat) <= LATITUDE_LIMIT and abs(lon) <= LONGITUDE_LIMIT


# -- Traffy Fondue set literals --------------------------------------------------------------

LABEL = st.text(THAI_LETTERS | st.sampled_from(' ,"\\{}()-'), min_size=1, max_size=12)


def pg_set_literal(labels: list[str]) -> str:
    """How PostgreSQL writes a text array: items with special characters quoted and escaped."""

    def item(label: str) -> str:
        if label and not re.search(r'[\s,"\\{}]', label) and label.upper() != "NULL":
            return label
        return '"' + label.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "{" + ",".join(item(label) for label in labels) + "}"


@SETTINGS
@given(st.lists(LABEL, max_size=5))
def test_a_set_literal_as_postgresql_writes_it_reads_back_as_its_labels(labels):
    problems: list[str] = []
    parsed = traffy._set_literal(pg_set_literal(labels), "type", problems)
    expected: list[str] = []
    for label in labels:
        cleaned = clean_text(label)
        if cleaned and cleaned.upper() != "NULL" and cleaned not in expected:
            expected.append(cleaned)
    assert problems == [] and parsed == expected


@SETTINGS
@given(st.text(max_size=30))
def test_any_set_literal_text_gives_labels_or_a_stated_problem(text):
    problems: list[str] = []
    labels = traffy._set_literal(text, "type", problems)
    assert all(isinstance(label, str) and label for label in labels)
    if problems:
        assert labels == [] and "is not a set literal" in problems[0]


# -- 1555 CSV rows ---------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(THAI_TEXT, min_size=1, max_size=6),
    st.sampled_from(["utf-8", "utf-8-sig", "cp874"]),
    st.sampled_from(["\r\n", "\n"]),
)
def test_every_1555_row_is_read_back_with_its_text_whatever_it_holds(descriptions, encoding, newline):
    if encoding == "cp874":
        descriptions = [d.encode("cp874", errors="ignore").decode("cp874") for d in descriptions]
    rows = [hotline_row(f"P{n:04d}", {"รายละเอียด": d}) for n, d in enumerate(descriptions)]
    buffer = io.StringIO(newline="")
    # With "\n" line ends the stdlib writer leaves a lone "\r" unquoted (not a CSV any reader can
    # split right): quote every field then, as exporters do.
    quoting = csv.QUOTE_MINIMAL if newline == "\r\n" else csv.QUOTE_ALL
    writer = csv.writer(buffer, lineterminator=newline, quoting=quoting)
    writer.writerow(HOTLINE_HEADER)
    writer.writerows([[row[h] for h in HOTLINE_HEADER] for row in rows])
    data = buffer.getvalue().encode(encoding)
    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp) / "inbox" / "1555"
        inbox.mkdir(parents=True)
        (inbox / "1555_20190115.csv").write_bytes(data)
        batch = hotline.read(hotline_request(Path(tmp)), "1555_20190115.csv")
    assert batch.rows_read == len(rows) and batch.rejects == []
    got = {r["source_id"]: r["description"] for r in batch.records}
    assert got == {f"P{n:04d}": mask_personal_numbers(clean_text(d)) for n, d in enumerate(descriptions)}


# -- personal numbers in free text -----------------------------------------------------------


def _phone_strategy() -> st.SearchStrategy[tuple[str, str]]:
    """(number as typed, its 9 or 10 significant digits) in the formats Thai people write."""
    mobile = st.tuples(st.sampled_from("689"), st.lists(DIGIT, min_size=8, max_size=8)).map(
        lambda t: "0" + t[0] + "".join(t[1])
    )
    landline = st.lists(DIGIT, min_size=7, max_size=7).map(lambda d: "02" + "".join(d))

    def spellings(number: str) -> st.SearchStrategy[str]:
        rest = number[1:]
        forms = [number, f"{number[:3]}-{number[3:6]}-{number[6:]}", f"{number[:2]} {number[2:5]} {number[5:]}"]
        forms += [f"+66 {rest[:2]} {rest[2:5]} {rest[5:]}", f"+66{rest}", f"({number[:2]}) {number[2:5]}-{number[5:]}"]
        return st.sampled_from(forms)

    return st.one_of(mobile, landline).flatmap(lambda n: spellings(n).map(lambda typed: (typed, n)))


def _national_id_strategy() -> st.SearchStrategy[str]:
    digits = st.tuples(st.integers(1, 8).map(str), st.lists(DIGIT, min_size=12, max_size=12)).map(
        lambda t: t[0] + "".join(t[1])
    )
    return digits.flatmap(
        lambda d: st.sampled_from(
            [d, f"{d[0]}-{d[1:5]}-{d[5:10]}-{d[10:12]}-{d[12]}", f"{d[0]} {d[1:5]} {d[5:10]} {d[10:12]} {d[12]}"]
        )
    )


NO_DIGITS = st.text(THAI_LETTERS | st.sampled_from(" ,.:()🙏\n"), max_size=20)


@SETTINGS
@given(NO_DIGITS, _phone_strategy(), NO_DIGITS, _national_id_strategy(), NO_DIGITS)
def test_phone_and_national_id_numbers_typed_in_free_text_are_masked_and_the_words_kept(
    before, phone, middle, national_id, after
):
    typed_phone, _digits = phone
    assume(not before.endswith(("(", "+")))
    text = f"{before} โทร {typed_phone} {middle} บัตร {national_id} {after}"
    masked = mask_personal_numbers(text)
    assert typed_phone not in masked and national_id not in masked
    assert PHONE_MASK in masked and NATIONAL_ID_MASK in masked
    assert re.sub(r"\D", "", masked) == "", masked  # no digit of either number survives
    assert masked.startswith(before) and masked.endswith(after)
    assert mask_personal_numbers(masked) == masked


@SETTINGS
@given(st.text(st.characters(blacklist_categories=("Nd",)), max_size=80))
def test_text_without_digits_is_never_changed_by_masking(text):
    assert mask_personal_numbers(text) == text


NUMBERISH = st.text(st.sampled_from("0123456789๐๑๖๘ -.()+\tกx"), max_size=40)


@settings(max_examples=600, deadline=None)
@given(st.lists(NUMBERISH | _phone_strategy().map(lambda p: p[0]) | _national_id_strategy().map(str), max_size=4))
def test_the_digit_run_shortcut_never_changes_what_masking_does(pieces):
    text = " ".join(pieces)
    full = PHONE_IN_TEXT.sub(PHONE_MASK, NATIONAL_ID_IN_TEXT.sub(NATIONAL_ID_MASK, text))
    assert mask_personal_numbers(text) == full


@SETTINGS
@given(_phone_strategy())
def test_every_spelling_of_one_phone_number_is_one_pseudonym(phone):
    typed, digits = phone
    assert pseudonymise(typed, PSEUDONYM_KEY) == pseudonymise(digits, PSEUDONYM_KEY)
    assert digits not in (pseudonymise(typed, PSEUDONYM_KEY) or "")
