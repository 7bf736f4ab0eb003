"""Make the voice fixtures once (needs espeak-ng; the tests do not): Korean phrases spoken by
espeak-ng, resampled to 8 kHz mono and encoded to AMR-NB with PyAV, as WeCom delivers voice.
Golden transcripts are then recorded with `python scripts/make_stt_fixtures.py --golden`."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path

import av
import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "stt"
PHRASES = {
    "ko_hello": "안녕하세요 주문 확인 부탁드립니다",
    "ko_broken": "상자가 파손되었습니다",
    "ko_numbers": "일 이 삼 사 오 육 칠 팔",
}


def amr_from_pcm(pcm: np.ndarray, rate: int) -> bytes:
    """Encode int16 mono PCM at ``rate`` to an AMR-NB file (8 kHz, 12.2 kbit/s)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="amr") as out:
        stream = out.add_stream("libopencore_amrnb", rate=8000)
        stream.bit_rate = 12200
        stream.layout = "mono"  # type: ignore[attr-defined]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for f in [*resampler.resample(frame), *resampler.resample(None)]:
            for p in stream.encode(f):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    return buf.getvalue()


def speak(text: str) -> tuple[np.ndarray, int]:
    wav = subprocess.run(["espeak-ng", "-v", "ko", "-s", "140", "--stdout", text], check=True,
                         capture_output=True).stdout
    with av.open(io.BytesIO(wav)) as c:
        st = c.streams.audio[0]
        rate = st.rate
        chunks = [f.to_ndarray().reshape(-1) for f in c.decode(st)]
    return np.concatenate(chunks).astype(np.int16), rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", action="store_true", help="record golden transcripts with the Korean model")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.golden:
        for name, text in PHRASES.items():
            pcm, rate = speak(text)
            (OUT / f"{name}.amr").write_bytes(amr_from_pcm(pcm, rate))
            (OUT / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
        (OUT / "silence.amr").write_bytes(amr_from_pcm(np.zeros(8000 * 3, dtype=np.int16), 8000))
        # A ~10 s clip for the bench: the phrases back to back.
        parts = [speak(t) for t in PHRASES.values()]
        rate = parts[0][1]
        gap = np.zeros(rate // 2, dtype=np.int16)
        pcm = np.concatenate([np.concatenate([p, gap]) for p, _ in parts])
        reps = int(np.ceil(10 * rate / len(pcm)))
        (OUT / "ko_10s.amr").write_bytes(amr_from_pcm(np.tile(pcm, reps)[: 10 * rate], rate))
        return
    from stt.audio import decode_amr
    from stt.recognizer import load_model, transcribe_pcm
    from stt.testmodel import korean_model_path

    model = load_model(str(korean_model_path()))
    for amr in sorted(OUT.glob("*.amr")):
        text = transcribe_pcm(model, decode_amr(amr.read_bytes()).pcm)
        (OUT / f"{amr.stem}.golden").write_text(text + "\n", encoding="utf-8")
        print(f"{amr.name}: {text!r}", file=sys.stderr)


if __name__ == "__main__":
    main()
