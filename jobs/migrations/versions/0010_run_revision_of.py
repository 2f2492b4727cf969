"""runs.revision_of: the run a revision (`/steward revise`) builds on, on the same pull request's branch"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("revision_of", sa.String(32), nullable=True))
        batch.create_foreign_key(
            "fk_runs_revision_of_runs", "runs", ["revision_of"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("fk_runs_revision_of_runs", type_="foreignkey")
        batch.drop_column("revision_of")
