"""issue_index.embedding_model: which model (and how many word pieces) made each stored vector"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BEFORE = "all-MiniLM-L6-v2/256"
"""Every vector stored before this migration was all-MiniLM-L6-v2 at the default of 256 word pieces (a
deployment that had set STEWARD_EMBED_MAX_TOKENS runs `steward duplicates reembed --all`)."""


def upgrade() -> None:
    with op.batch_alter_table("issue_index") as batch:
        batch.add_column(sa.Column("embedding_model", sa.String(64), nullable=False, server_default=""))
    index = sa.table("issue_index", sa.column("embedding", sa.LargeBinary), sa.column("embedding_model"))
    op.execute(index.update().where(index.c.embedding.is_not(None)).values(embedding_model=BEFORE))


def downgrade() -> None:
    with op.batch_alter_table("issue_index") as batch:
        batch.drop_column("embedding_model")
