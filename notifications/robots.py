"""Group-robot names -> webhook keys, resolved at send time (keys live in the environment)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from config import ConfigDir


@dataclass(frozen=True)
class RobotBook:
    robots: dict[str, dict[str, Any]] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)

    @classmethod
    def load(cls, config: ConfigDir, env: Mapping[str, str] | None = None) -> RobotBook:
        data = config.load("robots").get("robots") or {}
        return cls({str(k): dict(v or {}) for k, v in data.items()}, os.environ if env is None else env)

    def key(self, name: str) -> str | None:
        """The webhook key of robot ``name``; None when the robot or its key is unknown."""
        entry = self.robots.get(name)
        if entry is None:
            return None
        if entry.get("key"):
            return str(entry["key"])
        var = str(entry.get("key_env") or f"ORDERBOT_ROBOT_{name.upper()}")
        return self.env.get(var) or None
