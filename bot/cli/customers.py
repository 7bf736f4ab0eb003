"""``orderbot export-customers``: one segment of the customer value pool as XLSX."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func, select

from bot.cli.common import cli, err, run
from orders.app import App
from orders.reports.customer_export import export_segment
from orders.reports.customers import HIGH_POTENTIAL, SEGMENT_ORDER
from orders.reports.models import CustomerPoolRow
from orders.reports.pool import known_segment, rebuild


@cli.command("export-customers")
def export_customers(
    segment: Annotated[str, typer.Option("--segment", help=f"{HIGH_POTENTIAL} or an RFM segment, e.g. 重要价值")],
    out: Annotated[Path, typer.Option("--out", help="the XLSX file to write")],
    rebuild_: Annotated[bool, typer.Option("--rebuild", help="rebuild the pool first")] = False,
) -> None:
    """Export one segment (masked phone, matching hash, masked nick, metrics) for outreach."""
    if not known_segment(segment):
        err.print(f"unknown segment {segment!r}; known: {HIGH_POTENTIAL}, {', '.join(SEGMENT_ORDER)}", markup=False)
        raise typer.Exit(2)
    if out.suffix.lower() != ".xlsx":
        err.print("--out must name an .xlsx file")
        raise typer.Exit(2)

    async def body(app: App) -> int:
        async with app.db.session() as s:
            empty = not await s.scalar(select(func.count()).select_from(CustomerPoolRow))
        if rebuild_ or empty:
            await rebuild(app)
        n = await export_segment(app.db, segment, out)
        err.print(f"{n} customers in {segment} written to {out}", markup=False)
        return 0

    raise typer.Exit(run(body))
