#!/usr/bin/env bash
# Starts the Docker Engine in the background when its socket does not answer (no systemd on these machines).
set -euo pipefail
if docker info >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "dockerd: the Docker daemon is not running and only root can start it here" >&2
  exit 1
fi
echo "dockerd: starting the Docker Engine (log: /var/log/dockerd.log)"
setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.5
done
echo "dockerd: the daemon did not come up in 30 s; see /var/log/dockerd.log" >&2
tail -20 /var/log/dockerd.log >&2 || true
exit 1
