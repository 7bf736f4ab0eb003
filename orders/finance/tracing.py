"""Amount tracing: does an order add up to the fen, and its standard summary line for finance.

paid = Σ(line price × qty) − Σ(discount ledger rows) + shipping. A discount row's amount is positive
when it lowers what the buyer pays and negative when it adds to it (a freight subsidy)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.models import Discount, Order
from orders.money import fen_to_yuan

MISMATCH_FLAG = "金额不一致"
KIND_LABELS = {
    "coupon": "优惠券", "full_reduction": "满减", "red_packet": "红包", "points": "积分抵扣",
    "payment": "支付优惠", "freight": "运费补贴", "adjust": "改价", "other": "其他优惠",
}
GOODS_LABEL = "商品价"


@dataclass(frozen=True)
class LedgerRow:
    label: str
    kind: str
    amount_fen: int


def amount_diff(lines_total_fen: int, discount_fen: Iterable[int], shipping_fen: int, paid_fen: int) -> int:
    """paid minus what the parts say it should be; 0 when the order adds up."""
    return paid_fen - (lines_total_fen - sum(discount_fen) + shipping_fen)


def summary_line(order_no: str, paid_fen: int, goods_fen: int, shipping_fen: int,
                 ledger: Sequence[LedgerRow], diff_fen: int = 0) -> str:
    """`订单#BG…：平台实付298.5元=商品价358元-平台券50元-店铺红包12.8元+运费补贴4.3元`.
    Rows with the same label are summed, in first-seen order."""
    sums: dict[str, int] = {}
    for r in ledger:
        label = r.label or KIND_LABELS.get(r.kind, r.kind)
        sums[label] = sums.get(label, 0) + r.amount_fen
    parts = [f"{GOODS_LABEL}{fen_to_yuan(goods_fen)}元"]
    for label, amt in sums.items():
        if amt:
            parts.append(f"{'-' if amt > 0 else '+'}{label}{fen_to_yuan(abs(amt))}元")
    if shipping_fen:
        parts.append(f"+运费{fen_to_yuan(shipping_fen)}元")
    text = f"订单#{order_no}：平台实付{fen_to_yuan(paid_fen)}元=" + "".join(parts)
    if diff_fen:
        text += f"（{MISMATCH_FLAG}，差额{fen_to_yuan(diff_fen)}元）"
    return text


async def summaries(s: AsyncSession, orders: Sequence[Order]) -> dict[int, str]:
    """The standard summary line of each order, from its stored ledger rows."""
    ids = [o.id for o in orders]
    ledger: dict[int, list[LedgerRow]] = {i: [] for i in ids}
    for i in range(0, len(ids), 500):
        rows = await s.execute(select(Discount.order_id, Discount.label, Discount.kind, Discount.amount_fen)
                               .where(Discount.order_id.in_(ids[i:i + 500])).order_by(Discount.id))
        for oid, label, kind, amt in rows:
            ledger[oid].append(LedgerRow(label, kind, amt))
    return {o.id: summary_line(o.order_no, o.paid_fen, o.goods_total_fen, o.shipping_fen, ledger[o.id],
                               o.amount_diff_fen) for o in orders}
