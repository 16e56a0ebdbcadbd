"""Clients for the server's load tests (test_hostile_load.py) and bench/server_hostile_load.py:
slowloris connections, /health probes, legitimate streams, raw responses' status, and the server's
memory from /proc."""
import http.client
import json
import socket
import threading
import time

CHAT = [{"role": "user", "content": "Tell me a story about a lighthouse."}]


def rss_kb(pid, field="VmRSS"):
    """VmRSS (now) or VmHWM (peak) of a process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


def read_response(sock, timeout=10):
    """The status code and raw bytes of the response on `sock`, read until its headers are in, the
    connection closes or `timeout` passes (status None when no status line came)."""
    sock.settimeout(timeout)
    got = b""
    try:
        while b"\r\n\r\n" not in got or not got.startswith(b"HTTP/1.1"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    status = int(got.split(b" ", 2)[1]) if got.startswith(b"HTTP/1.1 ") else None
    return status, got


class Background:
    """A client loop (`_run`, which returns once `_stop` is set) on its own thread for the span of
    a `with` block."""

    def __init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._closed()

    def _closed(self):
        pass


class Slowloris(Background):
    """`n` connections that each send a request line and then one header byte every `interval`
    seconds, never finishing the headers. A connection the server closes is opened again, so the
    pressure stays; `closed_by_server` counts those closes."""

    def __init__(self, port, n, interval=1.0):
        super().__init__()
        self.port, self.n, self.interval = port, n, interval
        self.socks = []
        self.closed_by_server = 0
        self.refused = 0

    def _open(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: ")
            s.setblocking(False)
            return s
        except OSError:
            self.refused += 1
            return None

    def _run(self):
        self.socks = [self._open() for _ in range(self.n)]
        while not self._stop.wait(self.interval):
            for i, s in enumerate(self.socks):
                try:
                    if s is None:
                        raise OSError
                    try:
                        if s.recv(4096) == b"":
                            raise OSError  # closed by the server
                    except BlockingIOError:
                        pass
                    s.send(b"a")
                except OSError:
                    if s is not None:
                        self.closed_by_server += 1
                        s.close()
                    self.socks[i] = self._open()

    def _closed(self):
        for s in self.socks:
            if s is not None:
                s.close()


class HealthProbe(Background):
    """GET /health on a new connection every `period` seconds; `latencies` in seconds (a failed
    or timed-out probe counts as 10 s)."""

    def __init__(self, port, period=0.05):
        super().__init__()
        self.port, self.period = port, period
        self.latencies = []

    def _run(self):
        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                c.request("GET", "/health")
                ok = c.getresponse().status == 200
                c.close()
            except OSError:
                ok = False
            self.latencies.append(time.perf_counter() - t0 if ok else 10.0)
            self._stop.wait(self.period)

    def p(self, q):
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def stream_chat(port, max_tokens, messages=CHAT, timeout=300):
    """One greedy streamed chat completion; returns its text (raises on an error)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    body = json.dumps({"messages": messages, "max_tokens": max_tokens, "temperature": 0, "stream": True})
    c.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError(f"status {r.status}: {r.read()[:200]!r}")
    text = []
    for line in r.read().decode().split("\n"):
        if line.startswith("data: ") and line != "data: [DONE]":
            j = json.loads(line[6:])
            if "error" in j:
                raise RuntimeError(j["error"]["message"])
            if j["choices"]:
                text.append(j["choices"][0]["delta"].get("content") or "")
    c.close()
    return "".join(text)
