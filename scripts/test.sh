#!/usr/bin/env bash
# Sets up a fresh machine and runs the whole test suite (type-check, lint, unit, workflow, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
# On CI (a fresh clone), set-up must leave the checkout exactly as committed: a rewritten lock
# file would mean the machine did not get the locked tree.
if [ "${CI:-}" = "true" ] && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  dirty=$(git status --porcelain)
  if [ -n "$dirty" ]; then
    echo "set-up changed the checkout (it must leave a fresh clone clean):" >&2
    echo "$dirty" >&2
    exit 1
  fi
fi
npm test
