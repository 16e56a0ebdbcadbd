#!/usr/bin/env python3
"""Writes the Hugging Face tokenizer.json for Llama 4 with transformers' own converter
(TikTokenConverter, as convert_llama4_weights_to_hf.py uses it: o200k pattern, the 1,134 added
tokens 200000..201133), and checks that HF `tokenizers` gives the reference ids on the corpus.

The file is ~28 MB, so it is not committed. Used once to check scout's tokenizer.json loader:
`scout tokenize --tokenizer OUT_DIR ...` gives the same ids as with tokenizer.model on all goldens.

Usage: python make_hf_tokenizer_json.py TOKENIZER_MODEL OUT_DIR
Needs: tokenizers==0.21.1, huggingface-hub==0.30.2 and `pip install --no-deps transformers==4.51.3`.
"""
import json
import sys
from pathlib import Path

from llama_models.llama4.tokenizer import Tokenizer
from transformers.convert_slow_tokenizer import TikTokenConverter


def main():
    model, out_dir = sys.argv[1], Path(sys.argv[2])
    ref = Tokenizer(Path(model))
    names = [k for k, _ in sorted(ref.special_tokens.items(), key=lambda kv: kv[1])][:1134]
    tk = TikTokenConverter(vocab_file=model, pattern=ref.O200K_PATTERN, additional_special_tokens=names).converted()
    out_dir.mkdir(parents=True, exist_ok=True)
    tk.save(str(out_dir / "tokenizer.json"))
    corpus = Path(__file__).resolve().parents[3] / "tests/data/tokenizer/corpus.jsonl"
    docs = [json.loads(line) for line in open(corpus, encoding="utf-8")]
    bad = sum(tk.encode(d["text"], add_special_tokens=False).ids != d["ids"] for d in docs)
    print(f"{out_dir / 'tokenizer.json'}: HF tokenizers differs from the reference on {bad} of {len(docs)} documents")


if __name__ == "__main__":
    main()
