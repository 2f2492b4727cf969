"""issue_index, duplicate_feedback, issue_index_backfill"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "issue_index",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(1024), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_reason", sa.String(32), nullable=True),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("html_url", sa.String(512), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=True),
        sa.Column("closed_at", TZ, nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("tokens", sa.Text(), nullable=False),
        sa.Column("token_count", sa.Integer(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("indexed_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_issue_index"),
        sa.UniqueConstraint("repo", "number", name="uq_issue_index_repo_number"),
    )
    op.create_index("ix_issue_index_repo", "issue_index", ["repo"])
    op.create_index("ix_issue_index_repo_revision", "issue_index", ["repo", "revision"])
    op.create_table(
        "duplicate_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("other", sa.Integer(), nullable=False),
        sa.Column("duplicate", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_duplicate_feedback"),
        sa.UniqueConstraint("repo", "number", "other", name="uq_duplicate_feedback_pair"),
    )
    op.create_index("ix_duplicate_feedback_repo", "duplicate_feedback", ["repo"])
    op.create_table(
        "issue_index_backfill",
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("next_page", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("started_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("repo", name="pk_issue_index_backfill"),
    )


def downgrade() -> None:
    op.drop_table("issue_index_backfill")
    op.drop_table("duplicate_feedback")
    op.drop_table("issue_index")
