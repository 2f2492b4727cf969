"""The tests workflow: measure, generate (Pynguin), validate, clean and propose tests; registers itself."""

from jobs.runs.registry import register
from jobs.workflows.tests.workflow import TestsWorkflow

WORKFLOW = register(TestsWorkflow())
