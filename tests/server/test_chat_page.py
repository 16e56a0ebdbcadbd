"""The chat page at `/` in headless Chromium (Debian's chromium package), driven over the DevTools
protocol: a message is sent, the reply streams in, markup in messages stays text, Stop aborts the
stream and the server cancels the sequence; a picture attached on a multimodal server is sent as a
data: URL and answered. Skipped without chromium."""
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

import pytest

from test_openai_client import metrics, wait_idle

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="scout-chromium-")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        self.port = None
        while time.time() < deadline and self.port is None:
            line = self.proc.stderr.readline()
            if not line:
                break
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
        if self.port is None:
            self.close()
            raise RuntimeError("chromium did not start")
        import websocket
        pages = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10).read())
        page = next(p for p in pages if p["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(msg["error"])
                return msg["result"]

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(r["exceptionDetails"])
        return r["result"].get("value")

    def wait_for(self, expr, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = self.js(expr)
            if v:
                return v
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expr}")

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture()
def browser():
    if not CHROMIUM:
        pytest.skip("chromium is not installed")
    pytest.importorskip("websocket")
    b = Browser()
    yield b
    b.close()


def test_chat_page_streams_and_stops(server, browser):
    html = urllib.request.urlopen(server.base + "/").read().decode()
    assert "<script" in html and "http://" not in html and "https://" not in html  # no external assets
    browser.call("Page.enable")
    browser.call("Page.navigate", url=server.base + "/")
    browser.wait_for("document.readyState === 'complete' && !!document.getElementById('q')")
    hostile = "<img src=x onerror=\"window.pwned=1\"> **bold** <script>window.pwned=2</script>"
    browser.js(f"document.getElementById('q').value = {json.dumps(hostile)};"
               "document.getElementById('f').requestSubmit(); true")
    # The user's message is shown as text, never parsed as markup.
    assert browser.wait_for("document.querySelector('.msg.user') && document.querySelector('.msg.user').textContent") == hostile
    assert browser.js("document.querySelectorAll('#log img, #log script').length") == 0
    # The reply streams in (several updates while the Stop button is enabled).
    browser.wait_for("document.querySelector('.msg.assistant').textContent.length > 0 && !document.getElementById('stop').disabled")
    first = browser.js("document.querySelector('.msg.assistant').textContent")
    browser.wait_for(f"document.querySelector('.msg.assistant').textContent.length > {len(first)}")
    before = metrics(server)["scout_generations_cancelled_total"]
    browser.js("document.getElementById('stop').click(); true")
    browser.wait_for("document.getElementById('stop').disabled && !document.getElementById('send').disabled")
    assert browser.js("window.pwned === undefined")
    assert browser.js("document.querySelectorAll('#log img, #log script').length") == 0
    m = wait_idle(server, timeout=30)
    assert m["scout_generations_cancelled_total"] >= before + 1


def test_chat_page_sends_a_picture(vision_server, browser):
    import base64
    from conftest import REPO
    png = base64.b64encode((REPO / "tests" / "data" / "images" / "png_rgba.png").read_bytes()).decode()
    browser.call("Page.enable")
    browser.call("Page.navigate", url=vision_server.base + "/")
    browser.wait_for("document.readyState === 'complete' && !!document.getElementById('img')")
    before = metrics(vision_server)["scout_prompt_tokens_total"]
    # What choosing a file does: the input's file list holds it.
    browser.js("const b = Uint8Array.from(atob(" + json.dumps(png) + "), c => c.charCodeAt(0));"
               "const dt = new DataTransfer(); dt.items.add(new File([b], 'photo.png', {type: 'image/png'}));"
               "document.getElementById('img').files = dt.files;"
               "document.getElementById('q').value = 'What is in this picture?';"
               "document.getElementById('f').requestSubmit(); true")
    assert browser.wait_for("document.querySelector('.msg.user') && document.querySelector('.msg.user').textContent") == \
        "[picture: photo.png]\nWhat is in this picture?"
    # The reply comes (no error bubble), and the input is cleared for the next message.
    browser.wait_for("!document.getElementById('send').disabled && document.querySelector('.msg.assistant').textContent.length > 0",
                     timeout=120)
    assert browser.js("document.querySelectorAll('.msg.error').length") == 0, browser.js("document.body.innerText")
    assert browser.js("document.getElementById('img').files.length") == 0
    # The picture went as an image_url part: the prompt holds its 147-token block.
    assert metrics(vision_server)["scout_prompt_tokens_total"] - before > 147
