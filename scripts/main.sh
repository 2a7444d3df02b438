#!/usr/bin/env bash
# Sets up a fresh machine and runs the main job: the Temporal dev server, the worker, the
# embedded ledger and the admin page, with the demo accounts from examples/accounts.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/scripts/main-job.js
