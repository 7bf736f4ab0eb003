"""cache version counters (users, workflow) bumped by triggers on every change to their tables

Revision ID: 0024_cache_versions
Revises: 0027_board_filters
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_cache_versions"
down_revision = "0027_board_filters"
branch_labels = None
depends_on = None

WATCHED = {"users": "users", "workflow": "workflow_versions"}  # counter name -> table
OPS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.create_table(
        "cache_versions",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cache_versions")),
    )
    op.bulk_insert(sa.table("cache_versions", sa.column("name", sa.String), sa.column("version", sa.Integer)),
                   [{"name": n, "version": 0} for n in WATCHED])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION bump_cache_version() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE cache_versions SET version = version + 1 WHERE name = TG_ARGV[0];
                RETURN NULL;
            END $$""")
        for name, table in WATCHED.items():
            op.execute(f"CREATE TRIGGER cache_version_{name} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                       f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_version('{name}')")
        return
    for name, table in WATCHED.items():
        for o in OPS:
            op.execute(f"CREATE TRIGGER cache_version_{name}_{o.lower()} AFTER {o} ON {table} BEGIN "
                       f"UPDATE cache_versions SET version = version + 1 WHERE name = '{name}'; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table in WATCHED.items():
            op.execute(f"DROP TRIGGER cache_version_{name} ON {table}")
        op.execute("DROP FUNCTION bump_cache_version()")
    else:
        for name in WATCHED:
            for o in OPS:
                op.execute(f"DROP TRIGGER cache_version_{name}_{o.lower()}")
    op.drop_table("cache_versions")
