#!/usr/bin/env bash
# Installs and starts what Steward's tests and sandbox need on Debian, as root; skips what is already there.
#   Debian packages: redis-server, docker.io, docker-compose (the deploy test), debootstrap, postgresql,
#   chromium (the dashboard's browser test), iproute2 (bridges for the tests' private dockerd), git, make
#   PyPI: uv (via pip, if no uv is on PATH)
#   Services: dockerd (started in the background if its socket does not answer)
# Usage: scripts/deps.sh [--minimal]   (--minimal: only what the local demo needs: uv, git, docker.io, debootstrap)
set -euo pipefail

want=(git make docker.io debootstrap)
[ "${1:-}" = "--minimal" ] || want+=(redis-server postgresql chromium docker-compose iproute2)

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]} (run as root, or install them yourself)" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # With recommends, as MACHINE.md measured: docker.io recommends cgroupfs-mount, which mounts the cgroup
  # hierarchies on machines without systemd; without it dockerd has no cgroups to enforce limits with.
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "deps: installing uv from PyPI"
  python3 -m pip install -q uv 2>/dev/null || python3 -m pip install -q --break-system-packages uv
fi

# Debian's postgresql package starts a cluster; the tests run their own, so the system one is stopped.
if [ "${1:-}" != "--minimal" ] && command -v pg_ctlcluster >/dev/null 2>&1; then
  pg_ctlcluster --mode fast 15 main stop >/dev/null 2>&1 || true
fi

bash "$(dirname "$0")/dockerd.sh"
