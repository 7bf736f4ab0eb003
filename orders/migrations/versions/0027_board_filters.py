"""board: 超时订单 filtered by channel or shop, and today's task wall, by index

Revision ID: 0027_board_filters
Revises: 0022_parcel_facts
"""

from alembic import op

revision = "0027_board_filters"
down_revision = "0022_parcel_facts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_status_channel_since", "orders", ["status", "channel", "status_since"])
    op.create_index("ix_orders_status_shop_since", "orders", ["status", "shop", "status_since"])
    op.create_index("ix_warehouse_tasks_day", "warehouse_tasks", ["day"])


def downgrade() -> None:
    op.drop_index("ix_warehouse_tasks_day", table_name="warehouse_tasks")
    op.drop_index("ix_orders_status_shop_since", table_name="orders")
    op.drop_index("ix_orders_status_channel_since", table_name="orders")
