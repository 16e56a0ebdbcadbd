#!/usr/bin/env bash
# The test command (README, CI): install dependencies, build, run every test with CTest.
# Tests that need ../shared/data (the real tokenizer) skip cleanly without it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 900)

# The server driven by the official openai client (pinned in tests/server/requirements.txt),
# in a venv of its own. Without network access to install the client these tests are skipped
# with a message; a failing test fails the run.
if [ ! -x build/venv-test/bin/pytest ] || ! cmp -s tests/server/requirements.txt build/venv-test/requirements.txt; then
  rm -rf build/venv-test
  if python3 -m venv build/venv-test && build/venv-test/bin/pip install -q -r tests/server/requirements.txt; then
    cp tests/server/requirements.txt build/venv-test/requirements.txt
  else
    echo "SKIPPED: the server client tests (cannot install tests/server/requirements.txt)"
    rm -rf build/venv-test
    exit 0
  fi
fi
build/venv-test/bin/python -m pytest -q -p no:cacheprovider tests/server --scout-bin build/src/apps/scout --work-dir build/test-work
