#!/usr/bin/env bash
# Ctrl-C during a chat reply stops that reply, not the program: the next message is answered.
# Usage: chat_interrupt_test.sh SCOUT_BINARY TOKENIZER WORK_DIR   (exit 77 = skipped)
set -euo pipefail
scout="$1"; tokenizer="$2"; work="$3"
# Without the tokenizer: skipped, or failed under CI (which has it).
[ -f "$tokenizer" ] || { echo "skip: no tokenizer at $tokenizer"; [ -n "${CI:-}" ] && exit 1; exit 77; }
dir="$work/chat-interrupt-$$"
mkdir -p "$dir"
trap 'rm -rf "$dir"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true' EXIT
"$scout" demo-model "$dir/model" --seed 3 --tokenizer "$tokenizer" >/dev/null 2>&1
mkfifo "$dir/in"
# A reply of up to a million tokens: only Ctrl-C (SIGINT) can end it within the test's time.
"$scout" chat --no-prefault -m "$dir/model" -n 1000000 --seed 1 <"$dir/in" >"$dir/out" 2>"$dir/err" &
pid=$!
exec 3>"$dir/in"
echo "Tell me a long story" >&3
for _ in $(seq 1 200); do   # wait (up to 20 s) until the reply is streaming
  [ -s "$dir/out" ] && break
  sleep 0.1
done
[ -s "$dir/out" ] || { echo "FAIL: no reply text"; cat "$dir/err"; exit 1; }
kill -INT "$pid"
for _ in $(seq 1 100); do grep -q "\[stopped\]" "$dir/err" && break; sleep 0.1; done
grep -q "\[stopped\]" "$dir/err" || { echo "FAIL: reply not stopped by SIGINT"; cat "$dir/err"; exit 1; }
kill -0 "$pid" || { echo "FAIL: the program ended on Ctrl-C during a reply"; exit 1; }
# The program is back at its prompt: /quit ends it cleanly.
echo "/quit" >&3
exec 3>&-
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "FAIL: /quit did not end the chat"; exit 1; fi
wait "$pid" && status=0 || status=$?
[ "$status" -eq 0 ] || { echo "FAIL: exit status $status"; exit 1; }
echo "ok: reply stopped by Ctrl-C after $(wc -c <"$dir/out") bytes, chat continued and quit cleanly"
