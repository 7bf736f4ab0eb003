"""The speech pipeline with the real Vosk model: decoding, golden transcripts, bad audio, a
full pool and a broken model folder."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import vosk

from stt.audio import AudioError, decode_amr, encode_amr
from stt.pool import PoolFull, SttPool
from stt.recognizer import ModelError, load_model, transcribe_pcm
from tests.stt.support import fixture_bytes, golden

SPOKEN = ["ko_hello.amr", "ko_broken.amr", "ko_numbers.amr"]


def test_fixtures_are_amr_nb_8k_and_decode_in_process() -> None:
    for name in [*SPOKEN, "silence.amr"]:
        data = fixture_bytes(name)
        assert data.startswith(b"#!AMR\n")  # AMR-NB storage format, as WeCom delivers
        pcm = decode_amr(data)
        assert 1.0 < pcm.seconds < 10.0


def test_model_loads(stt_model: vosk.Model) -> None:
    # the real Korean model: its vocabulary has the unknown-word token and not made-up words
    assert stt_model.vosk_model_find_word("<UNK>") >= 0
    assert stt_model.vosk_model_find_word("zzzqqq") == -1


@pytest.mark.parametrize("name", SPOKEN)
def test_each_fixture_gives_its_golden_transcript(stt_pool: SttPool, name: str) -> None:
    expected = golden(name)
    assert expected  # non-empty: the model really heard something
    assert stt_pool.first[name] == expected  # type: ignore[attr-defined]


async def test_silence_gives_empty_transcript(stt_pool: SttPool) -> None:
    assert stt_pool.first["silence.amr"] == ""  # type: ignore[attr-defined]
    assert await stt_pool.transcribe(decode_amr(fixture_bytes("silence.amr")).pcm) == ""


async def test_pool_transcribes_off_the_event_loop(stt_pool: SttPool) -> None:
    ticks = 0

    async def tick() -> None:  # runs only while the loop is free
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    ticker = asyncio.create_task(tick())
    text = await stt_pool.transcribe(decode_amr(fixture_bytes("ko_numbers.amr")).pcm)
    ticker.cancel()
    assert text and stt_pool.pending == 0
    assert ticks > 10  # the loop kept running during the decode (a blocking call would allow ~1)


def test_new_recognizer_per_message_also_hears_words(stt_model: vosk.Model) -> None:
    assert transcribe_pcm(stt_model, decode_amr(fixture_bytes("ko_broken.amr")).pcm)


def test_corrupt_and_empty_audio_are_refused() -> None:
    good = fixture_bytes("ko_hello.amr")
    for bad in (b"", b"#!AMR\n" + b"\xff" * 200, b"not audio at all" * 20, good[:40]):
        with pytest.raises(AudioError):
            decode_amr(bad)


def test_encode_round_trip_keeps_duration() -> None:
    assert abs(decode_amr(encode_amr(b"\0\0" * 8000 * 3)).seconds - 3.0) < 0.05


def test_missing_or_broken_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "nope")
    (tmp_path / "broken" / "am").mkdir(parents=True)
    (tmp_path / "broken" / "am" / "final.mdl").write_bytes(b"junk")
    with pytest.raises(ModelError):
        load_model(tmp_path / "broken")


async def test_pool_full_refuses_at_once(stt_model: vosk.Model) -> None:
    pool = SttPool(stt_model, workers=1, max_pending=1)
    try:
        first = pool.submit(decode_amr(fixture_bytes("ko_hello.amr")).pcm)  # holds the only slot
        with pytest.raises(PoolFull):
            pool.submit(b"\0\0" * 800)
        assert first.result(timeout=120)
        assert pool.pending == 0
    finally:
        pool.close()
