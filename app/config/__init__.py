"""The repository's `.github/steward.yml`: model, parsing (errors by field and line), cache, schema, docs."""
