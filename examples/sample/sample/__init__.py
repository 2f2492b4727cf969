"""A tiny greeter used to show Steward's docs workflow."""
