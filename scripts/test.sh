#!/usr/bin/env bash
# The test command (`make test`): installs what the tests need, builds the sandbox image if missing, runs pytest.
# Extra arguments go to pytest, e.g. `make test ARGS="-k webhook"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
uv sync --locked --inexact
bash scripts/image.sh
exec uv run pytest "$@"
