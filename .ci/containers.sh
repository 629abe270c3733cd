#!/usr/bin/env bash
# The container suite: start a Docker engine (with Compose v2 and the local images
# node:20-bookworm-slim, redis:7, nats:2.10) through ../shared/container-env/setup,
# then run test/containers/ with tap. Where the engine cannot start, say why in one
# line and exit 0: the suite is reported as skipped, and the rest of CI goes on.
#   .ci/containers.sh               setup + build the images + run the container tests
#   .ci/containers.sh --setup-only  setup only; then run `npm test` with
#                                   TESTCONTAINERS_RYUK_DISABLED=true exported
set -uo pipefail
cd "$(dirname "$0")/.."

setup=../shared/container-env/setup
if [ ! -f "$setup" ]; then
  echo "containers: SKIP container engine unavailable: $setup not found"
  exit 0
fi
# setup needs root (it installs packages and starts dockerd). Without root, an engine
# that already answers is used as it is.
if [ "$(id -u)" = 0 ]; then
  out=$(bash "$setup" --compose-v2 2>&1); rc=$?
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  out=$(sudo -n bash "$setup" --compose-v2 2>&1); rc=$?
elif timeout 15 docker info >/dev/null 2>&1; then
  out="containers: not root: using the running engine without $setup"; rc=0
else
  out="not root and no passwordless sudo: $setup cannot run"; rc=1
fi
if [ "$rc" != 0 ] || ! timeout 15 docker info >/dev/null 2>&1; then
  reason=$(printf '%s\n' "$out" | grep -v '^\s*$' | tail -n 1)
  echo "containers: SKIP container engine unavailable: ${reason:-docker info gets no answer}"
  exit 0
fi
printf '%s\n' "$out" | tail -n 1

# No registry here: Ryuk's image cannot be pulled, and only the classic builder exists.
export TESTCONTAINERS_RYUK_DISABLED=true
unset DOCKER_BUILDKIT

[ "${1:-}" = --setup-only ] && exit 0

# Build first, so the tests' `up --build` finds every layer cached and the build's
# own output is visible here when it fails.
docker compose build || { echo "containers: FAIL docker compose build"; exit 1; }
exec npx tap --jobs=1 test/containers/*.test.ts
