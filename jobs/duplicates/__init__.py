"""jobs.duplicates."""
