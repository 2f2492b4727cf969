"""app.config."""
