"""The server under hostile load on loopback (issue 19): slowloris connections, legitimate streams,
oversized and malformed requests, all at once, against the demo model. Each test starts its own
server with a short header deadline so the attackers are cut within the test's time."""
import concurrent.futures as cf
import json
import random
import socket
import time
import urllib.request

from conftest import Server
from hostile_clients import HealthProbe, Slowloris, read_response, rss_kb, stream_chat


def test_slowloris_with_streams_health_stays_fast(scout_bin, demo_model):
    """200 slowloris connections and 16 streams at once: /health answers within 100 ms at p99, the
    streams complete with the text each gives alone, and the slow connections are cut at the header
    deadline (2 s here) rather than held."""
    s = Server(scout_bin, demo_model, "--parallel", "4", "--ctx", "2048", "-t", "2", "--header-timeout", "2")
    try:
        prompts = [[{"role": "user", "content": f"Tell me about the number {i}."}] for i in range(16)]
        alone = [stream_chat(s.port, 24, p) for p in prompts[:4]]
        with Slowloris(s.port, 200) as slow, HealthProbe(s.port) as probe:
            time.sleep(1.0)  # every slow connection is open
            with cf.ThreadPoolExecutor(16) as ex:
                together = list(ex.map(lambda p: stream_chat(s.port, 24, p), prompts))
            time.sleep(max(0.0, 3.5 - 1.0))  # past the header deadline of the first connections
        assert together[:4] == alone
        assert all(together), "a stream came back empty"
        assert slow.closed_by_server >= 150, slow.closed_by_server  # cut at the deadline, not held
        assert len(probe.latencies) >= 20
        assert probe.p(0.99) < 0.1, sorted(probe.latencies)[-5:]
        assert s.alive()
    finally:
        s.stop()
    assert s.proc.returncode == 0


def test_soak_mixed_clients(scout_bin, demo_model):
    """About a minute of normal, slow, huge and malicious clients at once. Afterwards the greedy
    reference output is unchanged, no KV memory is held, and RSS is back within 64 MiB of what it
    was after the warm-up (limits: 1 MiB bodies, 16 KiB headers, 64 MiB of bodies in flight)."""
    s = Server(scout_bin, demo_model, "--parallel", "4", "--ctx", "2048", "-t", "2", "--header-timeout", "2",
               "--max-body-mb", "1")
    rng = random.Random(19)
    port = s.port
    reference = [{"role": "user", "content": "Name three rivers."}]

    def raw(data):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                c.sendall(data)
                return read_response(c)[0]
        except OSError:
            return None  # the server closed while we were still sending: allowed for the huge ones

    def expect(status, wanted):
        # None: the server answered and closed while we were still sending (our send failed first)
        assert status in (wanted, None), (status, wanted)
        return status

    def huge_body():
        body = json.dumps({"messages": reference, "user": "x" * (3 << 20)}).encode()
        return expect(raw(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body), 413)

    def huge_chunked():
        head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        return expect(raw(head + b"".join(b"10000\r\n" + b"a" * 0x10000 + b"\r\n" for _ in range(40))), 413)

    def huge_header():
        return expect(raw(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"), 431)

    def many_headers():
        return expect(raw(b"GET /health HTTP/1.1\r\n" + b"a: b\r\n" * 100000 + b"\r\n"), 431)

    def deep_json():
        args = "[" * 30000
        body = json.dumps({"messages": [{"role": "assistant", "content": None, "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": args}}]},
            {"role": "user", "content": "x"}]}).encode()
        status = raw(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        assert status == 400, status  # a small body: always read and answered
        return status

    def bad_framing():
        return expect(raw(rng.choice([b"POST /v1/completions HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                               b"GET / HTTP/9.9\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                               b"POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"])), 400)

    def quit_mid_stream():
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        body = json.dumps({"prompt": "Once upon a time", "max_tokens": 400, "stream": True}).encode()
        c.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        c.recv(4096)
        c.close()
        return 0

    def normal():
        return len(stream_chat(port, rng.randint(4, 48), [{"role": "user", "content": f"Count to {rng.randint(1, 99)}."}]))

    try:
        expected = stream_chat(port, 32, reference)
        for _ in range(3):  # warm-up: every kind once, so lazily built state is counted before the baseline
            huge_body(), huge_header(), deep_json(), normal()
        time.sleep(0.5)
        base_rss = rss_kb(s.proc.pid)
        kinds = [normal] * 6 + [huge_body, huge_chunked, huge_header, many_headers, deep_json, bad_framing,
                                bad_framing, quit_mid_stream]
        counts = {k.__name__: 0 for k in kinds}
        deadline = time.time() + 55
        with Slowloris(port, 100), cf.ThreadPoolExecutor(12) as ex:
            pending = set()
            while time.time() < deadline:
                while len(pending) < 12:
                    k = rng.choice(kinds)
                    counts[k.__name__] += 1
                    pending.add(ex.submit(k))
                done, pending = cf.wait(pending, timeout=1, return_when=cf.FIRST_COMPLETED)
                for f in done:
                    f.result()  # a client raising is a failure: normal streams must succeed
            for f in pending:
                f.result()
        assert s.alive()
        time.sleep(3)  # the slow connections reach their deadline; lingering closes end
        assert stream_chat(port, 32, reference) == expected
        text = urllib.request.urlopen(s.base + "/metrics", timeout=10).read().decode()
        in_use = [float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.startswith("scout_kv_bytes_in_use")]
        assert in_use and all(v == 0 for v in in_use), in_use
        end_rss = rss_kb(s.proc.pid)
        peak = rss_kb(s.proc.pid, "VmHWM")
        print(f"soak: {counts}; RSS {base_rss} -> {end_rss} KiB, peak {peak} KiB")
        assert end_rss - base_rss < 64 << 10, (base_rss, end_rss)
        assert counts["normal"] >= 20 and counts["huge_body"] >= 3
    finally:
        s.stop()
    assert s.proc.returncode == 0
