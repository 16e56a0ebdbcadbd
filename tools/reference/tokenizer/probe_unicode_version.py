#!/usr/bin/env python3
r"""Finds the Unicode version of tiktoken's regex by probing it on every code point whose
membership in [\p{Ll}\p{Lm}\p{Lo}\p{M}] differs between candidate Unicode versions.

Oracle: an Encoding whose ranks are the 256 single bytes plus "a" + each UTF-8 lead byte. "a" + c
becomes one token exactly when the pre-tokenizer keeps "a" and c in one piece, i.e. when c is in
that class. Result with tiktoken 0.14.0: only Unicode 16.0.0 agrees on every probed code point.

Setup: pip install --target DIR/udX unicodedata2==X for X in 15.0.0 15.1.0 16.0.0 17.0.0
(14.0.0 is CPython 3.11's own unicodedata).
Usage: python probe_unicode_version.py DIR
"""
import importlib
import sys
from collections import Counter

import unicodedata

import tiktoken

PATTERN = (r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"""
           r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"""
           r"""\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
VERSIONS = ["14.0.0", "15.0.0", "15.1.0", "16.0.0", "17.0.0"]


def load(root, version):
    if version == unicodedata.unidata_version:  # CPython 3.11's own tables are 14.0.0
        return unicodedata
    sys.path.insert(0, f"{root}/ud{version}")
    sys.modules.pop("unicodedata2", None)
    module = importlib.import_module("unicodedata2")
    sys.path.pop(0)
    sys.modules.pop("unicodedata2", None)
    assert module.unidata_version == version, (module.unidata_version, version)
    return module


def in_lower_set(ucd, c):
    g = ucd.category(c)
    return g in ("Ll", "Lm", "Lo") or g[0] == "M"


def main():
    ucds = {v: load(sys.argv[1], v) for v in VERSIONS}
    ranks = {bytes([i]): i for i in range(256)}
    for lead in list(range(0xC2, 0xF5)):
        ranks[b"a" + bytes([lead])] = len(ranks)
    enc = tiktoken.Encoding("probe", pat_str=PATTERN, mergeable_ranks=ranks, special_tokens={})
    agree = Counter()
    for cp in range(0x80, 0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        predicted = [in_lower_set(ucds[v], c) for v in VERSIONS]
        if len(set(predicted)) == 1:
            continue
        merged = enc.encode("a" + c)[0] >= 256
        agree[tuple(v for v, p in zip(VERSIONS, predicted) if p == merged)] += 1
    for versions, n in agree.most_common():
        print(f"{n:6d} code points agree with tiktoken under: {', '.join(versions)}")
    common = set(VERSIONS).intersection(*map(set, agree))
    print("versions that agree everywhere:", sorted(common))


if __name__ == "__main__":
    main()
