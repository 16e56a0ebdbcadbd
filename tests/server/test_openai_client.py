"""The real `scout serve` on the demo model (random weights, real vocabulary), driven by the
official openai client and by raw sockets for hostile input. Greedy decoding makes outputs
comparable across runs, concurrency and prefix reuse."""
import concurrent.futures as cf
import http.client
import json
import socket
import subprocess
import time
import urllib.request

import pytest

CHAT = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name three rivers."}]


KV_IN_USE = 'scout_kv_bytes_in_use{kv_type="f16"}'  # the server fixture runs at the default KV type


def metrics(server):
    text = urllib.request.urlopen(server.base + "/metrics", timeout=30).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def wait_idle(server, timeout=20):
    """Waits until no sequence runs and no KV memory is held by running sequences."""
    deadline = time.time() + timeout
    m = metrics(server)
    while time.time() < deadline:
        m = metrics(server)
        if m["scout_running_sequences"] == 0 and m[KV_IN_USE] == 0 and m["scout_queue_depth"] == 0:
            return m
        time.sleep(0.1)
    raise AssertionError(f"server not idle: {m}")


def post(server, path, body, headers=None):
    """Raw POST (bytes or JSON-able); returns (status, parsed JSON body or raw text)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("POST", path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    try:
        return r.status, json.loads(raw)
    except ValueError:
        return r.status, raw.decode(errors="replace")


def assert_error_shape(body, param=None):
    assert set(body) == {"error"}
    e = body["error"]
    assert set(e) == {"message", "type", "param", "code"}
    assert isinstance(e["message"], str) and e["message"]
    if param is not None:
        assert e["param"] == param


def chat_text(client, messages, n=8, **kw):
    r = client.chat.completions.create(model="x", messages=messages, max_tokens=n, temperature=0, **kw)
    return r.choices[0].message.content, r


def stream_chat(client, messages, n=8, **kw):
    parts, usage, finish = [], None, None
    for ch in client.chat.completions.create(model="x", messages=messages, max_tokens=n, temperature=0, stream=True, **kw):
        if ch.usage:
            usage = ch.usage
        for c in ch.choices:
            if c.delta.content:
                parts.append(c.delta.content)
            if c.finish_reason:
                finish = c.finish_reason
    return "".join(parts), usage, finish


# --- layer 1: endpoints, non-streaming ----------------------------------------------------------

def test_health_and_models(server, client):
    assert json.loads(urllib.request.urlopen(server.base + "/health").read()) == {"status": "ok"}
    models = client.models.list()
    assert [m.id for m in models.data] == ["server-demo-model"]


def test_chat_non_streaming_usage(client):
    text, r = chat_text(client, CHAT, n=6)
    assert r.object == "chat.completion"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].finish_reason in ("length", "stop")
    u = r.usage
    assert u.prompt_tokens > 10 and u.completion_tokens >= 1
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    if r.choices[0].finish_reason == "length":
        assert u.completion_tokens == 6


def test_chat_streaming_equals_non_streaming(client):
    text, r = chat_text(client, CHAT, n=10)
    s_text, usage, finish = stream_chat(client, CHAT, n=10, stream_options={"include_usage": True})
    assert s_text == text
    assert finish == r.choices[0].finish_reason
    assert usage.completion_tokens == r.usage.completion_tokens
    assert usage.prompt_tokens == r.usage.prompt_tokens


def test_completions_stream_and_not(client):
    r = client.completions.create(model="x", prompt="The capital of France is", max_tokens=8, temperature=0)
    assert r.object == "text_completion"
    parts, usage = [], None
    for ch in client.completions.create(model="x", prompt="The capital of France is", max_tokens=8, temperature=0,
                                        stream=True, stream_options={"include_usage": True}):
        if ch.usage:
            usage = ch.usage
        parts.extend(c.text for c in ch.choices)
    assert "".join(parts) == r.choices[0].text
    assert usage.completion_tokens == r.usage.completion_tokens
    e = client.completions.create(model="x", prompt="Hello", max_tokens=3, temperature=0, echo=True)
    assert e.choices[0].text.startswith("Hello")


def test_greedy_equals_scout_run(server, scout_bin, demo_model, client):
    prompt = "Once upon a time"
    run = subprocess.run([str(scout_bin), "run", "-m", str(demo_model), "-p", prompt, "-n", "12", "--temp", "0", "-q",
                          "-t", "2"], capture_output=True, text=True, timeout=120, check=True)
    r = client.completions.create(model="x", prompt=prompt, max_tokens=12, temperature=0)
    assert run.stdout == prompt + r.choices[0].text + "\n"


def test_stop_sequences(client):
    full = client.completions.create(model="x", prompt="Lists:", max_tokens=16, temperature=0).choices[0].text
    assert len(full) > 6
    stop = full[3:6]
    r = client.completions.create(model="x", prompt="Lists:", max_tokens=16, temperature=0, stop=[stop, "\u2603never"])
    assert r.choices[0].text == full[:full.index(stop)]
    assert r.choices[0].finish_reason == "stop"
    s = "".join(c.choices[0].text for c in client.completions.create(
        model="x", prompt="Lists:", max_tokens=16, temperature=0, stop=stop, stream=True) if c.choices)
    assert s == r.choices[0].text


def test_seed_reproducibility(client):
    kw = dict(model="x", messages=CHAT, max_tokens=12, temperature=1.0, top_p=1.0)
    a = client.chat.completions.create(seed=7, **kw).choices[0].message.content
    b = client.chat.completions.create(seed=7, **kw).choices[0].message.content
    c = client.chat.completions.create(seed=8, **kw).choices[0].message.content
    assert a == b
    assert a != c  # 12 tokens from a 202k vocabulary at temperature 1


def test_logprobs(client):
    r = client.chat.completions.create(model="x", messages=CHAT, max_tokens=5, temperature=0, logprobs=True, top_logprobs=3)
    lp = r.choices[0].logprobs.content
    assert len(lp) == r.usage.completion_tokens
    for t in lp:
        assert len(t.top_logprobs) == 3
        assert t.logprob <= 0
        # Greedy: the chosen token is the most likely one.
        assert abs(t.top_logprobs[0].logprob - t.logprob) < 1e-5
    c = client.completions.create(model="x", prompt="Hi", max_tokens=3, temperature=0, logprobs=2)
    assert len(c.choices[0].logprobs.tokens) == c.usage.completion_tokens


def test_penalties_accepted(client):
    r = client.chat.completions.create(model="x", messages=CHAT, max_completion_tokens=4, presence_penalty=1.5,
                                       frequency_penalty=0.5, temperature=0)
    assert r.usage.completion_tokens <= 4


# --- tools ----------------------------------------------------------------------------------------

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather of a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                           "required": ["city"]}}}]


def test_tools_round_trip(client):
    # The tools go into the prompt (a longer prompt than without them).
    _, plain = chat_text(client, CHAT, n=2)
    _, with_tools = chat_text(client, CHAT, n=2, tools=TOOLS)
    assert with_tools.usage.prompt_tokens > plain.usage.prompt_tokens + 50
    _, none = chat_text(client, CHAT, n=2, tools=TOOLS, tool_choice="none")
    assert none.usage.prompt_tokens == plain.usage.prompt_tokens
    # A conversation carrying an assistant tool call and the tool's answer is accepted, in both
    # streaming and non-streaming form (the random model's reply is not a call).
    convo = CHAT + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temperature\": 21}"},
    ]
    text, r = chat_text(client, convo, n=4, tools=TOOLS)
    assert r.choices[0].finish_reason in ("length", "stop", "tool_calls")
    s_text, _, _ = stream_chat(client, convo, n=4, tools=TOOLS)
    assert s_text == (text or "")


# --- concurrency ------------------------------------------------------------------------------------

def test_16_concurrent_streams_equal_alone(client, server):
    convos = [[{"role": "user", "content": f"Tell me about the number {i}."}] for i in range(16)]
    alone = [chat_text(client, c, n=8)[0] for c in convos]
    with cf.ThreadPoolExecutor(16) as ex:
        together = list(ex.map(lambda c: stream_chat(client, c, n=8)[0], convos))
    assert together == alone
    wait_idle(server)


# --- prefix reuse -------------------------------------------------------------------------------------

def test_prefix_reuse_second_turn(client, server, cold_server):
    from openai import OpenAI
    long_system = "You are a careful assistant. " * 40  # a few hundred tokens, several 64-token chunks
    turn1 = [{"role": "system", "content": long_system}, {"role": "user", "content": "What is a prime number?"}]
    reply, r1 = chat_text(client, turn1, n=6)
    p1 = r1.usage.prompt_tokens
    turn2 = turn1 + [{"role": "assistant", "content": reply}, {"role": "user", "content": "And a composite one?"}]
    before = metrics(server)
    text2, r2 = chat_text(client, turn2, n=6)
    after = metrics(server)
    p2 = r2.usage.prompt_tokens
    computed = after["scout_prompt_tokens_computed_total"] - before["scout_prompt_tokens_computed_total"]
    reused = after["scout_prompt_tokens_reused_total"] - before["scout_prompt_tokens_reused_total"]
    assert computed + reused == p2
    assert r2.usage.prompt_tokens_details.cached_tokens == reused
    chunk = 64  # the demo model's attention_chunk_size
    # Turn 2 repeats turn 1's prompt exactly; after it, everything counts as new.
    assert reused >= p1 - chunk
    assert computed <= (p2 - p1) + chunk
    # The same output as a cold run on a fresh server.
    cold = OpenAI(base_url=cold_server.base + "/v1", api_key="sekrit-key", max_retries=0, timeout=120)
    cold_text, cold_r = chat_text(cold, turn2, n=6)
    assert cold_r.usage.prompt_tokens_details.cached_tokens == 0
    assert cold_text == text2


def test_api_key(cold_server):
    status, body = post(cold_server, "/v1/chat/completions", {"messages": CHAT, "max_tokens": 1})
    assert status == 401
    assert_error_shape(body)
    status, body = post(cold_server, "/v1/chat/completions", {"messages": CHAT, "max_tokens": 1},
                        {"Authorization": "Bearer wrong-key!"})
    assert status == 401
    status, body = post(cold_server, "/v1/chat/completions", {"messages": CHAT, "max_tokens": 1},
                        {"Authorization": "Bearer sekrit-key"})
    assert status == 200
    assert urllib.request.urlopen(cold_server.base + "/health").status == 200


def test_queue_full_429(cold_server):
    """One slot and a queue of one: of four simultaneous long requests, two are refused with 429."""
    auth = {"Authorization": "Bearer sekrit-key"}
    # Long enough (~2 s on a fast build) that the first is still running when the others arrive.
    body = {"messages": CHAT, "max_tokens": 500, "temperature": 0}
    with cf.ThreadPoolExecutor(4) as ex:
        first = ex.submit(post, cold_server, "/v1/chat/completions", body, auth)
        time.sleep(0.1)  # the first is running; the next one waits, the others find the queue full
        rest = [ex.submit(post, cold_server, "/v1/chat/completions", body, auth) for _ in range(3)]
        results = [first.result()] + [f.result() for f in rest]
    statuses = sorted(s for s, _ in results)
    assert statuses == [200, 200, 429, 429], statuses
    for s, b in results:
        if s == 429:
            assert_error_shape(b)
            assert b["error"]["code"] == "queue_full"


# --- hostile input -------------------------------------------------------------------------------------

def test_malformed_json(server):
    for body in [b"", b"{", b"[1,2]", b"{\"messages\": [}", b"null", b"\x00\x01\x02"]:
        status, r = post(server, "/v1/chat/completions", body)
        assert status == 400, body
        assert_error_shape(r)
        assert r["error"]["type"] == "invalid_request_error"


def test_wrong_types(server):
    cases = {"temperature": "hot", "max_tokens": "5", "stop": 7, "stream": "yes", "seed": 1.5, "top_p": -1,
             "messages": "hello", "n": 3, "tools": "none"}
    for field, value in cases.items():
        body = {"messages": CHAT, "max_tokens": 1, field: value}
        status, r = post(server, "/v1/chat/completions", body)
        assert status == 400, field
        assert_error_shape(r, param=field)


def test_deep_nesting(server):
    deep = b"[" * 300000 + b"]" * 300000
    for body in [b'{"messages":[{"role":"user","content":' + deep + b'}],"max_tokens":1}',
                 b'{"messages":[{"role":"user","content":"hi"}],"max_tokens":1,"x":' + deep + b'}', b"[" * 900000]:
        status, r = post(server, "/v1/chat/completions", body)
        assert status == 400
        assert_error_shape(r)
    assert server.alive()


def test_deep_nesting_inside_tool_call_arguments(server):
    """Issue 19's crash: the body nests 5 levels, but an assistant tool call's arguments string
    holds 20,000 nested "[" (about 40 KB), which was parsed and rendered without a limit."""
    args = "[" * 20000 + "]" * 20000
    body = {"messages": [{"role": "user", "content": "hi"},
                         {"role": "assistant", "content": "", "tool_calls": [
                             {"id": "c1", "type": "function", "function": {"name": "f", "arguments": args}}]},
                         {"role": "tool", "tool_call_id": "c1", "content": "ok"}],
            "max_tokens": 1}
    status, r = post(server, "/v1/chat/completions", body)
    assert status == 400
    assert_error_shape(r, param="messages")
    assert "deeper than 64" in r["error"]["message"]
    assert server.alive()
    status, r = post(server, "/v1/chat/completions", {"messages": CHAT, "max_tokens": 1})
    assert status == 200


def test_unknown_fields_are_ignored(server):
    status, r = post(server, "/v1/chat/completions",
                     {"messages": CHAT, "max_tokens": 1, "user": "me", "x_vendor": {"nested": [1, 2]}, "metadata": None})
    assert status == 200 and r["choices"][0]["message"]["role"] == "assistant"


def test_huge_body_413(server):
    big = {"messages": [{"role": "user", "content": "a" * (2 << 20)}]}  # over the 1 MiB limit of this server
    status, r = post(server, "/v1/chat/completions", big)
    assert status == 413
    assert_error_shape(r)
    assert server.alive()


def test_prompt_beyond_context_400(server, client):
    status, r = post(server, "/v1/completions", {"prompt": "hello " * 3000, "max_tokens": 4})
    assert status == 400
    assert_error_shape(r)
    assert r["error"]["code"] == "context_length_exceeded"
    status, r = post(server, "/v1/completions", {"prompt": "hello", "max_tokens": 5000})
    assert status == 400 and r["error"]["param"] == "max_tokens"


def test_invalid_utf8(server):
    body = b'{"messages": [{"role": "user", "content": "caf\xc3\x28 \xff"}], "max_tokens": 1}'
    status, r = post(server, "/v1/chat/completions", body)
    assert status == 400
    assert_error_shape(r)


def test_unknown_endpoint_404(server):
    try:
        urllib.request.urlopen(server.base + "/v1/nothing")
        raise AssertionError("no error")
    except urllib.error.HTTPError as e:
        assert e.code == 404
        assert_error_shape(json.loads(e.read()))


def raw_request(server, body):
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def test_byte_at_a_time_client(server):
    body = json.dumps({"messages": CHAT, "max_tokens": 2, "temperature": 0}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in raw_request(server, body):
            s.sendall(bytes([b]))
            time.sleep(0.001)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert json.loads(payload)["object"] == "chat.completion"


def test_abrupt_disconnects_mid_stream(server, client):
    body = json.dumps({"messages": CHAT, "max_tokens": 400, "temperature": 0, "stream": True}).encode()
    socks = []
    for _ in range(4):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=60)
        s.sendall(raw_request(server, body))
        socks.append(s)
    for s in socks:
        got = b""
        while got.count(b"data: ") < 2:  # the stream has started generating
            got += s.recv(4096)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
        s.close()
    m = wait_idle(server, timeout=30)
    assert m["scout_generations_cancelled_total"] >= 4
    # Still serving.
    text, r = chat_text(client, CHAT, n=3)
    assert r.usage.completion_tokens >= 1
    wait_idle(server)


def test_disconnect_during_non_streaming_request(server):
    """A non-streaming reply longer than a second is sent as a body that starts with spaces; those
    writes notice the client is gone and the sequence is cancelled long before its 1,800 tokens
    (several seconds even with fast kernels; the demo model does not stop on its own)."""
    before = wait_idle(server)["scout_generations_cancelled_total"]
    body = json.dumps({"messages": CHAT, "max_tokens": 1800, "temperature": 0}).encode()
    s = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    s.sendall(raw_request(server, body))
    time.sleep(2.5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    t0 = time.time()
    m = wait_idle(server, timeout=8)
    assert m["scout_generations_cancelled_total"] == before + 1
    assert time.time() - t0 < 8


def test_long_non_streaming_reply_is_valid_json(server, client):
    # Longer than a second: leading keep-alive spaces, still parsed by the client.
    text, r = chat_text(client, CHAT, n=80)
    assert r.usage.completion_tokens >= 1


def test_long_prompt_streams_through_keepalives(server, client):
    # A prompt that takes seconds to prefill: the stream carries SSE comments meanwhile.
    convo = [{"role": "user", "content": "word " * 1500}]
    s_text, usage, _ = stream_chat(client, convo, n=4, stream_options={"include_usage": True})
    text, r = chat_text(client, convo, n=4)
    assert s_text == text
    assert r.usage.prompt_tokens_details.cached_tokens > 1400  # the second run reused the first's KV


def test_kv_in_use_returns_to_zero(server):
    m = wait_idle(server)
    assert m[KV_IN_USE] == 0
    assert server.alive()


def test_kv_metrics_with_a_global_kv_type(scout_bin, demo_model, server):
    # --kv-type-global q8_0: the KV series carry both types; the global layers' bytes per token are
    # q8_0 rows (34 bytes per 32 values), the chunk rings stay f16 as on the default server.
    from conftest import Server
    s = Server(scout_bin, demo_model, "--parallel", "1", "--ctx", "256", "-t", "1", "--kv-type-global", "q8_0")
    try:
        assert "kv f16 (chunked), q8_0 (global)" in s.banner
        m = metrics(s)
        label = '{kv_type="f16",kv_type_global="q8_0"}'
        f16 = metrics(server)
        per_token_f16 = f16['scout_kv_bytes_per_token{kv_type="f16"}']
        assert m['scout_kv_bytes_per_token' + label] == per_token_f16 / 2 / 32 * 34
        assert m['scout_kv_chunk_ring_bytes' + label] == f16['scout_kv_chunk_ring_bytes{kv_type="f16"}']
        assert m['scout_kv_bytes_in_use' + label] == 0
        assert not any(k.startswith('scout_kv_bytes_per_token{kv_type="f16"}') for k in m)
        assert "kv " not in server.banner  # one type: the banner as before
    finally:
        s.stop()
    assert s.proc.returncode == 0


def test_kv_metrics_name_the_kv_type(server):
    # The server runs at the default KV type (f16): every KV figure carries it as a label, and the
    # per-token size is what f16 rows of the model's global layers take (2 bytes per element).
    m = metrics(server)
    per_token = m['scout_kv_bytes_per_token{kv_type="f16"}']
    assert per_token > 0 and per_token % 2 == 0
    assert 'scout_kv_bytes_cached{kv_type="f16"}' in m
    assert m['scout_kv_chunk_ring_bytes{kv_type="f16"}'] >= 0


def test_shutdown_with_streams_in_flight(scout_bin, demo_model):
    """SIGTERM while a long stream runs: the stream ends and the server exits 0 within seconds."""
    from conftest import Server
    s = Server(scout_bin, demo_model, "--parallel", "2", "--ctx", "4096", "-t", "2")
    try:
        body = json.dumps({"messages": CHAT, "max_tokens": 3000, "temperature": 0, "stream": True}).encode()
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=30)
        sock.sendall(raw_request(s, body))
        got = b""
        while got.count(b"data: ") < 3:
            got += sock.recv(4096)
        t0 = time.time()
        s.proc.terminate()
        s.proc.wait(timeout=15)
        assert s.proc.returncode == 0
        assert time.time() - t0 < 10
        while True:  # the response ends (an error chunk, then the connection closes)
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        sock.close()
        assert b"shutting down" in got
    finally:
        s.stop()


def test_completions_stream_cut_by_shutdown_says_why(scout_bin, demo_model):
    """A /v1/completions stream ended by SIGTERM ends with an error that gives a reason (it was
    "generation failed: " with nothing after it)."""
    from conftest import Server
    s = Server(scout_bin, demo_model, "--parallel", "1", "--ctx", "4096", "-t", "2")
    try:
        body = json.dumps({"prompt": "Once upon a time", "max_tokens": 3000, "temperature": 0, "stream": True}).encode()
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=30)
        sock.sendall((f"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
        got = b""
        while got.count(b"data: ") < 3:
            got += sock.recv(4096)
        s.proc.terminate()
        s.proc.wait(timeout=15)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        sock.close()
        assert b"shutting down" in got
        assert b"generation failed: \"" not in got
    finally:
        s.stop()


def test_port_taken_refuses_to_start(scout_bin, demo_model, server):
    """A second server on a port in use fails to start with a clear error (no SO_REUSEPORT, with
    which both would listen and the kernel would split the traffic)."""
    r = subprocess.run([str(scout_bin), "serve", "-m", str(demo_model), "--host", "127.0.0.1", "--port",
                        str(server.port), "-q", "-t", "1"], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "cannot listen on 127.0.0.1:" in r.stderr
    assert "listening on" not in r.stderr
    status, _ = post(server, "/v1/chat/completions", {"messages": CHAT, "max_tokens": 1})
    assert status == 200


def test_kv_budget_admission(scout_bin, demo_model, server):
    """--kv-budget (issue 17): requests are admitted by the KV their prompt + max_tokens can reach.
    A request that could never fit is a 400 naming the budget; the others all run (waiting for
    room while the budget is taken), and /metrics reports the budget and what running requests
    reserve."""
    from conftest import Server
    per_token = metrics(server)[f'scout_kv_bytes_per_token{{kv_type="f16"}}']
    budget = int(per_token * 1024)  # global-layer KV of 1,024 positions (pages of 256), rings aside
    s = Server(scout_bin, demo_model, "--parallel", "4", "--ctx", "4096", "-t", "1", "--kv-budget", str(budget))
    try:
        status, body = post(s, "/v1/completions", {"prompt": "hello", "max_tokens": 3000})
        assert status == 400, body
        assert_error_shape(body, "max_tokens")
        assert "KV budget" in body["error"]["message"] and body["error"]["code"] == "kv_budget_exceeded"
        m = metrics(s)
        assert m['scout_kv_budget_bytes{kv_type="f16"}'] == budget
        with cf.ThreadPoolExecutor(4) as ex:
            outs = list(ex.map(lambda i: post(s, "/v1/completions", {"prompt": f"story {i}", "max_tokens": 40, "seed": i}),
                               range(4)))
        for status, body in outs:
            assert status == 200, body
            assert body["usage"]["completion_tokens"] == 40
        assert metrics(s)['scout_kv_bytes_reserved{kv_type="f16"}'] == 0
    finally:
        s.stop()
