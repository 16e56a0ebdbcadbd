#!/usr/bin/env python3
"""Compare two activation dumps (`scout logits --dump A`, `dump_activations.py --out B`) and
name the first tensor, in forward order, that differs. NumPy only.

    python tools/reference/diff_dumps.py A B [--tol 1e-4] [--all]

B is the reference. For each name in A's index.json order it prints max |A - B|, max |B| and
rel = max |A - B| / max(1, max |B|), the measure and the 1e-4 bound the logits tests use, and
stops at the first name that is missing from B, has another shape, or has rel > --tol (--all
goes on to the end). Names only B has are listed at the end. Exit status 1 when anything
differed, else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def read_index(d: Path) -> list[str]:
    """Tensor names in forward order (index.json), or the .npy files sorted when there is none."""
    idx = d / "index.json"
    if idx.exists():
        with open(idx) as f:
            return [t["name"] for t in json.load(f)["tensors"]]
    return sorted(p.name[: -len(".npy")] for p in d.glob("*.npy"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", type=Path, help="dump to check (e.g. scout's)")
    ap.add_argument("b", type=Path, help="reference dump (e.g. transformers')")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest rel accepted (default 1e-4)")
    ap.add_argument("--all", action="store_true", help="do not stop at the first difference")
    args = ap.parse_args()

    names_a, names_b = read_index(args.a), read_index(args.b)
    in_b = set(names_b)
    bad = 0
    print(f"{'name':<52} {'shape':<12} {'max|A-B|':>10} {'max|B|':>10} {'rel':>10}")
    for name in names_a:
        if name not in in_b:
            print(f"{name:<52} missing in {args.b}")
            bad += 1
        else:
            a = np.load(args.a / f"{name}.npy")
            b = np.load(args.b / f"{name}.npy")
            if a.shape != b.shape:
                print(f"{name:<52} shape {list(a.shape)} in A, {list(b.shape)} in B")
                bad += 1
            else:
                diff = float(np.abs(a.astype(np.float64) - b).max()) if a.size else 0.0
                ref = float(np.abs(b).max()) if b.size else 0.0
                rel = diff / max(1.0, ref)
                over = not rel <= args.tol  # NaN counts as a difference
                flag = "  <-- over tolerance" if over else ""
                print(f"{name:<52} {'x'.join(map(str, a.shape)):<12} {diff:10.3e} {ref:10.3e} {rel:10.3e}{flag}")
                bad += over
        if bad and not args.all:
            print(f"first differing step: {name}")
            return 1
    only_b = [n for n in names_b if n not in set(names_a)]
    if only_b:
        print(f"only in {args.b}: {', '.join(only_b)}")
    print(f"{len(names_a)} compared, {bad} over tolerance or missing")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
