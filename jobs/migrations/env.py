"""Alembic environment: migrations run on the connection jobs.db.migrate hands over."""

from alembic import context

import jobs.models  # noqa: F401  (registers every table on Base.metadata)
from jobs.db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
