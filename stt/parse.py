"""Transcript → exception report: the kind (keyword table, matched by characters and by pinyin
so homophones still match) and the order named by voice (digits spoken as Chinese numerals)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pypinyin import Style, lazy_pinyin

# Spoken digits, by toneless pinyin: 幺 (yao) is 1 and 两 (liang) is 2 when reading numbers;
# 洞 (dong) is 0 in radio style. Homophones (巴 ba, 酒 jiu, 伞 san, 思 si ...) map the same way.
DIGIT_PINYIN = {"ling": "0", "dong": "0", "yi": "1", "yao": "1", "er": "2", "liang": "2", "san": "3",
                "si": "4", "wu": "5", "liu": "6", "qi": "7", "ba": "8", "jiu": "9"}
NUMERAL_CHARS = "零〇洞一幺二两三四五六七八九"
ANCHOR_PINYIN = (("wei", "hao"), ("dan", "hao"), ("ding", "dan"))  # 尾号 单号 订单
MIN_DIGITS = 3  # fewer spoken digits than this do not name an order (unless after an anchor)


def _fuzzy(py: str) -> str:
    """Fold the pinyin distinctions a southern accent or a recogniser often loses."""
    for a, b in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if py.startswith(a):
            py = b + py[2:]
    if py.startswith("n"):
        py = "l" + py[1:]
    if py.endswith("ng") and len(py) > 2:
        py = py[:-1]
    return py


def syllables(text: str, *, fuzzy: bool = True) -> list[str]:
    """One toneless pinyin syllable per non-space character (non-Chinese characters kept as-is);
    ``fuzzy`` folds zh/z, ch/c, sh/s, n/l and -ng/-n (for keywords, not for digits: 是 is not 四)."""
    out: list[str] = []
    for c in text:
        if c.isspace():
            continue
        py = lazy_pinyin(c, style=Style.NORMAL, errors="default")
        s = py[0] if py else c
        out.append(_fuzzy(s) if fuzzy else s)
    return out


@dataclass(frozen=True)
class KindTable:
    kinds: dict[str, tuple[str, ...]]
    other: str = "其他"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> KindTable:
        kinds = {str(k): tuple(str(w) for w in v or ()) for k, v in (d.get("kinds") or {}).items()}
        return cls(kinds=kinds, other=str(d.get("other", "其他")))

    @cached_property
    def _spoken(self) -> dict[str, tuple[tuple[str, str], ...]]:
        """Each keyword with its pinyin, worked out once per table rather than per message."""
        return {k: tuple((w, " " + " ".join(syllables(w)) + " ") for w in ws) for k, ws in self.kinds.items()}

    def match(self, transcript: str) -> str:
        """The kind of the longest keyword found (characters first, then pinyin); else ``other``."""
        text = "".join(transcript.split())
        best: tuple[int, int, str] | None = None  # (-length, table order, kind)
        joined = " " + " ".join(syllables(text)) + " "
        for i, (kind, words) in enumerate(self._spoken.items()):
            for w, sounds in words:
                hit = w in text or sounds in joined
                if hit and (best is None or (-len(w), i) < best[:2]):
                    best = (-len(w), i, kind)
        return best[2] if best else self.other


@dataclass(frozen=True)
class OrderRef:
    digits: tuple[str, ...]  # digit strings heard, longest first
    tail: bool  # said 尾号 (a suffix), else possibly a full number


def spoken_digits(transcript: str) -> OrderRef:
    """Digit runs in a transcript: ASCII digits, Chinese numerals and their homophones."""
    chars = [c for c in transcript if not c.isspace()]
    sylls = syllables("".join(chars), fuzzy=False)
    runs: list[tuple[int, str]] = []  # (start index, digits)
    cur, start = "", 0
    for i, (c, py) in enumerate(zip(chars, sylls, strict=True)):
        d = c if c.isascii() and c.isdigit() else DIGIT_PINYIN.get(py) if ("\u4e00" <= c <= "\u9fff") else None
        if d is not None:
            if not cur:
                start = i
            cur += d
        else:
            if cur:
                runs.append((start, cur))
            cur = ""
    if cur:
        runs.append((start, cur))
    anchored = set()
    for start, run in runs:
        before = sylls[max(0, start - 2):start]
        if tuple(before) in ANCHOR_PINYIN:
            anchored.add(run)
    tail = any(tuple(sylls[i:i + 2]) == ("wei", "hao") for i in range(len(sylls)))
    keep = [r for _, r in runs if len(r) >= MIN_DIGITS or (r in anchored and len(r) >= 2)]
    return OrderRef(tuple(sorted(set(keep), key=len, reverse=True)), tail)


def digits_of(s: str) -> str:
    return re.sub(r"\D", "", s)


def order_matches(ref: OrderRef, order_no: str, channel_order_id: str) -> bool:
    """Does a heard digit run name this order: its whole number or its last digits?"""
    nos = [digits_of(order_no), digits_of(channel_order_id)]
    return any(d and n and (n.endswith(d)) for d in ref.digits for n in nos)


def resolve(ref: OrderRef, candidates: list[tuple[int, str, str]]) -> list[int]:
    """Order ids among ``candidates`` (id, order_no, channel_order_id) named by ``ref``: the
    longest heard digit run (or all runs joined, for a full number) that matches any wins."""
    runs = list(ref.digits)
    if len(runs) > 1:
        runs.insert(0, "".join(runs))  # "BG260122-0003" is heard as 260122 and 0003
    for d in sorted(set(runs), key=len, reverse=True):
        one = OrderRef((d,), ref.tail)
        hits = [cid for cid, no, ch in candidates if order_matches(one, no, ch)]
        if hits:
            return hits
    return []
