#!/usr/bin/env python3
"""`scout serve` under 200 slowloris connections plus 64 legitimate streams (issue 19's check).

Starts the server on loopback with its default limits (--parallel 4, so 60 streams wait in the
scheduler's queue while 4 run), opens the slow connections (one header byte a second, reopened
when the server cuts them), starts the streams all at once, and probes GET /health on a fresh
connection every 50 ms until the streams are done. Reports /health latency percentiles, how many
streams completed, how many slow connections the server cut, and the server's RSS (now and peak).

  python3 bench/server_hostile_load.py --scout build/src/apps/scout --model DEMO_DIR [--slow 200] [--streams 64]
"""
import argparse
import concurrent.futures as cf
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))
from hostile_clients import HealthProbe, Slowloris, rss_kb, stream_chat  # noqa: E402
from scout_server import Server  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scout", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--slow", type=int, default=200)
    ap.add_argument("--streams", type=int, default=64)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--extra", default="", help="more scout serve flags, space-separated")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    server = Server(a.scout, a.model, "-t", str(a.threads), *a.extra.split())
    port, proc = server.port, server.proc
    try:
        stream_chat(port, 4)  # warm-up
        rss_start = rss_kb(proc.pid)
        prompts = [[{"role": "user", "content": f"Tell me about the number {i}."}] for i in range(a.streams)]
        t0 = time.time()
        with Slowloris(port, a.slow) as slow, HealthProbe(port) as probe:
            time.sleep(1.0)
            with cf.ThreadPoolExecutor(a.streams) as ex:
                futures = [ex.submit(stream_chat, port, a.tokens, p) for p in prompts]
                done = sum(1 for f in futures if f.exception() is None and f.result())
        wall = time.time() - t0
        lat = sorted(probe.latencies)
        result = {
            "slow_connections": a.slow, "streams": a.streams, "streams_completed": done, "tokens_per_stream": a.tokens,
            "wall_s": round(wall, 2), "health_probes": len(lat),
            "health_ms": {q: round(1000 * probe.p(p), 2) for q, p in (("p50", 0.5), ("p99", 0.99))} | {"max": round(1000 * lat[-1], 2)},
            "slow_cut_by_server": slow.closed_by_server, "slow_refused": slow.refused,
            "rss_mib": {"start": round(rss_start / 1024, 1), "end": round(rss_kb(proc.pid) / 1024, 1),
                        "peak": round(rss_kb(proc.pid, "VmHWM") / 1024, 1)},
        }
    finally:
        server.stop()
    print(json.dumps(result) if a.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
