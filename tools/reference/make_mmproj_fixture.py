#!/usr/bin/env python3
"""An mmproj GGUF made by llama.cpp's own converter (convert_hf_to_gguf.py --mmproj), for scout's
mmproj reader to be checked against (tests/model/test_mmproj.cpp).

Usage:
  python tools/reference/make_mmproj_fixture.py LLAMA_CPP_DIR CHECKPOINT_DIR OUT.gguf [--outtype f32|f16|bf16|q8_0]

LLAMA_CPP_DIR is the llama.cpp source vendored in the pinned llama-cpp-python sdist
(tools/reference/requirements-llamacpp.txt: `pip download --no-deps --no-binary :all:
llama-cpp-python==0.3.36`, then its vendor/llama.cpp); its gguf-py is used, and torch must be
importable (tools/reference/requirements-model.txt).

One adjustment, to names only: the converter maps the adapter's `vision_adapter.mlp.fc{1,2}` to
`mm.model.mlp.{1,2}` through its per-block name table, which has as many blocks as the tower has
layers; a tower of fewer than three layers (the tiny fixtures have two) would leave `fc2`
unmapped, so the table is built for at least three. Tensor values and keys are the converter's.
"""

import runpy
import sys
from pathlib import Path


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    llama_cpp, checkpoint, out = (Path(a) for a in sys.argv[1:4])
    extra = sys.argv[4:]
    sys.path.insert(0, str(llama_cpp / "gguf-py"))
    sys.path.insert(0, str(llama_cpp))
    import gguf

    original = gguf.get_tensor_name_map
    gguf.get_tensor_name_map = lambda arch, n_blocks: original(arch, max(n_blocks, 3))
    sys.argv = ["convert_hf_to_gguf.py", str(checkpoint), "--mmproj", "--outfile", str(out), *extra]
    runpy.run_path(str(llama_cpp / "convert_hf_to_gguf.py"), run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
