#!/usr/bin/env bash
# Fetches Llama 4's tokenizer.model from a public, pinned source and verifies it.
#
# The file ships inside Meta's `llama-models` package on PyPI (llama_models/llama4/tokenizer.model,
# the same file as in the Llama 4 checkpoints). This downloads that one wheel (no dependencies)
# with pip, extracts the file, checks its sha256 and copies it to DEST.
#
# Usage: tools/fetch_tokenizer.sh DEST [CACHE_DIR]
#   DEST       where to write tokenizer.model (a file path, or a directory)
#   CACHE_DIR  where the wheel is kept (default: ~/.cache/scout/tokenizer)
set -euo pipefail

PACKAGE="llama-models==0.3.0"
MEMBER="llama_models/llama4/tokenizer.model"
SHA256="d0bdbaf59b0762c8c807617e2d8ea51420eb1b1de266df2495be755c8e0ed6ed"

if [[ $# -lt 1 ]]; then
  echo "usage: $0 DEST [CACHE_DIR]" >&2
  exit 2
fi
dest="$1"
cache="${2:-${HOME}/.cache/scout/tokenizer}"
[[ -d "$dest" ]] && dest="$dest/tokenizer.model"
mkdir -p "$cache"

python="$(command -v python3 || true)"
if [[ -z "$python" ]]; then
  echo "error: python3 is needed (for pip and to read the wheel)" >&2
  exit 1
fi

wheel="$(ls "$cache"/llama_models-0.3.0-*.whl 2>/dev/null | head -n 1 || true)"
if [[ -z "$wheel" ]]; then
  echo "downloading $PACKAGE (no dependencies) into $cache" >&2
  "$python" -m pip download --quiet --no-deps --dest "$cache" "$PACKAGE"
  wheel="$(ls "$cache"/llama_models-0.3.0-*.whl | head -n 1)"
fi

tmp="$(mktemp "${dest}.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
"$python" - "$wheel" "$MEMBER" "$tmp" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY

got="$(sha256sum "$tmp" | cut -d' ' -f1)"
if [[ "$got" != "$SHA256" ]]; then
  echo "error: sha256 of the extracted tokenizer.model is $got, expected $SHA256; delete $cache and retry" >&2
  exit 1
fi
mv "$tmp" "$dest"
trap - EXIT
echo "tokenizer.model (sha256 $SHA256) -> $dest" >&2
