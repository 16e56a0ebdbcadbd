#!/usr/bin/env python3
"""Finds the Unicode version tiktoken's regex uses, by probing it on every code point whose
letter/mark status differs between candidate Unicode versions.

Oracle: an Encoding with only the 256 byte tokens plus two-byte tokens "a"+lead byte; "a"+c is
merged into one token only when the pre-tokenizer puts "a" and c in one piece, i.e. when c is in
[\p{Ll}\p{Lm}\p{Lo}\p{M}]. Result with tiktoken 0.14.0: only Unicode 16.0.0 agrees everywhere.

Setup: pip install --target DIR/udX unicodedata2==X for X in 15.0.0 15.1.0 17.0.0 (16.0.0 is in
requirements-tokenizer.txt). Usage: python probe_unicode_version.py DIR
"""
import sys, importlib, tiktoken, unicodedata
PAT = r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
def load(v):
    sys.path.insert(0, f"{sys.argv[1]}/ud{v}")
    import unicodedata2 as m
    del sys.modules['unicodedata2']; sys.path.pop(0)
    return m
vers = {}
for v in ["15.0.0","15.1.0","17.0.0"]:
    vers[v]=load(v)
import unicodedata2 as u16
vers["16.0.0"]=u16
vers["14.0.0"]=unicodedata
for k,m in vers.items(): print(k, m.unidata_version)
def cls(m,c):
    g=m.category(c)
    return g[0] if g[0] in "LNM" else g
order=["14.0.0","15.0.0","15.1.0","16.0.0","17.0.0"]
diff=[]
for cp in range(0x110000):
    if 0xD800<=cp<0xE000: continue
    c=chr(cp)
    cs=[cls(vers[v],c) for v in order]
    if len(set(cs))>1: diff.append((cp,cs))
print(len(diff))
# oracle: bytes 0..255 plus pair tokens "a"+firstbyte
ranks={bytes([i]):i for i in range(256)}
ranks[b"a\xf0"]=256; ranks[b"a\xe0"]=257;ranks[b"a\xe1"]=258;ranks[b"a\xea"]=259;ranks[b"a\xeb"]=260;ranks[b"a\xe2"]=261;ranks[b"a\xe3"]=262;ranks[b"a\xe4"]=263;ranks[b"a\xe5"]=264;ranks[b"a\xe6"]=265;ranks[b"a\xe7"]=266;ranks[b"a\xe8"]=267;ranks[b"a\xe9"]=268;ranks[b"a\xec"]=269;ranks[b"a\xed"]=270;ranks[b"a\xee"]=271;ranks[b"a\xef"]=272
ranks[b"1\xf0"]=273
enc=tiktoken.Encoding("probe", pat_str=PAT, mergeable_ranks=ranks, special_tokens={})
import collections
res=collections.Counter()
for cp,cs in diff:
    c=chr(cp); b=c.encode()
    if len(b)<3: continue
    # letter-like (in L-set or M) => "a"+c merges
    ids=enc.encode("a"+c)
    merged = ids[0]>=256
    # which versions predict merged? L or M (Lo/M are in lower set)
    pred=[ (x in ("L","M")) for x in cs]
    # only informative if predictions differ
    if len(set(pred))>1:
        ok=[v for v,p in zip(order,pred) if p==merged]
        res[tuple(ok)]+=1
print(res)
print("refined: versions that agree with tiktoken -> number of code points")
def lset(m,c):
    g=m.category(c); return g in ("Ll","Lm","Lo") or g[0]=="M"
res=collections.Counter()
for cp in range(0x800,0x110000):
    if 0xD800<=cp<0xE000: continue
    c=chr(cp)
    pred=[lset(vers[v],c) for v in order]
    if len(set(pred))>1:
        merged=enc.encode("a"+c)[0]>=256
        ok=[v for v,p in zip(order,pred) if p==merged]
        res[tuple(ok)]+=1
print(res)
