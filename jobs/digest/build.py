"""One repository's digest, from GitHub and the ledger to Markdown: what the pass publishes and the preview
prints."""

from __future__ import annotations

from typing import Any

from app.config.model import DigestConfig
from jobs.digest.client import DigestClient
from jobs.digest.facts import LedgerFacts
from jobs.digest.gather import gather
from jobs.digest.ledger import gather_ledger
from jobs.digest.render import Digest, render
from jobs.digest.window import Window


async def build(
    gh: DigestClient, sessions: Any | None, window: Window, config: DigestConfig, web_url: str
) -> tuple[Digest, str]:
    """The digest's facts and its body; with no ledger (`sessions` None) Steward's own sections are empty."""
    github = await gather(gh, window, config)
    repo = gh.repo.full_name
    ledger = await gather_ledger(sessions, repo, window, web_url) if sessions is not None else LedgerFacts()
    digest = Digest(repo=repo, window=window, config=config, github=github, ledger=ledger, web_url=web_url)
    return digest, render(digest)
