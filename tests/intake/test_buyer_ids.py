"""The platform buyer id each channel gives (Taobao buyer_open_uid / nick, Douyin doudian_open_id,
JD open_id_buyer / pin, Youzan buyer_info.yz_open_id / buyer_id / fans_id) is kept as a keyed hash
per channel, so buyers without a phone hash still match across orders. Pinduoduo gives no buyer
id (masked phone and names only): nothing is stored."""

from __future__ import annotations

import re
from typing import Any

import pytest

from orders.app import App
from orders.privacy import hash_buyer_id
from orders.reports.pool import rebuild
from tests.fakes import payloads as P
from tests.intake.helpers import order_of, pull_in
from tests.reports.test_pool_store import _rows


def _douyin(oid: str, **buyer: str) -> dict[str, Any]:
    return {**P.douyin(oid), **buyer}


def _jd(oid: str, **buyer: str) -> dict[str, Any]:
    return {**P.jd(oid), **buyer}


def _youzan(oid: str, **buyer: str) -> dict[str, Any]:
    p = P.youzan(oid)
    p["full_order_info"]["buyer_info"] = buyer
    return p


@pytest.mark.parametrize(("channel", "payload", "buyer_id"), [
    ("douyin", _douyin("DY1", doudian_open_id="dy_open_1"), "dy_open_1"),
    ("douyin", _douyin("DY2", open_id="dy_old_2"), "dy_old_2"),
    ("jd", _jd("JD1", open_id_buyer="jd_open_1", pin="jd_pin"), "jd_open_1"),
    ("jd", _jd("JD2", pin="jd_pin_2"), "jd_pin_2"),
    ("youzan", _youzan("YZ1", yz_open_id="yz_open_1", buyer_id="123"), "yz_open_1"),
    ("youzan", _youzan("YZ2", buyer_id="456"), "456"),
    ("youzan", _youzan("YZ3", fans_id="789"), "789"),
    ("taobao", {**P.taobao("TB1"), "buyer_open_uid": "AAHk5d-tb"}, "AAHk5d-tb"),
])
async def test_buyer_id_kept_as_a_hash(app: App, channel: str, payload: dict[str, Any], buyer_id: str) -> None:
    rep = await pull_in(app, channel, payload)
    assert (rep.added, rep.failed) == (1, 0), rep.rejects
    o = await order_of(app, channel, str(payload.get("order_id") or payload.get("orderId") or payload.get("tid")
                                         or payload.get("full_order_info", {}).get("order_info", {}).get("tid")))
    assert o.buyer_id_hash == hash_buyer_id(channel, buyer_id)
    assert not _holding(o, buyer_id)


def _holding(o: Any, text: str) -> list[str]:
    """Stored column values holding ``text`` other than by chance inside a digest or a Fernet token
    (a short numeric id like 789 can occur in a hex digest or in the object's repr)."""
    opaque = re.compile(r"(sha256:)?[0-9a-f]{64}|gAAAAA[\w=-]+")
    return [k for k, v in vars(o).items() if not k.startswith("_") and text in str(v)
            and not (isinstance(v, str) and opaque.fullmatch(v))]


@pytest.mark.parametrize(("channel", "payload"), [
    ("douyin", P.douyin("DY9")), ("jd", P.jd("JD9")), ("youzan", P.youzan("YZ9")), ("pdd", P.pdd("PDD9")),
])
async def test_no_buyer_id_given_stores_none(app: App, channel: str, payload: dict[str, Any]) -> None:
    rep = await pull_in(app, channel, payload)
    assert rep.added == 1
    oid = {"douyin": "DY9", "jd": "JD9", "youzan": "YZ9", "pdd": "PDD9"}[channel]
    assert (await order_of(app, channel, oid)).buyer_id_hash == ""


async def test_buyer_without_phone_matched_by_open_id(app: App) -> None:
    """Two Douyin orders, no phone given, one open id: one buyer in the pool with both orders."""
    no_phone = {"mask_post_tel": "", "post_tel": ""}
    await pull_in(app, "douyin", {**P.douyin("DYA"), **no_phone, "doudian_open_id": "dy_same"},
                  {**P.douyin("DYB"), **no_phone, "doudian_open_id": "dy_same"})
    await rebuild(app)
    key = "id:" + hash_buyer_id("douyin", "dy_same")
    assert [r[1] for r in await _rows(app) if r[0] == key] == [2]
