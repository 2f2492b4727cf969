"""jobs.ledger."""
