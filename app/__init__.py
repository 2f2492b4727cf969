"""Steward's edge: webhooks, GitHub access, commands, repository configuration and the CLI."""

__version__ = "0.1.0"
