"""Writes the image decoding fixtures of tests/data/images/: small images saved by Pillow, and for
each, Pillow's np.asarray(Image.open(f).convert("RGB")) as <file>.npy (uint8, [h, w, 3]).
The HF Llama 4 processor opens images with Pillow and converts to RGB; scout's decoder must match it.

    python -m venv .venv-ref && .venv-ref/bin/pip install -r tools/reference/requirements-image.txt
    .venv-ref/bin/python tools/reference/make_image_fixtures.py
"""
import pathlib

import numpy as np
from PIL import Image

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "images"


def pattern(w, h, seed):
    """A smooth gradient plus noise: exercises chroma subsampling and the DCT."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) * 255 // (w + h)], -1)
    noise = rng.integers(-40, 41, size=(h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(pattern(37, 29, 1))  # odd sizes: partial MCUs
    rgb_big = Image.fromarray(pattern(64, 48, 2))
    gray = Image.fromarray(pattern(33, 21, 3)[..., 0])
    alpha = Image.fromarray(np.dstack([pattern(40, 30, 4), np.random.default_rng(5).integers(0, 256, (30, 40), dtype=np.uint8)]))
    files = {
        "jpeg_420_odd.jpg": lambda p: rgb.save(p, quality=85, subsampling=2),
        "jpeg_444.jpg": lambda p: rgb_big.save(p, quality=90, subsampling=0),
        "jpeg_422.jpg": lambda p: rgb.save(p, quality=75, subsampling=1),
        "jpeg_gray.jpg": lambda p: gray.save(p, quality=80),
        "jpeg_progressive.jpg": lambda p: rgb.save(p, quality=80, progressive=True),
        "jpeg_cmyk.jpg": lambda p: Image.fromarray(np.dstack([pattern(27, 19, 10), pattern(27, 19, 11)[..., 0]]), "CMYK").save(p, quality=85),
        "png_rgb.png": lambda p: rgb.save(p),
        "png_rgba.png": lambda p: alpha.save(p),
        "png_gray.png": lambda p: gray.save(p),
        "png_gray_alpha.png": lambda p: alpha.convert("LA").save(p),
        "png_palette.png": lambda p: rgb.quantize(37).save(p),
        "png_palette_trns.png": lambda p: rgb.quantize(16).save(p, transparency=3),
        "png_1bit.png": lambda p: gray.convert("1").save(p),
        "png_interlaced.png": lambda p: _interlaced(rgb, p),
        "png_rgb16.png": lambda p: _png16(p, 6, 4),
        "png_gray_alpha16.png": lambda p: _png16(p, 4, 2),
        "png_gray16.png": lambda p: Image.fromarray((pattern(30, 20, 6)[..., 0].astype(np.uint16) * 257 // 3)).save(p),
        "png_gray16_low.png": lambda p: Image.fromarray(pattern(30, 20, 7)[..., 1].astype(np.uint16)).save(p),
        "bmp_24.bmp": lambda p: rgb.save(p),
        "bmp_32.bmp": lambda p: _bmp32(p),
        "bmp_8.bmp": lambda p: rgb.quantize(50).save(p),
        "gif_palette.gif": lambda p: rgb.quantize(64).save(p),
        "gif_gray.gif": lambda p: gray.save(p),
        "gif_transparency.gif": lambda p: rgb.quantize(20).save(p, transparency=5),
        "gif_interlaced.gif": lambda p: rgb_big.quantize(100).save(p, interlace=True),
        "webp_lossy.webp": lambda p: rgb.save(p, quality=80),
        "webp_lossy_big.webp": lambda p: rgb_big.save(p, quality=60),
        "webp_lossless.webp": lambda p: rgb.save(p, lossless=True),
        "webp_alpha.webp": lambda p: alpha.save(p, quality=80),
    }
    for name, save in files.items():
        path = OUT / name
        save(path)
        arr = np.asarray(Image.open(path).convert("RGB"))
        assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3
        np.save(OUT / (name + ".npy"), arr)
        print(name, Image.open(path).mode, arr.shape)


def _interlaced(img, path):
    # Pillow cannot write interlaced PNG; write the file with the zlib-level encoder of our own.
    import struct, zlib
    a = np.asarray(img)
    h, w, _ = a.shape
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = a[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for row in sub:
            raw += b"\0" + row.tobytes()
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    pathlib.Path(path).write_bytes(png)


def _png16(path, color_type, n_channels):
    # Pillow cannot write 16-bit RGBA / gray+alpha PNG; build it directly (random 16-bit samples).
    import struct, zlib
    rng = np.random.default_rng(8)
    h, w = 18, 26
    a = rng.integers(0, 65536, size=(h, w, n_channels), dtype=np.uint16).astype(">u2")
    raw = b"".join(b"\0" + a[y].tobytes() for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    pathlib.Path(path).write_bytes(png)


def _bmp32(path):
    Image.fromarray(np.dstack([pattern(21, 13, 9), np.full((13, 21), 77, np.uint8)])).save(path, format="BMP")


if __name__ == "__main__":
    main()
