"""The agent engine's tools: Steward's own MCP server, offering only what the workflow's policy lists.

`jobs.agent.context` holds what a server works on (ToolContext) and what it reports (ToolCallRecord);
`jobs.agent.server.build_server` makes the server. Workflows contribute their own tools as AgentTool records
(jobs/workflows/*/agent_tools.py); this package never imports a workflow.
"""
