#!/usr/bin/env bash
# The test command (README, CI): install dependencies, build, run every test with CTest.
# Tests that need ../shared/data (the real tokenizer) skip cleanly without it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 900
