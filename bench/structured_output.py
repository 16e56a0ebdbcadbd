#!/usr/bin/env python3
"""Structured output at scale (issue 21): N seeded generations per schema of
tests/server/structured_schemas.py through `scout serve` and the openai client's response_format,
each validated with jsonschema; writes bench/results/structured-output-<date>.json with the valid
counts, finish reasons and seconds per schema.

  python bench/structured_output.py --scout build/src/apps/scout --model build/test-work/server-demo-model \
      [--seeds 200] [--parallel 8]

Needs tests/server/requirements.txt (openai, jsonschema)."""
import argparse
import concurrent.futures as cf
import datetime
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
from openai import OpenAI

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "server"))
from structured_schemas import SCHEMAS  # noqa: E402


def start_server(scout, model, parallel, extra=()):
    proc = subprocess.Popen([scout, "serve", "-m", model, "--host", "127.0.0.1", "--port", "0", "-q",
                             "--parallel", str(parallel), "--ctx", "2048", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stderr.readline()
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line or "")
        if m:
            return proc, int(m.group(1))
        if not line:
            break
    proc.kill()
    raise RuntimeError("scout serve did not start")


def one(client, name, schema, seed, max_tokens):
    r = client.completions.create(model="demo", prompt="Answer in JSON:", max_tokens=max_tokens, temperature=1.0,
                                  seed=seed, extra_body={"response_format": {
                                      "type": "json_schema",
                                      "json_schema": {"name": name, "schema": schema, "strict": True}}})
    c = r.choices[0]
    try:
        jsonschema.validate(json.loads(c.text), schema)
        return c.finish_reason, True, r.usage.completion_tokens
    except Exception:
        return c.finish_reason, False, r.usage.completion_tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scout", default=str(REPO / "build" / "src" / "apps" / "scout"))
    ap.add_argument("--model", default=str(REPO / "build" / "test-work" / "server-demo-model"))
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=600)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    proc, port = start_server(a.scout, a.model, a.parallel)
    client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=600)
    results = {}
    try:
        for name, schema in SCHEMAS.items():
            t0 = time.time()
            with cf.ThreadPoolExecutor(a.parallel) as ex:
                outs = list(ex.map(lambda s: one(client, name, schema, s, a.max_tokens), range(a.seeds)))
            results[name] = {
                "n": len(outs), "valid": sum(ok for _, ok, _ in outs),
                "finish": {f: sum(1 for x, _, _ in outs if x == f) for f in {x for x, _, _ in outs}},
                "tokens": sum(n for _, _, n in outs), "seconds": round(time.time() - t0, 2)}
            print(name, results[name], flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    date = datetime.date.today().isoformat()
    out = Path(a.out or REPO / "bench" / "results" / f"structured-output-{date}.json")
    out.write_text(json.dumps({"date": date, "seeds": a.seeds, "parallel": a.parallel, "schemas": results}, indent=1) + "\n")
    total = sum(r["n"] for r in results.values())
    valid = sum(r["valid"] for r in results.values())
    print(f"{valid}/{total} valid -> {out}")
    return 0 if valid == total else 1


if __name__ == "__main__":
    sys.exit(main())
