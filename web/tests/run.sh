#!/usr/bin/env bash
# Runs the browser tests against a freshly seeded demo server: installs Debian's chromium and the
# test dependencies when missing, starts the built `cityloop` binary on a free loopback port with
# a throwaway database, runs web/tests/*.mjs and stops the server. Screenshots and the server log
# go to $ARTEFACTS (default web/test-artefacts, git-ignored).
#
#   web/tests/run.sh [path/to/cityloop]      (default: $CARGO_TARGET_DIR or target, debug build)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-${CARGO_TARGET_DIR:-target}/debug/cityloop}
ARTEFACTS=${ARTEFACTS:-web/test-artefacts}
[ -x "$BIN" ] || { echo "no server binary at $BIN; run cargo build -p cityloop-server first" >&2; exit 1; }

if ! [ -x /usr/bin/chromium ]; then
  echo "installing chromium"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
# The full install (with playwright-core, a dev dependency); the build script installs only the
# libraries the UI ships.
if ! [ -d web/node_modules/playwright-core ]; then
  (cd web && npm ci --ignore-scripts --no-audit --no-fund)
fi

rm -rf "$ARTEFACTS"
mkdir -p "$ARTEFACTS"
TMP=$(mktemp -d -t cityloop-web.XXXXXX)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# The smallest demo city keeps seeding short; the year of demo cases gives the screens data.
"$BIN" demo --city county-town \
  --listen "127.0.0.1:0" --database-url "sqlite://$TMP/demo.sqlite3" >"$ARTEFACTS/server.log" 2>&1 &
SERVER_PID=$!
# Port 0: the system picks a free port and the server prints it, so a parallel run cannot take it
# between choosing and binding.
PORT=
for _ in $(seq 1 600); do
  PORT=$(sed -n 's|^cityloop listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$ARTEFACTS/server.log" | head -1)
  if [ -n "$PORT" ] && curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "the server stopped; see $ARTEFACTS/server.log" >&2; tail -20 "$ARTEFACTS/server.log" >&2; exit 1; fi
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null

status=0
for t in web/tests/*.mjs; do
  echo "==> $t"
  BASE_URL="http://127.0.0.1:$PORT" ARTEFACTS="$ARTEFACTS" node "$t" || status=1
done
exit $status
