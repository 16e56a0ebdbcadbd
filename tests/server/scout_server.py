"""A `scout serve` child process on loopback, for the server tests (conftest.py) and the server
benchmarks in bench/. Standard library only."""
import re
import subprocess
import time


class Server:
    """A `scout serve` child process bound to 127.0.0.1 on a free port; always stopped."""

    def __init__(self, scout_bin, model, *args):
        self.proc = subprocess.Popen(
            [str(scout_bin), "serve", "-m", str(model), "--host", "127.0.0.1", "--port", "0", "-q", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.port = None
        deadline = time.time() + 120
        lines = []
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                self.banner = line  # "scout serve: model ..., context N[, kv ...]; listening on ..."
                break
        if self.port is None:
            self.stop()
            raise RuntimeError("scout serve did not start:\n" + "".join(lines))
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def alive(self):
        return self.proc.poll() is None
