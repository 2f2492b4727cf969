"""YAML node helpers: bound what a hostile file may expand to, and find the line of a dotted location."""

from __future__ import annotations

from collections.abc import Sequence

import yaml

MAX_EXPANDED_NODES = 20_000
"""Values a configuration may hold once aliases are expanded (a real file holds a few dozen)."""


class TooLarge(ValueError):
    """The document expands to more values than a configuration could need (an alias bomb, or a cycle)."""


def expanded_size(root: yaml.Node, limit: int = MAX_EXPANDED_NODES) -> int:
    """How many nodes the document holds with every alias expanded; raises TooLarge past the limit."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    active: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            sizes[key] = min(limit + 1, 1 + sum(sizes[id(child)] for child in _children(node)))
            if sizes[key] > limit:
                raise TooLarge(f"the file expands to more than {limit} values")
            continue
        if key in sizes:
            continue
        if key in active:
            raise TooLarge("the file refers to itself through an alias")
        active.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def line_of(root: yaml.Node | None, location: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest part of a location that exists in the document."""
    if root is None:
        return None
    node: yaml.Node = root
    line = root.start_mark.line + 1
    for part in location:
        found: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    line, found = key.start_mark.line + 1, value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            found = node.value[part]
            line = found.start_mark.line + 1
        if found is None:
            break
        node = found
    return line


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
