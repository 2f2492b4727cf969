"""issue_index: author type, a pull request's base branch and changed files (for the duplicate decision)"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issue_index") as batch:
        batch.add_column(sa.Column("author_type", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("base_branch", sa.String(255), nullable=False, server_default=""))
        batch.add_column(sa.Column("files", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("issue_index") as batch:
        for column in ("files", "base_branch", "author_type"):
            batch.drop_column(column)
