"""``orderbot keys rotate``: re-encrypt every encrypted value with the first data key and, when
``ORDERBOT_SECRET_KEY_OLD`` is set, re-key every keyed hash with the new ``ORDERBOT_SECRET_KEY``
(phone hashes from their sealed digest, name hashes from the decrypted name). The platform
nickname is not kept, so its search hash cannot be re-keyed: a secret rotation clears it (a hash
under the old secret would never match again) and 查 <昵称> finds the order again once the
platform sends it again (the importer writes the hash anew). Runs in chunks; running it again is
harmless."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from orders.crypto import decrypt, keyed_hash, reload, rotate_token
from orders.db import Database
from orders.privacy import hash_text

CHUNK = 1000
ORDERS = sa.table("orders", sa.column("id", sa.Integer), sa.column("buyer_name", sa.Text),
                  sa.column("address_detail", sa.Text), sa.column("phone_hash", sa.String),
                  sa.column("phone_sealed", sa.Text), sa.column("buyer_id_hash", sa.String),
                  sa.column("buyer_id_sealed", sa.Text), sa.column("name_hash", sa.String),
                  sa.column("nick_hash", sa.String))
INBOX = sa.table("wecom_inbox", sa.column("id", sa.Integer), sa.column("xml", sa.Text))
OUTBOX = sa.table("outbox", sa.column("id", sa.Integer), sa.column("payload", sa.Text))


@dataclass
class Rotated:
    orders: int = 0
    rehashed: int = 0
    nick_dropped: int = 0  # nickname search keys cleared (not re-keyable: the nickname is not kept)
    inbox: int = 0
    outbox: int = 0


async def rotate_keys(db: Database) -> Rotated:
    """Rotate everything at rest to the keys now in the environment."""
    kr = reload()
    done = Rotated()
    last = 0
    while True:
        async with db.session() as s:
            rows = (await s.execute(sa.select(ORDERS.c.id, ORDERS.c.buyer_name, ORDERS.c.address_detail,
                                              ORDERS.c.phone_hash, ORDERS.c.phone_sealed, ORDERS.c.buyer_id_hash,
                                              ORDERS.c.buyer_id_sealed, ORDERS.c.name_hash, ORDERS.c.nick_hash)
                                    .where(ORDERS.c.id > last).order_by(ORDERS.c.id).limit(CHUNK))).all()
            if not rows:
                break
            last = rows[-1][0]
            params = []
            for i, name, street, phash, sealed, bhash, bsealed, nhash, nick in rows:
                p = {"i": i, "n": rotate_token(name or ""), "a": rotate_token(street or ""), "h": phash or "",
                     "s": rotate_token(sealed or ""), "bh": bhash or "", "bs": rotate_token(bsealed or ""),
                     "nh": nhash or "", "nk": nick or ""}
                if kr.old_secret is not None and nick:
                    p["nk"] = ""
                    done.nick_dropped += 1
                if kr.old_secret is not None and name:  # the name search key, from the decrypted name
                    p["nh"] = hash_text("name", decrypt(name))
                digest = decrypt(sealed or "").removeprefix("sha256:")
                bdigest = decrypt(bsealed or "").removeprefix("sha256:")
                if kr.old_secret is not None and digest:
                    p["h"] = keyed_hash("phone", digest)
                    done.rehashed += 1
                if kr.old_secret is not None and bdigest:
                    p["bh"] = keyed_hash("buyer", bdigest)
                params.append(p)
            await s.execute(ORDERS.update().where(ORDERS.c.id == sa.bindparam("i"))
                            .values(buyer_name=sa.bindparam("n"), address_detail=sa.bindparam("a"),
                                    phone_hash=sa.bindparam("h"), phone_sealed=sa.bindparam("s"),
                                    buyer_id_hash=sa.bindparam("bh"), buyer_id_sealed=sa.bindparam("bs"),
                                    name_hash=sa.bindparam("nh"), nick_hash=sa.bindparam("nk")), params)
            done.orders += len(rows)
    for table, col in ((INBOX, "xml"), (OUTBOX, "payload")):
        last = 0
        while True:
            async with db.session() as s:
                found = (await s.execute(sa.select(table.c.id, table.c[col]).where(table.c.id > last)
                                         .order_by(table.c.id).limit(CHUNK))).all()
                if not found:
                    break
                last = found[-1][0]
                params = [{"i": i, "v": rotate_token(v)} for i, v in found if v and v != "{}"]
                if params:
                    await s.execute(table.update().where(table.c.id == sa.bindparam("i"))
                                    .values({col: sa.bindparam("v")}), params)
                if table is INBOX:
                    done.inbox += len(params)
                else:
                    done.outbox += len(params)
    return done
