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
