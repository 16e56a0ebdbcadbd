#!/usr/bin/env python3
"""scout vs llama.cpp on the same GGUF files: speed, memory and quality (issue 5).

Builds one synthetic model with Scout's structure (`scout demo-model --size 1b`: 16 routed
experts top-1 + a shared expert, NoPE every 4th layer, chunked attention with Scout's chunk
8192, QK norm, the real 202,048-token vocabulary; 1.31 B parameters, random weights), converts
it with `scout quantize` to each type (BF16, Q8_0, Q4_K_M by default), measures this machine's
read bandwidth (`scout bench --bandwidth`), then for each type runs `scout bench` and llama.cpp
(llama-cpp-python, pinned in tools/reference/requirements-llamacpp.txt) on the same file with the
same thread count, alternating the two engines rep by rep, and prints:

  speed    pp512 and tg128 tok/s of both engines (median of --reps) and scout / llama.cpp;
           scout's generation GB/s of weights and its share of the read bandwidth, probed
           again beside every scout run (a shared VM's bandwidth moves minute to minute)
  memory   scout's peak RSS against the budget file + KV + 300 MB (weights used in place
           from the mapped file)
  quality  top-1 agreement and mean KL(ref || type) of each GGUF's logits against the
           reference (scout on the original bf16 checkpoint, F32 arithmetic), for scout and
           for llama.cpp; and the relative RMS difference of scout's and llama.cpp's logits on
           the same file

Each engine runs in its own process for every measurement (llama.cpp through this script's
--llama-worker mode), so peak RSS and page-cache state are per engine, not shared. pp is one
batch of -p tokens (llama.cpp: one llama_decode with n_batch = n_ubatch = -p) after a warm-up;
tg is -n single-token decodes after it; the KV cache is cleared between the two. Token ids are
random (as llama-bench and scout bench use). llama.cpp's numbers are perf_counter around the
decode calls.

Without llama-cpp-python (neither in this interpreter nor in --llama-python) it prints scout's
numbers alone and says llama.cpp was skipped.

Usage (from the repository root, after building scout):
  python3 bench/compare_llamacpp.py                       # 1b model, BF16,Q8_0,Q4_K_M, all cores, 3 reps
  python3 bench/compare_llamacpp.py --types Q4_K_M --reps 5 --threads 2 --json out.json
  python3 bench/compare_llamacpp.py --skip-llamacpp
The work directory (default build/bench-work) keeps the checkpoint and GGUF files keyed by
size and seed; they are reused on later runs (--rebuild to write them again).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUDGET_EXTRA = 300e6  # bytes allowed beyond file + KV for activations, buffers, code


# ----------------------------------------------------------------------------------------------
# llama.cpp worker: runs in a separate process (this file with --llama-worker), prints one JSON.
# ----------------------------------------------------------------------------------------------


def llama_worker(args: argparse.Namespace) -> int:
    import resource

    import llama_cpp

    llama_cpp.llama_backend_init()
    # Silence llama.cpp's log (it goes to stderr otherwise, per tensor).
    log_cb = llama_cpp.llama_log_callback(lambda level, text, data: None)
    llama_cpp.llama_log_set(log_cb, None)
    out: dict = {"llama_cpp_python": llama_cpp.__version__, "system_info": llama_cpp.llama_print_system_info().decode()}

    if args.llama_worker == "quantize":
        # llama.cpp's own quantizer (llama-quantize) on scout's BF16 file: a reference for scout's quantizer.
        qp = llama_cpp.llama_model_quantize_default_params()
        qp.ftype = {"Q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, "Q4_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
                    "Q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0}[args.ftype]
        qp.nthread = args.threads
        t0 = time.perf_counter()
        rc = llama_cpp.llama_model_quantize(args.gguf.encode(), args.out.encode(), qp)
        if rc != 0:
            raise SystemExit(f"llama_model_quantize returned {rc}")
        out["quantize_s"] = time.perf_counter() - t0
        print(json.dumps(out))
        return 0

    if args.llama_worker == "logits":
        import numpy as np

        ids = [int(x) for x in args.tokens.split(",")]
        n = max(256, len(ids))
        # F32 KV cache and no flash attention, so llama.cpp's own rounding of K/V stays out of the comparison.
        llm = llama_cpp.Llama(model_path=args.gguf, n_ctx=n, n_batch=n, n_ubatch=n, logits_all=True,
                              n_threads=args.threads, n_threads_batch=args.threads, type_k=0, type_v=0,
                              flash_attn=False, verbose=False)
        llm.eval(ids)
        np.save(args.out, np.array(llm.scores[: len(ids)], dtype=np.float32))
        del llm
        print(json.dumps(out))
        return 0

    import random

    mparams = llama_cpp.llama_model_default_params()
    model = llama_cpp.llama_model_load_from_file(args.gguf.encode(), mparams)
    if not model:
        raise SystemExit(f"llama.cpp could not load {args.gguf}")
    cparams = llama_cpp.llama_context_default_params()
    n_p, n_g = args.n_prompt, args.n_gen
    cparams.n_ctx = max(n_p, n_g) + 64
    cparams.n_batch = max(n_p, 1)
    cparams.n_ubatch = max(n_p, 1)
    cparams.n_seq_max = 1
    cparams.n_threads = args.threads
    cparams.n_threads_batch = args.threads
    ctx = llama_cpp.llama_init_from_model(model, cparams)
    if not ctx:
        raise SystemExit("llama.cpp could not create a context")
    mem = llama_cpp.llama_get_memory(ctx)
    n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
    rng = random.Random(1234)
    batch = llama_cpp.llama_batch_init(max(n_p, 1), 0, 1)

    def decode(tokens: list[int], pos0: int) -> None:
        batch.n_tokens = len(tokens)
        for i, t in enumerate(tokens):
            batch.token[i] = t
            batch.pos[i] = pos0 + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = i == len(tokens) - 1
        rc = llama_cpp.llama_decode(ctx, batch)
        if rc != 0:
            raise SystemExit(f"llama_decode returned {rc}")
        llama_cpp.llama_synchronize(ctx)

    def rand_tokens(n: int) -> list[int]:
        return [rng.randrange(0, min(n_vocab, 200000)) for _ in range(n)]

    pp, tg = [], []
    for rep in range(args.reps + 1):  # the first repetition warms up and is not counted
        if n_p > 0:
            llama_cpp.llama_memory_clear(mem, True)
            toks = rand_tokens(n_p)
            t0 = time.perf_counter()
            decode(toks, 0)
            secs = time.perf_counter() - t0
            if rep > 0:
                pp.append(n_p / secs)
        if n_g > 0:
            llama_cpp.llama_memory_clear(mem, True)
            toks = rand_tokens(n_g)
            t0 = time.perf_counter()
            for i, t in enumerate(toks):
                decode([t], i)
            secs = time.perf_counter() - t0
            if rep > 0:
                tg.append(n_g / secs)
    llama_cpp.llama_batch_free(batch)
    llama_cpp.llama_free(ctx)
    llama_cpp.llama_model_free(model)
    out.update({"pp_tok_s": pp, "tg_tok_s": tg,
                "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "flash_attn_type": int(cparams.flash_attn_type), "type_k": int(cparams.type_k)})
    print(json.dumps(out))
    return 0


# ----------------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------------


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)
    except subprocess.CalledProcessError as e:
        sys.stderr.write(f"command failed ({e.returncode}): {' '.join(cmd)}\n{e.stdout}\n{e.stderr}\n")
        raise


def find_llama_python(args: argparse.Namespace) -> str | None:
    """An interpreter that imports llama_cpp: --llama-python, this one, or the repo's .venv-llama."""
    candidates = [args.llama_python] if args.llama_python else [sys.executable, str(REPO / ".venv-llama/bin/python")]
    for py in candidates:
        if py and Path(py).exists():
            r = subprocess.run([py, "-c", "import llama_cpp, numpy; print(llama_cpp.__version__)"],
                               capture_output=True, text=True)
            if r.returncode == 0:
                return py
    return None


def numpy_python(args: argparse.Namespace, llama_py: str | None) -> str:
    """An interpreter with numpy for the quality numbers: this one, the llama.cpp one, or .venv-llama's."""
    try:
        import numpy  # noqa: F401

        return sys.executable
    except ImportError:
        pass
    for py in [llama_py, args.llama_python, str(REPO / ".venv-llama/bin/python")]:
        if py and Path(py).exists() and subprocess.run([py, "-c", "import numpy"], capture_output=True).returncode == 0:
            return py
    return ""


def prepare_model(args: argparse.Namespace, work: Path) -> Path:
    model_dir = work / "hf"
    done = model_dir / ".complete"
    if args.rebuild or not done.exists():
        t0 = time.time()
        print(f"writing the synthetic model ({args.size}, seed {args.seed}) to {model_dir} ...", flush=True)
        run([args.scout, "demo-model", str(model_dir), "--size", args.size, "--seed", str(args.seed),
             "--tokenizer", args.tokenizer, "--force"])
        done.write_text("ok\n")
        print(f"  {time.time() - t0:.0f} s", flush=True)
    return model_dir


def prepare_gguf(args: argparse.Namespace, model_dir: Path, work: Path, typ: str) -> tuple[Path, float | None]:
    gguf = work / f"{typ}.gguf"
    # Reused when written after the checkpoint (a rewritten checkpoint makes every GGUF stale).
    if gguf.exists() and not args.rebuild and gguf.stat().st_mtime >= (model_dir / ".complete").stat().st_mtime:
        return gguf, None
    tmp = work / f"{typ}.gguf.partial"
    t0 = time.time()
    print(f"scout quantize --type {typ} ...", flush=True)
    cmd = [args.scout, "quantize", "-m", str(model_dir), "--type", typ, "-o", str(tmp), "--force"]
    if args.threads:
        cmd += ["-t", str(args.threads)]
    run(cmd)
    tmp.rename(gguf)
    secs = time.time() - t0
    print(f"  {secs:.1f} s, {gguf.stat().st_size / 1e9:.2f} GB", flush=True)
    return gguf, secs


def scout_bench(args: argparse.Namespace, model: Path, reps: int, bandwidth: bool = False,
                n_prompt: int | None = None, n_gen: int | None = None) -> dict:
    cmd = [args.scout, "bench", "-m", str(model), "-p", str(args.n_prompt if n_prompt is None else n_prompt),
           "-n", str(args.n_gen if n_gen is None else n_gen), "-r", str(reps), "--json"]
    if args.threads:
        cmd += ["-t", str(args.threads)]
    if bandwidth:
        cmd.append("--bandwidth")
    return json.loads(run(cmd).stdout)


def llama_bench(args: argparse.Namespace, py: str, gguf: Path, reps: int) -> dict:
    cmd = [py, str(Path(__file__).resolve()), "--llama-worker", "bench", "--gguf", str(gguf), "--threads",
           str(args.threads or os.cpu_count()), "--n-prompt", str(args.n_prompt), "--n-gen", str(args.n_gen),
           "--worker-reps", str(reps)]
    return json.loads(run(cmd).stdout.strip().splitlines()[-1])


def quality_tokens(args: argparse.Namespace) -> list[int]:
    """BOS, a real sentence's tokens, then fixed pseudo-random regular ids up to --quality-tokens."""
    text = ("The quick brown fox jumps over the lazy dog. Llama 4 Scout routes every token to one of sixteen "
            "experts and a shared expert; every fourth layer attends globally without rotary embeddings.")
    ids = [200000] + json.loads(run([args.scout, "tokenize", "--tokenizer", args.tokenizer, "--file", "-", "--json"],
                                    input=text).stdout)
    state = 0x9E3779B97F4A7C15
    while len(ids) < args.quality_tokens:
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        ids.append((state >> 33) % 200000)
    return ids[: args.quality_tokens]


QUALITY_CODE = r"""
import json, sys
import numpy as np
ref = np.load(sys.argv[1]).astype(np.float64)
def logp(a):
    a = a - a.max(1, keepdims=True)
    return a - np.log(np.exp(a).sum(1, keepdims=True))
lr = logp(ref)
pr = np.exp(lr)
out = {}
for name, path in json.loads(sys.argv[2]).items():
    q = np.load(path).astype(np.float64)
    assert q.shape == ref.shape, (name, q.shape, ref.shape)
    out[name] = {"top1": float(np.mean(q.argmax(1) == ref.argmax(1))),
                 "kl": float(np.mean((pr * (lr - logp(q))).sum(1))),
                 "rel_rms": float(np.sqrt(np.mean((q - ref) ** 2) / np.mean(ref ** 2)))}
print(json.dumps(out))
"""


def compare_logits(py: str, ref: Path, others: dict[str, Path]) -> dict:
    """{name: {top1, kl, rel_rms}} of each .npy against ref.npy (run in an interpreter with numpy)."""
    r = run([py, "-c", QUALITY_CODE, str(ref), json.dumps({k: str(v) for k, v in others.items()})])
    return json.loads(r.stdout.strip().splitlines()[-1])


def med(v: list[float]) -> float:
    return statistics.median(v) if v else float("nan")


def fmt(v: float | None, spec: str = ".1f") -> str:
    return "—" if v is None or v != v else format(v, spec)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scout", default=str(REPO / "build/src/apps/scout"), help="scout binary")
    ap.add_argument("--tokenizer", default=str(REPO.parent / "shared/data/llama4/tokenizer.model"),
                    help="Llama 4 tokenizer.model (tools/fetch_tokenizer.sh)")
    ap.add_argument("--work", default=str(REPO / "build/bench-work"), help="work directory (models are reused)")
    ap.add_argument("--size", default="1b", choices=["small", "1b"], help="synthetic model size (scout demo-model --size)")
    ap.add_argument("--seed", type=int, default=0, help="synthetic model seed")
    ap.add_argument("--types", default="BF16,Q8_0,Q4_K_M", help="comma-separated scout quantize types")
    ap.add_argument("-t", "--threads", type=int, default=0, help="threads for both engines (default: all cores)")
    ap.add_argument("-r", "--reps", type=int, default=3, help="alternating repetitions per engine and type (median)")
    ap.add_argument("-p", "--n-prompt", type=int, default=512)
    ap.add_argument("-n", "--n-gen", type=int, default=128)
    ap.add_argument("--quality-tokens", type=int, default=128, help="tokens in the logits comparison (0: skip)")
    ap.add_argument("--skip-llamacpp", action="store_true", help="scout only")
    ap.add_argument("--llama-python", help="python with llama-cpp-python (default: this one, else .venv-llama)")
    ap.add_argument("--rebuild", action="store_true", help="write the model and GGUF files again")
    ap.add_argument("--json", dest="json_out", help="also write every measurement to this JSON file")
    # Internal: the llama.cpp side, run as a subprocess.
    ap.add_argument("--no-llama-quantize", action="store_true",
                    help="skip the quality of llama.cpp's own quantizer (llama-quantize from the BF16 file)")
    ap.add_argument("--llama-worker", choices=["bench", "logits", "quantize"], help=argparse.SUPPRESS)
    ap.add_argument("--ftype", help=argparse.SUPPRESS)
    ap.add_argument("--gguf", help=argparse.SUPPRESS)
    ap.add_argument("--worker-reps", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--tokens", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.llama_worker:
        args.reps = args.worker_reps
        args.threads = args.threads or os.cpu_count()
        return llama_worker(args)

    if not Path(args.scout).exists():
        sys.exit(f"{args.scout} not found; build scout first (cmake --build build) or pass --scout")
    if not Path(args.tokenizer).exists():
        sys.exit(f"{args.tokenizer} not found; fetch it with tools/fetch_tokenizer.sh and pass --tokenizer")
    types = [t for t in args.types.split(",") if t]
    threads = args.threads or os.cpu_count()
    args.threads = threads
    work = Path(args.work) / f"{args.size}-seed{args.seed}"
    work.mkdir(parents=True, exist_ok=True)

    llama_py = None if args.skip_llamacpp else find_llama_python(args)
    llama_note = ("skipped (--skip-llamacpp)" if args.skip_llamacpp else
                  "skipped: llama-cpp-python not found (pip install -r tools/reference/requirements-llamacpp.txt, "
                  "or pass --llama-python)" if llama_py is None else None)
    np_py = numpy_python(args, llama_py)
    report: dict = {"size": args.size, "seed": args.seed, "threads": threads, "reps": args.reps,
                    "n_prompt": args.n_prompt, "n_gen": args.n_gen, "types": {}, "llama_cpp": llama_note or llama_py}

    model_dir = prepare_model(args, work)
    info = json.loads(run([args.scout, "info", "-m", str(model_dir), "--json"]).stdout)
    report["model_info"] = {k: info.get(k) for k in ("n_params_text", "n_params_active", "n_layers", "n_global_layers",
                                                     "attention_chunk_size") if k in info}
    ggufs: dict[str, Path] = {}
    for typ in types:
        ggufs[typ], secs = prepare_gguf(args, model_dir, work, typ)
        report["types"][typ] = {"file_bytes": ggufs[typ].stat().st_size, "quantize_s": secs}

    # This machine's read bandwidth (scout bench's 1 GiB probe; -p 0 -n 0 runs no model). It
    # moves with the neighbours' load on a shared VM (45-76 GB/s on two cores here, minutes
    # apart), so every scout run below probes again right after its timing (same process, after
    # its peak RSS is taken), and each run's GB/s is read against the probes on either side of it.
    smallest = min(ggufs.values(), key=lambda p: p.stat().st_size)
    probe = scout_bench(args, smallest, 1, bandwidth=True, n_prompt=0, n_gen=0)["probe_read_gb_s"]
    probes = [probe]
    print(f"read bandwidth probe: {probe:.2f} GB/s ({threads} threads)", flush=True)

    # Speed: scout and llama.cpp alternate, one process per engine per rep (each warms up once).
    for typ in types:
        e = report["types"][typ]
        s_runs, l_runs = [], []
        for rep in range(args.reps):
            print(f"{typ}: rep {rep + 1}/{args.reps} scout ...", end="", flush=True)
            before = probes[-1]
            s_runs.append(scout_bench(args, ggufs[typ], 1, bandwidth=True))
            probes.append(s_runs[-1]["probe_read_gb_s"])
            # the higher of the probes just before and just after: the stricter denominator
            s_runs[-1]["probe_beside_gb_s"] = max(before, probes[-1])
            print(f" {s_runs[-1]['pp_tok_s']['median']:.1f} / {s_runs[-1]['tg_tok_s']['median']:.2f} tok/s"
                  f" (probe {probes[-1]:.1f} GB/s)", end="", flush=True)
            if llama_py:
                print("; llama.cpp ...", end="", flush=True)
                l_runs.append(llama_bench(args, llama_py, ggufs[typ], 1))
                print(f" {med(l_runs[-1]['pp_tok_s']):.1f} / {med(l_runs[-1]['tg_tok_s']):.2f} tok/s", end="", flush=True)
            print(flush=True)
        last = s_runs[-1]
        e["scout"] = {"pp_tok_s": med([r["pp_tok_s"]["median"] for r in s_runs]),
                      "tg_tok_s": med([r["tg_tok_s"]["median"] for r in s_runs]),
                      "pp_runs": [r["pp_tok_s"]["median"] for r in s_runs],
                      "tg_runs": [r["tg_tok_s"]["median"] for r in s_runs],
                      "weight_bytes_per_token": last["weight_bytes_per_token"],
                      "kv_bytes": max(r["kv_bytes"] for r in s_runs),
                      "peak_rss_bytes": max(r["peak_rss_bytes"] for r in s_runs)}
        e["scout"]["tg_weight_gb_s"] = e["scout"]["tg_tok_s"] * last["weight_bytes_per_token"] / 1e9
        # Each run's generation GB/s over the probe beside it; the median over runs.
        e["scout"]["probe_beside_runs"] = [r["probe_beside_gb_s"] for r in s_runs]
        e["scout"]["tg_share_of_probe_runs"] = [r["tg_tok_s"]["median"] * r["weight_bytes_per_token"] / 1e9 /
                                                r["probe_beside_gb_s"] for r in s_runs]
        e["scout"]["tg_share_of_probe"] = med(e["scout"]["tg_share_of_probe_runs"])
        e["rss_budget_bytes"] = e["file_bytes"] + e["scout"]["kv_bytes"] + BUDGET_EXTRA
        if l_runs:
            e["llama"] = {"pp_tok_s": med([med(r["pp_tok_s"]) for r in l_runs]),
                          "tg_tok_s": med([med(r["tg_tok_s"]) for r in l_runs]),
                          "pp_runs": [med(r["pp_tok_s"]) for r in l_runs],
                          "tg_runs": [med(r["tg_tok_s"]) for r in l_runs],
                          "peak_rss_bytes": max(r["peak_rss_bytes"] for r in l_runs),
                          "llama_cpp_python": l_runs[0]["llama_cpp_python"]}
            report["llama_system_info"] = l_runs[0]["system_info"]

    report["probe_read_gb_s"] = max(probes)
    report["probe_samples_gb_s"] = probes

    # Quality: logits over a fixed token sequence against the original checkpoint (F32 arithmetic).
    if args.quality_tokens > 0 and np_py:
        ids = quality_tokens(args)
        tok_arg = ",".join(map(str, ids))
        ref = work / "logits-ref.npy"
        print(f"logits of {len(ids)} tokens: reference (scout on the bf16 checkpoint) ...", flush=True)
        run([args.scout, "logits", "-m", str(model_dir), "--tokens", tok_arg, "-o", str(ref), "-t", str(threads)])
        scout_npy, llama_npy = {}, {}
        for typ in types:
            scout_npy[typ] = work / f"logits-scout-{typ}.npy"
            run([args.scout, "logits", "-m", str(ggufs[typ]), "--tokens", tok_arg, "-o", str(scout_npy[typ]), "-t",
                 str(threads)])
            if llama_py:
                llama_npy[typ] = work / f"logits-llama-{typ}.npy"
                run([llama_py, str(Path(__file__).resolve()), "--llama-worker", "logits", "--gguf", str(ggufs[typ]),
                     "--threads", str(threads), "--tokens", tok_arg, "--out", str(llama_npy[typ])])
        # llama.cpp's quantizer on the same BF16 file, run by scout: does scout's quantizer keep up?
        lq_npy = {}
        lq_types = [t for t in types if t in ("Q8_0", "Q4_K_M", "Q4_0")]
        if llama_py and lq_types and not args.no_llama_quantize:
            bf16 = ggufs["BF16"] if "BF16" in ggufs else prepare_gguf(args, model_dir, work, "BF16")[0]
            for typ in lq_types:
                lq = work / f"llama-quantize-{typ}.gguf"
                e = report["types"][typ]
                if not lq.exists() or lq.stat().st_mtime < bf16.stat().st_mtime:
                    print(f"llama.cpp llama_model_quantize {typ} (from the BF16 file) ...", flush=True)
                    r = run([llama_py, str(Path(__file__).resolve()), "--llama-worker", "quantize", "--gguf", str(bf16),
                             "--out", str(lq), "--ftype", typ, "--threads", str(threads)])
                    e["llama_quantize_s"] = json.loads(r.stdout.strip().splitlines()[-1])["quantize_s"]
                e["llama_quantize_file_bytes"] = lq.stat().st_size
                lq_npy[typ] = work / f"logits-scout-on-llama-quantize-{typ}.npy"
                run([args.scout, "logits", "-m", str(lq), "--tokens", tok_arg, "-o", str(lq_npy[typ]), "-t",
                     str(threads)])
        q_lq = compare_logits(np_py, ref, lq_npy) if lq_npy else {}
        for typ, q in q_lq.items():
            report["types"][typ]["quality_scout_on_llama_quantize"] = q
        q_scout = compare_logits(np_py, ref, scout_npy)
        q_llama = compare_logits(np_py, ref, llama_npy) if llama_npy else {}
        for typ in types:
            e = report["types"][typ]
            e["quality_scout"] = q_scout[typ]
            if typ in q_llama:
                e["quality_llama"] = q_llama[typ]
                e["scout_vs_llama_same_file"] = compare_logits(np_py, llama_npy[typ], {typ: scout_npy[typ]})[typ]
        report["quality_tokens"] = len(ids)
    elif args.quality_tokens > 0:
        report["quality"] = "skipped: numpy not available"

    print_report(report, types, info)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json_out}")
    return 0


def print_report(r: dict, types: list[str], info: dict) -> None:
    gb = 1e9
    print()
    print(f"synthetic Scout-structured model: size {r['size']}, seed {r['seed']}; {r['threads']} threads; "
          f"pp{r['n_prompt']} / tg{r['n_gen']}, median of {r['reps']} alternating reps; "
          f"read bandwidth probe {min(r['probe_samples_gb_s']):.1f}-{r['probe_read_gb_s']:.1f} GB/s "
          f"({len(r['probe_samples_gb_s'])} probes, median {med(r['probe_samples_gb_s']):.1f})")
    mi = r.get("model_info", {})
    if "n_params_text" in mi:
        print(f"model: {mi['n_params_text'] / 1e9:.2f} B parameters ({mi['n_params_active'] / 1e9:.2f} B active per token), "
              f"{mi.get('n_layers')} layers ({mi.get('n_global_layers')} global), chunk {mi.get('attention_chunk_size')}")
    if not str(r["llama_cpp"]).startswith("skipped"):
        first = next((r["types"][t]["llama"] for t in types if "llama" in r["types"][t]), None)
        if first:
            print(f"llama.cpp: llama-cpp-python {first['llama_cpp_python']}")
    else:
        print(f"llama.cpp: {r['llama_cpp']}")
    print()
    pp, tg = f"pp{r['n_prompt']}", f"tg{r['n_gen']}"
    hdr = (f"| type | file | scout {pp} | llama.cpp {pp} | ratio | scout {tg} | llama.cpp {tg} | ratio | "
           f"scout tg GB/s | % of the probes beside each run | % of the best probe |")
    print(hdr)
    print("|" + " --- |" * (hdr.count("|") - 1))
    for t in types:
        e = r["types"][t]
        s, l = e["scout"], e.get("llama")
        rp = s["pp_tok_s"] / l["pp_tok_s"] if l else None
        rt = s["tg_tok_s"] / l["tg_tok_s"] if l else None
        print(f"| {t} | {e['file_bytes'] / gb:.2f} GB | {fmt(s['pp_tok_s'])} | {fmt(l['pp_tok_s'] if l else None)} | "
              f"{fmt(rp, '.2f')}{'×' if rp else ''} | {fmt(s['tg_tok_s'], '.2f')} | "
              f"{fmt(l['tg_tok_s'] if l else None, '.2f')} | {fmt(rt, '.2f')}{'×' if rt else ''} | "
              f"{s['tg_weight_gb_s']:.2f} | {100 * s['tg_share_of_probe']:.0f} % "
              f"({'-'.join(f'{100 * v:.0f}' for v in (min(s['tg_share_of_probe_runs']), max(s['tg_share_of_probe_runs'])))}) | "
              f"{100 * s['tg_weight_gb_s'] / r['probe_read_gb_s']:.0f} % |")
    print()
    print("| type | scout peak RSS | budget: file + KV + 300 MB | within | llama.cpp peak RSS (incl. Python) |")
    print("| --- | --- | --- | --- | --- |")
    for t in types:
        e = r["types"][t]
        s, l = e["scout"], e.get("llama")
        ok = s["peak_rss_bytes"] <= e["rss_budget_bytes"]
        print(f"| {t} | {s['peak_rss_bytes'] / gb:.2f} GB | {e['rss_budget_bytes'] / gb:.2f} GB "
              f"({e['file_bytes'] / gb:.2f} + {s['kv_bytes'] / 1e6:.0f} MB + 0.30) | {'yes' if ok else 'NO'} | "
              f"{fmt(l['peak_rss_bytes'] / gb if l else None, '.2f')}{' GB' if l else ''} |")
    if any("quality_scout" in r["types"][t] for t in types):
        print()
        print(f"Quality over {r['quality_tokens']} tokens against the reference (scout, F32 arithmetic, on the "
              f"original bf16 checkpoint):")
        print("| type | scout top-1 | scout mean KL | llama.cpp top-1 | llama.cpp mean KL | "
              "scout vs llama.cpp, same file: rel RMS of logits | top-1 |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for t in types:
            e = r["types"][t]
            qs, ql, x = e["quality_scout"], e.get("quality_llama"), e.get("scout_vs_llama_same_file")
            print(f"| {t} | {100 * qs['top1']:.1f} % | {qs['kl']:.2e} | "
                  f"{fmt(100 * ql['top1'] if ql else None)}{' %' if ql else ''} | {fmt(ql['kl'] if ql else None, '.2e')} | "
                  f"{fmt(x['rel_rms'] if x else None, '.2e')} | {fmt(100 * x['top1'] if x else None)}{' %' if x else ''} |")
    lq = [t for t in types if "quality_scout_on_llama_quantize" in r["types"][t]]
    if lq:
        print()
        print("Quantizer: scout quantize vs llama.cpp's llama_model_quantize (from scout's BF16 file), both files run "
              "by scout, same reference:")
        print("| type | scout file | top-1 | mean KL | llama.cpp file | top-1 | mean KL |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for t in lq:
            e = r["types"][t]
            qs, ql = e["quality_scout"], e["quality_scout_on_llama_quantize"]
            print(f"| {t} | {e['file_bytes'] / gb:.3f} GB | {100 * qs['top1']:.1f} % | {qs['kl']:.2e} | "
                  f"{e['llama_quantize_file_bytes'] / gb:.3f} GB | {100 * ql['top1']:.1f} % | {ql['kl']:.2e} |")
    elif "quality" in r:
        print(f"\nquality: {r['quality']}")
    for t in types:
        e = r["types"][t]
        if e.get("quantize_s") is not None:
            extra = (f" (llama.cpp llama_model_quantize from BF16: {e['llama_quantize_s']:.1f} s)"
                     if e.get("llama_quantize_s") is not None else "")
            print(f"scout quantize --type {t}: {e['quantize_s']:.1f} s{extra}")


if __name__ == "__main__":
    sys.exit(main())
