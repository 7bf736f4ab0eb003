"""parcel facts: one narrow row per picked-up parcel for the region report, their regions and carriers, the
catch-up watermark and the digest's stored region flags; backfilled from the orders already there

Revision ID: 0022_parcel_facts
Revises: 0011_search
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_parcel_facts"
down_revision = "0011_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parcel_regions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(length=32), nullable=False),
        sa.Column("city", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("prov_code", sa.Integer(), nullable=False),
        sa.Column("city_code", sa.Integer(), nullable=False),
        sa.Column("dist_code", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcel_regions")),
        sa.UniqueConstraint("province", "city", "district", name="uq_parcel_regions_triple"),
    )
    op.create_table(
        "parcel_carriers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcel_carriers")),
        sa.UniqueConstraint("name", name=op.f("uq_parcel_carriers_name")),
    )
    op.create_table(
        "parcel_facts",
        sa.Column("order_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("carrier_id", sa.Integer(), nullable=False),
        sa.Column("paid_at", sa.BigInteger(), nullable=True),
        sa.Column("picked_at", sa.BigInteger(), nullable=False),
        sa.Column("signed_at", sa.BigInteger(), nullable=True),
        sa.Column("picked_by_carrier", sa.Boolean(), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("platform_status", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_parcel_facts_order_id_orders"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_parcel_facts")),
    )
    op.create_index("ix_parcel_facts_picked", "parcel_facts", ["picked_at", "signed_at", "region_id", "carrier_id",
                                                               "complaints", "cases", "platform_status", "order_id"])
    op.create_table(
        "parcel_facts_state",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_parcel_facts_state")),
    )
    op.create_table(
        "region_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("base_rate", sa.Float(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region_flags")),
        sa.UniqueConstraint("day", "key", name="uq_region_flags_day_key"),
    )
    # backfill: every order with a 揽收 entry so far (the catch-up's watermark starts after them)
    from orders.reports.facts import catch_up

    catch_up(op.get_bind())


def downgrade() -> None:
    op.drop_table("region_flags")
    op.drop_table("parcel_facts_state")
    op.drop_index("ix_parcel_facts_picked", table_name="parcel_facts")
    op.drop_table("parcel_facts")
    op.drop_table("parcel_carriers")
    op.drop_table("parcel_regions")
