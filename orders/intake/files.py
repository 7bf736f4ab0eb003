"""Reading files as people hand them in: what kind of file it is (JSON Lines, CSV, XLSX), its text
encoding (UTF-8, UTF-8 with BOM, GBK, GB18030), and its rows as ``{header: value}``.

The kind is found from the bytes, not the file name: an XLSX is a ZIP (``PK\\x03\\x04``), an old
Excel ``.xls`` is an OLE file (refused: save it as XLSX or CSV), text whose first non-blank
character is ``{`` is JSON Lines, other text is CSV. Encodings are tried strictly in that order
(a GBK file is never valid UTF-8 beyond plain ASCII; GB18030 is GBK's superset)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_HEADER_SCAN = 20  # bank statements put a title block above the header row

Row = dict[str, Any]


class UnusableFile(ValueError):
    """The whole file cannot be used (wrong kind, encoding, broken container, wrong format)."""


@dataclass
class TableFile:
    """A sniffed file: ``kind`` (jsonl / csv / xlsx), ``encoding`` (text files), the header row
    and the data rows as ``(row number, {header: value})``."""

    path: Path
    kind: str
    encoding: str = ""
    header: list[str] = field(default_factory=list)
    header_row: int = 1
    text: str = ""

    def describe(self) -> str:
        return f"{self.kind.upper() if self.kind != 'jsonl' else 'JSON Lines'}" + \
            (f", {self.encoding}" if self.encoding else "")

    def rows(self) -> Iterator[tuple[int, Row]]:
        """Data rows after the header; a short CSV row (a cut file) carries ``__truncated__``."""
        if self.kind in ("xlsx", "xls"):
            yield from _sheet_rows(self.path, self.header_row)
        elif self.kind == "csv":
            yield from _csv_rows(self.text, self.header, self.header_row)
        else:
            raise UnusableFile("JSON Lines has no table rows")


def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding name) or UnusableFile naming what was tried."""
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "UTF-8 with BOM"
        except UnicodeDecodeError:
            raise UnusableFile("file starts with a UTF-8 BOM but is not UTF-8 text") from None
    for codec, name in (("utf-8", "UTF-8"), ("gbk", "GBK"), ("gb18030", "GB18030")):
        try:
            return raw.decode(codec), name
        except UnicodeDecodeError:
            continue
    raise UnusableFile("file is not text in UTF-8, GBK or GB18030 (nor an XLSX workbook)")


def sniff(path: Path, header_has: tuple[str, ...] = ()) -> TableFile:
    """Find the file's kind and encoding and read its header row. ``header_has``: the header row is
    the first of the first 20 rows holding all of these (default: the first row)."""
    raw = path.read_bytes()
    if not raw.strip():
        raise UnusableFile("file is empty")
    if raw.startswith(ZIP_MAGIC) or raw.startswith(OLE_MAGIC):
        kind = "xlsx" if raw.startswith(ZIP_MAGIC) else "xls"
        header, at = _sheet_header(path, header_has)
        return TableFile(path, kind, header=header, header_row=at)
    text, encoding = decode(raw)
    if text.lstrip().startswith("{"):
        return TableFile(path, "jsonl", encoding, text=text)
    header, at = _csv_header(text, header_has)
    return TableFile(path, "csv", encoding, header=header, header_row=at, text=text)


def _pick(rows: list[list[str]], header_has: tuple[str, ...]) -> tuple[list[str], int]:
    for i, cells in enumerate(rows[:MAX_HEADER_SCAN], 1):
        header = [clean_header(c) for c in cells]
        if not header_has or all(any(h in header for h in alt.split("|")) for alt in header_has):
            return header, i
    raise UnusableFile(f"no header row with {', '.join(header_has)} in the first {MAX_HEADER_SCAN} rows")


def clean_header(h: Any) -> str:
    return "" if h is None else str(h).replace("\ufeff", "").strip()


def _csv_header(text: str, header_has: tuple[str, ...]) -> tuple[list[str], int]:
    reader = csv.reader(text.splitlines(), strict=True)
    first: list[list[str]] = []
    try:
        for cells in reader:
            first.append(cells)
            if len(first) >= (MAX_HEADER_SCAN if header_has else 1):
                break
    except csv.Error as e:
        raise UnusableFile(f"header row unreadable: {e}") from None
    if not first:
        raise UnusableFile("file is empty")
    return _pick(first, header_has)


def _csv_rows(text: str, header: list[str], header_row: int) -> Iterator[tuple[int, Row]]:
    reader = csv.reader(text.splitlines(), strict=True)
    no = 0
    while True:
        no += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield no, {"__truncated__": f"row unreadable ({e}); file truncated?"}
            return
        if no <= header_row or not any(c.strip() for c in cells):
            continue
        row: Row = dict(zip(header, (c.strip() for c in cells), strict=False))
        if len(cells) < len(header):
            row["__truncated__"] = f"row has {len(cells)} of {len(header)} columns; file truncated?"
        yield no, row


def _sheet(path: Path) -> Any:
    """The first sheet of a workbook (XLSX or XLS), or UnusableFile."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        if not wb.sheet_names:
            raise UnusableFile("workbook has no sheets")
        return wb.get_sheet_by_index(0)
    except UnusableFile:
        raise
    except Exception as e:  # calamine's errors (zip, xml, cfb) have no common base class
        raise UnusableFile(f"not a readable Excel workbook (truncated or damaged?): {e}") from None


def _sheet_header(path: Path, header_has: tuple[str, ...]) -> tuple[list[str], int]:
    first = []
    for cells in _sheet(path).iter_rows():
        first.append([clean_header(c) for c in cells])
        if len(first) >= (MAX_HEADER_SCAN if header_has else 1):
            break
    if not first or not any(first[0]):
        raise UnusableFile("file is empty")
    return _pick(first, header_has)


def _sheet_rows(path: Path, header_row: int) -> Iterator[tuple[int, Row]]:
    header: list[str] = []
    for no, cells in enumerate(_sheet(path).iter_rows(), 1):
        if no < header_row:
            continue
        if no == header_row:
            header = [clean_header(c) for c in cells]
            continue
        if not any(c not in (None, "") for c in cells):
            continue
        yield no, {h: ("" if c is None else c) for h, c in zip(header, cells, strict=False) if h}
