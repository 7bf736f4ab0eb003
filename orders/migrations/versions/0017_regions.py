"""complaints (region fulfilment health)

Revision ID: 0017_regions
Revises: 0018_customers
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_regions"
down_revision = "0018_customers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_complaints_order_id_orders"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaints_order_id"), ["order_id"], unique=False)
        batch_op.create_index("ix_complaints_created", ["created_at"], unique=False)
    # carrier event times per order (the region report reads pushes by order)
    with op.batch_alter_table("carrier_pushes", schema=None) as batch_op:
        batch_op.create_index("ix_carrier_pushes_order_id", ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("carrier_pushes", schema=None) as batch_op:
        batch_op.drop_index("ix_carrier_pushes_order_id")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaints_created")
        batch_op.drop_index(batch_op.f("ix_complaints_order_id"))
    op.drop_table("complaints")
