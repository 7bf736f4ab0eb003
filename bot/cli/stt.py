"""``orderbot stt``: check the speech model, fetch the production model."""

from __future__ import annotations

import resource
import shutil
import time
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import cli, err
from config import load_settings
from stt.models import SMALL_CN

stt_cli = typer.Typer(help="Speech recognition (Vosk) for voice exception reports.", no_args_is_help=True)
cli.add_typer(stt_cli, name="stt")
SAMPLE = Path(__file__).resolve().parents[2] / "stt" / "samples" / "sample_zh.amr"


@stt_cli.command("check")
def check(
    model: Annotated[str | None, typer.Option(help="model folder (default: ORDERBOT_STT_MODEL)")] = None,
    sample: Annotated[Path, typer.Option(help="AMR/WAV file to transcribe", exists=True, dir_okay=False)] = SAMPLE,
) -> None:
    """Load the model, say which it is, and transcribe a sample. Exit 1 when it cannot."""
    from stt.audio import AudioError, decode_amr
    from stt.recognizer import ModelError, load_model, transcribe_pcm

    path = model or load_settings().stt_model
    if not path:
        err.print("speech model: none loaded. ORDERBOT_STT_MODEL is not set: voice reports are kept with their "
                  "audio as 待人工转写 and the warehouse lead is told.", markup=False, soft_wrap=True)
        err.print(how_to_install(), markup=False, soft_wrap=True)
        raise typer.Exit(1)
    t0 = time.perf_counter()
    try:
        m = load_model(path)
    except ModelError as e:
        err.print(f"model not usable: {e}", markup=False, soft_wrap=True)
        err.print(how_to_install(), markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    load_s = time.perf_counter() - t0
    try:
        pcm = decode_amr(sample.read_bytes())
    except AudioError as e:
        err.print(f"sample not decodable: {e}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    t1 = time.perf_counter()
    text = transcribe_pcm(m, pcm.pcm)
    work = time.perf_counter() - t1
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    typer.echo(f"model: {Path(path).resolve()}")
    typer.echo(f"loaded in {load_s:.2f} s, peak RSS {rss:.0f} MB")
    typer.echo(f"sample: {sample.name} ({pcm.seconds:.1f} s), real-time factor {work / pcm.seconds:.2f}")
    typer.echo(f"transcript: {text or '(empty)'}")
    if "-cn" not in Path(path).resolve().name:
        err.print(f"note: {Path(path).name} is not a Chinese model; Chinese voice reports need {SMALL_CN.name}.\n"
                  + how_to_install(), markup=False, soft_wrap=True)


def how_to_install(dest: str = "models") -> str:
    """The steps to get the Chinese model, with and without internet on this machine."""
    found = Path(dest) / SMALL_CN.name
    if (found / "am").is_dir():
        return (f"The Chinese model is already unpacked at {found}: export ORDERBOT_STT_MODEL={found.resolve()} "
                "and run `orderbot stt check` again.")
    return (f"To install the Chinese model ({SMALL_CN.name}, {SMALL_CN.size / 1e6:.0f} MB):\n"
            f"  with internet here:  orderbot stt fetch-model --dest {dest}\n"
            f"  without internet:    download {SMALL_CN.url} on another machine (md5 {SMALL_CN.md5}),\n"
            f"                       copy it here, then: orderbot stt install-model {SMALL_CN.name}.zip --dest {dest}\n"
            f"then export ORDERBOT_STT_MODEL={Path(dest).resolve() / SMALL_CN.name} and run `orderbot stt check`.")


@stt_cli.command("install-model")
def install_model(
    zip_file: Annotated[Path, typer.Argument(help="the model zip copied by hand", exists=True, dir_okay=False)],
    dest: Annotated[Path, typer.Option(help="folder to unpack it into")] = Path("models"),
) -> None:
    """Check a Vosk model zip copied by hand (zip integrity, model layout, and size + MD5 for
    vosk-model-small-cn-0.22), unpack it and load it once. Exit 2 when the archive is unusable."""
    from stt.models import FetchError, check_archive, unpack
    from stt.recognizer import ModelError, load_model

    try:
        top = check_archive(zip_file)
    except FetchError as e:
        err.print(f"install-model refused: {e}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    folder = dest / top
    if folder.exists():
        err.print(f"{folder} exists already; remove it or pick another --dest", markup=False, soft_wrap=True)
        raise typer.Exit(2)
    unpack(zip_file, dest)
    try:
        load_model(folder)
    except ModelError as e:
        shutil.rmtree(folder, ignore_errors=True)
        err.print(f"install-model refused: the unpacked model does not load ({e}); removed {folder}",
                  markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    typer.echo(f"installed {top} into {folder.resolve()} (archive checked, model loads)")
    typer.echo(f"ORDERBOT_STT_MODEL={folder.resolve()}")


@stt_cli.command("fetch-model")
def fetch_model(
    dest: Annotated[Path, typer.Option(help="folder to put the model in")] = Path("models"),
    zip_file: Annotated[Path | None, typer.Option("--zip", help="use an already downloaded zip", exists=True)] = None,
) -> None:
    """Download vosk-model-small-cn-0.22, verify its size and MD5, unpack it."""
    from stt.models import FetchError, download, unpack, verify

    try:
        if zip_file is None:
            err.print(f"downloading {SMALL_CN.url} ({SMALL_CN.size / 1e6:.0f} MB) ...", markup=False,
                      soft_wrap=True)
            zip_file = download(SMALL_CN, dest)
        sha = verify(SMALL_CN, zip_file)
        folder = unpack(zip_file, dest)
    except FetchError as e:
        err.print(f"fetch-model failed: {e}\nWithout internet here: download {SMALL_CN.url} elsewhere, copy it "
                  "over and run `orderbot stt install-model FILE` (or `orderbot stt fetch-model --zip FILE`).",
                  markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    typer.echo(f"verified md5 {SMALL_CN.md5} (sha256 {sha})")
    typer.echo(f"ORDERBOT_STT_MODEL={folder.resolve()}")
