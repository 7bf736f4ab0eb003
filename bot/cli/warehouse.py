"""Warehouse CLI: ``import-barcodes FILE`` loads the barcode table (SKU, barcode, bin)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import cli, err, run
from orders.app import App
from orders.warehouse.barcodes import BarcodeFileError, import_rows, read_file


@cli.command("import-barcodes")
def import_barcodes(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV (UTF-8/GBK) or XLSX")],
) -> None:
    """Load product barcodes: columns sku, barcode and optional bin, spec (or 商家编码, 条码, 库位,
    规格/颜色/尺码). EAN-13/UPC/EAN-8 check digits are verified. Exit 0: all rows taken, 1: some rows
    rejected (listed), 2: the file is unusable."""

    async def body(app: App) -> int:
        try:
            rows = read_file(file)
        except BarcodeFileError as e:
            err.print(f"{file}: {e}", markup=False, soft_wrap=True)
            return 2
        rep = await import_rows(app.db, rows, by="import", now=app.clock.now())
        for no, why in rep.rejects[:50]:
            err.print(f"row {no}: {why}", markup=False, soft_wrap=True)
        err.print(rep.summary(), markup=False, soft_wrap=True)
        return 1 if rep.rejects else 0

    raise typer.Exit(run(body))
