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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from stt.audio import encode_amr

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "stt"
PHRASES = {
    "ko_hello": "안녕하세요 주문 확인 부탁드립니다",
    "ko_broken": "상자가 파손되었습니다",
    "ko_numbers": "일 이 삼 사 오 육 칠 팔",
}


def speak(text: str) -> tuple[bytes, int]:
    """espeak-ng's WAV as int16 mono PCM and its rate."""
    wav = subprocess.run(["espeak-ng", "-v", "ko", "-s", "140", "--stdout", text], check=True,
                         capture_output=True).stdout
    with av.open(io.BytesIO(wav)) as c:
        st = c.streams.audio[0]
        rs = av.AudioResampler(format="s16", layout="mono", rate=st.rate)
        pcm = b"".join(bytes(f.planes[0])[: f.samples * 2] for fr in c.decode(st) for f in rs.resample(fr))
        return pcm, st.rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", action="store_true", help="record golden transcripts with the Korean model")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.golden:
        for name, text in PHRASES.items():
            pcm, rate = speak(text)
            (OUT / f"{name}.amr").write_bytes(encode_amr(pcm, rate))
            (OUT / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
        (OUT / "silence.amr").write_bytes(encode_amr(b"\0\0" * 8000 * 3, 8000))
        # A 10 s clip for the bench: the phrases back to back, repeated.
        parts = [speak(t) for t in PHRASES.values()]
        rate = parts[0][1]
        one = b"".join(p + b"\0\0" * (rate // 2) for p, _ in parts)
        (OUT / "ko_10s.amr").write_bytes(encode_amr((one * 3)[: 10 * rate * 2], rate))
        return
    from stt.audio import decode_amr
    from stt.recognizer import load_model, transcribe_pcm
    from stt.testmodel import korean_model_path

    model = load_model(str(korean_model_path()))
    for amr in sorted(OUT.glob("*.amr")):
        if amr.stem == "ko_10s":
            continue  # bench only: a long robot-voice clip has near-ties (no stable golden text)
        text = transcribe_pcm(model, decode_amr(amr.read_bytes()).pcm)
        (OUT / f"{amr.stem}.golden").write_text(text + "\n", encoding="utf-8")
        print(f"{amr.name}: {text!r}", file=sys.stderr)


if __name__ == "__main__":
    main()
