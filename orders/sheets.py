"""Spreadsheet cells that are safe to open: every CSV and XLSX the project writes goes through
here. OWASP's CSV/formula-injection rule: a text cell starting with ``=``, ``+``, ``-``, ``@``,
tab or CR is written as text, never as a formula (CSV: a leading ``'``; XLSX: a string cell with
Excel's quote prefix, so the value reads back unchanged). Numbers stay numbers."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

from openpyxl.worksheet.worksheet import Worksheet

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def risky(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_cell(value: object) -> object:
    """The value as a CSV cell: risky text gets a leading ``'``."""
    return "'" + value if risky(value) and isinstance(value, str) else value


class SafeCsvWriter:
    """``csv.writer`` with every cell passed through :func:`csv_cell`."""

    def __init__(self, fh: IO[str], **kw: Any) -> None:
        self._w = csv.writer(fh, **kw)

    def writerow(self, row: Iterable[object]) -> None:
        self._w.writerow([csv_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for r in rows:
            self.writerow(r)


def append_row(ws: Worksheet, row: Iterable[object]) -> None:
    """``ws.append(row)`` with risky text stored as a string cell (quote prefix), not a formula."""
    values = list(row)
    ws.append(values)
    r = ws.max_row
    for i, v in enumerate(values, start=1):
        if risky(v):
            cell = ws.cell(row=r, column=i)
            cell.data_type = "s"
            cell.quotePrefix = True
