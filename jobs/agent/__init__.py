"""The agent engine: a model (pydantic-ai) works only through Steward's own MCP tools, under the workflow's
policy and a budget that fails closed; every request and call is a step of the run, and can be replayed."""
