#!/usr/bin/env bash
# The test command (README, CI): install dependencies, build, run every test (CTest, then the
# server tests driven by the official openai client under pytest) and print one line counting
# both: "summary: N passed, N failed, N skipped".
#
# On a fresh clone it first gets what the tests read: the pinned Python test packages in
# build/venv-test (tests/server/requirements.txt; gguf-py from tools/reference/requirements-gguf.txt
# for the llama.cpp-layout vocabulary), and Llama 4's tokenizer.model, fetched the quick start's
# verified way (tools/fetch_tokenizer.sh: pinned wheel, sha256) to where CMake's SCOUT_TOKENIZER
# says (tests/CMakeLists.txt: ../shared's copy when there is one, else ~/.cache/scout), and the
# wheel's two photos to where SCOUT_TEST_PHOTOS says (~/.cache/scout/llama-models-photos). Without
# PyPI those tests skip; with the environment variable CI set, anything missing is a failure, and
# so is any compiler warning (-DSCOUT_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
ci="${CI:-}"
missing() {  # what could not be had: a warning, or under CI the end of the run
  echo "warning: $*" >&2
  if [ -n "$ci" ]; then echo "error: CI is set, so this is a failure" >&2; exit 1; fi
}

venv=build/venv-test
reqs=(tests/server/requirements.txt tools/reference/requirements-gguf.txt)
python=""
if [ -x "$venv/bin/python" ] && cat "${reqs[@]}" | cmp -s - "$venv/requirements.txt"; then
  python="$PWD/$venv/bin/python"
else
  rm -rf "$venv"
  mkdir -p build
  if python3 -m venv "$venv" && "$venv/bin/pip" install -q -r "${reqs[0]}" -r "${reqs[1]}"; then
    cat "${reqs[@]}" >"$venv/requirements.txt"
    python="$PWD/$venv/bin/python"
  else
    rm -rf "$venv"
    missing "cannot install the pinned Python test packages: the pytest and llama.cpp-vocabulary tests will not run"
  fi
fi

# Under CI a compiler warning fails the build (SCOUT_WERROR); locally warnings stay warnings.
werror=OFF
if [ -n "$ci" ]; then werror=ON; fi
bash scripts/build.sh -DSCOUT_TEST_PYTHON="$python" -DSCOUT_WERROR="$werror"
tokenizer="$(sed -n 's/^SCOUT_TOKENIZER:FILEPATH=//p' build/CMakeCache.txt)"
if [ ! -f "$tokenizer" ]; then
  mkdir -p "$(dirname "$tokenizer")"
  # The venv's python has pip even where the system python3 has none.
  PATH="$PWD/$venv/bin:$PATH" bash tools/fetch_tokenizer.sh "$tokenizer" \
    || missing "cannot fetch tokenizer.model to $tokenizer: the tests that read it will skip"
fi
# The two photos of the same wheel that test_image_processor compares with the HF processor.
photos="$(sed -n 's/^SCOUT_TEST_PHOTOS:PATH=//p' build/CMakeCache.txt)"
for photo in dog.jpg:30ead4dc9a55a12a8c3e2a5cb5bf5a8b72854dbcdddab5680928d5cc4c746f26 \
             pasta.jpeg:8fbcd57e31607b7ba02b61a2ef9c0fe9209008878c386e60d9bb775717e812ab; do
  [ -f "$photos/${photo%%:*}" ] && continue
  mkdir -p "$photos"
  PATH="$PWD/$venv/bin:$PATH" bash tools/fetch_llama_models_file.sh "llama_models/resources/${photo%%:*}" \
    "${photo#*:}" "$photos" || missing "cannot fetch ${photo%%:*} to $photos: its processor test will skip"
done

rm -f build/ctest-junit.xml build/pytest-junit.xml
status=0
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 900 --output-junit "$PWD/ctest-junit.xml") || status=1
if [ -n "$python" ]; then
  "$python" -m pytest -q -p no:cacheprovider tests/server --scout-bin build/src/apps/scout \
    --work-dir build/test-work --junitxml build/pytest-junit.xml || status=1
fi
python3 scripts/test_summary.py build/ctest-junit.xml ${python:+build/pytest-junit.xml} || status=1
exit "$status"
