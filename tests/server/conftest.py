"""Fixtures for the server tests: the demo model, the tool-call model and `scout serve` processes
on loopback.

Options (pytest command line): --scout-bin (default build/src/apps/scout), --work-dir (where the
models are written, default build/test-work), --test-paths (default build/test_paths.json, written
by CMake: the real tokenizer's path, CMake's SCOUT_TOKENIZER). Everything skips without the real
tokenizer, or fails when the environment variable CI is set (CI has it).
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

from scout_server import Server  # noqa: F401 (tests import it from here too)

REPO = Path(__file__).resolve().parents[2]
TOKENIZER = None  # the real tokenizer.model, set from --test-paths in pytest_configure


def pytest_addoption(parser):
    parser.addoption("--scout-bin", default=str(REPO / "build" / "src" / "apps" / "scout"))
    parser.addoption("--work-dir", default=str(REPO / "build" / "test-work"))
    parser.addoption("--test-paths", default=str(REPO / "build" / "test_paths.json"))
    parser.addoption("--structured-seeds", default="20", help="seeded generations per schema (test_structured_output.py)")
    parser.addoption("--tool-seeds", default="200", help="seeded tool_choice=required requests (test_constrained_tool_calls.py)")


def pytest_configure(config):
    global TOKENIZER
    paths = Path(config.getoption("--test-paths"))
    if paths.exists():
        TOKENIZER = Path(json.loads(paths.read_text())["tokenizer"])


def skip_without_data(why):
    """Skips: the data is missing. Under CI (which has every test's data) that is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{why} (CI is set: data must be present)")
    pytest.skip(why)


@pytest.fixture(scope="session")
def scout_bin(request):
    if TOKENIZER is None or not TOKENIZER.exists():
        skip_without_data(f"the real tokenizer is absent ({TOKENIZER or 'no ' + request.config.getoption('--test-paths')})")
    b = Path(request.config.getoption("--scout-bin"))
    if not b.exists():
        skip_without_data(f"scout binary not built ({b})")
    return b


@pytest.fixture(scope="session")
def demo_model(scout_bin, request):
    d = Path(request.config.getoption("--work-dir")) / "server-demo-model"
    if not (d / "model.safetensors").exists():
        d.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(scout_bin), "demo-model", str(d), "--tokenizer", str(TOKENIZER)],
                       check=True, capture_output=True, timeout=300)
    return d


@pytest.fixture(scope="session")
def vision_model(scout_bin, request):
    """The demo model with a small vision tower (scout demo-model --vision)."""
    d = Path(request.config.getoption("--work-dir")) / "server-demo-vision"
    if not (d / "model.safetensors").exists():
        d.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(scout_bin), "demo-model", str(d), "--vision", "--tokenizer", str(TOKENIZER)],
                       check=True, capture_output=True, timeout=300)
    return d


# What the tool-call model answers to every chat prompt (then <|eot|>); see tool_call_model.py.
TOOL_CALL_REPLY = '[get_weather(city="Paris")]'


def scout_tokenize(scout_bin, tokenizer, *, text=None, chat=None):
    """Token ids from `scout tokenize`: of a text, or of the prompt for a chat (a messages list)."""
    args = [str(scout_bin), "tokenize", "--tokenizer", str(tokenizer), "--json"]
    if text is not None:
        args += ["--text", text]
    else:
        args += ["--chat", "-"]
    r = subprocess.run(args, input=None if chat is None else json.dumps(chat), capture_output=True, text=True,
                       check=True, timeout=60)
    return json.loads(r.stdout)


@pytest.fixture(scope="session")
def tool_model(scout_bin, request):
    """A one-layer checkpoint whose greedy reply to any chat prompt is TOOL_CALL_REPLY<|eot|>.
    Written afresh each session by tool_call_model.py (13 MB, under a second)."""
    from tool_call_model import EOT, write_chain_model
    d = Path(request.config.getoption("--work-dir")) / "tool-call-model"
    prompt_end = scout_tokenize(scout_bin, TOKENIZER, chat=[{"role": "user", "content": "hi"}])[-1]
    reply = scout_tokenize(scout_bin, TOKENIZER, text=TOOL_CALL_REPLY)
    write_chain_model(d, TOKENIZER, [prompt_end, *reply, EOT])
    return d


@pytest.fixture(scope="session")
def server(scout_bin, demo_model):
    s = Server(scout_bin, demo_model, "--parallel", "8", "--ctx", "2048", "--max-body-mb", "1", "-t", "2")
    yield s
    s.stop()
    assert s.proc.returncode == 0, "the server did not exit cleanly"


@pytest.fixture(scope="session")
def cold_server(scout_bin, demo_model):
    """A second server with an API key, one slot and a queue of one: cold runs, authentication, 429."""
    s = Server(scout_bin, demo_model, "--parallel", "1", "--ctx", "2048", "--api-key", "sekrit-key", "-t", "2",
               "--max-queue", "1")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def vision_server(scout_bin, vision_model):
    s = Server(scout_bin, vision_model, "--parallel", "2", "--ctx", "4096", "-t", "2")
    yield s
    s.stop()
    assert s.proc.returncode == 0, "the server did not exit cleanly"


@pytest.fixture()
def client(server):
    from openai import OpenAI
    return OpenAI(base_url=server.base + "/v1", api_key="unused", max_retries=0, timeout=120)
