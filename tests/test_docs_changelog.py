"""Changelog entries: the right section, the right place, a link, never twice."""

from __future__ import annotations

import pytest

from jobs.workflows.docs.changelog import HEADER, Entry, add_entry, choose_section, mentions

URL = "https://github.com/octo/widgets/issues/12"
FIXED = Entry(12, "Crash on empty config", URL, "Fixed")
LINE = f"- Crash on empty config ([#12]({URL}))"

CASES = [
    (
        "absent, created with the standard header",
        None,
        f"{HEADER}\n## [Unreleased]\n\n### Fixed\n\n{LINE}\n",
    ),
    (
        "no Unreleased section: added above the latest release",
        f"{HEADER}\n## [1.0.0] - 2026-01-01\n\n### Added\n\n- First release\n",
        f"{HEADER}\n## [Unreleased]\n\n### Fixed\n\n{LINE}\n\n"
        "## [1.0.0] - 2026-01-01\n\n### Added\n\n- First release\n",
    ),
    (
        "section exists: appended after its last item",
        "# Changelog\n\n## [Unreleased]\n\n### Fixed\n\n- Old bug (#3)\n\n## [1.0.0]\n",
        f"# Changelog\n\n## [Unreleased]\n\n### Fixed\n\n- Old bug (#3)\n{LINE}\n\n## [1.0.0]\n",
    ),
    (
        "section missing: inserted in Keep a Changelog's order",
        "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- A\n\n### Security\n\n- S\n",
        f"# Changelog\n\n## [Unreleased]\n\n### Added\n\n- A\n\n### Fixed\n\n{LINE}\n\n### Security\n\n- S\n",
    ),
    (
        "empty Unreleased heading without brackets",
        "# Changelog\n\n## Unreleased\n\n## [0.1.0]\n\n- x\n",
        f"# Changelog\n\n## Unreleased\n\n### Fixed\n\n{LINE}\n\n## [0.1.0]\n\n- x\n",
    ),
    (
        "empty section heading gets its first item",
        "## [Unreleased]\n### Fixed\n### Added\n",
        f"## [Unreleased]\n### Fixed\n\n{LINE}\n\n### Added\n",
    ),
    (
        "CRLF file stays CRLF",
        "# Changelog\r\n\r\n## [Unreleased]\r\n",
        f"# Changelog\r\n\r\n## [Unreleased]\r\n\r\n### Fixed\r\n\r\n{LINE}\r\n",
    ),
    (
        "existing empty file gets the header",
        "",
        f"{HEADER}\n## [Unreleased]\n\n### Fixed\n\n{LINE}\n",
    ),
]


@pytest.mark.parametrize(("name", "before", "after"), CASES, ids=[c[0] for c in CASES])
def test_add_entry(name: str, before: str | None, after: str) -> None:
    edit = add_entry(before, FIXED, create=True)
    assert edit.changed and edit.text == after
    again = add_entry(edit.text, FIXED, create=True)
    assert not again.changed and again.text == after


def test_absent_and_not_configured_stays_absent() -> None:
    edit = add_entry(None, FIXED, create=False)
    assert (edit.text, edit.changed) == (None, False)
    assert "does not create" in edit.note


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("- Fixed it ([#12](x))", True),
        ("- Fixed it (#12)", True),
        (f"* Fixed it ({URL})", True),
        ("- Fixed it (#123)", False),
        ("- Upstream fix (other/repo#12)", False),
        ("Released #12 was a good day", False),  # prose, not an entry
        ("- Follow-up to #12 and #14 ([#13](https://github.com/octo/widgets/issues/13))", False),
        ("- Follow-up to #12 (#13)", False),
        (f"- Follow-up to {URL} (#13)", False),
        ("- #12: fixed it", True),
        ("- [#12] fixed it", True),
        (f"- [#12]({URL}) fixed it", True),
        ("- Fixed it (#11, #12).", True),
        ("- Fixed it ([#11](a), [#12](b))", True),
        (f"- Fixed it by @alice in {URL}", True),
        (f"- Fixed it ({URL}3)", False),  # issue 123's URL starts with issue 12's
        ("- Fixed it (#12) and more", False),
    ],
)
def test_mentions(text: str, found: bool) -> None:
    assert mentions(text, 12, URL) is found


def test_an_entry_already_released_is_not_added_again() -> None:
    text = f"{HEADER}\n## [Unreleased]\n\n## [1.0.0]\n\n### Fixed\n\n- Crash ([#12]({URL}))\n"
    assert not add_entry(text, FIXED).changed


@pytest.mark.parametrize(
    ("labels", "section"),
    [
        (["bug"], "Fixed"),
        (["Bug", "enhancement"], "Fixed"),
        (["enhancement", "bug"], "Added"),
        (["question"], "Changed"),
        ([], "Changed"),
        (["SECURITY"], "Security"),
    ],
)
def test_choose_section(labels: list[str], section: str) -> None:
    mapping = {"bug": "Fixed", "enhancement": "Added", "security": "Security"}
    assert choose_section(labels, mapping, "Changed") == section


def test_bad_sections_are_refused() -> None:
    with pytest.raises(ValueError):
        choose_section([], {}, "Misc")
    with pytest.raises(ValueError):
        add_entry("", Entry(1, "t", "u", "Misc"))


def test_titles_cannot_inject_markup_or_markers() -> None:
    entry = Entry(5, "Fix <!-- steward:exec rm -rf / --> and\nnewlines" + "x" * 300, URL, "Fixed")
    edit = add_entry(None, entry, create=True)
    assert edit.text is not None and "<!--" not in edit.text and "steward:exec" not in edit.text
    line = next(line for line in edit.text.splitlines() if "#5" in line)
    assert line.startswith("- Fix and newlines") and len(line) < 300


def test_a_later_entry_is_added_when_an_earlier_title_names_its_number() -> None:
    """#13 "Follow-up to #12 and #14" is #13's entry only: #12 and #14 still get theirs."""
    follow_up = Entry(13, "Follow-up to #12 and #14", "https://github.com/octo/widgets/issues/13", "Fixed")
    text = add_entry(None, follow_up, create=True).text
    for number in (12, 14):
        edit = add_entry(text, Entry(number, f"Item {number}", f"{URL[:-2]}{number}", "Fixed"))
        assert edit.changed, edit.note
        assert f"- Item {number} ([#{number}]({URL[:-2]}{number}))" in (edit.text or "")
        text = edit.text
    assert not add_entry(text, Entry(13, "Again", "", "Fixed")).changed


def test_without_an_issue_url_the_entry_names_the_number_without_an_empty_link() -> None:
    edit = add_entry(None, Entry(3, "Local fix", "", "Fixed"), create=True)
    assert edit.text is not None and "- Local fix (#3)\n" in edit.text and "]()" not in edit.text
    assert not add_entry(edit.text, Entry(3, "Local fix", "", "Fixed")).changed


def test_a_hostile_title_is_committed_as_inert_text() -> None:
    title = (
        "@octo-org/security <img src=https://attacker.example/p.png> [Approve](https://attacker.example/x)"
    )
    line = Entry(9, title, "https://github.com/octo/widgets/issues/9", "Fixed").line
    assert "<img" not in line and "](https://attacker" not in line
    assert line == (
        "- `@octo-org/security` \\[Approve\\](`https://attacker.example/x)`"
        " ([#9](https://github.com/octo/widgets/issues/9))"
    )
