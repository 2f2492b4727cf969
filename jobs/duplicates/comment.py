"""The one duplicates comment: candidates with link, title, state and score, and how to disagree."""

from __future__ import annotations

from collections.abc import Sequence

from app.constants import DEFAULT_COMMAND_PREFIX, MARKER_DUPLICATES
from app.github.untrusted import inline
from jobs.duplicates.candidates import Suggestion

TITLE_CHARS = 120


def _cell(text: str) -> str:
    """A title inside a table cell's link text: one line, no pipes, brackets, links, HTML or pings."""
    return inline(text, TITLE_CHARS) or "(no title)"


def _state(item: Suggestion) -> str:
    kind = "pull request" if item.kind == "pull" else "issue"
    return f"{item.state} {kind}"


def render(shown: Sequence[Suggestion], prefix: str = DEFAULT_COMMAND_PREFIX) -> str:
    """The comment listing likely duplicates (the marker first, so Steward finds it again)."""
    lines = [
        MARKER_DUPLICATES,
        "**Possible duplicate.** These earlier reports look like this one:",
        "",
        "| | title | state | score |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| #{s.number} | [{_cell(s.title)}]({s.html_url}) | {_state(s)} | {s.score:.2f} |" for s in shown
    ]
    first = shown[0].number
    lines += [
        "",
        f"If this is not a duplicate of one of them, comment `{prefix} not-duplicate #{first}`"
        " (with its number) and Steward will not suggest it again. Scores are calibrated: 1.00 is certain."
        " Steward never closes anything; a maintainer decides.",
    ]
    return "\n".join(lines)


def render_none(asked: bool) -> str:
    """The answer when nothing passes the threshold: to a command, or replacing an earlier suggestion."""
    why = "found no likely duplicates" if asked else "no longer finds likely duplicates"
    return f"{MARKER_DUPLICATES}\nSteward {why} of this report among the earlier ones."
