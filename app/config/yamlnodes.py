"""YAML node helpers: bound what a hostile file may expand to, and find the line of a dotted location."""

from __future__ import annotations

from collections.abc import Sequence

import yaml

MAX_EXPANDED_NODES = 20_000
"""Values a configuration may hold once aliases are expanded (a real file holds a few dozen)."""
MAX_EXPANDED_BYTES = 256 * 1024
"""Text a configuration may hold once aliases are expanded: four times the largest file, so only aliases can
reach it (a real file holds a few hundred bytes)."""


class TooLarge(ValueError):
    """The document expands to more than a configuration could need (an alias bomb, or a cycle)."""


def expanded_size(
    root: yaml.Node, limit: int = MAX_EXPANDED_NODES, byte_limit: int = MAX_EXPANDED_BYTES
) -> tuple[int, int]:
    """(nodes, bytes of scalar text) with every alias expanded, counted on the composed graph (each shared
    node once, so the count costs nothing like the expansion); raises TooLarge past either limit."""
    sizes: dict[int, tuple[int, int]] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    active: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            sizes[key] = _total(node, sizes, limit, byte_limit)
            continue
        if key in sizes:
            continue
        if key in active:
            raise TooLarge("the file refers to itself through an alias")
        active.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


def _total(
    node: yaml.Node, sizes: dict[int, tuple[int, int]], limit: int, byte_limit: int
) -> tuple[int, int]:
    """One node's expanded size from its children's; a scalar counts its text (and one byte, so empty ones
    count too)."""
    own = (
        len(str(node.value).encode("utf-8", errors="replace")) + 1 if isinstance(node, yaml.ScalarNode) else 1
    )
    nodes, size = 1, own
    for child in _children(node):
        child_nodes, child_bytes = sizes[id(child)]
        nodes, size = min(limit + 1, nodes + child_nodes), min(byte_limit + 1, size + child_bytes)
    if nodes > limit:
        raise TooLarge(f"the file expands to more than {limit:,} values through aliases (limit {limit:,})")
    if size > byte_limit:
        raise TooLarge(
            f"the file expands to more than {byte_limit // 1024} KiB of text through aliases "
            f"(limit {byte_limit // 1024} KiB; a configuration needs a few hundred bytes)"
        )
    return nodes, size


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class LineIndex:
    """Lines of dotted locations in one document; each mapping's keys are indexed once, on first use, so
    reporting thousands of errors in one mapping stays linear (a scan per error made it quadratic)."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root
        self._keys: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    def _pair(self, node: yaml.MappingNode, part: str) -> tuple[yaml.Node, yaml.Node] | None:
        """The first (key, value) named `part` in the mapping, as a scan from the top would find it."""
        keys = self._keys.get(id(node))
        if keys is None:
            keys = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    keys.setdefault(key.value, (key, value))
            self._keys[id(node)] = keys
        return keys.get(part)

    def line(self, location: Sequence[str | int]) -> int | None:
        """The 1-based line of the deepest part of a location that exists in the document."""
        if self.root is None:
            return None
        node: yaml.Node = self.root
        line = node.start_mark.line + 1
        for part in location:
            found: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                pair = self._pair(node, str(part))
                if pair is not None:
                    line, found = pair[0].start_mark.line + 1, pair[1]
            elif (
                isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value)
            ):
                found = node.value[part]
                line = found.start_mark.line + 1
            if found is None:
                break
            node = found
        return line


def line_of(root: yaml.Node | None, location: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest part of a location that exists in the document."""
    return LineIndex(root).line(location)


def duplicate_keys(root: yaml.Node, path: str = "") -> list[tuple[str, int]]:
    """(dotted key, line) of every key given twice in one mapping (YAML would silently keep the last)."""
    found: list[tuple[str, int]] = []
    if isinstance(root, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in root.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            dotted = f"{path}.{name}" if path else name
            if name in seen and name != "<<":
                found.append((dotted, key.start_mark.line + 1))
            seen.add(name)
            found += duplicate_keys(value, dotted)
    elif isinstance(root, yaml.SequenceNode):
        for index, item in enumerate(root.value):
            found += duplicate_keys(item, f"{path}.{index}" if path else str(index))
    return found


BOOL_TAG = "tag:yaml.org,2002:bool"
STR_TAG = "tag:yaml.org,2002:str"


def keys_as_text(root: yaml.Node) -> None:
    """Read every plain mapping key as text: YAML 1.1 (PyYAML) makes `on`, `off`, `yes` and `no` booleans,
    so `workflows.docs.on:` would become the key True (GitHub Actions' `on:` has the same trap). Values keep
    YAML's meaning (`enabled: yes` is still true). Walks the composed graph once per node."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag == BOOL_TAG and key.style is None:
                    key.tag = STR_TAG
        stack.extend(_children(node))
