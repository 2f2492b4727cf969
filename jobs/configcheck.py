"""The `steward/config` check: a pull request that changes `.github/steward.yml` gets a check run on its head
commit with the validation result as line annotations and a simulation against the base's configuration.

It converges: a rerun for the same head updates the same check run, and a head that leaves the file as the
base has it gets no check at all.
"""

from __future__ import annotations

import logging
from typing import Any

from app.config.loader import parse_config
from app.config.result import ConfigResult
from app.config.simulate import Change, diff
from app.constants import CONFIG_PATH
from app.events import PullRequestEvent
from app.github.protocol import CheckAnnotation, CheckGitHubClient, FileContent, RepoId
from app.github.untrusted import code_span, message
from jobs.context import github_for
from jobs.failures import guarded_text
from policies.loader import token_permissions

log = logging.getLogger(__name__)

CHECK_NAME = "steward/config"
POLICY = "config"
MAX_ROWS = 200
"""Rows of the simulation table shown; a real change moves a handful."""


def _cell(text: str) -> str:
    """A table cell holding outside text: inert code, with the table's own `|` escaped."""
    return code_span(text, 300).replace("|", "\\|")


def _table(changes: list[Change]) -> list[str]:
    rows = ["| setting | before | after | |", "| --- | --- | --- | --- |"]
    for change in changes[:MAX_ROWS]:
        note = f"**{change.note}**" if change.note else ""
        rows.append(f"| {_cell(change.key)} | {_cell(change.before)} | {_cell(change.after)} | {note} |")
    if len(changes) > MAX_ROWS:
        rows.append(f"| … {len(changes) - MAX_ROWS} more | | | |")
    return rows


def _parsed(found: FileContent | None) -> ConfigResult:
    return parse_config(found.text) if found is not None else ConfigResult()


def report(base: FileContent | None, head: FileContent | None, base_sha: str) -> dict[str, Any]:
    """The check's conclusion, title, summary and annotations for this pair of files."""
    before, after = _parsed(base), _parsed(head)
    against = f"the configuration at the base commit `{base_sha[:12]}`"
    if after.errors:
        lines = [
            f"`{CONFIG_PATH}` has {len(after.errors)} error(s). With it, Steward would use the defaults "
            "and run no workflow that writes until it is fixed.",
            "",
            *(
                f"- line {e.line or '?'}: {code_span(e.field, 200)}: {message(e.message, 500)}"
                for e in after.errors
            ),
        ]
        notes = [
            CheckAnnotation(CONFIG_PATH, e.line or 1, flat_message(e.message), title=e.field[:200])
            for e in after.errors
        ]
        return {
            "conclusion": "failure",
            "title": f"{len(after.errors)} error(s) in {CONFIG_PATH}",
            "summary": "\n".join(lines),
            "annotations": notes,
        }
    changes = diff(before.config, after.config)
    intro = "The file is removed, so the defaults apply. " if head is None else "Valid. "
    if base is None:
        against = "the defaults (the base commit has no such file)"
    if not changes:
        summary = f"{intro}Compared with {against}, nothing Steward may do changes."
    else:
        wider = sum(1 for change in changes if change.note.startswith("more"))
        lines = [f"{intro}Compared with {against}, {len(changes)} setting(s) change:", "", *_table(changes)]
        if wider:
            lines += ["", f"{wider} command(s) open to more people: check who may run them."]
        summary = "\n".join(lines)
    return {
        "conclusion": "success",
        "title": f"valid: {len(changes)} change(s) in what Steward may do",
        "summary": summary,
        "annotations": [],
    }


def flat_message(text: str) -> str:
    """An annotation's message is plain text on GitHub: one line, bounded."""
    return " ".join(text.split())[:1000]


async def check_config(ctx: dict[str, Any], delivery_id: str, event: dict[str, Any]) -> str:
    """pull_request opened/synchronize/reopened: check the head's `.github/steward.yml` if the pull
    request changes it."""
    parsed = PullRequestEvent.model_validate(event)
    pull = parsed.pull_request
    if parsed.repository is None or parsed.installation is None or pull.head is None or pull.base is None:
        return "ignored: no repository, installation, head or base"
    repo = RepoId.parse(parsed.repository.full_name)
    head_sha, base_sha = pull.head.sha, pull.base.sha
    installation_id = parsed.installation.id

    async def work() -> str:
        gh: CheckGitHubClient = await github_for(ctx, installation_id, repo, token_permissions(POLICY))
        head = await gh.get_file(repo, CONFIG_PATH, ref=head_sha)
        base = await gh.get_file(repo, CONFIG_PATH, ref=base_sha)
        if (head.text if head else None) == (base.text if base else None):
            return f"#{pull.number} leaves {CONFIG_PATH} as it is: no check"
        result = report(base, head, base_sha)
        run_id = await gh.upsert_check_run(repo, head_sha, name=CHECK_NAME, **result)
        return f"#{pull.number}: {CHECK_NAME} {result['conclusion']} (check run {run_id})"

    outcome = await guarded_text(ctx, None, work())
    log.info("check_config delivery=%s %s: %s", delivery_id, repo.full_name, outcome)
    return outcome
