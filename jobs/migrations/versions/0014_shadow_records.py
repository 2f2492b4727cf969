"""shadow_records: what shadow-mode workflows would have posted and pushed; runs.mode (normal or shadow)"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("mode", sa.String(16), nullable=False, server_default="normal"))
    op.create_table(
        "shadow_records",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("workflow", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(255), nullable=False, server_default=""),
        sa.Column("body", sa.Text(), nullable=False, server_default=""),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint(
            "repo", "number", "workflow", "scope", "kind", "key", name="uq_shadow_records_effect"
        ),
    )
    op.create_index("ix_shadow_records_repo", "shadow_records", ["repo"])
    op.create_index("ix_shadow_records_created_at", "shadow_records", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_shadow_records_created_at", "shadow_records")
    op.drop_index("ix_shadow_records_repo", "shadow_records")
    op.drop_table("shadow_records")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("mode")
