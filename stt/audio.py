"""Voice audio to 16-bit mono PCM at 8 kHz, decoded in process with PyAV (its wheel carries
FFmpeg's native AMR-NB decoder and the OpenCORE AMR-NB encoder; no system ffmpeg needed)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av

RATE = 8000  # WeCom voice is AMR-NB at 8 kHz; Vosk is fed 8 kHz directly
MAX_BYTES = 2 * 1024 * 1024  # WeCom's own limit for a voice file


class AudioError(Exception):
    """The audio could not be decoded (empty, corrupt, not audio)."""


@dataclass(frozen=True)
class Pcm:
    pcm: bytes  # int16 little-endian mono at RATE

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / RATE


def decode_amr(data: bytes) -> Pcm:
    """Decode an AMR (or any FFmpeg-readable) voice file to 8 kHz mono int16 PCM."""
    if not data:
        raise AudioError("empty audio")
    if len(data) > MAX_BYTES:
        raise AudioError(f"audio too large ({len(data)} bytes)")
    out = bytearray()
    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.audio:
                raise AudioError("no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
            for frame in container.decode(stream):
                for f in resampler.resample(frame):
                    out += bytes(f.planes[0])[: f.samples * 2]
            for f in resampler.resample(None):
                out += bytes(f.planes[0])[: f.samples * 2]
    except AudioError:
        raise
    except (av.FFmpegError, ValueError, OSError) as e:
        raise AudioError(f"undecodable audio: {type(e).__name__}: {e}") from e
    if not out:
        raise AudioError("no audio frames")
    return Pcm(bytes(out))


def encode_amr(pcm: bytes, rate: int = RATE) -> bytes:
    """int16 mono PCM to an AMR-NB file (12.2 kbit/s): how the bench and tests build clips."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="amr") as out:
        stream = out.add_stream("libopencore_amrnb", rate=RATE)
        stream.bit_rate = 12200
        stream.layout = "mono"
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
        frame.planes[0].update(pcm[: (len(pcm) // 2) * 2])
        frame.sample_rate = rate
        for f in [*resampler.resample(frame), *resampler.resample(None)]:
            for p in stream.encode(f):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    return buf.getvalue()
