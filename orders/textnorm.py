"""One normaliser for everything a person types: IME full-width forms to half-width, invisible
and control characters removed, whitespace collapsed, trailing punctuation dropped."""

from __future__ import annotations

import re
import unicodedata

# Categories removed: control (Cc), format incl. zero-width and bidi marks (Cf), surrogates (Cs),
# private use (Co) and unassigned incl. non-characters such as U+FFFF / U+10FFFF (Cn).
_DROP = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_SPACE = re.compile(r"\s+")
TRAILING = ".,;:!?~。，、；：！？～…·"
LIST_SEP = re.compile(r"[,，、;；]+")


def _half(ch: str) -> str:
    o = ord(ch)
    if 0xFF01 <= o <= 0xFF5E:  # full-width ASCII block: ＡＢＣ１２３－，：；（）
        return chr(o - 0xFEE0)
    if o == 0x3000:  # ideographic space
        return " "
    return ch


def normalize_text(text: str) -> str:
    """'查　８８１２。' -> '查 8812'. Newlines and tabs count as spaces; trailing punctuation is
    dropped unless nothing else is left (a bare '？' stays)."""
    out = []
    for ch in text or "":
        if ch in "\t\n\r\v\f":
            out.append(" ")
            continue
        ch = _half(ch)
        if unicodedata.category(ch) in _DROP:
            continue
        out.append(ch)
    s = _SPACE.sub(" ", "".join(out)).strip()
    stripped = s.rstrip(TRAILING + " ")
    return stripped or s


def split_list(text: str) -> list[str]:
    """'客服，财务、运营' / 'cs,finance' -> items, empty ones dropped."""
    return [p.strip() for p in LIST_SEP.split(text or "") if p.strip()]
