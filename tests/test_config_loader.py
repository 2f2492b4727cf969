"""`.github/steward.yml`: defaults, errors with field and line, hostile files, and the blob-sha cache."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from app.config.loader import MAX_CONFIG_BYTES, ConfigIssue, ConfigResult, parse_config, render_config_errors
from app.config.model import RepoConfig
from app.config.yamlnodes import MAX_EXPANDED_BYTES
from app.constants import MARKER_CONFIG_ERROR


def test_empty_or_comment_only_file_gives_defaults() -> None:
    for text in ("", "\n", "# nothing yet\n", "---\n"):
        result = parse_config(text)
        assert result.errors == []
        assert result.config == RepoConfig()
        assert result.writable_ok


def test_defaults_work_without_a_file() -> None:
    config = RepoConfig()
    assert config.prefix == "/steward"
    assert config.workflows.duplicates.enabled and config.workflows.duplicates.on_open
    assert not config.workflows.duplicates.on_pull_requests
    assert config.workflows.docs.approval.required
    assert (config.noise.max_open_prs, config.noise.comments_per_hour, config.noise.runs_per_day) == (
        5,
        30,
        20,
    )


def test_a_valid_file_is_merged_over_the_defaults() -> None:
    result = parse_config(
        "prefix: /bot\n"
        "commands:\n"
        "  docs: {permission: maintain}\n"
        "  not-duplicate: {enabled: false}\n"
        "workflows:\n"
        "  docs:\n"
        "    paths: ['docs/**', CHANGELOG.md]\n"
        "    limits: {memory: 256m}\n"
        "    sections: {bug: Fixed, breaking: Removed}\n"
        "  duplicates:\n"
        "    threshold: 0.8\n"
        "    label: duplicate?\n"
        "noise: {runs_per_day: 3}\n"
    )
    assert result.errors == []
    config = result.config
    assert config.prefix == "/bot"
    assert config.commands.get("docs").permission == "maintain"
    assert not config.commands.get("not-duplicate").enabled
    assert config.workflows.docs.limits.memory == 256 * 1024**2
    assert config.workflows.docs.sections["breaking"] == "Removed"
    assert config.workflows.duplicates.threshold == 0.8
    assert config.workflows.duplicates.max_suggestions == 3  # untouched default
    assert config.noise.runs_per_day == 3 and config.noise.max_open_prs == 5


ERRORS: list[tuple[str, str, str, int, str]] = [
    (
        "typo at top level",
        "prefix: /steward\nignore_bot: false\n",
        "ignore_bot",
        2,
        "did you mean `ignore_bots`",
    ),
    (
        "typo deep down",
        "workflows:\n  duplicates:\n    enabled: true\n    treshold: 0.9\n",
        "workflows.duplicates.treshold",
        4,
        "did you mean `threshold`",
    ),
    (
        "out of range",
        "workflows:\n  duplicates:\n\n    threshold: 1.5\n",
        "workflows.duplicates.threshold",
        4,
        "1",
    ),
    ("wrong type", "noise:\n  runs_per_day: lots\n", "noise.runs_per_day", 2, "integer"),
    (
        "unknown role",
        "commands:\n  docs:\n    permission: owner\n",
        "commands.docs.permission",
        3,
        "maintain",
    ),
    ("unknown command", "commands:\n  deploy: {permission: write}\n", "commands.deploy", 2, "unknown key"),
    (
        "bad section",
        "workflows:\n  docs:\n    sections:\n      bug: Bugs\n",
        "workflows.docs.sections.bug",
        4,
        "Fixed",
    ),
    ("list item", "allowed_bots:\n  - ok[bot]\n  - 7\n", "allowed_bots.1", 3, "string"),
    ("bad prefix", "prefix: steward\n", "prefix", 1, "`/` then a letter"),
    ("yaml boolean", "workflows:\n  duplicates:\n    label: no\n", "workflows.duplicates.label", 3, "quote"),
    (
        "bad size",
        "workflows:\n  tests:\n    limits:\n      memory: lots\n",
        "workflows.tests.limits.memory",
        4,
        "size",
    ),
    (
        "widening glob",
        "workflows:\n  docs:\n    paths:\n      - docs/**\n      - src/**\n",
        "workflows.docs.paths.1",
        5,
        "`src/**`",
    ),
    (
        "command below its floor",
        "commands:\n  docs:\n    permission: read\n",
        "commands.docs.permission",
        3,
        "at least `write`",
    ),
    (
        "approval weaker than policy",
        "workflows:\n  tests:\n    approval:\n      level: triage\n",
        "workflows.tests.approval.level",
        4,
        "at least `write`",
    ),
]


@pytest.mark.parametrize(
    ("text", "field", "line", "fragment"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_errors_name_field_and_line(text: str, field: str, line: int, fragment: str) -> None:
    result = parse_config(text)
    assert [(e.field, e.line) for e in result.errors] == [(field, line)]
    assert fragment in result.errors[0].message
    assert not result.writable_ok


def test_on_is_a_key_not_a_boolean_and_values_keep_yamls_meaning() -> None:
    """PyYAML reads a plain `on`/`off`/`yes`/`no` as a boolean, as GitHub Actions users learn: as a key it
    would be `True`, an unknown key. Keys are read as text; values are not (`enabled: off` is false)."""
    result = parse_config("workflows:\n  docs:\n    on: [merged, closed]\n  tests:\n    enabled: off\n")
    assert result.errors == []
    assert result.config.workflows.docs.on == ["merged", "closed"]
    assert result.config.workflows.tests.enabled is False
    assert RepoConfig().workflows.docs.on == []  # off by default
    (issue,) = parse_config("workflows:\n  docs:\n    on: [landed]\n").errors
    assert (issue.field, issue.line) == ("workflows.docs.on.0", 3)
    assert "'merged' or 'closed'" in issue.message


def test_a_schema_error_falls_back_to_all_defaults() -> None:
    result = parse_config("prefix: /bot\nnoise: {runs_per_day: -1}\n")
    assert result.config == RepoConfig()
    assert result.errors[0].field == "noise.runs_per_day"


def test_a_widening_setting_keeps_the_rest_of_the_file() -> None:
    result = parse_config("prefix: /bot\nworkflows:\n  docs:\n    paths: ['src/**']\n")
    assert result.config.prefix == "/bot"  # read-only work still honours the file
    assert not result.writable_ok  # writing work is refused until it is fixed


def test_several_errors_are_all_reported() -> None:
    result = parse_config("prefx: /bot\nnoise:\n  runs_per_day: x\n  comments_per_hour: y\n")
    assert sorted((e.field, e.line) for e in result.errors) == [
        ("noise.comments_per_hour", 4),
        ("noise.runs_per_day", 3),
        ("prefx", 1),
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("prefix: /bot\nworkflows: [docs\n", 3),
        ("a: b\n  c: d\n", 2),
        ("\tprefix: /bot\n", 1),
        ("prefix: /bot\nprefix: 'unterminated\n", 2),
    ],
)
def test_invalid_yaml_is_one_error_with_its_line(text: str, line: int) -> None:
    result = parse_config(text)
    assert len(result.errors) == 1
    assert result.errors[0].line == line
    assert "YAML" in result.errors[0].message
    assert result.config == RepoConfig()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("- docs\n- tests\n", "mapping"),
        ("just a string\n", "mapping"),
        ("x" * (MAX_CONFIG_BYTES + 1), "larger than"),
        ("a: &a [*a]\n", "refers to itself"),
        ("[" * 5000 + "]" * 5000, "nest deeper"),
        ("- " * 5000 + "x", "nested too deeply"),
        ("!!python/object/apply:os.system ['echo hi']\n", "YAML"),
    ],
    ids=["list", "scalar", "huge", "cycle", "deep-flow", "deep-block", "python-tag"],
)
def test_hostile_files_are_errors_not_crashes(text: str, fragment: str) -> None:
    result = parse_config(text)
    assert len(result.errors) == 1
    assert fragment in result.errors[0].message
    assert result.config == RepoConfig()


def test_an_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    started = time.perf_counter()
    result = parse_config("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 2.0
    assert "more than" in result.errors[0].message


def test_render_config_errors_names_field_line_and_reference() -> None:
    result = parse_config("workflows:\n  duplicates:\n    threshold: 7\n", source_sha="0123456789abcdef")
    body = render_config_errors(result)
    assert body.startswith(MARKER_CONFIG_ERROR)
    assert "| `workflows.duplicates.threshold` | 3 |" in body
    assert "0123456" in body and "configuration reference" in body
    assert "refuses work that writes" in body


def test_render_escapes_table_breaking_text() -> None:
    result = ConfigResult(errors=[ConfigIssue("a", None, "x | y\nz")])
    # Every pipe of a cell is escaped, the inert text's own `\|` too: GFM reads `\\|` as `\|` (shown: |).
    assert "| `a` | - | x \\\\| y z |" in render_config_errors(result)


def test_results_survive_a_json_round_trip() -> None:
    result = parse_config("prefix: /bot\ncommands:\n  not-duplicate: {permission: write}\nfoo: 1\n", "abc")
    again = ConfigResult.from_json(result.to_json())
    assert again == result
    valid = parse_config("commands:\n  not-duplicate: {permission: write}\n", "def")
    assert ConfigResult.from_json(valid.to_json()).config.commands.get("not-duplicate").permission == "write"


def test_a_key_given_twice_is_an_error_on_its_second_line() -> None:
    result = parse_config("noise:\n  runs_per_day: 3\n  runs_per_day: 300\n")
    assert [(e.field, e.line) for e in result.errors] == [("noise.runs_per_day", 3)]


def _byte_bomb() -> str:
    """The reviewer's file: one 20 KB string and 14,000 aliases of it (62 KB; 267 MiB once expanded)."""
    return "allowed_bots: [&x " + "a" * 20_000 + ", " + ",".join(["*x"] * 14_000) + "]\n"


def test_an_alias_bomb_by_bytes_is_refused_fast_in_bounded_memory() -> None:
    text = _byte_bomb()
    assert len(text) < MAX_CONFIG_BYTES  # the file cap alone does not stop it
    started = time.perf_counter()
    parse_config(text)
    assert time.perf_counter() - started < 2.0  # about 0.2 s here; main took seconds and 267 MiB
    tracemalloc.start()  # slows Python several times over: time is measured without it
    try:
        result = parse_config(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024**2, f"peak {peak / 1024**2:.1f} MiB"
    assert [(e.field, e.line) for e in result.errors] == [("(file)", None)]
    assert f"{MAX_EXPANDED_BYTES // 1024} KiB" in result.errors[0].message
    assert "aliases" in result.errors[0].message
    assert result.config == RepoConfig()
    assert len(result.to_json()) < 4096  # what a cache stores for it


@pytest.mark.parametrize(
    "text",
    [
        "a: &k [" + ", ".join(["x" * 1000] * 60) + "]\n" + "b: [" + ", ".join(["*k"] * 10) + "]\n",
        "base: &b {"
        + ", ".join(f"k{i}: {'v' * 500}" for i in range(100))
        + "}\n"
        + "".join(f"m{i}: {{<<: *b}}\n" for i in range(10)),
    ],
    ids=["sequence-aliases", "merge-keys"],
)
def test_every_way_of_repeating_text_counts_towards_the_byte_cap(text: str) -> None:
    assert len(text) < MAX_CONFIG_BYTES
    result = parse_config(text)
    assert len(result.errors) == 1 and "KiB of text through aliases" in result.errors[0].message


def test_a_file_with_ordinary_aliases_is_read() -> None:
    text = "workflows:\n  docs:\n    deny: &d ['secrets/**']\n  tests:\n    deny: *d\n"
    result = parse_config(text)
    assert result.errors == []
    assert result.config.workflows.tests.deny == ["secrets/**"]


def test_a_file_over_the_size_cap_names_the_cap() -> None:
    result = parse_config("allowed_bots: [" + ",".join(["b"] * MAX_CONFIG_BYTES) + "]\n")
    assert result.errors[0].message == f"the file is larger than {MAX_CONFIG_BYTES // 1024} KiB"


def test_a_list_of_more_globs_than_any_repository_needs_is_refused_quickly() -> None:
    """Each glob is checked against the policy's: a 64 KiB file of globs took seconds before the cap."""
    text = "workflows:\n  docs:\n    paths:\n" + "".join(f"      - 'docs/d{i}/**'\n" for i in range(2000))
    start = time.perf_counter()
    result = parse_config(text)
    elapsed = time.perf_counter() - start
    (issue,) = [issue for issue in result.errors if issue.field == "workflows.docs.paths"]
    assert "at most 100" in issue.message and issue.line == 3
    assert result.config.workflows.docs.paths is None  # the defaults, not a part of the list
    assert elapsed < 5  # generous: a guard against the quadratic path, not a timing target
