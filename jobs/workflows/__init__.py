"""One package per workflow; each registers itself with jobs.runs.registry when imported."""
