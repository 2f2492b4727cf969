"""run_approvals.plan_digest: the digest of the exact plan an approval approved (jobs/runs/binding.py)"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("run_approvals", sa.Column("plan_digest", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("run_approvals") as batch:
        batch.drop_column("plan_digest")
