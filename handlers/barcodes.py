"""条码: the warehouse keeps the barcode table (SKU <-> barcodes, bin, size/colour) from chat.
Bulk loads go through ``orderbot import-barcodes FILE``."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from orders.errors import InvalidInput
from orders.warehouse.barcodes import barcodes_of, remove_barcode, set_barcode

USAGE = ("用法：条码 <商家编码>（查看） | 条码 <商家编码> <条码> [库位] [规格] | 条码 删 <条码>\n"
         "例：条码 TQ-YRF-120 6901234567892 A-03-2 红色120cm")


@registry.command("条码", roles=("warehouse", "warehouse_lead"), summary="查看/设置商品条码、库位、规格（仓管）",
                  example="条码 TQ-YRF-120 6901234567892 A-03-2 红色120cm")
async def barcode(req: Request, args: str) -> list[Reply]:
    parts = args.split()
    if not parts:
        raise InvalidInput(USAGE)
    app = req.app
    now = app.clock.now()
    async with app.db.session() as s:
        if parts[0] == "删":
            if len(parts) != 2:
                raise InvalidInput(USAGE)
            if not await remove_barcode(s, parts[1]):
                raise InvalidInput(f"没有条码「{parts[1][:64]}」。")
            return [Reply(text=f"✅ 已删除条码 {parts[1]}。")]
        if len(parts) == 1:
            rows = await barcodes_of(s, parts[0])
            if not rows:
                return [Reply(text=f"商家编码 {parts[0][:64]} 还没有条码。{USAGE}")]
            lines = [f"· {b.barcode}  库位 {b.bin or '-'}  {b.spec}".rstrip() for b in rows]
            return [Reply(text=f"{parts[0]} 的条码：\n" + "\n".join(lines))]
        row = await set_barcode(s, parts[0], parts[1], parts[2] if len(parts) > 2 else "",
                                " ".join(parts[3:]), by=req.user.user_id, now=now)
    where = f"，库位 {row.bin}" if row.bin else ""
    return [Reply(text=f"✅ 条码 {row.barcode} → {row.sku}{where}{('，' + row.spec) if row.spec else ''}。")]
