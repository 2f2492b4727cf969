"""No import cycle between Steward's modules: each package's modules form layers that only look down.

The graph (grimp) holds every import a module makes: at the top, inside functions, and under
`if TYPE_CHECKING:` (a type-only cycle still ties the two modules' designs together). Dynamic imports by
name (a command record's handler, the workflow registry's discovery) are not edges: that is what they are for.
"""

from __future__ import annotations

import grimp

PACKAGES = ("app", "jobs", "sandbox", "policies")


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(edges[child])))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                part = []
                while True:
                    member = stack.pop()
                    part.append(member)
                    if member == node:
                        break
                if len(part) > 1:
                    found.append(sorted(part))
    return found


def test_the_projects_modules_import_each_other_without_a_cycle() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=False)
    assert len(graph.modules) > 100
    assert cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle_through_a_function_level_import() -> None:
    """The finder itself can fail: the two cycles this project had (a lazy import closed each) are seen."""
    graph = grimp.ImportGraph()
    for a, b in (("app.commands", "app.config.checks"), ("app.config.checks", "app.commands")):
        graph.add_import(importer=a, imported=b)
    graph.add_import(importer="jobs.functions", imported="jobs.worker")
    graph.add_import(importer="jobs.worker", imported="jobs.context")
    assert cycles(graph) == [["app.commands", "app.config.checks"]]
    graph.add_import(importer="jobs.context", imported="jobs.functions")
    assert sorted(cycles(graph)) == [
        ["app.commands", "app.config.checks"],
        ["jobs.context", "jobs.functions", "jobs.worker"],
    ]


def test_the_agent_tool_server_never_imports_a_workflow() -> None:
    """Workflows hand their tools to jobs.agent (ToolContext.extra); the server knows no workflow by name."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=False)
    reached = graph.find_upstream_modules("jobs.agent", as_package=True)
    assert "jobs.runs.workitem" in reached  # the finder sees what jobs.agent does import
    assert sorted(m for m in reached if m.startswith("jobs.workflows")) == []
    assert graph.find_modules_that_directly_import("jobs.agent.context") >= {
        "jobs.workflows.docs.agent_tools",
        "jobs.workflows.tests.agent_tools",
    }
