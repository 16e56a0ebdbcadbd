#!/usr/bin/env python3
"""Build tiny random-weight Llama 4 checkpoints with Hugging Face transformers' own
classes and dump reference logits / greedy continuations for the C++ tests.

    python tools/reference/make_model_fixtures.py --out tests/data [--only NAME ...]

Writes, under OUT:
  models/<fixture>/                 save_pretrained() output (config.json, safetensors, ...)
  models/<fixture>/reference/       cases.json + logits_K.npy (+ pixels_K.npy); the long-context
                                    fixture tiny_longctx_f32: cases.json + long_logits_0.npy
  configs/{scout,maverick}/config.json   real hub configs (written from the spec, verified here)

Everything is deterministic (fixed seeds, single-threaded torch).  See README.md next to this
file for what each fixture exercises.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import (
    GenerationConfig,
    Llama4Config,
    Llama4ForCausalLM,
    Llama4ForConditionalGeneration,
    Llama4TextConfig,
    Llama4VisionConfig,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_configs  # noqa: E402  (helper next to this file)

N_NEW = 40  # greedy continuation length
SEQ_LENGTHS = (1, 7, 13, 29)
GREEDY_PROMPT_LENGTHS = (5, 11)
GREEDY_MIN_MARGIN = 2e-3  # top-1 minus top-2 logit, every greedy step (float32 compute)

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def write_npy(path: Path, arr: np.ndarray) -> None:
    """float32, little-endian, C order, .npy format version 1.0."""
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    with open(path, "wb") as f:
        np.lib.format.write_array(f, arr, version=(1, 0), allow_pickle=False)


def rope_bands(head_dim: int, rp: dict) -> dict:
    """Which llama3 band each inverse frequency falls in (high = kept, low = /factor, medium = blend)."""
    theta = rp["rope_theta"]
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float) / head_dim))
    wl = 2 * math.pi / inv
    out = {"wavelengths": [round(float(w), 3) for w in wl]}
    if rp.get("rope_type") == "llama3":
        n = rp["original_max_position_embeddings"]
        wl_lo = n / rp["low_freq_factor"]
        wl_hi = n / rp["high_freq_factor"]
        bands = []
        for w in wl.tolist():
            if w < wl_hi:
                bands.append("high")
            elif w > wl_lo:
                bands.append("low")
            else:
                bands.append("medium")
        out["bands"] = bands
        out["counts"] = {b: bands.count(b) for b in ("high", "medium", "low")}
        out["min_rel_distance_to_band_edge"] = float(
            min(min(abs(w - wl_hi) / wl_hi, abs(w - wl_lo) / wl_lo) for w in wl.tolist())
        )
    return out


@torch.no_grad()
def rerandomize(model: torch.nn.Module, seed: int, gain: float = 1.6, router_gain: float = 3.0) -> None:
    """Overwrite every parameter with seeded random values of a sensible scale.

    Linear-like weights: normal * gain / sqrt(fan_in)  (0.2 for fan_in 64).
    Norm weights: 1 + 0.1 * normal.  Biases: 0.1 * normal.  Embeddings: normal.
    Routers get a larger gain so that routing clearly differs between tokens.
    """
    g = torch.Generator().manual_seed(seed)
    for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        shape = p.shape
        if "norm" in name and name.endswith("weight"):
            val = 1.0 + 0.1 * torch.randn(shape, generator=g)
        elif name.endswith("bias"):
            val = 0.1 * torch.randn(shape, generator=g)
        elif "embed_tokens" in name:
            val = torch.randn(shape, generator=g)
        elif name.endswith("class_embedding") or name.endswith("positional_embedding_vlm"):
            val = 0.5 * torch.randn(shape, generator=g)
        elif name.endswith("experts.gate_up_proj") or name.endswith("experts.down_proj"):
            fan_in = shape[1]  # stored [E, in, out], used as x @ W
            val = torch.randn(shape, generator=g) * (gain / math.sqrt(fan_in))
        elif len(shape) == 2:
            fan_in = shape[1]  # nn.Linear [out, in]
            gg = router_gain if name.endswith("router.weight") else gain
            val = torch.randn(shape, generator=g) * (gg / math.sqrt(fan_in))
        else:
            raise RuntimeError(f"don't know how to randomize {name} {tuple(shape)}")
        p.copy_(val.to(p.dtype))


def random_tokens(gen: torch.Generator, n: int, vocab: int, exclude=()) -> list[int]:
    out = []
    while len(out) < n:
        t = int(torch.randint(3, vocab, (1,), generator=gen))
        if t not in exclude:
            out.append(t)
    return out


@torch.no_grad()
def full_logits(model, tokens: list[int], **extra) -> torch.Tensor:
    ids = torch.tensor([tokens], dtype=torch.long)
    out = model(input_ids=ids, use_cache=False, **extra)
    return out.logits[0]


@torch.no_grad()
def greedy_nocache(model, prompt: list[int], n: int):
    seq = list(prompt)
    margins = []
    for _ in range(n):
        lg = full_logits(model, seq)[-1].float()
        top = torch.topk(lg, 2)
        margins.append(float(top.values[0] - top.values[1]))
        seq.append(int(top.indices[0]))
    return seq[len(prompt):], margins


@torch.no_grad()
def greedy_generate(model, prompt: list[int], n: int, pad_id: int):
    ids = torch.tensor([prompt], dtype=torch.long)
    gc = GenerationConfig(
        do_sample=False,
        max_new_tokens=n,
        min_new_tokens=n,
        eos_token_id=None,
        pad_token_id=pad_id,
        bos_token_id=None,
    )
    saved = model.generation_config
    model.generation_config = gc  # so no eos from the checkpoint's generation_config sneaks in
    try:
        out = model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=gc)
    finally:
        model.generation_config = saved
    return out[0, len(prompt):].tolist()


def load(model_cls, d: Path, dtype, attn="eager"):
    m = model_cls.from_pretrained(str(d), dtype=dtype, attn_implementation=attn)
    m.eval()
    return m


def text_cfg(**kw) -> Llama4TextConfig:
    base = dict(
        vocab_size=256,
        hidden_size=64,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=24,
        num_hidden_layers=4,
        attention_chunk_size=4,
        use_qk_norm=True,
        attn_temperature_tuning=True,
        floor_scale=3,
        attn_scale=0.5,
        num_local_experts=4,
        num_experts_per_tok=2,
        interleave_moe_layer_step=2,
        intermediate_size=32,
        intermediate_size_mlp=48,
        max_position_embeddings=256,
        rms_norm_eps=1e-5,
        hidden_act="silu",
        tie_word_embeddings=False,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        attention_bias=False,
        rope_parameters={
            "rope_type": "llama3",
            "rope_theta": 10000.0,
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 32,
        },
    )
    base.update(kw)
    return Llama4TextConfig(**base)


def layer_plan(tc) -> list[dict]:
    return [
        {
            "layer": i,
            "rope": bool(tc.no_rope_layers[i]),
            "attn": tc.layer_types[i],
            "qk_norm": bool(tc.use_qk_norm and tc.no_rope_layers[i]),
            "temp_tuning": bool(tc.attn_temperature_tuning and not tc.no_rope_layers[i]),
            "moe": i in tc.moe_layers,
        }
        for i in range(tc.num_hidden_layers)
    ]


def check_plan(tc):
    # layer_types must agree with no_rope_layers (spec §1.1 derivation trap)
    for i in range(tc.num_hidden_layers):
        want = "chunked_attention" if tc.no_rope_layers[i] else "full_attention"
        assert tc.layer_types[i] == want, (i, tc.layer_types, tc.no_rope_layers)


def text_of(model):
    """The Llama4TextModel inside a CausalLM or ConditionalGeneration model."""
    if isinstance(model, Llama4ForConditionalGeneration):
        return model.language_model.model
    return model.model


@torch.no_grad()
def routing_stats(model, tokens) -> dict:
    """Which experts the router picks per MoE layer, for one sequence."""
    tm = text_of(model)
    picks = {}
    hooks = []
    for i, layer in enumerate(tm.layers):
        if getattr(layer, "is_moe_layer", False):
            k = layer.feed_forward.top_k

            def hook(mod, inp, out, i=i, k=k):
                logits = out[1]
                picks[i] = torch.topk(logits.float(), k, dim=-1).indices.sort(dim=-1).values.tolist()

            hooks.append(layer.feed_forward.router.register_forward_hook(hook))
    full_logits(model, tokens)
    for h in hooks:
        h.remove()
    res = {}
    for i, p in picks.items():
        sets = [tuple(x) for x in p]
        used = sorted({e for s in sets for e in s})
        res[f"layer{i}"] = {"distinct_expert_sets": len(set(sets)), "experts_used": used}
    return res


@torch.no_grad()
def min_router_gap(model, seqs) -> float:
    """Smallest gap between the k-th and (k+1)-th router logit over every token of every sequence
    (a tiny gap would let float rounding flip the expert choice)."""
    tm = text_of(model)
    gaps = []
    hooks = []
    for layer in tm.layers:
        if getattr(layer, "is_moe_layer", False):
            k = layer.feed_forward.top_k

            def hook(mod, inp, out, k=k):
                v = torch.topk(out[1].float(), k + 1, dim=-1).values
                gaps.append(float((v[:, k - 1] - v[:, k]).min()))

            hooks.append(layer.feed_forward.router.register_forward_hook(hook))
    for t in seqs:
        full_logits(model, t)
    for h in hooks:
        h.remove()
    return min(gaps)


@torch.no_grad()
def temp_tuning_effect(model, tokens) -> float:
    tm = text_of(model)
    base = full_logits(model, tokens).float()
    attn = [l.self_attn for l in tm.layers]
    old = [a.attn_temperature_tuning for a in attn]
    for a in attn:
        a.attn_temperature_tuning = False
    try:
        off = full_logits(model, tokens).float()
    finally:
        for a, o in zip(attn, old):
            a.attn_temperature_tuning = o
    return float((base - off).abs().max())


def to_legacy_config(path: Path, cfg) -> None:
    """Rewrite a v5 config.json into the transformers-4.x key layout the real hub checkpoints use
    (rope_theta + rope_scaling instead of rope_parameters, torch_dtype instead of dtype), and check
    that transformers reads it back to the same configuration."""
    with open(path) as f:
        c = json.load(f)
    rp = dict(c.pop("rope_parameters"))
    c["rope_theta"] = rp.pop("rope_theta")
    c["rope_scaling"] = rp if rp.get("rope_type", "default") != "default" else None
    c["torch_dtype"] = c.pop("dtype")
    c = dict(sorted(c.items()))
    with open(path, "w") as f:
        json.dump(c, f, indent=2)
        f.write("\n")
    back = type(cfg).from_pretrained(str(path.parent))
    assert back.rope_parameters == cfg.rope_parameters, (back.rope_parameters, cfg.rope_parameters)
    assert back.no_rope_layers == cfg.no_rope_layers and back.layer_types == cfg.layer_types


@torch.no_grad()
def layer_dump(model, tokens):
    """Residual stream before layer 0 and after every layer ([L+1, S, D]; no final norm) and the raw
    router logits of every MoE layer ([n_moe, S, E]), for localising a mismatch."""
    tm = text_of(model)
    hs, rl, hooks = [], [], []
    hooks.append(tm.layers[0].register_forward_pre_hook(lambda mod, args: hs.append(args[0][0].float().clone())))
    for layer in tm.layers:
        hooks.append(layer.register_forward_hook(lambda mod, inp, out: hs.append(out[0].float().clone())))
        if getattr(layer, "is_moe_layer", False):
            hooks.append(
                layer.feed_forward.router.register_forward_hook(lambda mod, inp, out: rl.append(out[1].float().clone()))
            )
    full_logits(model, tokens)
    for h in hooks:
        h.remove()
    return torch.stack(hs), torch.stack(rl)


def dir_size(d: Path) -> int:
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file())


# --------------------------------------------------------------------------------------------
# fixture builders
# --------------------------------------------------------------------------------------------


def new_model_dir(out: Path, name: str, model_cls, cfg, seed: int):
    """An empty models/<name>/ under out, and a fresh model_cls(cfg) (eager attention) with seeded
    random weights (rerandomize), in eval mode."""
    d = out / "models" / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    torch.manual_seed(seed)
    cfg._attn_implementation = "eager"
    model = model_cls(cfg)
    rerandomize(model, seed + 1)
    model.eval()
    return d, model


def build_text_fixture(
    out: Path,
    name: str,
    cfg: Llama4TextConfig,
    seed: int,
    desc: str,
    weights_dtype=torch.float32,
    max_shard_size=None,
    extra_checks=(),
    legacy_config=False,
):
    check_plan(cfg)
    d, model = new_model_dir(out, name, Llama4ForCausalLM, cfg, seed)
    if weights_dtype != torch.float32:
        model = model.to(weights_dtype)
    save_kw = dict(safe_serialization=True)
    if max_shard_size is not None:
        save_kw["max_shard_size"] = max_shard_size
    model.save_pretrained(str(d), **save_kw)
    mem_model = model
    if legacy_config:
        to_legacy_config(d / "config.json", cfg)

    return finish_fixture(
        d, Llama4ForCausalLM, cfg, seed, desc, weights_dtype, mem_model, extra_checks=extra_checks
    )


def finish_fixture(d, model_cls, cfg, seed, desc, weights_dtype, mem_model, extra_checks=(), mm=None):
    ref = d / "reference"
    ref.mkdir(exist_ok=True)
    tc = cfg.text_config if isinstance(cfg, Llama4Config) else cfg
    vocab = tc.vocab_size
    gen = torch.Generator().manual_seed(seed + 2)
    exclude = set()
    if mm is not None:
        exclude = {mm["image_token_index"], mm["boi_token_index"], mm["eoi_token_index"]}
    seqs = [random_tokens(gen, n, vocab, exclude) for n in SEQ_LENGTHS]
    prompt_len = list(GREEDY_PROMPT_LENGTHS)

    notes = {"description": desc, "seed": seed}
    cases = {
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "model_class": model_cls.__name__,
        "weights_dtype": "float32" if weights_dtype == torch.float32 else "bfloat16",
        "attn_implementation": "eager",
        "logits": [],
        "greedy": [],
    }

    # the reference runs use the checkpoint as saved (reloaded), never the in-memory object
    runs = [("float32", load(model_cls, d, torch.float32))]
    if weights_dtype == torch.bfloat16:
        runs.insert(0, ("bfloat16", load(model_cls, d, torch.bfloat16)))
    m32 = dict(runs)["float32"]

    # reload == in-memory check: every saved tensor comes back bit-identical
    reloaded = dict(runs)[cases["weights_dtype"]]
    sd_mem, sd_new = mem_model.state_dict(), reloaded.state_dict()
    assert sorted(sd_mem) == sorted(sd_new), set(sd_mem) ^ set(sd_new)
    for key in sd_mem:
        assert torch.equal(sd_mem[key], sd_new[key]), key
    with torch.no_grad():
        a = full_logits(mem_model, seqs[-1]).float()
        b = full_logits(reloaded, seqs[-1]).float()
    if weights_dtype == torch.float32:
        assert float((a - b).abs().max()) == 0.0
        notes["reload_vs_inmemory_logits_max_abs_diff"] = 0.0
    else:
        # model.to(bfloat16) also rounds the non-persistent RoPE inv_freq buffer to bf16, while
        # from_pretrained(dtype=bfloat16) keeps it in float32: the two runs differ by this much.
        notes["bf16_to_dtype_vs_from_pretrained_logits_max_abs_diff"] = float((a - b).abs().max())
        notes["bf16_inv_freq_dtype_after_model_to"] = str(text_of(mem_model).rotary_emb.inv_freq.dtype)
        notes["bf16_inv_freq_dtype_from_pretrained"] = str(text_of(reloaded).rotary_emb.inv_freq.dtype)

    k = 0
    sdpa = load(model_cls, d, torch.float32, attn="sdpa")
    eager_vs_sdpa = []
    stats = []
    for toks in seqs:
        for cdt, m in runs:
            lg = full_logits(m, toks).float()
            fn = f"logits_{k}.npy"
            write_npy(ref / fn, lg.numpy())
            cases["logits"].append({"tokens": toks, "file": fn, "compute_dtype": cdt})
            k += 1
            if cdt == "float32":
                ls = full_logits(sdpa, toks).float()
                eager_vs_sdpa.append(float((lg - ls).abs().max()))
                stats.append(float(lg.abs().max()))
    notes["max_abs_logit_per_sequence_f32"] = stats
    # per-layer intermediates of the longest float32 case (debugging aid)
    last32 = [c for c in cases["logits"] if c["compute_dtype"] == "float32"][-1]
    hs, rl = layer_dump(m32, last32["tokens"])
    assert hs.shape[0] == tc.num_hidden_layers + 1
    write_npy(ref / "hidden_states_f32.npy", hs.numpy())
    write_npy(ref / "router_logits_f32.npy", rl.numpy())
    last32["hidden_states"] = "hidden_states_f32.npy"
    last32["router_logits"] = "router_logits_f32.npy"
    notes["eager_vs_sdpa_max_abs_diff_f32"] = eager_vs_sdpa
    if weights_dtype == torch.bfloat16:
        diffs = []
        for i in range(0, len(cases["logits"]), 2):
            x = np.load(ref / cases["logits"][i]["file"])
            y = np.load(ref / cases["logits"][i + 1]["file"])
            diffs.append(float(np.abs(x - y).max()))
        notes["bf16_compute_vs_f32_compute_max_abs_diff"] = diffs

    # multimodal extra: one case with pixel values
    if mm is not None:
        g2 = torch.Generator().manual_seed(seed + 3)
        n_img = mm["tokens_per_tile"]
        pre = random_tokens(g2, 3, vocab, exclude)
        post = random_tokens(g2, 6, vocab, exclude)
        toks = pre + [mm["boi_token_index"]] + [mm["image_token_index"]] * n_img + [mm["eoi_token_index"]] + post
        s = mm["image_size"]
        pixels = torch.randn((1, 3, s, s), generator=g2)
        with torch.no_grad():
            lg = full_logits(m32, toks, pixel_values=pixels).float()
            lg_noimg = full_logits(m32, toks).float()
            # intermediate vision outputs, for the vision port: adapter output per tile and the
            # projected features that replace the image-token embeddings (rows in token order)
            adapter = m32.vision_model(pixels).last_hidden_state.float()
            proj = m32.multi_modal_projector(adapter.reshape(-1, adapter.shape[-1])).float()
        fn = f"logits_{k}.npy"
        write_npy(ref / fn, lg.numpy())
        write_npy(ref / "pixels_0.npy", pixels.numpy())
        write_npy(ref / "vision_adapter_out_0.npy", adapter.numpy())
        write_npy(ref / "image_features_0.npy", proj.numpy())
        cases["logits"].append(
            {
                "tokens": toks,
                "file": fn,
                "compute_dtype": "float32",
                "pixel_values": "pixels_0.npy",
                "vision_adapter_out": "vision_adapter_out_0.npy",
                "image_features": "image_features_0.npy",
            }
        )
        notes["image_case_vs_no_pixels_max_abs_diff"] = float((lg - lg_noimg).abs().max())
        k += 1

    # greedy: the recorded continuation is the float32-compute no-cache argmax loop.  A prompt is
    # accepted only if every step's top-1/top-2 logit margin is >= GREEDY_MIN_MARGIN, so that an
    # implementation within the logits tolerance cannot flip a token, and only if the continuation
    # never produces an eos id (so a stop-at-eos runner sees all 40 tokens); rejected draws are noted.
    agree = []
    pad_id = tc.pad_token_id if tc.pad_token_id is not None else 0
    eos_ids = {tc.eos_token_id} if isinstance(tc.eos_token_id, int) else set(tc.eos_token_id or [])
    rejected = 0
    for n in prompt_len:
        while True:
            p = random_tokens(gen, n, vocab, exclude)
            out_nc, margins = greedy_nocache(m32, p, N_NEW)
            if min(margins) >= GREEDY_MIN_MARGIN and not (eos_ids & set(out_nc)):
                break
            rejected += 1
        out_gen = greedy_generate(m32, p, N_NEW, pad_id)
        entry = {"prompt": p, "output": out_nc}
        if weights_dtype != torch.float32:
            entry["compute_dtype"] = "float32"
        cases["greedy"].append(entry)
        first_diff = next((i for i, (x, y) in enumerate(zip(out_nc, out_gen)) if x != y), None)
        chk = {
            "prompt_len": len(p),
            "compute_dtype": "float32",
            "generate_agrees": out_nc == out_gen and len(out_gen) == N_NEW,
            "first_difference_at": first_diff,
            "min_top1_top2_margin": round(min(margins), 6),
            "eos_in_output": bool(eos_ids & set(out_nc)),
        }
        if out_nc != out_gen:
            chk["generate_output"] = out_gen
        agree.append(chk)
        if weights_dtype != torch.float32:
            # informational only: the same prompt run in bfloat16 compute (fragile: bf16 logits tie)
            m16 = dict(runs)["bfloat16"]
            o16, mg16 = greedy_nocache(m16, p, N_NEW)
            g16 = greedy_generate(m16, p, N_NEW, pad_id)
            agree.append(
                {
                    "prompt_len": len(p),
                    "compute_dtype": "bfloat16",
                    "output_nocache": o16,
                    "output_generate": g16,
                    "generate_agrees": o16 == g16,
                    "first_difference_nocache_vs_generate": next(
                        (i for i, (x, y) in enumerate(zip(o16, g16)) if x != y), None
                    ),
                    "first_difference_vs_float32_compute": next(
                        (i for i, (x, y) in enumerate(zip(o16, out_nc)) if x != y), None
                    ),
                    "min_top1_top2_margin": round(min(mg16), 6),
                }
            )
    notes["greedy_prompts_rejected_for_small_margin_or_eos"] = rejected
    notes["greedy_min_margin_threshold"] = GREEDY_MIN_MARGIN
    notes["greedy_checks"] = agree

    notes["layer_plan"] = layer_plan(tc)
    notes["rope"] = rope_bands(tc.head_dim, tc.rope_parameters)
    notes["routing_longest_sequence"] = routing_stats(m32, seqs[-1])
    notes["router_min_topk_gap_all_logits_cases_f32"] = min_router_gap(m32, seqs)
    notes["router_min_topk_gap_greedy_sequences_f32"] = min_router_gap(
        m32, [g["prompt"] + g["output"][:-1] for g in cases["greedy"]]
    )
    notes["temperature_tuning_on_vs_off_max_abs_logit_diff"] = temp_tuning_effect(m32, seqs[-1])
    for chk in extra_checks:
        notes.update(chk(m32, seqs, d))

    cases["notes"] = notes
    with open(ref / "cases.json", "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    return cases


# ---- the four fixtures ------------------------------------------------------------------------


def fx_tiny_text_f32(out: Path):
    cfg = text_cfg(no_rope_layers=[1, 1, 0, 1])
    return build_text_fixture(
        out,
        "tiny_text_f32",
        cfg,
        seed=1001,
        desc=(
            "Llama4ForCausalLM, f32, single model.safetensors. head_dim 24 != hidden/heads 16; GQA 4:2; "
            "no_rope_layers [1,1,0,1] explicit (layer 2 NoPE/global, others RoPE/chunked); chunk 4; "
            "qk-norm on; temperature tuning floor 3 scale 0.5; llama3 rope 8/1/4/32 with all three bands; "
            "top-2 of 4 experts; interleave step 2 (MoE on 1,3, dense width 48 on 0,2); expert width 32."
        ),
    )


def fx_tiny_text_noqk_sharded_f32(out: Path):
    cfg = text_cfg(
        use_qk_norm=False,
        num_experts_per_tok=1,
        interleave_moe_layer_step=1,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
    )
    return build_text_fixture(
        out,
        "tiny_text_noqk_sharded_f32",
        cfg,
        seed=2002,
        desc=(
            "Llama4ForCausalLM, f32, SHARDED (index + several shards). Maverick-like attention: "
            "use_qk_norm false, plain RoPE (no scaling); no_rope_layers derived from interval 4 "
            "(layer 3 NoPE/global); chunk 4; temperature tuning floor 3 scale 0.5; top-1 of 4 experts; "
            "all layers MoE (step 1); head_dim 24, GQA 4:2."
        ),
        max_shard_size="200KB",
    )


def fx_tiny_scoutlike_bf16(out: Path):
    cfg = text_cfg(
        head_dim=32,
        num_key_value_heads=1,
        num_experts_per_tok=1,
        interleave_moe_layer_step=1,
        rope_parameters={
            "rope_type": "llama3",
            "rope_theta": 10000.0,
            "factor": 16.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 1.0,
            "original_max_position_embeddings": 32,
        },
    )
    return build_text_fixture(
        out,
        "tiny_scoutlike_bf16",
        cfg,
        seed=3003,
        desc=(
            "Llama4ForCausalLM, weights stored bf16. Scout-like: llama3 rope 16/1/1/32 (empty medium band), "
            "top-1, all MoE, qk-norm on, head_dim 32, GQA 4:1, NoPE layer 3 (interval 4), chunk 4, "
            "temperature tuning floor 3 scale 0.5. Logits dumped twice per sequence: bf16 compute and "
            "the same bf16 weights upcast to f32. config.json is in the transformers-4.x key layout of the "
            "real hub files (rope_theta + rope_scaling, torch_dtype), read back and checked with transformers."
        ),
        weights_dtype=torch.bfloat16,
        legacy_config=True,
    )


def fx_tiny_multimodal_f32(out: Path):
    name = "tiny_multimodal_f32"
    seed = 4004
    tc = text_cfg(no_rope_layers=[1, 1, 0, 1])  # same text config as tiny_text_f32
    vc = Llama4VisionConfig(
        hidden_size=32,
        num_attention_heads=2,
        num_hidden_layers=2,
        num_channels=3,
        image_size=28,
        patch_size=7,
        intermediate_size=128,
        pixel_shuffle_ratio=0.5,
        projector_input_dim=48,
        projector_output_dim=48,
        vision_output_dim=48,
        norm_eps=1e-5,
        hidden_act="gelu",
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
    )
    mmcfg = dict(image_token_index=255, boi_token_index=253, eoi_token_index=254)
    cfg = Llama4Config(text_config=tc.to_dict(), vision_config=vc.to_dict(), tie_word_embeddings=False, **mmcfg)
    check_plan(cfg.text_config)
    d, model = new_model_dir(out, name, Llama4ForConditionalGeneration, cfg, seed)
    model.save_pretrained(str(d), safe_serialization=True)
    patches = (28 // 7) ** 2
    mm = dict(mmcfg, tokens_per_tile=int(patches * 0.5 * 0.5), image_size=28)
    return finish_fixture(
        d,
        Llama4ForConditionalGeneration,
        cfg,
        seed,
        (
            "Llama4ForConditionalGeneration, f32, real Scout key layout (language_model.model.*, "
            "vision_model.*, multi_modal_projector.*). Text config identical to tiny_text_f32 (other weights). "
            "Vision: hidden 32, 2 heads, 2 layers, image 28, patch 7 (16 patches -> 4 tokens/tile after "
            "pixel shuffle 0.5), intermediate 128, projector dims 48. image/boi/eoi = 255/253/254. "
            "Text-only logits cases plus one case with pixel_values (pixels_0.npy, [1,3,28,28] f32; also "
            "vision_adapter_out_0.npy [1,4,48] = vision_model output, image_features_0.npy [4,64] = "
            "multi_modal_projector output that overwrites the 4 image-token rows)."
        ),
        torch.float32,
        model,
        mm=mm,
    )


# ---- the long-context fixture (Scout's real rules at tiny width) ------------------------------

LONG_N_TOKENS = 12000
LONG_CHUNK = 8192
# Stored logit rows: the start, both sides of the chunk edge 8192 and of the temperature-tuning step
# at 8191 (wide enough for a prefill to 8170 followed by decode steps to 8239), the end, and every
# 500th position.  12,000 x 256 rows would be 12 MB; these are 167 rows.
LONG_POSITIONS = sorted(
    set(range(0, 32)) | set(range(8160, 8240)) | set(range(LONG_N_TOKENS - 32, LONG_N_TOKENS)) | set(range(0, LONG_N_TOKENS, 500))
)
SCOUT_ROPE = {
    "rope_type": "llama3",
    "rope_theta": 500000.0,
    "factor": 16.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 1.0,
    "original_max_position_embeddings": 8192,
}


def temperature_scale(p: int, floor_scale: float, attn_scale: float) -> float:
    """The query factor of a NoPE layer at 0-based position p, computed as transformers does (f32)."""
    t = torch.tensor([float(p)])
    return float(torch.log1p(torch.floor((t + 1.0) / floor_scale)) * attn_scale + 1.0)


@torch.no_grad()
def rows_at(model, tokens: list[int], positions: list[int]) -> torch.Tensor:
    return full_logits(model, tokens).float()[positions]


@torch.no_grad()
def long_router_stats(model, tokens) -> dict:
    """Experts picked per MoE layer over the whole sequence and the smallest top-1/top-2 router gap."""
    tm = text_of(model)
    out, hooks = {}, []
    for i, layer in enumerate(tm.layers):
        if getattr(layer, "is_moe_layer", False):

            def hook(mod, inp, o, i=i):
                v = torch.topk(o[1].float(), 2, dim=-1)
                counts = torch.bincount(v.indices[:, 0], minlength=o[1].shape[-1]).tolist()
                out[f"layer{i}"] = {
                    "top1_counts_per_expert": counts,
                    "min_top1_top2_gap": float((v.values[:, 0] - v.values[:, 1]).min()),
                }

            hooks.append(layer.feed_forward.router.register_forward_hook(hook))
    full_logits(model, tokens)
    for h in hooks:
        h.remove()
    return out


def fx_tiny_longctx_f32(out: Path):
    """Scout's real long-context rules at tiny width: chunk 8192, llama3 RoPE 16/1/1/8192 with theta
    5e5, temperature tuning floor 8192 scale 0.1, NoPE every 4th layer.  One 12,000-token sequence;
    logits kept at LONG_POSITIONS only, under the cases.json key "long_logits" (no "logits" or
    "greedy" entries, so the tests that walk every fixture's short cases leave it out)."""
    name = "tiny_longctx_f32"
    seed = 5005
    cfg = text_cfg(  # text_cfg's tiny width (head_dim 24, GQA 4:2, MoE on every 2nd layer)
        attention_chunk_size=LONG_CHUNK,
        floor_scale=8192,
        attn_scale=0.1,
        num_experts_per_tok=1,
        max_position_embeddings=16384,
        rope_parameters=dict(SCOUT_ROPE),
    )
    check_plan(cfg)
    # Scout's plan, derived from no_rope_layer_interval 4 as Scout's config.json (no_rope_layers []) does
    assert list(cfg.no_rope_layers) == [1, 1, 1, 0], cfg.no_rope_layers
    assert list(cfg.layer_types) == ["chunked_attention"] * 3 + ["full_attention"], cfg.layer_types
    assert list(cfg.moe_layers) == [1, 3], cfg.moe_layers

    d, model = new_model_dir(out, name, Llama4ForCausalLM, cfg, seed)
    model.save_pretrained(str(d), safe_serialization=True)
    ref = d / "reference"
    ref.mkdir()

    m32 = load(Llama4ForCausalLM, d, torch.float32)
    sd_mem, sd_new = model.state_dict(), m32.state_dict()
    assert sorted(sd_mem) == sorted(sd_new), set(sd_mem) ^ set(sd_new)
    for key in sd_mem:
        assert torch.equal(sd_mem[key], sd_new[key]), key
    del model

    gen = torch.Generator().manual_seed(seed + 2)
    tokens = random_tokens(gen, LONG_N_TOKENS, cfg.vocab_size)
    pos = LONG_POSITIONS
    lg = rows_at(m32, tokens, pos)
    write_npy(ref / "long_logits_0.npy", lg.numpy())

    notes = {
        "description": (
            "Llama4ForCausalLM, f32, single model.safetensors, Scout's real long-context rules at tiny "
            "width: attention_chunk_size 8192; llama3 rope factor 16, low 1, high 1, original 8192, theta "
            "5e5 (j=0-6 kept, j=7-11 divided by 16); temperature tuning floor_scale 8192 attn_scale 0.1 "
            "(factor 1 up to position 8190, 1+0.1 ln 2 from 8191); no_rope_layers derived (interval 4: "
            "layers 0-2 RoPE/chunked with qk-norm, layer 3 NoPE/global); head_dim 24, GQA 4:2; top-1 of 4 "
            "experts, interleave step 2 (dense width 48 on 0 and 2, MoE on 1 and 3). One sequence of "
            f"{LONG_N_TOKENS} random tokens; logits stored at {len(pos)} positions (long_logits)."
        ),
        "seed": seed,
        "n_tokens": LONG_N_TOKENS,
        "n_positions_stored": len(pos),
        "temperature_factor": {
            str(p): temperature_scale(p, cfg.floor_scale, cfg.attn_scale) for p in (0, 8189, 8190, 8191, 8192, 11999)
        },
        "max_abs_logit_stored_positions": float(lg.abs().max()),
    }

    # What the rules change (each a full 12,000-token forward of the same checkpoint with one rule off).
    # Temperature tuning off: rows before 8191 must be unchanged bit for bit, rows from 8191 on must move.
    attn = [l.self_attn for l in text_of(m32).layers]
    for a in attn:
        a.attn_temperature_tuning = False
    off = rows_at(m32, tokens, pos)
    for a in attn:
        a.attn_temperature_tuning = True
    before = torch.tensor([p < 8191 for p in pos])
    notes["temperature_tuning_off"] = {
        "max_abs_logit_diff_before_8191": float((lg - off)[before].abs().max()),
        "max_abs_logit_diff_from_8191": float((lg - off)[~before].abs().max()),
    }
    assert notes["temperature_tuning_off"]["max_abs_logit_diff_before_8191"] == 0.0
    # No chunking (the chunk as long as the sequence): rows before 8192 unchanged, later rows move.
    tc = text_of(m32).config
    tc.attention_chunk_size = 1 << 20
    nochunk = rows_at(m32, tokens, pos)
    tc.attention_chunk_size = LONG_CHUNK
    before = torch.tensor([p < LONG_CHUNK for p in pos])
    notes["chunking_off"] = {
        "max_abs_logit_diff_before_8192": float((lg - nochunk)[before].abs().max()),
        "max_abs_logit_diff_from_8192": float((lg - nochunk)[~before].abs().max()),
    }
    assert notes["chunking_off"]["max_abs_logit_diff_before_8192"] == 0.0
    # The same weights with plain RoPE (theta 5e5, no llama3 scaling): the low band's frequencies matter.
    m_plain = Llama4ForCausalLM.from_pretrained(
        str(d), dtype=torch.float32, attn_implementation="eager",
        rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
    ).eval()
    notes["llama3_scaling_off_max_abs_logit_diff"] = float((lg - rows_at(m_plain, tokens, pos)).abs().max())
    del m_plain
    assert torch.equal(rows_at(m32, tokens, pos), lg), "the reference forward is not deterministic"

    notes["layer_plan"] = layer_plan(cfg)
    notes["rope"] = rope_bands(cfg.head_dim, cfg.rope_parameters)
    notes["routing"] = long_router_stats(m32, tokens)

    cases = {
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "model_class": "Llama4ForCausalLM",
        "weights_dtype": "float32",
        "attn_implementation": "eager",
        "long_logits": [
            {"tokens": "@tokens@", "positions": "@positions@", "file": "long_logits_0.npy", "compute_dtype": "float32"}
        ],
        "notes": notes,
    }
    # the two id lists on one line each (indented, the 12,000 ids would be 12,000 lines)
    text = json.dumps(cases, indent=1)
    text = text.replace('"@tokens@"', json.dumps(tokens)).replace('"@positions@"', json.dumps(pos))
    with open(ref / "cases.json", "w") as f:
        f.write(text + "\n")
    cases["long_logits"][0].update(tokens=tokens, positions=pos)
    return cases


FIXTURES = {
    "tiny_text_f32": fx_tiny_text_f32,
    "tiny_text_noqk_sharded_f32": fx_tiny_text_noqk_sharded_f32,
    "tiny_scoutlike_bf16": fx_tiny_scoutlike_bf16,
    "tiny_multimodal_f32": fx_tiny_multimodal_f32,
    "tiny_longctx_f32": fx_tiny_longctx_f32,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/data", type=Path)
    ap.add_argument("--only", nargs="*", help="fixture names (and/or 'configs') to build; default: all")
    ap.add_argument("--no-check", action="store_true", help="skip the independent NumPy cross-check")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    transformers.logging.set_verbosity_error()

    todo = args.only or (list(FIXTURES) + ["configs"])
    for name in todo:
        if name == "configs":
            info = real_configs.write_and_check(args.out / "configs")
            print(json.dumps(info, indent=1))
            continue
        cases = FIXTURES[name](args.out)
        d = args.out / "models" / name
        n = cases["notes"]
        print(f"== {name}: {dir_size(d)} bytes")
        print(json.dumps({k: n[k] for k in n if k not in ("layer_plan",)}, indent=1))
    if not args.no_check:
        # independent float64 re-implementation from the spec must agree with every fixture
        import subprocess

        here = Path(__file__).resolve().parent
        subprocess.run([sys.executable, str(here / "check_fixtures_numpy.py"), "--data", str(args.out)], check=True)


if __name__ == "__main__":
    main()
