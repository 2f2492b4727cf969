"""run_proposals: the proposed diff itself (bounded), so the dashboard shows what a run proposed"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_proposals") as batch:
        batch.add_column(sa.Column("diff", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("runs") as batch:
        batch.create_index("ix_runs_created_at_id", ["created_at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_created_at_id")
    with op.batch_alter_table("run_proposals") as batch:
        batch.drop_column("diff")
