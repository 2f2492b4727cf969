#!/usr/bin/env bash
# The quick start: installs what the local run needs, builds the sandbox image, then runs Steward's docs workflow
# on a fresh copy of examples/sample (SQLite ledger, local Docker sandbox, no GitHub account, nothing pushed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --minimal
uv sync --locked --inexact
bash scripts/image.sh

checkout=$(mktemp -d /tmp/steward-sample.XXXXXX)
cp -r examples/sample/. "$checkout"
git -C "$checkout" init -q -b main
git -C "$checkout" add -A
git -C "$checkout" -c user.name="Sample Maintainer" -c user.email="maintainer@example.com" \
  commit -q -m "Sample repository for Steward's quick start"
echo "demo: sample checkout at $checkout"
uv run steward run docs --repo "$checkout" --issue-json examples/sample-issue.json --yes
echo
echo "demo: the proposal is committed on branch steward/docs/7 in $checkout (git -C $checkout log -p steward/docs/7)."
echo "demo: the run is in the ledger: uv run steward runs list"
