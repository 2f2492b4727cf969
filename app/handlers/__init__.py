"""Webhook routing: one module per behaviour, each with its own Router, composed here once.

Handlers are pure: they read a `Delivery` and return `JobSpec`s. `delivery.payload` is already the event's
lenient model, parsed once by the edge (see app/router.py: `register(..., model=...)`); never re-parse it.
The web edge (app/web/queue.py) writes each one as `pool.enqueue_job(spec.function, _job_id=spec.job_id,
**spec.kwargs)` would: queue `arq:queue`, arq's default pickle serializer, no deferral, and no new job while
`arq:job:<id>` or `arq:result:<id>` exists.
The worker must register job functions with exactly these names and keyword arguments:

- `handle_comment`, job id `comment:<repository id>:<comment id>`, kwargs `delivery_id: str`,
  `event: dict` (an IssueCommentEvent).
- `triage_duplicates`, job id `triage:<repository id>:<number>`, kwargs `delivery_id`, `event` (an IssuesEvent
  or a PullRequestEvent) and `kind`: "issue" or "pull_request".
- `sync_installation`, job id `installation:<delivery id>`, kwargs `delivery_id`, `event_name`: "installation"
  or "installation_repositories", and `event` (an InstallationEvent or InstallationRepositoriesEvent).
- `handle_review_comment`, job id `review-comment:<repository id>:<comment id>`, kwargs `delivery_id`, `event`
  (a PullRequestReviewCommentEvent): a line comment of a review that may hold a command.
- `review_submitted`, job id `review:<review id>`, kwargs `delivery_id`, `event` (a PullRequestReviewEvent):
  the review gate for approvals, a revision for "Request changes" where `revise_on` asks, and the commands
  of its body (the worker decides).
- `pull_synchronized` / `pull_closed` (pull requests from `steward/...` branches only), job id
  `pr-sync:<repository id>:<number>:<head sha>` / `pr-closed:...`, kwargs `delivery_id`, `event`
  (a PullRequestEvent).
- `check_config` (every pull request's new head: the worker checks a change to `.github/steward.yml`), job id
  `config-check:<repository id>:<number>:<head sha>`, kwargs `delivery_id`, `event` (a PullRequestEvent).
- `docs_on_landed` (a merged pull request not from a `steward/` branch nor by Steward, or an issue closed as
  completed; the worker reads `workflows.docs.on`), job id `landed:<delivery id>`, kwargs `delivery_id`,
  `event_name` ("pull_request" or "issues") and `event`.
- `index_event` (duplicate index upkeep), job id `index:<delivery id>`, kwargs `delivery_id`, `event_name`
  ("issues", "pull_request" or "issue_comment") and `event`.

`event` is the lenient model from `app.events` dumped with `model_dump(mode="json")`; rebuild it with e.g.
`IssueCommentEvent.model_validate(event)`. A repository-level job's event always has `installation` and
`repository` (deliveries without them are dropped here). Comments by bots, Steward included, never become
jobs. Whether a repository enables duplicate triage is the worker's decision (it reads `.github/steward.yml`).
"""

from __future__ import annotations

from app.handlers import (
    commands,
    config_check,
    duplicates,
    index,
    installations,
    landed,
    pulls,
    reviews,
)
from app.router import Router
from app.settings import Settings


def build_router(settings: Settings) -> Router:
    """The one Router the web edge dispatches with."""
    return Router(
        commands.make_router(settings.bot_login),
        duplicates.router,
        installations.router,
        reviews.router,
        pulls.router,
        index.router,
        config_check.router,
        landed.make_router(settings.bot_login),
    )
