"""The worker's job functions, one module per job."""
