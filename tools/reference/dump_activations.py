#!/usr/bin/env python3
"""Write the named intermediate tensors of one transformers forward pass, in the layout
`scout logits --dump DIR` writes, so that the two are compared by diffing two folders
(tools/reference/diff_dumps.py; names and shapes in docs/dumps.md).

    python tools/reference/dump_activations.py -m tests/data/models/tiny_text_f32 \\
        --tokens 84,174,165 --out dump_hf

Writes OUT/<name>.npy (float32 [n_tokens, ...], .npy 1.0, C order) for every module below that
ran once with one output row per token, and OUT/index.json ({"source", "tokens", "tensors":
[{"name", "file", "shape"}]}, in the order the hooks fired, i.e. forward order).

Names are the text model's module paths (Llama4ForCausalLM); for Llama4ForConditionalGeneration
the "language_model." prefix is dropped, so both classes give the same names:
  model.embed_tokens
  model.layers.{i}.input_layernorm / .post_attention_layernorm
  model.layers.{i}.self_attn.{q,k,v,o}_proj      (q/k/v: the projections, before RoPE and qk-norm)
  model.layers.{i}.feed_forward                    (the MoE / dense MLP output)
  model.layers.{i}.feed_forward.router            (the RAW router logits [T, E], output [1])
  model.layers.{i}.feed_forward.shared_expert
  model.layers.{i}                                  (the layer's output hidden state)
  model.norm, lm_head
Left out because they do not map one row per token: feed_forward.experts (transformers runs
every expert on every token, [E*T, D], pre-scaled by the router score), self_attn.qk_norm
(called twice, after RoPE, [1, S, H, d]), rotary_emb, the vision tower.

One full forward with use_cache=False, eager attention, torch.no_grad(), one thread,
deterministic algorithms: the same run that made the logits fixtures (make_model_fixtures.py).
Pinned versions: requirements-model.txt.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import Llama4ForCausalLM, Llama4ForConditionalGeneration

# Module paths (after the prefix is dropped) whose output is dumped. Anything else is ignored,
# so a new transformers submodule cannot silently add an unmatched name.
DUMPED = re.compile(
    r"^(model\.embed_tokens"
    r"|model\.layers\.\d+"
    r"|model\.layers\.\d+\.(input_layernorm|post_attention_layernorm)"
    r"|model\.layers\.\d+\.self_attn\.[qkvo]_proj"
    r"|model\.layers\.\d+\.feed_forward(\.router|\.shared_expert)?"
    r"|model\.norm"
    r"|lm_head)$"
)
PREFIX = "language_model."
CLASSES = {c.__name__: c for c in (Llama4ForCausalLM, Llama4ForConditionalGeneration)}


def write_npy(path: Path, arr: np.ndarray) -> None:
    """float32, little-endian, C order, .npy format version 1.0 (what scout's write_npy_f32 writes)."""
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    with open(path, "wb") as f:
        np.lib.format.write_array(f, arr, version=(1, 0), allow_pickle=False)


def output_tensor(name: str, out) -> torch.Tensor:
    """The tensor a module's hook output stands for under `name`."""
    if name.endswith(".feed_forward.router"):
        return out[1]  # Llama4Router returns (scores after top-k and sigmoid, raw logits); scout dumps the logits
    if isinstance(out, torch.Tensor):
        return out
    # The MoE returns (out, router_logits); decoder layers of other versions return a tuple or
    # a ModelOutput whose first field is the hidden state.
    return out[0]


def load_model(model_dir: Path, dtype: torch.dtype):
    with open(model_dir / "config.json") as f:
        arch = (json.load(f).get("architectures") or ["Llama4ForCausalLM"])[0]
    if arch not in CLASSES:
        sys.exit(f"error: {model_dir}/config.json names {arch}; expected one of {sorted(CLASSES)}")
    model = CLASSES[arch].from_pretrained(str(model_dir), dtype=dtype, attn_implementation="eager")
    model.eval()
    return model


@torch.no_grad()
def dump(model, tokens: list[int]) -> dict[str, np.ndarray]:
    n = len(tokens)
    got: dict[str, list[torch.Tensor]] = {}  # insertion order = the order hooks fired
    hooks = []
    for path, module in model.named_modules():
        name = path[len(PREFIX):] if path.startswith(PREFIX) else path
        if DUMPED.match(name):

            def hook(mod, inp, out, name=name):
                got.setdefault(name, []).append(output_tensor(name, out).detach().float().clone())

            hooks.append(module.register_forward_hook(hook))
    try:
        model(input_ids=torch.tensor([tokens], dtype=torch.long), use_cache=False)
    finally:
        for h in hooks:
            h.remove()

    result = {}
    for name, outs in got.items():
        t = outs[0]
        # One call and one row per token ([1, S, X] or [S, X]), or it does not map onto scout's rows.
        if len(outs) != 1 or t.dim() < 2 or t.numel() != n * t.shape[-1] or (t.dim() > 2 and t.shape[0] != 1):
            print(f"skipped {name}: {len(outs)} call(s), shape {list(t.shape)}", file=sys.stderr)
            continue
        result[name] = t.reshape(n, t.shape[-1]).numpy()
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True, type=Path, help="Hugging Face checkpoint directory")
    ap.add_argument("--tokens", required=True, help="comma-separated token ids, as for scout logits")
    ap.add_argument("--out", required=True, type=Path, help="output directory")
    ap.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "bfloat16"],
        help="compute dtype (default float32; bf16 weights are then upcast, the reference scout is held to)",
    )
    ap.add_argument("--exclude", default="", help="comma-separated name suffixes not to write, e.g. feed_forward.shared_expert")
    args = ap.parse_args()

    tokens = [int(t) for t in args.tokens.replace(" ", "").split(",") if t]
    if not tokens:
        sys.exit("error: --tokens: give at least one token id")
    excluded = tuple(s for s in args.exclude.split(",") if s)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()

    model = load_model(args.model, getattr(torch, args.dtype))
    tensors = dump(model, tokens)
    args.out.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, arr in tensors.items():
        if excluded and name.endswith(excluded):
            continue
        write_npy(args.out / f"{name}.npy", arr)
        entries.append({"name": name, "file": f"{name}.npy", "shape": list(arr.shape)})
    source = f"transformers {transformers.__version__}, torch {torch.__version__}, {args.dtype}, eager"
    # Same text layout as scout's index.json: one tensor per line, forward order.
    lines = ",\n  ".join(json.dumps(e, separators=(",", ":"), sort_keys=True) for e in entries)
    with open(args.out / "index.json", "w") as f:
        f.write(f'{{"source": {json.dumps(source)},\n "tokens": {json.dumps(tokens, separators=(",", ":"))},\n')
        f.write(f' "tensors": [\n  {lines}\n ]}}\n')
    print(f"wrote {len(entries)} tensors to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
