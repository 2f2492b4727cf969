#!/usr/bin/env bash
# The test command (`make test`): installs what the tests need, builds the sandbox image if missing, runs pytest.
# Extra arguments go to pytest, e.g. `make test ARGS="-k webhook"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
uv sync --locked
uv run steward sandbox build --if-missing
set +e
uv run pytest "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo "test: pytest collected no tests" >&2
fi
exit $rc
