"""The agent engine: a model driven through Steward's own MCP tools, under a budget."""
