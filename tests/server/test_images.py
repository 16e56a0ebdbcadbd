"""Images through `scout serve` and the official openai client (docs/images.md): image_url parts
with base64 data URLs are answered on a multimodal checkpoint (the vision demo model), two
different pictures never share KV, and bad images are a 400 naming the problem while the server
keeps serving. A text-only server refuses images."""
import base64
import struct
import zlib

import openai
import pytest

from conftest import REPO

IMAGES = REPO / "tests" / "data" / "images"


@pytest.fixture()
def vclient(vision_server):
    return openai.OpenAI(base_url=vision_server.base + "/v1", api_key="unused", max_retries=0, timeout=120)


def data_url(data: bytes, mime="image/png"):
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def ask(client, url, text="What is in this picture?", **kw):
    return client.chat.completions.create(
        model="scout", max_tokens=8, temperature=0,
        messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                               {"type": "text", "text": text}]}], **kw)


def test_an_image_gets_an_answer(vclient):
    r = ask(vclient, data_url((IMAGES / "png_rgba.png").read_bytes()))
    assert r.choices[0].message.content
    assert r.choices[0].finish_reason == "length"
    # <|image_start|> <|image|> 144 x <|patch|> <|image_end|> is inside the prompt.
    assert r.usage.prompt_tokens > 147


def test_pictures_never_share_kv(vclient):
    a = data_url((IMAGES / "png_rgba.png").read_bytes())
    b = data_url((IMAGES / "jpeg_444.jpg").read_bytes(), "image/jpeg")
    first = ask(vclient, a).choices[0].message.content
    other = ask(vclient, b).choices[0].message.content
    again = ask(vclient, a).choices[0].message.content
    # Both are one tile, so the prompts have the same token ids: only the pixels differ.
    assert first != other, "two different pictures gave the same greedy reply"
    assert first == again, "the same picture after another one gave another reply (KV shared across pictures?)"
    # Streaming gives the same reply.
    chunks = ask(vclient, a, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == first


def bomb_png():
    """A PNG whose header says 30000 x 30000 (CRC fixed up), with the body of a small one."""
    b = bytearray((IMAGES / "png_rgb.png").read_bytes())
    b[16:24] = struct.pack(">II", 30000, 30000)
    b[29:33] = struct.pack(">I", zlib.crc32(bytes(b[12:29])))
    return bytes(b)


@pytest.mark.parametrize("url,expect", [
    ("https://example.com/cat.png", "data"),
    (data_url((IMAGES / "png_rgb.png").read_bytes()[:60]), "cannot be used"),
    (data_url(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), "PNG"),
    (data_url(bomb_png()), "30000x30000"),
    ("data:image/png;base64,@@@@", "base64"),
])
def test_bad_images_are_a_400_and_the_server_keeps_serving(vclient, url, expect):
    with pytest.raises(openai.BadRequestError) as e:
        ask(vclient, url)
    assert e.value.status_code == 400
    assert expect in e.value.message, e.value.message
    assert ask(vclient, data_url((IMAGES / "png_rgba.png").read_bytes())).choices[0].message.content


def test_an_image_without_its_pixels_is_refused(vclient):
    with pytest.raises(openai.BadRequestError) as e:
        vclient.chat.completions.create(model="scout", max_tokens=4, messages=[
            {"role": "user", "content": [{"type": "image", "width": 640, "height": 480}, {"type": "text", "text": "hi"}]}])
    assert "data URL" in e.value.message


def test_a_text_only_model_refuses_images(client):
    with pytest.raises(openai.BadRequestError) as e:
        ask(client, data_url((IMAGES / "png_rgba.png").read_bytes()))
    assert "text only" in e.value.message
