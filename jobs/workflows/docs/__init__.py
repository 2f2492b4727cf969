"""The docs workflow: changelog entries and generated blocks by a built-in engine, no language model.

Importing the package registers it with the run lifecycle (jobs.runs.registry).
"""

from jobs.runs.registry import register
from jobs.workflows.docs.workflow import DocsWorkflow

register(DocsWorkflow())
