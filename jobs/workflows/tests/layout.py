"""Where a repository keeps its tests, so kept tests land beside them under the same naming convention."""

from __future__ import annotations

import re
from dataclasses import dataclass

from jobs.workflows.tests.affected import is_test_file


@dataclass(frozen=True)
class Layout:
    """The tests folder (`""` for the root) and whether files are named `test_x.py` or `x_test.py`."""

    folder: str = "tests"
    suffix: bool = False

    def path_for(self, module: str, taken: set[str]) -> str:
        """A new test file for a module (its last dotted part), never one that exists already."""
        stem = module.rsplit(".", 1)[-1] or "module"
        for n in range(1, 1000):
            tag = "steward" if n == 1 else f"steward_{n}"
            name = f"{stem}_{tag}_test.py" if self.suffix else f"test_{stem}_{tag}.py"
            path = f"{self.folder}/{name}" if self.folder else name
            if path not in taken:
                return path
        raise ValueError(f"no free test file name for {module}")

    def stem_of(self, path: str) -> tuple[str, int] | None:
        """The module stem and number of a file path_for names (`tests/test_calc_steward_2.py`: calc, 2)."""
        folder, _, name = path.rpartition("/")
        pattern = _SUFFIXED if self.suffix else _PREFIXED
        found = pattern.match(name) if folder == self.folder else None
        return (found.group(1), int(found.group(2) or 1)) if found is not None else None


_PREFIXED = re.compile(r"^test_(.+)_steward(?:_([1-9][0-9]{0,2}))?\.py$")
_SUFFIXED = re.compile(r"^(.+)_steward(?:_([1-9][0-9]{0,2}))?_test\.py$")


def detect(files: list[str]) -> Layout:
    """The folder most test files live in (`tests/`, `test/`, ...) and their naming convention."""
    tests = [path for path in files if path.endswith(".py") and is_test_file(path)]
    named = [p for p in tests if p.rsplit("/", 1)[-1] not in ("conftest.py", "__init__.py")]
    suffix = sum(p.endswith("_test.py") for p in named) > sum(
        p.rsplit("/", 1)[-1].startswith("test_") for p in named
    )
    folders: dict[str, int] = {}
    for path in named:
        folder = path.rsplit("/", 1)[0] if "/" in path else ""
        folders[folder] = folders.get(folder, 0) + 1
    if not folders:
        top = {path.split("/", 1)[0] for path in files if "/" in path}
        return Layout("test" if "test" in top and "tests" not in top else "tests", suffix)
    best = max(sorted(folders), key=lambda folder: (folders[folder], -folder.count("/")))
    return Layout(best, suffix)
