#!/usr/bin/env python3
"""Chat-format goldens: ids from Meta's ChatFormat (llama-models==0.3.0) and text from the
Hugging Face Llama 4 chat template (transformers==4.51.3, processing_llama4.py), for the OpenAI-style
conversations in conversations.json.

Writes tests/data/tokenizer/chat.jsonl: {"name", "messages", "ids", "hf_text"}.

Notes on the reference run:
- ChatFormat imports torch only for pixel tensors. torch/torchvision are not installed here; small
  stand-ins are put in sys.modules, and the image transform is replaced by one that returns a
  tensor stand-in of the right shape. Its tile choice reuses llama-models' own
  find_supported_resolutions and re-states get_best_fit in float32 (the torch dtype), so the
  token layout itself comes from the real ChatFormat._encode_image.
- Image parts carry the image size as "width"/"height" (a scout extension of the OpenAI format);
  the reference receives a real PNG of that size.
- Tool calls use ToolPromptFormat.json (the default). "arguments" may be a JSON string (OpenAI) or
  an object; both become the same dict.
- The HF template is rendered with jinja2 exactly as transformers does (ImmutableSandboxedEnvironment,
  trim_blocks, lstrip_blocks, its tojson override), with add_generation_prompt=True and the
  conversation's "tools" / "tools_in_user_message" when given (the ids ignore tools: ChatFormat has none).
  Its source is transformers-4.51.3's processing_llama4.py (pip download --no-deps transformers==4.51.3).

Usage: python make_chat_goldens.py TOKENIZER_MODEL TRANSFORMERS_WHEEL REPO_ROOT
"""
import io
import json
import re
import struct
import sys
import types
import zipfile
from pathlib import Path


class FakeTensor:
    def __init__(self, shape):
        self.shape = tuple(shape)

    def view(self, *shape):
        total = 1
        for s in self.shape:
            total *= s
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        return FakeTensor(tuple(total // known if s == -1 else s for s in shape))

    def unsqueeze(self, dim):
        assert dim == 0
        return FakeTensor((1,) + self.shape)


def install_torch_stand_ins():
    class Anything(types.ModuleType):
        def __getattr__(self, name):
            return Anything(name)

        def __call__(self, *a, **k):
            return Anything("call")

    torch = Anything("torch")
    torch.Tensor = FakeTensor
    torch.cat = lambda ts, dim=0: FakeTensor((sum(t.shape[0] for t in ts),) + ts[0].shape[1:])
    sys.modules["torch"] = torch
    tv = Anything("torchvision")
    sys.modules["torchvision"] = tv
    sys.modules["torchvision.transforms"] = Anything("torchvision.transforms")
    sys.modules["torchvision.transforms.functional"] = Anything("torchvision.transforms.functional")


install_torch_stand_ins()

from PIL import Image  # noqa: E402

from llama_models.datatypes import RawMediaItem, RawMessage, RawTextItem, StopReason, ToolCall  # noqa: E402
from llama_models.llama4.args import Size, VisionArgs  # noqa: E402
from llama_models.llama4.chat_format import ChatFormat  # noqa: E402
from llama_models.llama4.preprocess import VariableSizeImageTransform  # noqa: E402
from llama_models.llama4.tokenizer import Tokenizer  # noqa: E402

TILE = 336


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


class LayoutOnlyTransform(VariableSizeImageTransform):
    """VariableSizeImageTransform without pixels: same candidate canvases and best-fit rule."""

    def __call__(self, image, max_num_chunks, normalize_img=True, resize_to_max_canvas=False):
        w, h = image.size
        res = self.find_supported_resolutions(max_num_chunks=max_num_chunks, patch_size=self.size)
        # get_best_fit: column 0 is read as the width, column 1 as the height; float32 division.
        scales = [min(f32(f32(cw) / f32(w)), f32(f32(ch) / f32(h))) for cw, ch in res]
        up = [s for s in scales if s >= 1]
        sel = min(up) if up else max(s for s in scales if s < 1)
        cands = [r for r, s in zip(res, scales) if s == sel]
        best = min(cands, key=lambda r: r[0] * r[1])  # first minimum, like torch.argmin
        ratio_w, ratio_h = best[0] // self.size, best[1] // self.size
        return FakeTensor((ratio_w * ratio_h, 3, self.size, self.size)), (ratio_h, ratio_w)


def png_bytes(w, h):
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (120, 30, 200)).save(buf, format="PNG")
    return buf.getvalue()


def to_raw_content(content):
    if isinstance(content, str):
        return content
    items = []
    for part in content:
        if part["type"] == "text":
            items.append(RawTextItem(text=part["text"]))
        else:
            items.append(RawMediaItem(data=png_bytes(part["width"], part["height"])))
    return items


def to_raw_message(m):
    role = "tool" if m["role"] in ("tool", "ipython") else m["role"]
    calls = []
    for c in m.get("tool_calls", []):
        args = c["function"]["arguments"]
        if isinstance(args, str):
            args = json.loads(args)
        calls.append(ToolCall(call_id=c.get("id", ""), tool_name=c["function"]["name"], arguments=args))
    kw = {}
    if "stop_reason" in m:
        kw["stop_reason"] = StopReason(m["stop_reason"])
    if "context" in m:
        kw["context"] = m["context"]
    return RawMessage(role=role, content=to_raw_content(m["content"]), tool_calls=calls, **kw)


def hf_template(wheel):
    with zipfile.ZipFile(wheel) as z:
        src = z.read("transformers/models/llama4/processing_llama4.py").decode()
    m = re.search(r'^chat_template = (".*")$', src, re.M)
    return json.loads(m.group(1))


def hf_render(template, messages, tools=None, tools_in_user_message=None):
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    hf_messages = []
    for m in messages:
        m = dict(m)
        if "tool_calls" in m:
            m["tool_calls"] = [
                {"id": c.get("id"), "type": "function",
                 "function": {"name": c["function"]["name"],
                              "arguments": json.loads(c["function"]["arguments"])
                              if isinstance(c["function"]["arguments"], str) else c["function"]["arguments"]}}
                for c in m["tool_calls"]]
        hf_messages.append(m)
    extra = {}
    if tools is not None:
        extra["tools"] = tools
    if tools_in_user_message is not None:
        extra["tools_in_user_message"] = tools_in_user_message
    return env.from_string(template).render(messages=hf_messages, bos_token="<|begin_of_text|>",
                                            add_generation_prompt=True, **extra)


def main():
    model, wheel, root = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    tok = Tokenizer(Path(model))
    vision = VisionArgs(image_size=Size(height=TILE, width=TILE), patch_size=Size(height=14, width=14), dim=1408,
                        n_layers=34, n_heads=16, mlp_ratio=4.0, output_dim=4096, pixel_shuffle_ratio=0.5)
    fmt = ChatFormat(tok, vision_args=vision, max_num_chunks=16)
    fmt.dynamic_image_transform = LayoutOnlyTransform(TILE)
    fmt.image_transform = lambda image: FakeTensor((3, TILE, TILE))
    template = hf_template(wheel)
    convs = json.load(open(Path(__file__).with_name("conversations.json"), encoding="utf-8"))
    out = root / "tests/data/tokenizer/chat.jsonl"
    with open(out, "w", encoding="utf-8") as f:
        for conv in convs:
            msgs = [to_raw_message(m) for m in conv["messages"]]
            ids = fmt.encode_dialog_prompt(msgs).tokens
            text = hf_render(template, conv["messages"], conv.get("tools"), conv.get("tools_in_user_message"))
            rec = {"name": conv["name"], "messages": conv["messages"], "ids": ids, "hf_text": text}
            for key in ("tools", "tools_in_user_message"):
                if key in conv:
                    rec[key] = conv[key]
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"{len(convs)} conversations -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
