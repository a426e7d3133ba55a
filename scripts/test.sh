#!/bin/bash
# Install everything (scripts/setup.sh), then run the whole suite: unit tests (no
# privileges) and integration tests (root; skipped with a reason otherwise).
# Extra arguments go to pytest: bash scripts/test.sh -k runc -x
# Paths among them replace the default test directories: bash scripts/test.sh tests/unit
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash scripts/setup.sh

paths=(tests/unit tests/integration tests/e2e)
for arg in "$@"; do
    if [[ "$arg" != -* && -e "${arg%%::*}" ]]; then
        paths=()
        break
    fi
done

# A hung container must not hang the suite: every test gets a deadline.
set +e
.venv/bin/python -m pytest "${paths[@]}" -q -ra --timeout="${ESTIBA_TEST_TIMEOUT:-300}" "$@"
status=$?
set -e
if ((status == 5)); then
    echo "test.sh: pytest collected no tests: that is a failure" >&2
fi
exit "$status"
