"""YAML for the config loader: files shaped by the configuration's own JSON schema, and hostile ones."""

from __future__ import annotations

import re
from typing import Any

import yaml
from hypothesis import strategies as st

from app.config.model import RepoConfig
from app.config.yamlnodes import MAX_EXPANDED_NODES
from tests.fuzz.text import hostile

SCHEMA = RepoConfig.model_json_schema()
_WHOLE = re.compile(r"^\^\(\?:(.*)\)\$\(\?!\\n\)$", re.DOTALL)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), hostile,
    st.sampled_from(["yes", "no", "on", "~", "512MiB", "10m", "0", "-1", "1e309", "docs/**", "**", ".."]),
)  # fmt: skip
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile, inner, max_size=4),
    max_leaves=12,
)


def _pattern(pattern: str) -> st.SearchStrategy[str]:
    found = _WHOLE.match(pattern)
    body = found.group(1) if found else pattern
    if "(?=" in body or "(?!" in body:  # lookarounds: Hypothesis cannot draw them; plausible text instead
        return st.sampled_from(["docs/**", "*.md", "tests/**", "**", "src/a.py", " ", ""]) | hostile
    return st.from_regex(body, fullmatch=True)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    resolved: dict[str, Any] = SCHEMA["$defs"][ref.rsplit("/", 1)[-1]]
    return resolved


def from_schema(node: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped by a JSON schema node; one value in five anything at all (the loader must say why)."""
    node = _resolve(node)
    if depth > 8:
        return scalars
    if "anyOf" in node:
        shaped = st.one_of(*[from_schema(option, depth + 1) for option in node["anyOf"]])
    elif "enum" in node:
        shaped = st.sampled_from(node["enum"])
    elif "const" in node:
        shaped = st.just(node["const"])
    else:
        shaped = _typed(node, depth)
    return st.one_of(shaped, shaped, shaped, shaped, junk)


def _typed(node: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    kind = node.get("type")
    if kind == "object":
        properties = node.get("properties", {})
        fixed = st.fixed_dictionaries(
            {}, optional={name: from_schema(sub, depth + 1) for name, sub in properties.items()}
        )
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return (
                st.dictionaries(
                    hostile | st.sampled_from(list(properties) or ["x"]),
                    from_schema(extra, depth + 1),
                    max_size=4,
                )
                | fixed
            )
        return fixed
    if kind == "array":
        return st.lists(from_schema(node.get("items", {}), depth + 1), max_size=5)
    if kind == "string":
        return _pattern(node["pattern"]) if "pattern" in node else hostile
    if kind == "integer":
        return st.integers(min_value=-(2**70), max_value=2**70)
    if kind == "number":
        return st.floats(allow_nan=True, allow_infinity=True)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return junk


configs = from_schema(SCHEMA)
"""Configuration values: mostly the right keys and types, often a wrong one somewhere."""


def _dump(value: Any, flow: bool) -> str:
    return yaml.safe_dump(value, default_flow_style=flow, allow_unicode=True, sort_keys=False)


def alias_bomb(width: int, depth: int, flow: bool) -> str:
    """Billion laughs: each level a list of `width` aliases of the level below."""
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, depth + 1):
        refs = ", ".join(f"*a{level - 1}" for _ in range(width))
        lines.append(
            f"a{level}: &a{level} [{refs}]"
            if flow
            else f"a{level}: &a{level}\n" + "".join(f"  - *a{level - 1}\n" for _ in range(width)).rstrip("\n")
        )
    return "\n".join(lines) + f"\nworkflows: *a{depth}\n"


def nested(depth: int, flow: bool) -> str:
    if flow:
        return "workflows: " + "[" * depth + "x" + "]" * depth + "\n"
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + "  " * depth + "v\n"


hostile_files = st.one_of(
    hostile,
    st.text(max_size=300),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", errors="replace")),
    st.builds(alias_bomb, st.integers(1, 12), st.integers(1, 12), st.booleans()),
    st.builds(nested, st.integers(1, 400), st.booleans()),
    st.integers(1, 90_000).map(lambda n: f"prefix: {'x' * n}\n"),
    st.sampled_from([
        "a: &a [*a]\n", "&a [*a, *a]", "<<: *nope\n", "a: !!python/object:os.system ls\n",
        "a: !!binary AAA=\n",
        "? [a, b]\n: c\n", "a: 1\na: 2\n", "- 1\n- 2\n", "%YAML 1.1\n--- a\n--- b\n", "a: {b: 1, b: 2}\n",
        "x: &x {<<: *x}\n", f"a: [{'0,' * MAX_EXPANDED_NODES}]\n", "a: \"\\ud800\"\n", "\ufeffprefix: /bot\n",
        "prefix: !!int 3\n", "noise: {max_open_prs: 1.5}\n", "noise: {max_open_prs: 5.0}\n", "a: .nan\n",
        "prefix: /a # note\u2028ignore_bots: false\n", "a: 1\r\rb: 2\r\n", "a: '\x85'\n", "a: \x01\n",
    ]),
)  # fmt: skip
"""Text that is barely YAML, or YAML meant to hurt: aliases that multiply, nesting, huge scalars, tags."""

long_lists = st.builds(
    lambda key, n: f"workflows:\n  docs:\n    {key}: [{', '.join(['a'] * n)}]\n",
    st.sampled_from(["paths", "deny", "exclude_labels"]),
    st.sampled_from([30, 300, 3_000, 19_000]),
)
"""Lists as long as 64 KiB holds: the slowest files to check (seconds for the longest), so drawn rarely."""

YAML_ONLY_BREAKS = ["\r", "\x85", "\u2028", "\u2029"]
"""Line breaks to YAML, not to git: a setting after one hides on a line a reviewer reads as a comment's."""


@st.composite
def with_hidden_breaks(draw: st.DrawFn) -> str:
    """A real-looking file with some line feeds (or spots inside a line) turned into YAML-only breaks."""
    text = draw(st.builds(_dump, configs, st.booleans()))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        breaker = draw(st.sampled_from(YAML_ONLY_BREAKS))
        replace = draw(st.booleans()) and text[at : at + 1] == "\n"
        text = text[:at] + breaker + text[at + 1 if replace else at :]
    return text


files = st.one_of(
    *[st.builds(_dump, configs, st.booleans())] * 22,
    *[with_hidden_breaks()] * 2,
    *[hostile_files] * 16,
    long_lists,
)
