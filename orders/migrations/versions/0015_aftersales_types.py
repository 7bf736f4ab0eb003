"""after-sales types: shipped flag and linked shipment order on cases; photo rule, lead and
escalation time on steps

Revision ID: 0015_aftersales_types
Revises: 0019_board
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_aftersales_types"
down_revision = "0019_board"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("aftersales_cases") as b:
        b.add_column(sa.Column("shipped", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("linked_order_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("aftersales_steps") as b:
        b.add_column(sa.Column("require_photo", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("lead_role", sa.String(length=32), nullable=False, server_default=""))
        b.add_column(sa.Column("escalated_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("aftersales_steps") as b:
        b.drop_column("escalated_at")
        b.drop_column("lead_role")
        b.drop_column("require_photo")
    with op.batch_alter_table("aftersales_cases") as b:
        b.drop_column("linked_order_id")
        b.drop_column("shipped")
