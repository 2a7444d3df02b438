#!/usr/bin/env bash
# Sets up a fresh machine and runs the whole test suite (type-check, lint, unit, workflow, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
npm test
