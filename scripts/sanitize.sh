#!/usr/bin/env bash
# Sanitizer runs (CI runs both after scripts/test.sh):
#   bash scripts/sanitize.sh address   ASan + UBSan build in build-asan; runs the unit, text, model and
#                                      server C++ tests (ctest -L 'unit|text|model|server')
#   bash scripts/sanitize.sh thread    TSan build in build-tsan; runs the tests labelled threads
#                                      (thread pool, CPU forward at several thread counts, scheduler, ...)
# Any sanitizer report fails the test it happens in (UBSan does not recover; ASan and TSan exit
# non-zero), in the test programs and in the scout binary the CLI tests run. Builds only the test
# programs of those labels (CMake's scout_tests_LABEL targets), with -DSCOUT_CUDA=OFF (device code
# is not instrumented). Prints "sanitize KIND: N passed, N failed, N skipped" and the build and test
# times. Run scripts/test.sh once first: it fetches the tokenizer and the Python packages the
# tests read (under CI, a test without its data fails).
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-}"
case "$kind" in
  address) dir=build-asan; labels=(unit text model server) ;;
  thread) dir=build-tsan; labels=(threads) ;;
  *) echo "usage: bash scripts/sanitize.sh address|thread" >&2; exit 2 ;;
esac
label_regex="^($(IFS='|'; echo "${labels[*]}"))\$"

# Newer kernels randomize mmap addresses with more bits (vm.mmap_rnd_bits) than older TSan/ASan
# runtimes expect: they then die at start with "unexpected memory mapping" (TSan) or a shadow
# mapping error. A one-line program tells; if it fails, everything below (the build too: CMake runs
# each test program after linking to list its tests) runs again with address randomization off.
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
echo 'int main() { return 0; }' >"$probe_dir/probe.cpp"
c++ -fsanitize="$kind" -o "$probe_dir/probe" "$probe_dir/probe.cpp"
if ! "$probe_dir/probe" >"$probe_dir/out" 2>&1; then
  if [ -z "${SCOUT_SANITIZE_NO_ASLR:-}" ] && setarch "$(uname -m)" -R "$probe_dir/probe" >/dev/null 2>&1; then
    echo "sanitize $kind: the $kind sanitizer cannot start with this kernel's address randomization" \
         "($(head -c 200 "$probe_dir/out" | tr '\n' ' ')); running under setarch -R" >&2
    rm -rf "$probe_dir"
    trap - EXIT
    SCOUT_SANITIZE_NO_ASLR=1 exec setarch "$(uname -m)" -R bash "$0" "$@"
  fi
  echo "error: a program built with -fsanitize=$kind does not run here:" >&2
  cat "$probe_dir/out" >&2
  exit 1
fi

python=""
[ -x build/venv-test/bin/python ] && python="$PWD/build/venv-test/bin/python"
start=$(date +%s)
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCOUT_SANITIZE="$kind" \
  -DSCOUT_CUDA=OFF -DSCOUT_SERVER=ON -DSCOUT_BENCH=OFF -DSCOUT_TEST_PYTHON="$python" >/dev/null
targets=()
for l in "${labels[@]}"; do targets+=("scout_tests_$l"); done
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}"
built=$(date +%s)

# halt_on_error: the first report ends the program, so the test fails where the report is.
# detect_leaks: a leak fails the program at exit (LeakSanitizer, part of ASan).
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
rm -f "$dir/ctest-junit.xml"
status=0
(cd "$dir" && ctest --output-on-failure -j"$(nproc)" --timeout 900 -L "$label_regex" \
   --output-junit "$PWD/ctest-junit.xml") || status=1
done_at=$(date +%s)
python3 scripts/test_summary.py "$dir/ctest-junit.xml" | sed -n "s/^summary:/sanitize $kind:/p" || status=1
echo "sanitize $kind: build $((built - start)) s, tests $((done_at - built)) s"
exit "$status"
