"""The webhook receiver (FastAPI)."""
