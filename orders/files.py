"""Files kept under the data dir by content hash (evidence photos, reply images, voice), each
written once, through a unique temporary file and an atomic rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

IMAGE_MAGIC = {b"\x89PNG": ".png", b"\xff\xd8": ".jpg", b"GIF8": ".gif"}


def image_suffix(data: bytes, default: str = ".bin") -> str:
    """The file suffix the first bytes say (PNG, JPEG, GIF), else ``default``."""
    return next((s for magic, s in IMAGE_MAGIC.items() if data.startswith(magic)), default)


def keep(path: Path, data: bytes) -> None:
    """Write ``data`` at ``path`` unless it is there (a content-addressed path never changes).
    Two writers at once each use their own temporary file; the second rename is harmless."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
