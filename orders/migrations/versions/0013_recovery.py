"""crash recovery: process heartbeats, claim owners, WeCom msgid on sent rows

Revision ID: 0013_recovery
Revises: 0017_regions
"""

import sqlalchemy as sa
from alembic import op

revision = '0013_recovery'
down_revision = '0017_regions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('processes',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=64), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
    sa.Column('stopped_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processes'))
    )
    with op.batch_alter_table('wecom_inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('msgid', sa.String(length=128), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('msgid')
        batch_op.drop_column('claimed_by')
    with op.batch_alter_table('wecom_inbox', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
    op.drop_table('processes')
