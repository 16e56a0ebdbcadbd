#!/usr/bin/env bash
# A GGUF file is self-contained: quantize the demo model, move the GGUF alone to an empty folder,
# and run `scout run`, `scout chat` (scripted on stdin) and `scout serve` (one request) on it with
# no tokenizer file anywhere near; the tokenizer comes from the file's tokenizer.ggml.* keys.
# Then a tokenizer.model put beside the file wins over the embedded one, as does --tokenizer.
# Usage: gguf_alone_test.sh SCOUT_BINARY TOKENIZER WORK_DIR   (exit 77 = skipped)
set -euo pipefail
scout="$1"; tokenizer="$2"; work="$3"
[ -f "$tokenizer" ] || { echo "skip: no tokenizer at $tokenizer"; [ -n "${CI:-}" ] && exit 1; exit 77; }
dir="$work/gguf-alone-$$"
mkdir -p "$dir"
trap 'cd /; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$scout" demo-model "$dir/model" --seed 5 --tokenizer "$tokenizer" >/dev/null 2>&1
"$scout" quantize -m "$dir/model" --type Q8_0 -o "$dir/demo.gguf" >/dev/null 2>&1
gen=(-n 12 --temp 0 --no-prefault -t 2)
prompt="The capital of France is"
# What the same file gives with the real tokenizer named explicitly: the reference below.
want="$("$scout" run -q -m "$dir/demo.gguf" --tokenizer "$tokenizer" -p "$prompt" "${gen[@]}")"
[ -n "$want" ] || fail "no text from the demo model with --tokenizer"

mkdir "$dir/alone"
mv "$dir/demo.gguf" "$dir/alone/"
rm -rf "$dir/model"
cd "$dir/alone"   # nothing here but the GGUF
[ "$(ls -A)" = "demo.gguf" ] || fail "the folder holds more than the GGUF: $(ls -A)"

# scout run: same text as with tokenizer.model, and it says where the tokenizer came from.
got="$("$scout" run -m demo.gguf -p "$prompt" "${gen[@]}" 2>run.err)" || { cat run.err; fail "scout run"; }
grep -q "^tokenizer: demo.gguf (tokenizer.ggml.\* vocabulary)$" run.err || { cat run.err; fail "no 'tokenizer:' line"; }
[ "$got" = "$want" ] || fail "scout run gave '$got', with tokenizer.model '$want'"
quiet_err="$("$scout" run -q -m demo.gguf -p "$prompt" "${gen[@]}" 2>&1 >/dev/null)"
[ -z "$quiet_err" ] || fail "-q still printed: $quiet_err"

# scout chat, scripted: two turns, then /quit.
printf 'Hello there\nAnd again\n/quit\n' | "$scout" chat -m demo.gguf "${gen[@]}" >chat.out 2>chat.err \
  || { cat chat.err; fail "scout chat"; }
[ "$(grep -c '^\[prompt' chat.err)" -eq 2 ] || { cat chat.err; fail "scout chat did not answer both messages"; }
grep -q "^tokenizer: demo.gguf (tokenizer.ggml" chat.err || fail "scout chat: no 'tokenizer:' line"

# scout serve: one chat completion over HTTP, then SIGTERM ends it cleanly. serve.err exists
# before the server starts: the background job opens it only when it runs, and a sed on a missing
# file would end this script under set -e (seen under ASan, where the server starts slowly).
: >serve.err
"$scout" serve -m demo.gguf --host 127.0.0.1 --port 0 -q -t 2 --ctx 1024 2>serve.err &
pid=$!
port=""
for _ in $(seq 1 600); do   # up to 60 s
  port="$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' serve.err || true)"
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || { cat serve.err; fail "scout serve did not start"; }
python3 - "$port" <<'PY' || fail "the chat completion request"
import json, sys, urllib.request
body = {"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 8, "temperature": 0}
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/v1/chat/completions", json.dumps(body).encode(),
                             {"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=120) as r:
    reply = json.load(r)
assert reply["object"] == "chat.completion", reply
assert isinstance(reply["choices"][0]["message"]["content"], str), reply
# <|begin_of_text|> <|header_start|> user <|header_end|> \n\n Hello <|eot|> + the assistant header (4)
assert reply["usage"]["prompt_tokens"] == 11, reply
print("serve:", reply["usage"])
PY
kill -TERM "$pid"
wait "$pid" && status=0 || status=$?
pid=""
[ "$status" -eq 0 ] || { cat serve.err; fail "scout serve exited with $status after SIGTERM"; }

# A tokenizer file beside the GGUF wins over the embedded vocabulary, and --tokenizer over both.
cp "$tokenizer" tokenizer.model
"$scout" run -m demo.gguf -p "$prompt" "${gen[@]}" 2>run.err >/dev/null
grep -q "^tokenizer: ./tokenizer.model$\|^tokenizer: tokenizer.model$" run.err || { cat run.err; fail "beside: $(grep tokenizer: run.err)"; }
"$scout" run -m demo.gguf --tokenizer "$tokenizer" -p "$prompt" "${gen[@]}" 2>run.err >/dev/null
grep -qF "tokenizer: $tokenizer" run.err || { cat run.err; fail "--tokenizer: $(grep tokenizer: run.err)"; }
echo "ok: run, chat and serve on the GGUF alone; tokenizer from the file, a file beside it or --tokenizer"
