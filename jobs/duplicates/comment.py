"""The one duplicates comment: candidates with link, title, state and score, and how to disagree."""

from __future__ import annotations

from collections.abc import Sequence

from app.constants import DEFAULT_COMMAND_PREFIX, MARKER_DUPLICATES
from app.github.untrusted import code_span, inline
from jobs.duplicates.candidates import Suggestion

TITLE_CHARS = 120
WHY_WORDS = 6
"""Shared title words (and files) named per reason line."""
WHY_CHARS = 100


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
    lines += ["", "Why:"]
    lines += [f"- #{s.number}: {reason(s)}" for s in shown]
    first = shown[0].number
    lines += [
        "",
        f"If this is not a duplicate of one of them, comment `{prefix} not-duplicate #{first}`"
        " (with its number) and Steward will not suggest it again. Scores are calibrated: 1.00 is certain."
        " Steward never closes anything; a maintainer decides.",
    ]
    return "\n".join(lines)


def _codes(values: Sequence[str]) -> str:
    """Outside text as inline code (inert: no links, mentions or markup), a few at most."""
    shown = ", ".join(code_span(v, WHY_CHARS) for v in values[:WHY_WORDS])
    more = len(values) - WHY_WORDS
    return shown + (f" and {more} more" if more > 0 else "")


def reason(item: Suggestion) -> str:
    """One line saying why a candidate was suggested: what the two share."""
    why = item.why
    if why is None:
        return "similar text"
    parts = []
    if why.files:
        parts.append(f"changes the same files {_codes(why.files)}")
    if why.error_line:
        parts.append(f"the same error line {code_span(why.error_line, WHY_CHARS)}")
    if why.refs:
        parts.append(f"refers to the same issue {_codes([f'#{n}' for n in why.refs])}")
    if why.title_words:
        parts.append(f"shares the title words {_codes(why.title_words)}")
    return "; ".join(parts) if parts else "similar description"


def render_none(asked: bool) -> str:
    """The answer when nothing passes the threshold: to a command, or replacing an earlier suggestion."""
    why = "found no likely duplicates" if asked else "no longer finds likely duplicates"
    return f"{MARKER_DUPLICATES}\nSteward {why} of this report among the earlier ones."
