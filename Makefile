# One entry point for the habits: `make format lint typecheck test`. CI (.ci/run) runs the same targets.
.PHONY: uv sync format lint typecheck test check deps image tools-lock embeddings demo generate

PACKAGES := app jobs sandbox policies
ARGS ?=

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install -q uv

sync: uv
	uv sync --locked --inexact

format: sync
	uv run ruff format .
	uv run ruff check --fix .

lint: sync
	uv run ruff format --check .
	uv run ruff check .

typecheck: sync
	uv run mypy $(PACKAGES)

# Installs redis-server, docker.io, debootstrap, postgresql (Debian) and uv when missing, starts dockerd,
# builds the sandbox image when missing, then runs pytest.
test:
	bash scripts/test.sh $(ARGS)

check: lint typecheck test

deps:
	bash scripts/deps.sh

image: sync
	uv run steward sandbox build

# Pin the sandbox image's tools venv (sandbox/tools.in -> sandbox/tools.txt, with hashes); then bump IMAGE_VERSION
# in sandbox/images.py (a test fails until the image's content and its version agree).
tools-lock: uv
	{ echo "# Generated from sandbox/tools.in by \`make tools-lock\`; do not edit."; \
	  uv pip compile --quiet --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	    --no-header --no-annotate sandbox/tools.in; } > sandbox/tools.txt

# The optional embeddings extra for duplicate triage (CPU-only torch; see README).
embeddings: sync
	bash scripts/embeddings.sh

# The quick start: the docs workflow on the bundled sample repository, locally (SQLite, Docker, no GitHub).
demo:
	bash scripts/demo.sh

# Regenerate the files made from the code (a test fails when they drift).
generate: sync
	uv run steward config schema > schema/steward.schema.json
	uv run steward config docs > docs/configuration.md
