#!/usr/bin/env python3
"""Aggregate generation throughput of `scout serve` with N concurrent streams against 1 stream.

Starts the server on loopback (a free port), warms it up, then for each concurrency level runs that
many streaming chat requests at once (distinct prompts, greedy, fixed max_tokens, ignoring EOS is not
possible through the API, so the random demo model's early stops are counted as they happen) and
reports generated tokens / wall seconds. Standard library only (raw HTTP + SSE), so it runs anywhere.

  python3 bench/server_throughput.py --scout build/src/apps/scout --model DEMO_DIR [--streams 1,8] [--tokens 64]
"""
import argparse
import http.client
import json
import re
import subprocess
import sys
import threading
import time


def stream_chat(port, prompt, n_tokens):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = json.dumps({"messages": [{"role": "user", "content": prompt}], "max_tokens": n_tokens, "temperature": 0,
                       "stream": True, "stream_options": {"include_usage": True}})
    conn.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    assert r.status == 200, r.read()
    tokens, first = 0, None
    buf = b""
    while True:
        chunk = r.read1(65536) if hasattr(r, "read1") else r.read(65536)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            line, buf = buf.split(b"\n\n", 1)
            if not line.startswith(b"data: ") or line == b"data: [DONE]":
                continue
            j = json.loads(line[6:])
            if first is None and j.get("choices"):
                first = time.time()
            if j.get("usage"):
                tokens = j["usage"]["completion_tokens"]
    conn.close()
    return tokens, first


def run_level(port, n_streams, n_tokens, round_id):
    results = [None] * n_streams
    def worker(i):
        results[i] = stream_chat(port, f"Round {round_id}, stream {i}: write a long story about the sea.", n_tokens)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_streams)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    total = sum(r[0] for r in results)
    return total, wall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scout", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--streams", default="1,8")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="-t for the server (0: all cores)")
    ap.add_argument("--json", action="store_true", help="print one JSON line of results")
    args = ap.parse_args()
    levels = [int(x) for x in args.streams.split(",")]
    cmd = [args.scout, "serve", "-m", args.model, "--host", "127.0.0.1", "--port", "0", "-q",
           "--parallel", str(max(levels)), "--ctx", "2048"]
    if args.threads:
        cmd += ["-t", str(args.threads)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for _ in range(50):
            line = proc.stderr.readline()
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line or "")
            if m:
                port = int(m.group(1))
                break
            if not line:
                break
        if port is None:
            sys.exit("the server did not start")
        run_level(port, 1, 8, "warmup")
        out = {}
        for n in levels:
            total, wall = run_level(port, n, args.tokens, n)
            out[n] = total / wall
            print(f"{n:3d} stream(s): {total:5d} tokens in {wall:6.2f} s = {total / wall:7.1f} tok/s aggregate", flush=True)
        if len(levels) >= 2:
            print(f"ratio {levels[-1]} vs {levels[0]} streams: {out[levels[-1]] / out[levels[0]]:.2f}x")
        if args.json:
            print(json.dumps({"tok_per_s": out}))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
