"""Masking personal data for replies and logs, and keyed hashes for matching (orders.crypto holds the keys)."""

from __future__ import annotations

import hashlib
import re

from orders.crypto import keyed_hash

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
    """The unkeyed SHA-256 behind every matching hash: only ever stored sealed (encrypted) or
    under an HMAC, never as it is. Keying the digest (not the text) let the migration key the old
    unkeyed hashes."""
    return hashlib.sha256(text.encode()).hexdigest()


def phone_digest(phone: str) -> str:
    d = normalize_phone(phone)
    return _digest(d) if d else ""


def hash_phone(phone: str, secret: bytes | None = None) -> str:
    """Keyed hash for matching phones: HMAC-SHA256(ORDERBOT_SECRET_KEY, SHA-256(digits))."""
    digest = phone_digest(phone)
    return keyed_hash("phone", digest, secret) if digest else ""


def phone_seal(phone: str) -> str:
    """What ``orders.phone_sealed`` keeps (encrypted by its column type): the phone's SHA-256,
    from which a rotation of the secret re-hashes; the digits themselves are not kept."""
    digest = phone_digest(phone)
    return "sha256:" + digest if digest else ""


def buyer_id_digest(channel: str, buyer_id: str) -> str:
    b = (buyer_id or "").strip()
    return _digest(f"buyer:{channel}:{b}") if b else ""


def hash_buyer_id(channel: str, buyer_id: str, secret: bytes | None = None) -> str:
    """A platform buyer id (per channel) as a keyed matching hash, for buyers who gave no phone;
    the same keying as phones (the id itself is never stored)."""
    digest = buyer_id_digest(channel, buyer_id)
    return keyed_hash("buyer", digest, secret) if digest else ""


def buyer_id_seal(channel: str, buyer_id: str) -> str:
    """What ``orders.buyer_id_sealed`` keeps (encrypted): the digest a rotation re-keys from."""
    digest = buyer_id_digest(channel, buyer_id)
    return "sha256:" + digest if digest else ""


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
