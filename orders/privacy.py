"""Masking personal data for replies and logs, and hashing phones for matching."""

from __future__ import annotations

import hashlib
import re

_DIGITS = re.compile(r"\D")
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")


def normalize_phone(phone: str) -> str:
    digits = _DIGITS.sub("", phone or "")
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def mask_phone(phone: str) -> str:
    """'13812345678' -> '138****5678'. Already-masked input is kept."""
    if "*" in (phone or ""):
        return phone
    d = normalize_phone(phone)
    if len(d) >= 7:
        return f"{d[:3]}****{d[-4:]}"
    return "****" if d else ""


def _digest(text: str) -> str:
    """The one matching hash for phones and buyer ids."""
    return hashlib.sha256(text.encode()).hexdigest()


def hash_phone(phone: str) -> str:
    d = normalize_phone(phone)
    return _digest(d) if d else ""


def hash_buyer_id(channel: str, buyer_id: str) -> str:
    """A platform buyer id (per channel) as a matching hash, for buyers who gave no phone; the
    same hashing as phones (the id itself is never stored)."""
    b = (buyer_id or "").strip()
    return _digest(f"buyer:{channel}:{b}") if b else ""


def mask_name(name: str) -> str:
    """'张三丰' -> '张**'."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_detail(detail: str) -> str:
    """Keep the first few characters of a street address, hide the rest."""
    if not detail:
        return ""
    keep = min(4, max(1, len(detail) // 3))
    return detail[:keep] + "****"


def scrub(text: str) -> str:
    """Mask any mobile number found in free text (for logs and replies)."""
    return _PHONE_IN_TEXT.sub(r"\1****\2", text)
