"""Keyed pseudonyms for reporters (PDPA): the same person maps to the same token, and the
token cannot be reversed or recomputed without the key, which lives in an Airflow
connection (``complaints_pseudonym_key``), never in the repository."""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache

_PHONE_CHARS = re.compile(r"[\s\-().]")
_THAI_COUNTRY_CODE = re.compile(r"\+?66\d{8,9}")


def canonical_identity(value: str) -> str:
    """Fold formatting so "081-234-5678", "0812345678" and "+66812345678" are one reporter."""
    text = _PHONE_CHARS.sub("", value.strip()).lower()
    if _THAI_COUNTRY_CODE.fullmatch(text):
        text = "0" + text.lstrip("+")[2:]
    return text


def pseudonymise(value: str | None, key: str) -> str | None:
    """HMAC-SHA256 of the folded identity under ``key``; None stays None."""
    if value is None or not str(value).strip():
        return None
    if not key:
        raise ValueError("pseudonymisation key is empty: set the complaints_pseudonym_key connection")
    digest = _keyed(key).copy()
    digest.update(canonical_identity(str(value)).encode("utf-8"))
    return digest.hexdigest()[:32]


@lru_cache(maxsize=8)
def _keyed(key: str) -> hmac.HMAC:
    """The HMAC state after the key, copied per value instead of re-keyed (same digest)."""
    return hmac.new(key.encode("utf-8"), digestmod=hashlib.sha256)


# Personal numbers typed into free text (descriptions, resolution reports, action notes).
# \d is Unicode-aware, so Thai digits (๐-๙) count as digits too; separators between digits are
# a single space, hyphen or dot, as people write them: 1-2345-67890-12-3, 081-234-5678,
# 02 123 4567, +66 81 234 5678. A digit right before or after keeps a longer number (a ticket
# or an amount) from being cut in two.
_SEP = r"[ \t.\-]?"
NATIONAL_ID_IN_TEXT = re.compile(rf"(?<![\d+])\d(?:{_SEP}\d){{12}}(?!{_SEP}\d)")
_PHONE_SEP = r"(?:\)?[ \t.\-]?)"  # also "(02) 123 4567"
PHONE_IN_TEXT = re.compile(
    rf"(?<![\d+])(?:\+{_SEP}[6๖][6๖]{_SEP}(?:\(?[0๐]\)?{_SEP})?|\(?[0๐])\d(?:{_PHONE_SEP}\d){{7,8}}(?!{_SEP}\d)"
)
# Both patterns need at least eight digits with at most two of ")", blank, ".", "-" between
# neighbours; one search for that skips the two costlier substitutions on most texts.
_EIGHT_DIGITS = re.compile(r"\d(?:[) \t.\-]{0,2}\d){7}")
NATIONAL_ID_MASK = "[เลขประจำตัวประชาชน]"
PHONE_MASK = "[เบอร์โทรศัพท์]"


def mask_personal_numbers(text: str | None) -> str | None:
    """``text`` with Thai national id numbers and phone numbers replaced by a marker.

    Free text is kept for the people who act on a complaint, but a caller's number typed in
    it is personal data the warehouse must not hold (PDPA); the masked text still says that a
    number was given. Ids first: a 13-digit id would otherwise partly look like a phone.
    """
    if not text or not _EIGHT_DIGITS.search(text):
        return text
    return PHONE_IN_TEXT.sub(PHONE_MASK, NATIONAL_ID_IN_TEXT.sub(NATIONAL_ID_MASK, text))
