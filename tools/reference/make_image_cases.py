"""Adds image cases to the tiny multimodal fixture (tests/data/models/tiny_multimodal_f32): two
image files, a preprocessor_config.json for its 28x28 tiles, and the logits transformers'
Llama4ForConditionalGeneration gives for prompts holding one image, two images of different tile
grids, and images between text turns, each image run through HF's Llama4ImageProcessor from the
file. tests/model/test_vision_encoder.cpp repeats the whole path (file -> processor -> encoder ->
text model) and compares.

The tiny vocabulary has no Llama 4 special tokens, so the image blocks use stand-ins with the real
layout (llama4-spec.md §4.2): <|image_start|>=253, <|image_end|>=254, <|patch|>=255 (the
config's image_token_index), <|tile_x_separator|>=250, <|tile_y_separator|>=251, <|image|>=252.

    .venv-proc/bin/python tools/reference/make_image_cases.py   (requirements-processor.txt)
"""
import json
import pathlib

import numpy as np
import torch
import transformers
from PIL import Image
from transformers import Llama4ForConditionalGeneration
from transformers.models.llama4.image_processing_llama4 import Llama4ImageProcessor

FIX = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "models" / "tiny_multimodal_f32"
START, END, PATCH, TILE_X, TILE_Y, IMAGE = 253, 254, 255, 250, 251, 252
TILE, MAX_TILES = 28, 4


def image_block(rows, cols, tokens_per_tile):
    t = [START]
    if rows * cols > 1:
        for _ in range(rows):
            for c in range(cols):
                t += [PATCH] * tokens_per_tile
                if c < cols - 1:
                    t.append(TILE_X)
            t.append(TILE_Y)
    t += [IMAGE] + [PATCH] * tokens_per_tile + [END]
    return t


def main():
    model = Llama4ForConditionalGeneration.from_pretrained(str(FIX), dtype=torch.float32, attn_implementation="eager")
    model.eval()
    proc = Llama4ImageProcessor(size={"height": TILE, "width": TILE}, max_patches=MAX_TILES)
    proc.save_pretrained(str(FIX))
    (FIX / "images").mkdir(exist_ok=True)
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:25, 0:61]
    wide = np.stack([x * 4, y * 10, (x * y) % 256], -1) + rng.integers(0, 30, (25, 61, 3))
    Image.fromarray(np.clip(wide, 0, 255).astype(np.uint8)).save(FIX / "images" / "wide.png")
    y, x = np.mgrid[0:70, 0:33]
    tall = np.stack([255 - y * 3, x * 7, np.where((x // 5 + y // 5) % 2 == 0, 40, 210)], -1)
    rgba = np.dstack([tall, (np.arange(70 * 33).reshape(70, 33) * 3) % 256]).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(FIX / "images" / "tall_rgba.png")

    per_tile = (TILE // model.config.vision_config.patch_size) ** 2 // 4
    g = torch.Generator().manual_seed(99)

    def text(n):
        return torch.randint(0, 250, (n,), generator=g).tolist()

    def run(name, parts):
        tokens, images = [], []
        for p in parts:
            if isinstance(p, str):
                out = proc(images=[Image.open(FIX / "images" / p)], return_tensors="pt")
                rows, cols = (int(v) for v in out["aspect_ratios"][0])
                tokens += image_block(rows, cols, per_tile)
                images.append({"file": p, "rows": rows, "cols": cols, "pixel_values": out["pixel_values"].float()})
            else:
                tokens += p
        pixels = torch.cat([im.pop("pixel_values") for im in images])
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([tokens]), pixel_values=pixels, use_cache=False).logits[0].float()
        np.save(FIX / "reference" / f"image_logits_{name}.npy", logits.numpy())
        return {"name": name, "tokens": tokens, "images": images, "file": f"image_logits_{name}.npy"}

    cases = [
        run("one_image", [text(3), "wide.png", text(4)]),
        run("two_images", [text(2), "wide.png", "tall_rgba.png", text(5)]),
        run("between_turns", [text(4), "tall_rgba.png", text(6), "wide.png", text(3)]),
    ]
    for c in cases:
        print(c["name"], len(c["tokens"]), [(i["file"], i["rows"], i["cols"]) for i in c["images"]])
    meta = {
        "generator": "tools/reference/make_image_cases.py",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "tile": TILE,
        "max_tiles": MAX_TILES,
        "cases": cases,
    }
    (FIX / "reference" / "image_cases.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
