"""YAML config files: packaged defaults, replaced file by file by ``ORDERBOT_CONFIG_DIR``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_DIR = Path(__file__).parent


@dataclass(frozen=True)
class ConfigDir:
    """Where config files are read from: an override folder first, then the defaults."""

    override: Path | None = None

    def path(self, name: str) -> Path:
        if self.override is not None:
            candidate = self.override / f"{name}.yaml"
            if candidate.exists():
                return candidate
        return DEFAULT_DIR / f"{name}.yaml"

    def load(self, name: str) -> dict[str, Any]:
        return load_yaml(self.path(name))


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: top level must be a mapping")
    return data
