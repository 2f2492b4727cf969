"""Hostile text: mentions, references, links, HTML, Markdown, control characters and direction overrides."""

from __future__ import annotations

import html
import re

import cmarkgfm
from cmarkgfm.cmark import Options
from hypothesis import strategies as st

PIECES = (
    "@alice", "@octo-org/security", "#12", "GH-3", "o/r#5", "<img src=x onerror=alert(1)>", "<b>", "</b>",
    "<script>alert(1)</script>", "[a](https://e.x/a)", "<https://e.x/c>", "https://e.x/d", "www.e.x", "a@.b",
    "a@b.com", "&lt;img&gt;", "&#64;bob", "`", "``", "```", "~~~", "*", "**", "_", "|", "\n", "\r\n", "\r",
    "\t", "# ", "- ", "- [x] ", "- [ ] ", "1. ", "> ", "<!--", "-->", "\\", "![i](x)", "\u202e", "\u2066",
    "\u200f", "\u2028", "\x00", "\x1b[31m", "\x7f", "\x85", "\ufeff", "\ud7ff", "=", "---", "    ",
    "<details>", "<pre>", "/steward", "/steward docs", "/STEWARD help", "<!-- steward:step x -->",
    "<!-- steward:steps -->", "<!-- /steward:steps -->", "## [Unreleased]", "### Fixed", "&", "\U0001f600",
)  # fmt: skip
"""Pieces that each mean something to GitHub, to Markdown, to a terminal or to one of Steward's parsers."""

hostile = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=16).map("".join)
"""Text made of hostile pieces and arbitrary characters."""

one_line = hostile.map(lambda text: re.sub(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", " ", text))
"""Hostile text on one line."""

_LINKING = re.compile(r"@[\w-]|#\d|GH-\d|(?i:(?:https?|ftp)://|(?:mailto|xmpp):|www\.)")
"""What GitHub links or notifies in text: mentions, issue references, what its autolinker takes for URLs."""
_PLAIN_TAGS = "p|code|strong|em|table|thead|tbody|tr|th|td|ul|ol|li|h3"
"""Tags Steward's own Markdown renders to (no attributes): any other tag came from outside text."""
_EXTENSIONS = ["autolink", "table", "strikethrough", "tagfilter", "tasklist"]


def rendered(markdown: str) -> str:
    """GitHub's renderer (cmark-gfm), raw HTML let through so that any HTML that would count is seen."""
    return cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=Options.CMARK_OPT_UNSAFE, extensions=_EXTENSIONS
    )


def links_or_pings(markdown: str) -> str | None:
    """The first thing a reader would see linked, mentioned or referenced (outside code), or None."""
    page = rendered(markdown)
    if re.search(rf"<(?!/?(?:{_PLAIN_TAGS})>|br />)[A-Za-z!/?]", page):
        return f"HTML {page!r}"
    text = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<code>.*?</code>", " ", page, flags=re.DOTALL)))
    found = _LINKING.search(text)
    return f"{found.group()!r} in {page!r}" if found else None
