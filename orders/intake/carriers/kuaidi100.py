"""Kuaidi100 subscription push: form POST with ``param`` (JSON) and ``sign`` = md5(param + salt),
compared case-insensitively. ``lastResult.state``: 0 in transit, 1 揽收, 2 疑难, 3 签收, 4 退签,
5 派件, 6 退回, 7 转投, 14 拒签; with ``resultv2=4`` finer codes (103 揽收, 301–304 签收, …)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from orders.intake.carriers import CarrierEvent, ScanEntry

NAME = "kuaidi100"
OK = {"result": True, "returnCode": "200", "message": "成功"}
LABELS = {0: "在途", 1: "揽收", 2: "疑难件", 3: "签收", 4: "退签", 5: "派件", 6: "退回", 7: "转投", 8: "清关",
          14: "拒签"}
EXCEPTIONS = {2, 4, 6, 14}
CARRIER_TZ = ZoneInfo("Asia/Shanghai")  # Kuaidi100 times are Beijing time
MAX_SCANS = 200


def classify(code: int) -> tuple[str, str]:
    """(kind, label) for a state code, plain (0–14) or fine-grained (103, 301, 1401 …)."""
    major = code if code < 100 else code // 100
    label = LABELS.get(major, f"状态{code}")
    if code == 1 or code == 103:
        return "picked_up", label
    if major == 3:
        return "signed", label
    if major in EXCEPTIONS:
        return "exception", label
    return "transit", label


class Kuaidi100:
    name = NAME

    def verify(self, form: dict[str, str], secret: str) -> bool:
        param, sign = form.get("param", ""), form.get("sign", "")
        if not secret or not param or not sign:
            return False
        want = hashlib.md5((param + secret).encode("utf-8")).hexdigest()
        return hmac.compare_digest(want.lower(), sign.strip().lower())

    def parse(self, form: dict[str, str]) -> CarrierEvent:
        """Raises ValueError for a param that is not the documented shape."""
        data = json.loads(form["param"])
        last = data.get("lastResult") if isinstance(data, dict) else None
        if not isinstance(last, dict) or not last.get("nu"):
            raise ValueError("param lacks lastResult.nu")
        code = int(str(last.get("state", "")).strip())
        kind, label = classify(code)
        items = last.get("data") or []
        if not isinstance(items, list):
            raise ValueError("lastResult.data is not a list")
        newest = items[0] if items and isinstance(items[0], dict) else {}
        return CarrierEvent(carrier=NAME, company=str(last.get("com") or ""), number=str(last["nu"]).strip().upper(),
                            kind=kind, code=str(code), label=label,
                            event_time=str(newest.get("ftime") or newest.get("time") or ""),
                            context=str(newest.get("context") or "")[:200],
                            scans=tuple(scan(x) for x in items[:MAX_SCANS] if isinstance(x, dict)))


def carrier_time(text: str) -> datetime | None:
    """'2026-11-30 14:02:00' (Beijing time) -> aware datetime; None when unreadable."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=CARRIER_TZ)


def scan(item: dict[str, Any]) -> ScanEntry:
    """A ``data`` entry: ftime/time, context, and with resultv2 the place (areaName / location)
    and status."""
    text = str(item.get("ftime") or item.get("time") or "")[:32]
    place = str(item.get("areaName") or item.get("location") or item.get("areaCenter") or "")
    return ScanEntry(at=carrier_time(text), time_text=text, context=str(item.get("context") or "")[:255],
                     place=place[:64], status=str(item.get("status") or "")[:32])
