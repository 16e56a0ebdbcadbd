#include "server/chat_page.hpp"

namespace scout::server {

// Markdown-safe: replies are inserted with textContent (never innerHTML), so model output
// cannot inject markup; code fences are shown as preformatted text by CSS (white-space: pre-wrap).
const std::string& chat_page_html() {
    static const std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>scout chat</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:50em;margin:0 auto;padding:1em;background:#fafafa}
#log{display:flex;flex-direction:column;gap:.6em;margin-bottom:1em}
.msg{white-space:pre-wrap;padding:.6em .8em;border-radius:.5em;overflow-wrap:anywhere}
.user{background:#dbeafe;align-self:flex-end}.assistant{background:#fff;border:1px solid #ddd}
.error{background:#fee2e2}
form{display:flex;gap:.5em}textarea{flex:1;min-height:3em;font:inherit}
</style></head><body>
<h1>scout</h1>
<div id="log"></div>
<form id="f"><textarea id="q" placeholder="Message (Enter to send, Shift+Enter for a new line)"></textarea>
<input id="img" type="file" accept="image/png,image/jpeg,image/gif" title="Attach a picture to the message (models with a vision tower)">
<input id="key" type="password" autocomplete="off" placeholder="API key (--api-key)" size="12">
<button id="send" type="submit">Send</button><button id="stop" type="button" disabled>Stop</button></form>
<script>
"use strict";
const log = document.getElementById("log"), q = document.getElementById("q");
const sendBtn = document.getElementById("send"), stopBtn = document.getElementById("stop");
const keyBox = document.getElementById("key");  // kept in the page only, sent as a Bearer token
const imgBox = document.getElementById("img");  // a picture for the next message, sent as a data: URL
const messages = [];
let controller = null;
function add(role, text) {
  const d = document.createElement("div");
  d.className = "msg " + role;
  d.textContent = text;
  log.appendChild(d);
  return d;
}
q.addEventListener("keydown", e => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); document.getElementById("f").requestSubmit(); } });
stopBtn.onclick = () => { if (controller) controller.abort(); };
document.getElementById("f").onsubmit = async e => {
  e.preventDefault();
  const text = q.value.trim();
  if (!text || controller) return;
  q.value = "";
  const file = imgBox.files.length ? imgBox.files[0] : null;
  let content = text;
  if (file) {
    const url = await new Promise((ok, fail) => {
      const fr = new FileReader();
      fr.onload = () => ok(fr.result); fr.onerror = () => fail(fr.error);
      fr.readAsDataURL(file);
    });
    content = [{type: "image_url", image_url: {url}}, {type: "text", text}];
    imgBox.value = "";
  }
  messages.push({role: "user", content});
  add("user", file ? "[picture: " + file.name + "]\n" + text : text);
  const out = add("assistant", "");
  controller = new AbortController();
  sendBtn.disabled = true; stopBtn.disabled = false;
  let reply = "";
  try {
    const r = await fetch("/v1/chat/completions", {method: "POST", signal: controller.signal,
      headers: Object.assign({"Content-Type": "application/json"},
        keyBox.value ? {"Authorization": "Bearer " + keyBox.value} : {}),
      body: JSON.stringify({messages, stream: true, max_tokens: 512})});
    if (!r.ok) throw new Error((await r.json()).error.message);
    const reader = r.body.getReader(), dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buf += dec.decode(value, {stream: true});
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const line = buf.slice(0, i); buf = buf.slice(i + 2);
        if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
        const j = JSON.parse(line.slice(6));
        if (j.error) throw new Error(j.error.message);
        const d = j.choices.length ? j.choices[0].delta : null;
        if (d && d.content) { reply += d.content; out.textContent = reply; }
      }
    }
  } catch (err) {
    if (err.name !== "AbortError") { out.className = "msg error"; out.textContent = reply + "\n[" + err.message + "]"; }
  }
  messages.push({role: "assistant", content: reply});
  controller = null; sendBtn.disabled = false; stopBtn.disabled = true;
};
</script></body></html>
)HTML";
    return page;
}

}  // namespace scout::server
