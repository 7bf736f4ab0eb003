"""search indexes that answer from the index alone: reversed keys with the order's time (suffix
search lists the newest without a table lookup per match), the mobile's last 4 with time and mask,
the phone hash with time, tracking suffix with its order; an order's open cases. On PostgreSQL
the reversed keys are indexed in byte order (COLLATE "C"), as orders.lookup compares them.

Revision ID: 0021_search_cover
Revises: 0023_collab_cover
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_search_cover"
down_revision = "0023_collab_cover"
branch_labels = None
depends_on = None

# (table, old index, old columns, new index, new columns; a reversed key first)
CHANGES = (
    ("orders", "ix_orders_order_no_rev", ["order_no_rev"], "ix_orders_order_no_rev_created",
     ["order_no_rev", "created_at"]),
    ("orders", "ix_orders_channel_order_id_rev", ["channel_order_id_rev"], "ix_orders_channel_order_id_rev_created",
     ["channel_order_id_rev", "created_at"]),
    ("tracking_numbers", "ix_tracking_numbers_number_rev", ["number_rev"], "ix_tracking_numbers_number_rev_order",
     ["number_rev", "order_id"]),
    ("orders", "ix_orders_phone_last4_created", ["phone_last4", "created_at"], "ix_orders_phone_last4_created_mask",
     ["phone_last4", "created_at", "phone_masked"]),
    ("orders", "ix_orders_phone_hash", ["phone_hash"], "ix_orders_phone_hash_created", ["phone_hash", "created_at"]),
    ("aftersales_cases", "ix_aftersales_cases_order_id", ["order_id"], "ix_aftersales_cases_order_status",
     ["order_id", "status", "opened_at"]),
)


def _cols(cols: list[str]) -> list[str | sa.TextClause]:
    if op.get_bind().dialect.name == "postgresql" and cols[0].endswith("_rev"):
        return [sa.text(f'{cols[0]} COLLATE "C"'), *cols[1:]]
    return list(cols)


def upgrade() -> None:
    for table, old, _, new, cols in CHANGES:
        op.create_index(new, table, _cols(cols))
        op.drop_index(old, table_name=table)


def downgrade() -> None:
    for table, old, cols, new, _ in CHANGES:
        op.create_index(old, table, cols)
        op.drop_index(new, table_name=table)
