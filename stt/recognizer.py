"""Vosk: loading a model and turning 8 kHz PCM into text."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import vosk

log = logging.getLogger(__name__)
RATE = 8000
CHUNK = 8000  # bytes fed per AcceptWaveform call (0.5 s at 8 kHz, 16-bit)
UNKNOWN = {"<UNK>", "[unk]", "<unk>"}
vosk.SetLogLevel(-1)


class ModelError(Exception):
    """No usable Vosk model at the configured path."""


def load_model(path: str | Path) -> vosk.Model:
    """Load a Vosk model folder once. Raises ModelError with the reason when it is missing or broken."""
    p = Path(path)
    if not p.is_dir():
        raise ModelError(f"model folder {p} does not exist")
    if not (p / "am").is_dir() and not (p / "final.mdl").exists():
        raise ModelError(f"{p} is not a Vosk model folder (no am/)")
    try:
        return vosk.Model(str(p))
    except Exception as e:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelError(f"{p}: {e}") from e


def clean(text: str) -> str:
    return " ".join(w for w in text.split() if w not in UNKNOWN)


class Transcriber:
    """One recognizer for one worker thread. ``reuse`` keeps the recognizer between messages
    (its decoding graph cache stays warm); otherwise a new one is made per message."""

    def __init__(self, model: vosk.Model, *, reuse: bool = True, grammar: list[str] | None = None) -> None:
        self.model = model
        self.reuse = reuse
        self.grammar = json.dumps(grammar, ensure_ascii=False) if grammar else None
        self._rec: vosk.KaldiRecognizer | None = self._new() if reuse else None

    def _new(self) -> vosk.KaldiRecognizer:
        if self.grammar:
            return vosk.KaldiRecognizer(self.model, RATE, self.grammar)
        return vosk.KaldiRecognizer(self.model, RATE)

    def transcribe(self, pcm: bytes) -> str:
        rec = self._rec if self._rec is not None else self._new()
        for i in range(0, len(pcm), CHUNK):
            rec.AcceptWaveform(pcm[i:i + CHUNK])
        return clean(json.loads(rec.FinalResult()).get("text", ""))


def transcribe_pcm(model: vosk.Model, pcm: bytes) -> str:
    """Transcribe with a new recognizer (tools and checks; the pool reuses one per worker)."""
    return Transcriber(model, reuse=False).transcribe(pcm)
