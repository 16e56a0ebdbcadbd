#!/usr/bin/env python3
"""scout's vision encoder vs llama.cpp's (mtmd / CLIP) on the same mmproj file, same threads (issue 16).

1. Checkpoint. A Hugging Face Llama4ForConditionalGeneration directory holding only the vision
   tower and projector at Scout's real dimensions (tests/data/configs/scout/config.json: 34
   layers, hidden 1408, MLP 5632, 16 heads, 336-pixel tiles of 14-pixel patches, adapter 4096,
   projector to 5120; 0.87 B parameters), random bf16 weights (normal, std 0.02 as HF's
   initializer_range), written with torch + safetensors.
2. mmproj. llama.cpp's own converter writes it (tools/reference/make_mmproj_fixture.py ->
   convert_hf_to_gguf.py --mmproj --outtype f16), so both engines read one file: 1.7 GB, F16
   matrices, F32 norms and biases.
3. Timing. Each round runs each engine in a fresh process, alternating: scout's
   bench_vision_encoder (build with -DSCOUT_BENCH=ON) and llama.cpp's CLIP encoder through
   bench/vision/llamacpp_clip_encode.cpp (compiled here against LLAMA_CPP_SRC and its build's
   libmtmd/libggml). Both load the file, encode one warm-up tile, then time --reps times one tile
   and --reps times a 16-tile image (4 x 4 tiles + the global view = 17 tiles, encoded one after
   another as mtmd encodes an image's slices). The inputs are random pixels in [-1, 1]; preprocessing is not timed.
   The table shows the median over rounds and scout's speed-up.

Usage (from the repository root):
  python3 bench/vision/compare_mtmd.py --llama-cpp-src DIR --llama-cpp-build DIR [--threads 2] [--rounds 2]
LLAMA_CPP_SRC is vendor/llama.cpp of the pinned llama-cpp-python sdist (bench/README.md says how
to get and build it); --python must have torch and safetensors (tools/reference/requirements-model.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent

MAKE_CHECKPOINT = r'''
import json, sys, torch
from pathlib import Path
from safetensors.torch import save_file
out = Path(sys.argv[1]); cfg = json.load(open(sys.argv[2]))
v = cfg["vision_config"]; D, F, L = v["hidden_size"], v["intermediate_size"], v["num_hidden_layers"]
P, T = v["projector_output_dim"], cfg["text_config"]["hidden_size"]
n = (v["image_size"] // v["patch_size"]) ** 2 + 1
g = torch.Generator().manual_seed(0)
def r(*shape, std=0.02):
    return (torch.randn(*shape, generator=g) * std).to(torch.bfloat16)
def ones(d): return (1 + r(d, std=0.05)).to(torch.bfloat16)
t = {"vision_model.patch_embedding.linear.weight": r(D, 3 * v["patch_size"] ** 2),
     "vision_model.class_embedding": r(D), "vision_model.positional_embedding_vlm": r(n, D),
     "vision_model.layernorm_pre.weight": ones(D), "vision_model.layernorm_pre.bias": r(D),
     "vision_model.layernorm_post.weight": ones(D), "vision_model.layernorm_post.bias": r(D),
     "vision_model.vision_adapter.mlp.fc1.weight": r(P, F), "vision_model.vision_adapter.mlp.fc2.weight": r(P, P),
     "multi_modal_projector.linear_1.weight": r(T, P)}
for i in range(L):
    p = f"vision_model.model.layers.{i}."
    for m in ("q", "k", "v", "o"):
        t[p + f"self_attn.{m}_proj.weight"] = r(D, D); t[p + f"self_attn.{m}_proj.bias"] = r(D)
    t[p + "input_layernorm.weight"] = ones(D); t[p + "input_layernorm.bias"] = r(D)
    t[p + "post_attention_layernorm.weight"] = ones(D); t[p + "post_attention_layernorm.bias"] = r(D)
    t[p + "mlp.fc1.weight"] = r(F, D); t[p + "mlp.fc1.bias"] = r(F)
    t[p + "mlp.fc2.weight"] = r(D, F); t[p + "mlp.fc2.bias"] = r(D)
out.mkdir(parents=True, exist_ok=True)
save_file(t, str(out / "model.safetensors"), metadata={"format": "pt"})
json.dump(cfg, open(out / "config.json", "w"), indent=1)
json.dump({"image_processor_type": "Llama4ImageProcessorFast", "size": {"height": 336, "width": 336},
           "max_patches": 16, "resize_to_max_canvas": False, "image_mean": [0.5] * 3, "image_std": [0.5] * 3,
           "do_normalize": True, "do_rescale": True, "rescale_factor": 1 / 255}, open(out / "preprocessor_config.json", "w"), indent=1)
print(sum(x.numel() for x in t.values()))
'''


def run_json(cmd: list[str]) -> list[dict]:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp-src", type=Path, required=True)
    ap.add_argument("--llama-cpp-build", type=Path, required=True)
    ap.add_argument("--scout-bench", type=Path, default=REPO / "build/bench/vision/bench_vision_encoder")
    ap.add_argument("--python", default=sys.executable, help="interpreter with torch and safetensors")
    ap.add_argument("--work", type=Path, default=REPO / "build/bench-work/vision-scout")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3, help="timings of each size per process")
    ap.add_argument("--big-tiles", type=int, default=17, help="tiles of the big image (4x4 + global view)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()

    a.work.mkdir(parents=True, exist_ok=True)
    ckpt, mmproj = a.work / "checkpoint", a.work / "mmproj-f16.gguf"
    if not (ckpt / "model.safetensors").exists():
        print("writing the random Scout-size vision checkpoint ...", flush=True)
        subprocess.run([a.python, "-c", MAKE_CHECKPOINT, str(ckpt), str(REPO / "tests/data/configs/scout/config.json")], check=True)
    if not mmproj.exists():
        print("converting it with llama.cpp's convert_hf_to_gguf.py --mmproj --outtype f16 ...", flush=True)
        subprocess.run([a.python, str(REPO / "tools/reference/make_mmproj_fixture.py"), str(a.llama_cpp_src), str(ckpt),
                        str(mmproj), "--outtype", "f16"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = a.work / "llamacpp_clip_encode"
    src = REPO / "bench/vision/llamacpp_clip_encode.cpp"
    if not driver.exists() or driver.stat().st_mtime < src.stat().st_mtime:
        s, b = a.llama_cpp_src, a.llama_cpp_build / "bin"
        subprocess.run(["g++", "-O2", "-std=c++17", str(src), f"-I{s}/tools/mtmd", f"-I{s}/ggml/include", f"-I{s}/include",
                        f"-L{b}", "-lmtmd", "-lggml", "-lggml-base", f"-Wl,-rpath,{b}", "-o", str(driver)], check=True)
    if not a.scout_bench.exists():
        sys.exit(f"{a.scout_bench} is missing: configure with -DSCOUT_BENCH=ON and build bench_vision_encoder")

    engines = {
        "scout": [str(a.scout_bench), str(mmproj), str(a.threads)],
        "llama.cpp": [str(driver), str(mmproj), "336", str(a.threads)],
    }
    times: dict[str, dict[str, list[float]]] = {e: {"one": [], "big": [], "load": [], "first": []} for e in engines}
    for rnd in range(a.rounds):
        for name, cmd in engines.items():
            t0 = time.time()
            rows = run_json(cmd + [str(a.reps), "1", str(a.big_tiles)])
            head = rows[0]
            one = next(r for r in rows if r.get("tiles") == 1)["seconds"]
            big = next(r for r in rows if r.get("tiles") == a.big_tiles)["seconds"]
            times[name]["one"] += one
            times[name]["big"] += big
            times[name]["load"].append(head["load_s"])
            times[name]["first"].append(head["first_tile_s"])
            print(f"round {rnd + 1} {name:9s}: 1 tile {statistics.median(one):7.2f} s, {a.big_tiles} tiles {big[0]:7.1f} s "
                  f"(load {head['load_s']:.1f} s, first tile {head['first_tile_s']:.1f} s; process {time.time() - t0:.0f} s)",
                  flush=True)
    med = {e: {k: statistics.median(v) for k, v in t.items()} for e, t in times.items()}
    flop_per_tile = None
    cfg = json.load(open(REPO / "tests/data/configs/scout/config.json"))["vision_config"]
    D, F, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    T = (cfg["image_size"] // cfg["patch_size"]) ** 2 + 1
    flop_per_tile = 2 * T * L * (4 * D * D + 2 * D * F) + 4 * T * T * D * L + 2 * (T - 1) // 4 * (4 * D * 4096 + 4096 * 4096 + 4096 * 5120)
    print(f"\nthreads {a.threads}, {platform.processor() or platform.machine()}; {flop_per_tile / 1e12:.2f} TFLOP per tile")
    print(f"{'':12s} {'1 tile (s)':>11s} {'16-tile image (s)':>18s} {'GFLOP/s':>8s}")
    for e in engines:
        print(f"{e:12s} {med[e]['one']:11.2f} {med[e]['big']:18.1f} {flop_per_tile / med[e]['one'] / 1e9:8.1f}")
    print(f"{'scout speed-up':12s} {med['llama.cpp']['one'] / med['scout']['one']:10.2f}x {med['llama.cpp']['big'] / med['scout']['big']:17.2f}x")
    if a.json:
        a.json.write_text(json.dumps({"threads": a.threads, "tiles_big": a.big_tiles, "flop_per_tile": flop_per_tile,
                                      "times": times, "median": med}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
