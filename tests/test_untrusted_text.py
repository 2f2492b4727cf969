"""Outside text Steward repeats is inert: rendered by GitHub's cmark-gfm, it links, pings, shows nothing."""

from __future__ import annotations

import html
import re

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hypothesis import given, settings
from hypothesis import strategies as st

from app.github.untrusted import ZWSP, code_span, commit_line, fenced, flatten, inline, message

HOSTILE = (
    "@octo-org/security @alice <img src=https://attacker.example/p.png> [Approve](https://attacker.example/x)"
)
TOKENS = (
    "@alice", "@octo-org/security", "#12", "GH-3", "gh-4", "o/r#5", "<img src=x>", "<b>", "</b>",
    "[a](https://e.x/a)", "](https://e.x/b)", "[", "]", "(", ")", "<https://e.x/c>", "https://e.x/d",
    "HTTP://e.x", "www.e.x", "a@b.com", "&lt;img&gt;", "&#64;bob", "&#35;7", "`", "``", "*", "**", "_",
    "|", "\n", "\r\n", "\t", "# ", "- ", "+ ", "1. ", "2) ", "> ", "<!--", "-->", "\\", "$", "$$", "~~",
    "![i](x)", "[^1]", ":warning:", "\u202e", "\x00", "=", "---", "   ", "<details>", "<p onclick=x>",
)  # fmt: skip
hostile_text = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)), max_size=14).map("".join)
EXTENSIONS = ["autolink", "table", "strikethrough", "tagfilter", "tasklist"]


def render(markdown: str) -> str:
    """GitHub's renderer, with raw HTML let through so that any HTML that would count is seen."""
    return cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=Options.CMARK_OPT_UNSAFE, extensions=EXTENSIONS
    )


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def outside_code(fragment: str) -> str:
    """The text GitHub would scan for mentions and references (never inside code)."""
    return text_of(re.sub(r"<code>.*?</code>", " ", fragment, flags=re.DOTALL))


def tags(fragment: str) -> list[str]:
    """The HTML tags of a rendering, apart from code spans (whose content GitHub shows as typed)."""
    return [tag for tag in re.findall(r"<[^>]+>", fragment) if tag not in ("<code>", "</code>")]


def assert_inert_text(visible: str) -> None:
    """What a reader sees holds nothing GitHub would link or notify."""
    assert not re.search(r"@[\w-]", visible), visible
    assert not re.search(r"#\d|GH-\d", visible, re.IGNORECASE), visible
    assert not re.search(r"(?i)(https?|ftp|mailto|xmpp):|www\.", visible), visible


def expected_text(raw: str) -> str:
    """The words a reader should see: the text on one line, without its HTML tags."""
    flat = flatten(raw)
    for _ in range(len(flat)):
        flat = re.sub(
            r"<!--.*?-->|<\?.*?\?>|<![A-Za-z][^>]*>|</?[A-Za-z][A-Za-z0-9-]*(?:\s+[^<>]*?)?\s*/?>", "", flat
        )
    return " ".join(flat.split())


@settings(max_examples=400, deadline=None)
@given(hostile_text)
def test_inline_text_renders_as_one_paragraph_of_plain_words(raw: str) -> None:
    out = inline(raw)
    assert "\n" not in out
    rendered = render(f"Steward's update for {out}")
    assert tags(rendered) == ["<p>", "</p>"], rendered
    assert_inert_text(outside_code(rendered))
    visible = text_of(rendered).strip().removeprefix("Steward's update for").strip()
    assert " ".join(visible.replace(ZWSP, "").split()) == " ".join(expected_text(raw).split())


@settings(max_examples=300, deadline=None)
@given(hostile_text)
def test_a_title_in_a_table_cell_link_gives_exactly_the_one_real_link(raw: str) -> None:
    table = "| | title |\n| --- | --- |\n" + f"| #1 | [{inline(raw)}](https://github.com/o/r/issues/1) |"
    rendered = render(table)
    assert re.findall(r"<a [^>]*>", rendered) == ['<a href="https://github.com/o/r/issues/1">']
    assert len(re.findall(r"<tr>", rendered)) == 2 and len(re.findall(r"<td>", rendered)) == 2
    assert not re.search(r"<(img|b|p|details|ul|ol|h\d|blockquote|strong|em|del)\b", rendered), rendered


@settings(max_examples=300, deadline=None)
@given(hostile_text)
def test_inline_text_cannot_break_out_of_a_list_item(raw: str) -> None:
    rendered = render(f"- first\n- {inline(raw)}\n- last")
    assert len(re.findall(r"<li>", rendered)) == 3 and len(re.findall(r"<ul>", rendered)) == 1, rendered
    assert re.findall(r"<(?!/?(ul|li|code)>)[^>]+>", rendered) == [], rendered


@settings(max_examples=200, deadline=None)
@given(hostile_text)
def test_a_changelog_entry_has_only_its_own_link(raw: str) -> None:
    rendered = render(f"- {inline(raw)} ([#3](https://github.com/o/r/issues/3))")
    assert re.findall(r"<a [^>]*>", rendered) == ['<a href="https://github.com/o/r/issues/3">'], rendered
    assert re.findall(r"<(?!/?(ul|li|a|code)[ >])[^>]+>", rendered) == [], rendered


@settings(max_examples=200, deadline=None)
@given(hostile_text)
def test_commit_lines_hold_no_mention_reference_or_link(raw: str) -> None:
    out = commit_line(raw)
    assert "\n" not in out and "\r" not in out
    assert_inert_text(out)
    assert not re.search(r"<!--.*?-->|</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>", out), out


@settings(max_examples=200, deadline=None)
@given(hostile_text)
def test_code_spans_and_fences_hold_the_text_verbatim(raw: str) -> None:
    rendered = render(f"see {code_span(raw)} here")
    assert re.findall(r"<[^>]+>", rendered) == ["<p>", "<code>", "</code>", "</p>"], rendered
    block = render("\n".join(fenced(raw)) + "\nafter")
    assert len(re.findall(r"<pre>", block)) == 1 and block.rstrip().endswith("<p>after</p>"), block


def test_the_reported_title_is_inert_everywhere() -> None:
    out = inline(HOSTILE)
    rendered = render(out)
    assert "<img" not in rendered and "<a " not in rendered
    assert "Approve" in rendered and "<code>@alice</code>" in rendered
    assert "<code>@octo-org/security</code>" in rendered
    assert (
        commit_line(HOSTILE)
        == "@\u200bocto-org/security @\u200balice [Approve](https\u200b://attacker.example/x)"
    )


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Fixes #12 and closes GH-14, see o/r#3", "Fixes #12 and closes GH-14, see o/r#3"),
        ("crash on start](https://attacker.example/fix) see [details", None),
        ("- [x] sneaky\n# Heading\n| a | b |", None),
        ("a\u202eb\x00c", "a b c"),
    ],
)
def test_cases_from_the_review(raw: str, shown: str | None) -> None:
    out = inline(raw)
    rendered = render(f"x {out}")
    assert tags(rendered) == ["<p>", "</p>"], rendered
    assert_inert_text(outside_code(rendered))
    if shown is not None:
        assert text_of(rendered).strip() == f"x {shown}"


def test_flatten_cuts_long_text_to_the_limit() -> None:
    assert flatten("word " * 100, limit=20) == "word word word word…"
    assert len(inline("@" * 500, limit=120)) < 400


@settings(max_examples=300, deadline=None)
@given(hostile_text, hostile_text)
def test_a_message_quoting_outside_text_keeps_its_code_and_nothing_else(before: str, quoted: str) -> None:
    """Steward's own words with a value in backticks: the value may hold backticks to break out, in vain."""
    rendered = render(message(f"{before} `{quoted}` is outside the paths"))
    assert tags(rendered) == ["<p>", "</p>"], rendered
    assert_inert_text(outside_code(rendered))


def test_a_message_shows_its_code_as_code() -> None:
    assert message("`docs/**` is outside what the docs policy may write (`*.md`)") == (
        "`docs/**` is outside what the docs policy may write (`*.md`)"
    )
