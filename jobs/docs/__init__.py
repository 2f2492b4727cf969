"""The docs workflow's built-in engine: changelog entries and generated blocks, no language model."""
