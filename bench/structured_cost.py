#!/usr/bin/env python3
"""What constrained decoding costs per generated token (issue 21): `scout serve` on MODEL, streamed
completions with and without a response_format, at 1 and at 8 concurrent streams (tool calls use
the same masks; their text is held back while streaming, so they are not timed here). The time per token is taken between a stream's first and last token, so the
prompt's prefill is left out; the same seeds and max_tokens for every variant. Writes
bench/results/structured-cost-<date>.json.

  python bench/structured_cost.py --scout build/src/apps/scout --model 1b-q4km.gguf [--streams 1,8] [--requests 4]

Needs tests/server/requirements.txt (openai)."""
import argparse
import concurrent.futures as cf
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

from openai import OpenAI

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "server"))
sys.path.insert(0, str(REPO / "bench"))
from structured_output import start_server  # noqa: E402
from structured_schemas import SCHEMAS  # noqa: E402

def variants():
    schema = lambda name: {"type": "json_schema", "json_schema": {"name": name, "schema": SCHEMAS[name], "strict": True}}
    return {
        "unconstrained": {},
        "json_object": {"response_format": {"type": "json_object"}},
        "nested (bounded strings)": {"response_format": schema("nested")},
        "bounded_numbers": {"response_format": schema("bounded_numbers")},
        "recursive_list": {"response_format": schema("recursive_list")},
        # A long bounded string: a new count at every character (masks shared across counts).
        "long_string (maxLength 300)": {"response_format": {"type": "json_schema", "json_schema": {
            "name": "note", "strict": True, "schema": {
                "type": "object", "properties": {"note": {"type": "string", "minLength": 100, "maxLength": 300}},
                "required": ["note"]}}}},
    }


def one(client, extra, seed, max_tokens):
    t_first = t_last = None
    n = 0
    stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Answer:"}],
                                            max_tokens=max_tokens, temperature=1.0, seed=seed, stream=True,
                                            stream_options={"include_usage": True}, **extra)
    for chunk in stream:
        now = time.perf_counter()
        if chunk.usage:
            n = chunk.usage.completion_tokens
        if chunk.choices and (chunk.choices[0].delta.content):
            t_first = t_first or now
            t_last = now
    return n, t_first, t_last


def run(client, extra, streams, requests, max_tokens):
    def worker(k):
        return [one(client, extra, 1000 * k + r, max_tokens) for r in range(requests)]
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(streams) as ex:
        outs = [x for xs in ex.map(worker, range(streams)) for x in xs]
    wall = time.perf_counter() - t0
    per_token = [(last - first) / (n - 1) * 1e3 for n, first, last in outs if first and last and n > 2]
    tokens = sum(n for n, _, _ in outs)
    return {"ms_per_token_median": round(statistics.median(per_token), 2), "tokens": tokens,
            "wall_s": round(wall, 2), "aggregate_tok_s": round(tokens / wall, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scout", default=str(REPO / "build" / "src" / "apps" / "scout"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--streams", default="1,8")
    ap.add_argument("--requests", type=int, default=4, help="requests per stream")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    streams = [int(s) for s in a.streams.split(",")]
    proc, port = start_server(a.scout, a.model, max(streams), ["-t", str(a.threads)])
    client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=600)
    results = {}
    try:
        run(client, {}, 1, 1, 8)  # warm-up: first-touch of the weights, the token trie
        run(client, variants()["json_object"], 1, 1, 8)
        for s in streams:
            # The baseline runs first and again last: this VM drifts by 10-40 % within minutes, and
            # the ratios are taken against the mean of the two.
            order = list(variants().items()) + [("unconstrained (again)", {})]
            for name, extra in order:
                r = run(client, extra, s, a.requests, a.max_tokens)
                results[f"{s}/{name}"] = r
                print(f"streams {s}  {name:28s} {r}", flush=True)
            base = (results[f"{s}/unconstrained"]["ms_per_token_median"] +
                    results[f"{s}/unconstrained (again)"]["ms_per_token_median"]) / 2
            for name, _ in order:
                r = results[f"{s}/{name}"]
                r["vs_unconstrained"] = round(r["ms_per_token_median"] / base, 3)
                print(f"streams {s}  {name:28s} {r['ms_per_token_median']:8.2f} ms/token  {r['vs_unconstrained']:.3f} of the "
                      f"baseline mean; {r['aggregate_tok_s']} tok/s aggregate", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    date = datetime.date.today().isoformat()
    out = Path(a.out or REPO / "bench" / "results" / f"structured-cost-{date}.json")
    out.write_text(json.dumps({"date": date, "model": Path(a.model).name, "threads": a.threads,
                               "max_tokens": a.max_tokens, "requests_per_stream": a.requests,
                               "results": results}, indent=1) + "\n")
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
