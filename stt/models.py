"""Getting the production model: Vosk's small Chinese model, checked against the size and MD5
published in Vosk's model list before it is unpacked."""

from __future__ import annotations

import hashlib
import shutil
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from zlib import error as zlib_error


@dataclass(frozen=True)
class ModelSpec:
    name: str
    url: str
    size: int
    md5: str


# From Vosk's model-list.json (the list its own downloader uses).
SMALL_CN = ModelSpec(
    name="vosk-model-small-cn-0.22",
    url="https://alphacephei.com/vosk/models/vosk-model-small-cn-0.22.zip",
    size=43898754,
    md5="d1a8e82933dcc7632667c036b0bb3dbb",
)


class FetchError(Exception):
    pass


def download(spec: ModelSpec, dest: Path, timeout: float = 30.0) -> Path:
    """Download the zip to ``dest/<name>.zip`` (streamed). Raises FetchError when unreachable."""
    dest.mkdir(parents=True, exist_ok=True)
    zpath = dest / f"{spec.name}.zip"
    part = zpath.with_suffix(".zip.part")
    try:
        with urllib.request.urlopen(spec.url, timeout=timeout) as resp, part.open("wb") as fh:
            shutil.copyfileobj(resp, fh, 1 << 20)
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        part.unlink(missing_ok=True)
        raise FetchError(f"cannot download {spec.url}: {e}") from e
    part.replace(zpath)
    return zpath


def verify(spec: ModelSpec, zpath: Path) -> str:
    """Check size and MD5; returns the file's sha256 (for the record). Raises FetchError."""
    size = zpath.stat().st_size
    if size != spec.size:
        raise FetchError(f"{zpath}: {size} bytes, expected {spec.size}")
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with zpath.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            md5.update(chunk)
            sha.update(chunk)
    if md5.hexdigest() != spec.md5:
        raise FetchError(f"{zpath}: md5 {md5.hexdigest()}, expected {spec.md5}")
    return sha.hexdigest()


KNOWN = {SMALL_CN.name: SMALL_CN}
MODEL_FILES = ("am/final.mdl", "conf/model.conf")  # what every Vosk model folder has


def check_archive(zpath: Path) -> str:
    """Check a model zip copied by hand: a readable zip whose members' CRCs match, with safe
    paths and one top folder holding a Vosk model (am/final.mdl, conf/model.conf, graph/).
    A zip named like a model we know must also match its published size and MD5. Returns the
    top folder's name; raises FetchError saying what is wrong."""
    if not zipfile.is_zipfile(zpath):
        raise FetchError(f"{zpath} is not a zip archive (incomplete copy?)")
    try:
        with zipfile.ZipFile(zpath) as z:
            names = z.namelist()
            bad = z.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, zlib_error) as e:
        raise FetchError(f"{zpath} is corrupt: {e}") from e
    if bad is not None:
        raise FetchError(f"{zpath} is corrupt: {bad} fails its CRC check (copy it again)")
    for member in names:
        if member.startswith("/") or ".." in Path(member).parts:
            raise FetchError(f"unsafe path in archive: {member}")
    tops = {n.split("/", 1)[0] for n in names if n.strip("/")}
    if len(tops) != 1:
        raise FetchError(f"{zpath}: expected one model folder at the top, found {', '.join(sorted(tops)) or 'nothing'}")
    top = tops.pop()
    missing = [f for f in MODEL_FILES if f"{top}/{f}" not in names]
    if not any(n.startswith(f"{top}/graph/") for n in names):
        missing.append("graph/")
    if missing:
        raise FetchError(f"{zpath}: {top}/ is not a Vosk model (missing {', '.join(missing)})")
    spec = KNOWN.get(zpath.name.removesuffix(".zip")) or KNOWN.get(top)
    if spec is not None:
        verify(spec, zpath)
    return top


def unpack(zpath: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zpath) as z:
        for member in z.namelist():
            if member.startswith("/") or ".." in Path(member).parts:
                raise FetchError(f"unsafe path in archive: {member}")
        z.extractall(dest)
    return dest / zpath.name.removesuffix(".zip")
