"""Masking personal data for replies and logs, and keyed hashes for matching (orders.crypto holds the keys)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

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


def hash_text(kind: str, text: str, secret: bytes | None = None) -> str:
    """Keyed hash of a searchable text field (a buyer name, a nickname) for exact search:
    compatibility forms (full-width), case and spaces do not matter; a masked text is no key."""
    t = "".join(unicodedata.normalize("NFKC", text or "").casefold().split())
    if not t or "*" in t:
        return ""
    return keyed_hash(kind, t, secret)


def phone_last4(phone: str) -> str:
    """The last 4 digits of a mobile, also of a masked one ('138****5678'); a virtual number's
    extension ('17012345678-1234', '…转1234') is not part of it."""
    main = re.split(r"[-转,，#]", phone or "", maxsplit=1)[0]
    digits = _DIGITS.sub("", main)
    return digits[-4:] if len(digits) >= 4 else ""


def buyer_columns(phone: str, name: str, nick: str = "") -> dict[str, Any]:
    """The order columns derived from a buyer's contact: masked phone, its keyed hash, sealed
    digest and last 4 (visible in the mask anyway), keyed name and nickname hashes (search keys;
    the nickname itself is not stored). A masked phone (Pinduoduo) keeps only mask and last 4."""
    digest = phone_digest(phone) if "*" not in (phone or "") else ""  # a masked phone has no hash
    return {"phone_masked": mask_phone(phone), "phone_hash": keyed_hash("phone", digest) if digest else "",
            "phone_sealed": "sha256:" + digest if digest else "", "phone_last4": phone_last4(phone),
            "name_hash": hash_text("name", name), "nick_hash": hash_text("nick", nick)}


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


_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8}|\d{11})([\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d{9})(?!\d)")
_STREET = re.compile(r"[\u4e00-\u9fffA-Za-z0-9-]*?[路街道巷弄里村镇乡]"
                     r"[\u4e00-\u9fffA-Za-z0-9-]*\d[\u4e00-\u9fffA-Za-z0-9-]*")
_REGION_END = re.compile(r".*[省市区县旗]")


def mask_id_number(text: str) -> str:
    """Mask mainland ID numbers (15 or 18 characters) in free text: first 3 and last 4 kept."""
    return _ID_IN_TEXT.sub(lambda m: m.group(0)[:3] + "*" * (len(m.group(0)) - 7) + m.group(0)[-4:], text)


def mask_echo(reply: str, typed: str) -> str:
    """A reply never repeats a full mobile, an ID number or a street address the user typed."""
    if not reply or not typed:
        return reply
    out = reply
    for phone in set(_MOBILE.findall(typed)):
        out = out.replace(phone, mask_phone(phone))
    for m in _ID_IN_TEXT.finditer(typed):
        out = out.replace(m.group(0), mask_id_number(m.group(0)))
    for seg in sorted(set(_STREET.findall(typed)), key=len, reverse=True):
        street = _REGION_END.sub("", seg) or seg
        if len(street) >= 4:
            out = out.replace(seg, seg[:len(seg) - len(street)] + mask_detail(street))
            out = out.replace(street, mask_detail(street))
    return out


def redact(text: str) -> str:
    """For logs: mobiles, ID numbers and street-like segments masked wherever they appear."""
    return mask_echo(mask_id_number(scrub(text)), text)
