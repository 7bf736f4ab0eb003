"""``config/regions.yaml``: windows, sample floor, complaint and return rules for region health."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config import ConfigDir


def _strs(data: dict[str, Any], key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    v = data.get(key)
    if v is None:
        return default
    if not isinstance(v, list):
        raise ValueError(f"regions.yaml: {key} must be a list")
    return tuple(str(x) for x in v)


@dataclass(frozen=True)
class RegionConfig:
    window_days: int = 30
    baseline_weeks: int = 8
    min_parcels: int = 30
    z: float = 1.96
    sign_hours: int = 48
    followup_role: str = "cs_lead"
    complaint_kinds: tuple[str, ...] = ("破损", "延误", "错发", "态度", "其他")
    complaint_reason_words: tuple[str, ...] = ()
    complaint_platform_statuses: tuple[str, ...] = ()
    return_kinds: tuple[str, ...] = ("退货", "退货退款")
    return_platform_statuses: tuple[str, ...] = ()
    top_flags: int = 10

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RegionConfig:
        cfg = cls(window_days=int(d.get("window_days", 30)), baseline_weeks=int(d.get("baseline_weeks", 8)),
                  min_parcels=int(d.get("min_parcels", 30)), z=float(d.get("z", 1.96)),
                  sign_hours=int(d.get("sign_hours", 48)), followup_role=str(d.get("followup_role", "cs_lead")),
                  complaint_kinds=_strs(d, "complaint_kinds", cls.complaint_kinds),
                  complaint_reason_words=_strs(d, "complaint_reason_words"),
                  complaint_platform_statuses=_strs(d, "complaint_platform_statuses"),
                  return_kinds=_strs(d, "return_kinds", cls.return_kinds),
                  return_platform_statuses=_strs(d, "return_platform_statuses"),
                  top_flags=int(d.get("top_flags", 10)))
        if cfg.window_days < 1 or cfg.baseline_weeks < 1 or cfg.min_parcels < 1 or cfg.sign_hours < 1:
            raise ValueError("regions.yaml: window_days, baseline_weeks, min_parcels, sign_hours must be >= 1")
        if not cfg.complaint_kinds:
            raise ValueError("regions.yaml: complaint_kinds must not be empty")
        return cfg

    @classmethod
    def load(cls, config: ConfigDir) -> RegionConfig:
        return cls.from_dict(config.load("regions"))
