"""Keyed pseudonyms for reporters (PDPA): the same person maps to the same token, and the
token cannot be reversed or recomputed without the key, which lives in an Airflow
connection (``complaints_pseudonym_key``), never in the repository."""

from __future__ import annotations

import hashlib
import hmac
import re

_PHONE_CHARS = re.compile(r"[\s\-().]")


def canonical_identity(value: str) -> str:
    """Fold formatting so "081-234-5678", "0812345678" and "+66812345678" are one reporter."""
    text = _PHONE_CHARS.sub("", value.strip()).lower()
    if re.fullmatch(r"\+?66\d{8,9}", text):
        text = "0" + text.lstrip("+")[2:]
    return text


def pseudonymise(value: str | None, key: str) -> str | None:
    """HMAC-SHA256 of the folded identity under ``key``; None stays None."""
    if value is None or not str(value).strip():
        return None
    if not key:
        raise ValueError("pseudonymisation key is empty: set the complaints_pseudonym_key connection")
    digest = hmac.new(key.encode("utf-8"), canonical_identity(str(value)).encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:32]


# Thai national id (13 digits, often written 1-2345-67890-12-3) and phone numbers (mobile
# 0[689]x-xxx-xxxx, Bangkok 02-xxx-xxxx, +66 forms), with spaces, dashes or dots between groups.
# Digits glued to other digits are not matched, so amounts and ticket numbers stay as they are.
_NATIONAL_ID = re.compile(r"(?<!\d)\d[\s\-.]?\d{4}[\s\-.]?\d{5}[\s\-.]?\d{2}[\s\-.]?\d(?!\d)")
_PHONE = re.compile(r"(?<![\d+])(?:\+66[\s\-.]?|0)(?:[689]\d|2)[\s\-.]?\d{3}[\s\-.]?\d{3,4}(?!\d)")
NATIONAL_ID_MASK = "[เลขประจำตัวประชาชน]"
PHONE_MASK = "[เบอร์โทรศัพท์]"


def mask_personal_numbers(text: str | None) -> str | None:
    """Free text with the national id and phone numbers a citizen typed into it masked."""
    if not text:
        return text
    return _PHONE.sub(PHONE_MASK, _NATIONAL_ID.sub(NATIONAL_ID_MASK, text))
