"""Policies: the shipped YAML loads, path globs match as documented, and a repository can only narrow."""

from __future__ import annotations

import random

import pytest

from app.config.model import DocsConfig, DuplicatesConfig, TestsConfig
from policies.globs import glob_match, glob_within, normalize_path
from policies.loader import (
    WORKFLOWS,
    PolicyError,
    effective_policy,
    load_policy,
    narrowing_problems,
    path_allowed,
    refused_paths,
    token_permissions,
)
from policies.model import ALWAYS_DENIED
from sandbox.limits import Limits


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_every_shipped_policy_loads_and_denies_workflows(workflow: str) -> None:
    policy = load_policy(workflow)
    assert policy.workflow == workflow
    assert ".github/workflows/**" in policy.denied
    assert not path_allowed(policy, ".github/workflows/ci.yml")
    assert set(policy.permissions.values()) <= {"read", "write"}


def test_token_permissions_are_least_privilege() -> None:
    assert token_permissions("docs") == {
        "contents": "write",
        "pull_requests": "write",
        "issues": "write",
        "statuses": "write",
    }
    assert token_permissions("duplicates") == {"contents": "read", "issues": "write", "pull_requests": "read"}
    assert token_permissions("commands") == {"contents": "read", "issues": "write"}


def test_unknown_workflow_is_a_policy_error() -> None:
    with pytest.raises(PolicyError):
        load_policy("../../etc/passwd")


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("*.md", "README.md", True),
        ("*.md", "docs/a.md", False),  # anchored at the root
        ("**/*.md", "README.md", True),
        ("**/*.md", "a/b/c.md", True),
        ("docs/**", "docs/a/b.png", True),
        ("docs/**", "docs", False),
        ("docs/**", "docsx/a", False),
        ("CHANGELOG*", "CHANGELOG.md", True),
        ("CHANGELOG*", "x/CHANGELOG.md", False),
        ("test_?.py", "test_a.py", True),
        ("test_?.py", "test_/.py", False),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("[ab].md", "a.md", False),  # brackets are literal
        ("[ab].md", "[ab].md", True),
        ("a.md", "aXmd", False),  # dots are literal
    ],
)
def test_glob_match(glob: str, path: str, expected: bool) -> None:
    assert glob_match(glob, path) is expected


@pytest.mark.parametrize("path", ["/etc/passwd", "../x.md", "a/../../x.md", "", ".", "a\\b.md", "a\x00.md"])
def test_paths_escaping_the_repository_are_never_allowed(path: str) -> None:
    assert normalize_path(path) is None
    assert not path_allowed(load_policy("docs"), path)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("README.md", True),
        ("docs/guide/install.md", True),
        ("src/app.py", False),
        (".github/workflows/release.md", False),
        (".GITHUB/Workflows/x.md", False),  # denied globs ignore case
        (".github/steward.yml", False),
        ("docs/CODEOWNERS", False),
        ("docs/./../README.md", True),  # normalized first
        ("sub/.git/config.md", False),
        ("docs/.gitattributes", False),  # linguist-generated would fold the diff away in review
        (".gitattributes", False),
        ("docs/api/.GitAttributes", False),
        ("docs/.gitmodules", False),
        ("docs/.gitignore", True),  # changes no tracked file; review shows it whole
    ],
)
def test_docs_paths(path: str, expected: bool) -> None:
    assert path_allowed(load_policy("docs"), path) is expected


def test_refused_paths_lists_only_the_refused() -> None:
    policy = load_policy("tests")
    paths = ["tests/test_a.py", "src/a.py", "pkg/test_b.py", ".github/workflows/x.yml"]
    assert refused_paths(policy, paths) == ["src/a.py", ".github/workflows/x.yml"]


@pytest.mark.parametrize(
    ("inner", "outer", "expected"),
    [
        ("docs/api/**", "docs/**", True),
        ("docs/*.md", "docs/**", True),
        ("docs/**", "docs/**", True),
        ("docs", "docs/**", False),
        ("src/**", "docs/**", False),
        ("**", "docs/**", False),
        ("*.md", "**/*.md", True),
        ("a/b/*.md", "**/*.md", True),
        ("**/*.md", "*.md", False),
        ("*", "*.md", False),
        ("README.md", "*.md", True),
        ("READ?E.md", "*.md", True),
        ("*.mdx", "*.md", False),
        ("a?", "a*", True),
        ("a*", "a?", False),
        ("docs/**/x.md", "docs/**", True),
    ],
)
def test_glob_within(inner: str, outer: str, expected: bool) -> None:
    assert glob_within(inner, outer) is expected


SAMPLE_PATHS = [
    "README.md",
    "docs/a.md",
    "docs/x/y.png",
    "src/a.py",
    "tests/test_a.py",
    "a/b/c.md",
    "CHANGELOG.md",
    "CHANGELOG",
    "x/README",
    "docs",
    ".github/workflows/ci.yml",
    "pkg/test_b.py",
    "conftest.py",
    "a.rst",
]
CONFIG_GLOBS = [
    "docs/**",
    "*.md",
    "**/*.md",
    "src/**",
    "**",
    "*",
    "docs/*.md",
    "README*",
    "**/*",
    "tests/**",
    "CHANGELOG*",
    "a/**",
    "**/test_*.py",
    "*.rst",
    ".github/**",
    "x/*",
]


@pytest.mark.parametrize("seed", range(40))
def test_narrowing_never_widens(seed: int) -> None:
    """Property: whatever globs and limits a repository asks for, it gets no path and no resource more."""
    rng = random.Random(seed)
    for workflow, model in (("docs", DocsConfig), ("tests", TestsConfig)):
        policy = load_policy(workflow)
        config = model(
            paths=rng.sample(CONFIG_GLOBS, rng.randint(0, 5)),
            deny=rng.sample(CONFIG_GLOBS, rng.randint(0, 2)),
            limits={
                "memory": rng.choice([1, 10**12]),
                "cpus": rng.choice([0.1, 64.0]),
                "pids": rng.randint(1, 9999),
            },
            approval={
                "required": rng.random() < 0.5,
                "level": rng.choice(["none", "read", "write", "admin"]),
            },
        )
        narrowed = effective_policy(policy, config)
        for path in SAMPLE_PATHS:
            if path_allowed(narrowed, path):
                assert path_allowed(policy, path), (workflow, config.paths, path)
        for name in Limits.model_fields:
            assert getattr(narrowed.limits, name) <= getattr(policy.limits, name)
        assert narrowed.approval.required >= policy.approval.required
        levels = ["none", "read", "triage", "write", "maintain", "admin"]
        assert levels.index(narrowed.approval.level) >= levels.index(policy.approval.level)
        assert set(policy.denied) <= set(narrowed.denied)
        assert narrowed.permissions == policy.permissions


def test_widening_settings_are_reported_by_field() -> None:
    config = DocsConfig(
        paths=["docs/api/**", "src/**"],
        limits={"memory": "64g", "pids": 10},
        approval={"level": "read"},
    )
    problems = {p.field: p.message for p in narrowing_problems(load_policy("docs"), config, "workflows.docs")}
    assert set(problems) == {
        "workflows.docs.paths.1",
        "workflows.docs.limits.memory",
        "workflows.docs.approval.level",
    }
    assert "`src/**`" in problems["workflows.docs.paths.1"]
    narrowed = effective_policy(load_policy("docs"), config)
    assert narrowed.writable == ["docs/api/**"]
    assert narrowed.limits.pids == 10
    assert narrowed.limits.memory == load_policy("docs").limits.memory


def test_unset_paths_keep_the_policy_and_read_only_workflows_are_untouched() -> None:
    docs = load_policy("docs")
    assert effective_policy(docs, DocsConfig()).writable == docs.writable
    duplicates = load_policy("duplicates")
    assert effective_policy(duplicates, DuplicatesConfig(threshold=0.1)) == duplicates


def test_always_denied_paths_cannot_be_dropped_by_a_policy_file() -> None:
    policy = load_policy("docs").model_validate({"workflow": "x", "permissions": {}, "denied": []})
    assert set(ALWAYS_DENIED) <= set(policy.denied)


def test_disk_quota_comes_from_the_policy_and_only_narrows() -> None:
    docs = load_policy("docs")
    assert docs.limits.disk == 1024**3 and load_policy("tests").limits.disk == 2 * 1024**3
    assert effective_policy(docs, DocsConfig(limits={"disk": "512m"})).limits.disk == 512 * 1024**2
    wide = DocsConfig(limits={"disk": "10g"})
    assert effective_policy(docs, wide).limits.disk == docs.limits.disk
    problems = {p.field: p.message for p in narrowing_problems(docs, wide, "workflows.docs")}
    assert set(problems) == {"workflows.docs.limits.disk"}
    tiny = DocsConfig(limits={"disk": "1k"})  # valid to the schema; the policy says why it cannot be
    assert effective_policy(docs, tiny).limits.disk == docs.limits.disk
    (problem,) = narrowing_problems(docs, tiny, "workflows.docs")
    assert problem.field == "workflows.docs.limits.disk" and "16 MiB" in problem.message


def test_diff_size_limits_ship_with_byte_defaults() -> None:
    docs = load_policy("docs")
    assert (docs.max_files, docs.max_lines, docs.max_file_bytes, docs.max_bytes) == (
        50,
        2000,
        1024**2,
        5 * 1024**2,
    )


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ({"max_bytes": "2m", "max_file_bytes": "256k"}, (2 * 1024**2, 256 * 1024)),
        ({}, (5 * 1024**2, 1024**2)),
    ],
)
def test_a_repository_may_lower_the_byte_limits(asked: dict[str, str], expected: tuple[int, int]) -> None:
    narrowed = effective_policy(load_policy("docs"), DocsConfig.model_validate(asked))
    assert (narrowed.max_bytes, narrowed.max_file_bytes) == expected


def test_a_repository_cannot_raise_a_diff_limit_and_is_told_which() -> None:
    config = DocsConfig.model_validate(
        {"max_bytes": "1g", "max_file_bytes": "2m", "max_files": 10, "max_lines": 9999}
    )
    docs = load_policy("docs")
    narrowed = effective_policy(docs, config)
    assert (narrowed.max_bytes, narrowed.max_file_bytes) == (docs.max_bytes, docs.max_file_bytes)
    assert (narrowed.max_files, narrowed.max_lines) == (10, docs.max_lines)
    problems = {p.field: p.message for p in narrowing_problems(docs, config, "workflows.docs")}
    assert set(problems) == {
        "workflows.docs.max_bytes",
        "workflows.docs.max_file_bytes",
        "workflows.docs.max_lines",
    }
    assert problems["workflows.docs.max_bytes"].startswith("1 GiB is above the docs policy's 5 MiB")


def test_the_diff_check_gets_the_narrowed_byte_limits() -> None:
    from jobs.runs.work import path_policy

    checked = path_policy(
        effective_policy(load_policy("docs"), DocsConfig.model_validate({"max_bytes": "2m"}))
    )
    assert (checked.max_bytes, checked.max_file_bytes, checked.max_lines) == (2 * 1024**2, 1024**2, 2000)
