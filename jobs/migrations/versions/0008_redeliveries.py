"""redeliveries: missed webhook deliveries Steward asked GitHub to redeliver (each at most once)"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "redeliveries",
        sa.Column("guid", sa.String(64), primary_key=True),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(64), nullable=False, server_default=""),
        sa.Column("action", sa.String(64), nullable=False, server_default=""),
        sa.Column("status_code", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("delivered_at", sa.String(40), nullable=False, server_default=""),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("outcome", sa.String(255), nullable=False, server_default="requesting"),
    )


def downgrade() -> None:
    op.drop_table("redeliveries")
