#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine (Python 3.11, pip, gcc), then run them.
# Used verbatim by the README and by .ci/run. Extra pytest arguments are passed through.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"

# Browser tests drive the dashboard in Debian's Chromium (no browser download: no internet here).
if ! command -v chromium >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
            || echo "warning: could not install chromium; browser tests will fail" >&2
    else
        echo "warning: chromium missing and not root; install Debian's chromium for the browser tests" >&2
    fi
fi

# Static checks before the tests, fail fast: lint, formatting, types (versions pinned in pyproject).
check() {
    local what="$1"
    shift
    echo "== $what: $*"
    if ! "$@"; then
        echo "FAILED: $what ($*). Fix it (or run 'ruff check --fix .' / 'ruff format .') and rerun." >&2
        exit 1
    fi
}
check "lint" .venv/bin/ruff check .
check "format" .venv/bin/ruff format --check .
check "types" .venv/bin/mypy

exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
