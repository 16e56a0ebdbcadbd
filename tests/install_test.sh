#!/usr/bin/env bash
# `cmake --install BUILD --prefix P` puts scout in P/bin and the docs in P/share/doc/scout, and the
# installed binary runs on its own and reports what it was built from (`scout --version`).
# Usage: install_test.sh CMAKE BUILD_DIR WORK_DIR
set -euo pipefail
cmake="$1"; build="$2"; work="$3"
prefix="$work/install-$$"
trap 'rm -rf "$prefix"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$cmake" --install "$build" --prefix "$prefix" >/dev/null
[ -x "$prefix/bin/scout" ] || fail "no $prefix/bin/scout"
for doc in README.md tokenizer.md gguf.md server.md; do
  [ -f "$prefix/share/doc/scout/$doc" ] || fail "no $prefix/share/doc/scout/$doc"
done
out="$(cd / && "$prefix/bin/scout" --version)"
echo "$out"
grep -Eq '^scout [0-9]+\.[0-9]+\.[0-9]+ \(git ([0-9a-f]{12}(-dirty)?|unknown.*)\)$' <<<"$out" || fail "version line"
grep -Eq '^compiler  [A-Za-z]+ [0-9.]+ \(' <<<"$out" || fail "compiler line"
grep -Eq '^simd      portable avx2 avx512 compiled in; this CPU runs (portable|avx2|avx512)$' <<<"$out" || fail "simd line"
grep -Eq '^backends  cpu' <<<"$out" || fail "backends line"
