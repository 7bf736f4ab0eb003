"""rate slots: WeCom's per-member and per-robot limits shared by every process

Revision ID: 0020_rate_slots
Revises: 0012_floor
"""

import sqlalchemy as sa
from alembic import op

revision = '0020_rate_slots'
down_revision = '0012_floor'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_slots',
    sa.Column('family', sa.String(length=96), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('family', 'slot', name=op.f('pk_rate_slots'))
    )
    op.create_index('ix_rate_slots_family_used', 'rate_slots', ['family', 'used_at'])


def downgrade() -> None:
    op.drop_index('ix_rate_slots_family_used', table_name='rate_slots')
    op.drop_table('rate_slots')
