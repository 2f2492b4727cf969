"""The run lifecycle: plan, approval, sandboxed work, scoped diff, branch and proposal (GitHub and local)."""
