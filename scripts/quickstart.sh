#!/usr/bin/env bash
# Quick start on a fresh machine: install dependencies, build, fetch the Llama 4 tokenizer
# (pinned PyPI wheel, sha256-checked), write the demo model and run it.
# The demo model has random weights, so its text is gibberish; see README for real weights.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if ! python3 -m pip --version >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
fi
bash scripts/build.sh
tokenizer="${HOME}/.cache/scout/tokenizer.model"
[ -f "$tokenizer" ] || { mkdir -p "$(dirname "$tokenizer")"; bash tools/fetch_tokenizer.sh "$tokenizer"; }
[ -f demo-model/model.safetensors ] || build/src/apps/scout demo-model demo-model --tokenizer "$tokenizer"
build/src/apps/scout run -m demo-model -p "The capital of France is" -n 48 "$@"
