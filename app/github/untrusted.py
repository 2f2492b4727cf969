"""Outside text (titles, comments, paths, output) made inert before Steward repeats it on GitHub.

GitHub turns text into effects: `@name` notifies, `#12`, `GH-12` and `owner/repo#12` leave a backlink on
that issue (and `fixes #12` closes it on merge), `[text](url)`, `<url>` and bare URLs become links, raw
HTML renders (an `<img>` is a tracking pixel), and emphasis, headings, tables and list markers restyle the
comment around them. One function per context where Steward repeats such text:

- `inline`: one line of Markdown (a comment, a PR body, a table cell, a list item, a link's text, a
  changelog entry, whose text tools copy into release notes): mentions, references and URLs become code;
- `commit_line`: one line of a commit message (plain text, but GitHub links mentions and references);
- `message`: one line of Steward's own words quoting outside text, where `...` marks code;
- `code_span`: inline code, which GitHub never links or renders;
- `fenced`: a block of text shown as is, in a code fence no line of it can close.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
"""Zero-width space: in a commit message (no code spans there) it stops GitHub linking `@x` or `#1`."""

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
"""C0/C1 controls and the bidirectional overrides that reorder how text reads."""
_HTML = re.compile(
    r"<!--.*?-->|<\?.*?\?>|<![A-Za-z][^>]*>|<!\[CDATA\[.*?\]\]>"  # comments, PIs, declarations, CDATA
    r"|</?[A-Za-z][A-Za-z0-9-]*(?:\s+[^<>]*?)?\s*/?>",  # opening and closing tags (CommonMark raw HTML)
    re.DOTALL,
)
_MENTION = re.compile(r"@(?=[\w-])")
_REFERENCE = re.compile(r"(#|GH-)(?=\d)", re.IGNORECASE)
_URL = re.compile(r"(?i)(https?|ftp|mailto|www|xmpp)(?=:|\.)")
_LITERAL = re.compile(
    r"(?i)(?:(?:https?|ftp)://|mailto:|xmpp:|www\.)[^\s|]*"  # URLs and www. names
    r"|[\w.+-]+@[\w.-]*\.[\w.-]*[\w-]"  # e-mail addresses (cmark-gfm links `a@.b` too)
    r"|@[\w-]+(?:/[\w.-]+)?"  # @person, @org/team
    r"|(?:[\w.-]+/[\w.-]+)?#\d+|GH-\d+"  # #12, owner/repo#12, GH-12
)
"""What GitHub would link, notify or cross-reference: shown as code, which GitHub leaves alone."""
_MARKUP = re.compile(r"([\\`*_\[\]<>|~&$])")
"""ASCII punctuation that opens Markdown or HTML (CommonMark lets a backslash make any of it literal)."""
_BLOCK_START = re.compile(r"^([-+=#]|\d{1,9}(?=[.)]))")
"""What turns the start of a line into a list item, a heading, a setext underline or an ordered list."""


def flatten(text: str, limit: int | None = None) -> str:
    """One line: whitespace runs become one space, controls and direction overrides go; cut at `limit`."""
    flat = " ".join(_CONTROLS.sub(" ", text).split())
    if limit is not None and len(flat) > limit:
        flat = flat[: max(0, limit - 1)].rstrip() + "…"
    return flat


def _without_html(text: str, limit: int | None) -> str:
    """The text on one line with its HTML tags and comments removed (again, if removing made new ones)."""
    flat = flatten(text, limit)
    for _ in range(len(flat)):
        shorter = _HTML.sub("", flat)
        if shorter == flat:
            break
        flat = shorter
    return " ".join(flat.split())


def _defused(text: str) -> str:
    """Mentions, issue references and URL schemes broken by a zero-width space (they read the same)."""
    text = _MENTION.sub("@" + ZWSP, text)
    text = _REFERENCE.sub(lambda m: m.group(1) + ZWSP, text)
    return _URL.sub(lambda m: m.group(1) + ZWSP, text)


def _escaped(text: str, first: bool = True) -> str:
    text = _MARKUP.sub(r"\\\1", text)
    block = _BLOCK_START.match(text) if first else None
    if block is not None:
        head = block.group(1)
        text = (f"{head}\\" + text[len(head) :]) if head[0].isdigit() else "\\" + text
    return text


def _markdown(text: str, limit: int | None) -> str:
    """Linkable pieces as code (touching ones in one span), everything else escaped; the start kept inert."""
    flat = _without_html(text, limit)
    parts, at, code = [], 0, ""
    for found in _LITERAL.finditer(flat):
        if found.start() > at:
            parts += [code_span(code)] if code else []
            parts.append(_escaped(flat[at : found.start()], first=at == 0))
            code = ""
        code += found.group()
        at = found.end()
    parts += [code_span(code)] if code else []
    parts.append(_escaped(flat[at:], first=at == 0))
    return "".join(parts)


def inline(text: str, limit: int | None = None) -> str:
    """One line of outside text for Markdown (a comment, a PR body, a committed changelog): no HTML, no
    markup; links, mentions and references shown as code."""
    return _markdown(text, limit)


def message(text: str, limit: int | None = None) -> str:
    """One line of a message that quotes outside text: its `code` stays code, all else is made inert."""
    flat = flatten(text, limit)
    parts = flat.split("`")
    if len(parts) % 2 == 0:  # an odd backtick out: no code at all
        return inline(flat)
    return "".join(
        code_span(part) if i % 2 and part.strip() else _spaced(part) for i, part in enumerate(parts)
    )


def _spaced(text: str) -> str:
    """Inert text that keeps the spaces around it (they separate it from the code beside it)."""
    lead, trail = " " if text[:1].isspace() else "", " " if text[-1:].isspace() else ""
    return f"{lead}{inline(text)}{trail}" if text.strip() else text


def commit_line(text: str, limit: int | None = None) -> str:
    """One line of outside text for a commit message: no mentions, references or links, no HTML."""
    return _defused(_without_html(text, limit))


def code_span(text: str, limit: int | None = None) -> str:
    """Inline code that survives backticks in the value (CommonMark: a longer fence, padded)."""
    flat = flatten(text, limit) or " "
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or longest else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def fenced(text: str, info: str = "text") -> list[str]:
    """Lines of a code block holding the text verbatim: its fence is longer than any backtick run inside."""
    clean = _CONTROLS.sub(lambda m: m.group() if m.group() in "\n\t" else " ", text.replace("\r\n", "\n"))
    fence = "`" * max(3, max((len(r) for r in re.findall(r"`+", clean)), default=0) + 1)
    return [f"{fence}{info}", clean.replace("<!--", "<!-" + ZWSP + "-").rstrip(), fence]
