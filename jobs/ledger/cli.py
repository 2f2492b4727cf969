"""Sub-commands of this area (placeholder until the area is built)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to `steward`."""
