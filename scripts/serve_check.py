#!/usr/bin/env python3
"""`scout serve --device cuda` against `scout serve --device cpu` over real HTTP (issue 15: greedy
output through the server on the GPU equals the CPU's on the fixtures). For each fixture model it
starts both servers, sends the same five greedy /v1/completions requests to each, all at once
(continuous batching over three slots), and compares the token texts. Standard library only: the
GPU machine has no network and no `openai` package. Prints one JSON object.

    python3 scripts/serve_check.py SCOUT_BINARY TOKENIZER MODEL_DIR [MODEL_DIR ...] [--devices cpu,cuda]

MODEL_DIR: models whose vocabulary is the tokenizer's (scout demo-model DIR --tokenizer TOKENIZER);
`--devices cpu,cpu` checks the script itself on a machine without a GPU.
"""
import json
import pathlib
import sys
import threading
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "server"))
from scout_server import Server  # noqa: E402

PROMPTS = ["The quick brown fox", "Once upon a time", "1, 2, 3, 4,", "Hello, my name is", "In the beginning"]


def complete(base, prompt):
    body = json.dumps({"model": "scout", "prompt": prompt, "max_tokens": 16, "temperature": 0}).encode()
    req = urllib.request.Request(base + "/v1/completions", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())["choices"][0]["text"]


def run(scout, model, tokenizer, device):
    server = Server(scout, model, "--tokenizer", tokenizer, "--device", device, "--parallel", "3", "--kv-type", "f32")
    try:
        out = [None] * len(PROMPTS)

        def one(i):
            try:
                out[i] = complete(server.base, PROMPTS[i])
            except Exception as e:  # reported, not raised: the other requests still count
                out[i] = f"<error: {e}>"

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(PROMPTS))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out
    finally:
        server.stop()


def main():
    args = sys.argv[1:]
    devices = ["cpu", "cuda"]
    if "--devices" in args:
        i = args.index("--devices")
        devices = args[i + 1].split(",")
        del args[i:i + 2]
    if len(args) < 3:
        sys.exit(__doc__)
    scout, tokenizer, models = args[0], args[1], args[2:]
    report = {}
    for model in models:
        name = pathlib.Path(model).name
        try:
            a, b = run(scout, model, tokenizer, devices[0]), run(scout, model, tokenizer, devices[1])
            report[name] = {"equal": sum(x == y for x, y in zip(a, b)), "requests": len(PROMPTS), "devices": devices,
                            devices[0]: a, devices[1] + ("" if devices[1] != devices[0] else " (again)"): b}
        except Exception as e:
            report[name] = {"error": str(e)}
    print(json.dumps(report, indent=1))
    ok = all(r.get("equal") == r.get("requests") for r in report.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
