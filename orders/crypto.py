"""Keys for personal data at rest, from the environment (never git or the database):

- ``ORDERBOT_SECRET_KEY``: the HMAC-SHA256 key of every searchable hash (phones, and any field
  hashed through :func:`keyed_hash`). ``serve`` refuses to start without it; other commands (demo,
  chat, import…) fall back to a built-in demo key and log a warning: such data is not private.
- ``ORDERBOT_DATA_KEY``: Fernet key(s) (AES-128-CBC + HMAC-SHA256), comma-separated, the first
  encrypts and all decrypt. Unset: one key derived from the secret with HKDF-SHA256.
- ``ORDERBOT_SECRET_KEY_OLD``: during a rotation, the previous secret (its derived data key still
  decrypts, and ``orderbot keys rotate`` re-hashes with the new secret).

Column types :class:`EncryptedText` and :class:`EncryptedJSON` encrypt on write and decrypt on
read; a value written before encryption (no Fernet token) reads back as it is."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)
ENV_SECRET = "ORDERBOT_SECRET_KEY"
ENV_SECRET_OLD = "ORDERBOT_SECRET_KEY_OLD"
ENV_DATA = "ORDERBOT_DATA_KEY"
DEMO_SECRET = "orderbot-demo-secret-not-private"
TOKEN_PREFIX = "gAAAAA"  # every Fernet token starts so (version byte 0x80 + timestamp)


class KeyMismatch(RuntimeError):
    """A stored value cannot be decrypted with the keys in the environment."""


@dataclass(frozen=True)
class Keyring:
    secret: bytes
    old_secret: bytes | None
    fernet: MultiFernet
    demo: bool
    data_key: bytes = b""  # the first (encrypting) Fernet key, urlsafe base64


def derive_data_key(secret: bytes) -> bytes:
    """The Fernet key derived from a secret (HKDF-SHA256, info ``orderbot data key v1``)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"orderbot data key v1").derive(secret)
    return base64.urlsafe_b64encode(raw)


def secret_missing() -> bool:
    return not os.environ.get(ENV_SECRET)


@cache
def keyring() -> Keyring:
    """The keys from the environment (read once per process; :func:`reload` re-reads)."""
    secret = os.environ.get(ENV_SECRET, "")
    demo = not secret
    if demo:
        log.warning("%s is not set: using the built-in demo key; personal data in this database is NOT private "
                    "(orderbot serve refuses to start like this)", ENV_SECRET)
        secret = DEMO_SECRET
    old = os.environ.get(ENV_SECRET_OLD, "") or None
    data = [k.strip().encode() for k in os.environ.get(ENV_DATA, "").split(",") if k.strip()]
    if not data:
        data = [derive_data_key(secret.encode())] + ([derive_data_key(old.encode())] if old else [])
    return Keyring(secret.encode(), old.encode() if old else None, MultiFernet([Fernet(k) for k in data]), demo,
                   data[0])


def reload() -> Keyring:
    keyring.cache_clear()
    return keyring()


def keyed_hash(kind: str, value: str, secret: bytes | None = None) -> str:
    """HMAC-SHA256 of ``kind:value`` under the secret (hex): equal inputs match, and without the
    key the database alone cannot test guesses."""
    key = secret if secret is not None else keyring().secret
    return _hmac_sha256(key)(f"{kind}:{value}".encode()).hex()


def is_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def encrypt(text: str) -> str:
    return keyring().fernet.encrypt(text.encode()).decode() if text else ""


def encrypt_many(texts: Sequence[str]) -> list[str]:
    """``[encrypt(t) for t in texts]``, faster for bulk writes: the same Fernet tokens (first data
    key, a fresh random IV each, version byte, timestamp, AES-128-CBC with PKCS7, HMAC-SHA256)."""
    return fernet_tokens(texts, os.urandom(16 * len(texts)), int(time.time()))


def fernet_tokens(texts: Sequence[str], ivs: bytes, at: int) -> list[str]:
    """Fernet tokens of ``texts`` ("" stays "") with IV ``ivs[16*i:16*i+16]`` for text i. Texts of
    equal padded length are encrypted together: CBC (C_j = E(P_j xor C_j-1)) runs block position
    by block position over all of them, one AES call each through a reused ECB context, and the
    HMAC-SHA256 continues precomputed key states instead of keying every value anew."""
    key = base64.urlsafe_b64decode(keyring().data_key)
    block = Cipher(algorithms.AES(key[16:]), modes.ECB()).encryptor().update
    sign = _hmac_sha256(key[:16])
    head = b"\x80" + at.to_bytes(8, "big")
    out = [""] * len(texts)
    groups: dict[int, list[tuple[int, bytes]]] = {}
    for i, text in enumerate(texts):
        if text:
            data = text.encode()
            pad = 16 - len(data) % 16
            groups.setdefault(len(data) + pad, []).append((i, data + bytes((pad,)) * pad))
    b64 = base64.urlsafe_b64encode
    for width, members in groups.items():
        k = len(members)
        plain = np.frombuffer(b"".join(d for _, d in members), dtype=np.uint8).reshape(k, width)
        iv = np.frombuffer(b"".join(ivs[16 * i:16 * i + 16] for i, _ in members), dtype=np.uint8).reshape(k, 16)
        body = np.empty((k, 16 + width), dtype=np.uint8)
        body[:, :16] = prev = iv
        for j in range(0, width, 16):
            prev = np.frombuffer(block((plain[:, j:j + 16] ^ prev).tobytes()), dtype=np.uint8).reshape(k, 16)
            body[:, 16 + j:32 + j] = prev
        blob = body.tobytes()
        step = 16 + width
        for n, (i, _) in enumerate(members):
            parts = head + blob[n * step:(n + 1) * step]
            out[i] = b64(parts + sign(parts)).decode()
    return out


@lru_cache(maxsize=8)
def _hmac_sha256(key: bytes) -> Callable[[bytes], bytes]:
    """HMAC-SHA256 under ``key`` (RFC 2104) with the inner and outer key states hashed once and
    copied per message: what ``hmac.digest(key, msg, "sha256")`` returns, at half the cost."""
    padded = key.ljust(64, b"\0") if len(key) <= 64 else hashlib.sha256(key).digest().ljust(64, b"\0")
    inner = hashlib.sha256(bytes(x ^ 0x36 for x in padded))
    outer = hashlib.sha256(bytes(x ^ 0x5C for x in padded))

    def digest(msg: bytes) -> bytes:
        h = inner.copy()
        h.update(msg)
        o = outer.copy()
        o.update(h.digest())
        return o.digest()

    return digest


def decrypt(value: str) -> str:
    if not value or not is_token(value):
        return value  # empty, or written before encryption (the migration converts those)
    try:
        return keyring().fernet.decrypt(value.encode()).decode()
    except InvalidToken:
        raise KeyMismatch(f"cannot decrypt a stored value: {ENV_DATA}/{ENV_SECRET} are not the keys this "
                          "database was written with") from None


def rotate_token(value: str) -> str:
    """Re-encrypt a stored value with the first data key (plain legacy values get encrypted)."""
    if not value:
        return value
    if not is_token(value):
        return encrypt(value)
    return keyring().fernet.rotate(value.encode()).decode()


class EncryptedText(TypeDecorator[str]):
    """Text encrypted at rest (Fernet); "" stays "" so emptiness is still queryable."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(value)


class EncryptedJSON(TypeDecorator[dict[str, Any]]):
    """A JSON object encrypted at rest; ``{}`` is stored as ``{}`` (nothing to hide)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return text if not value else encrypt(text)

    def process_result_value(self, value: str | None, dialect: Dialect) -> dict[str, Any] | None:
        if value is None:
            return None
        loaded = json.loads(decrypt(value)) if isinstance(value, str) else value  # a JSON column before 0013
        return loaded if isinstance(loaded, dict) else {}
