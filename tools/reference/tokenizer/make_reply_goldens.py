#!/usr/bin/env python3
"""Goldens for parsing generated assistant replies: llama-models' (0.3.0)
ChatFormat.decode_assistant_message_from_content on a list of replies.

Writes tests/data/tokenizer/replies.jsonl: {"text", "stop_reason_in", "content", "stop_reason",
"tool_calls": [{"name", "arguments"}]}.

Usage: python make_reply_goldens.py TOKENIZER_MODEL REPO_ROOT
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import make_chat_goldens  # noqa: E402,F401  (installs the torch stand-ins)

from llama_models.datatypes import StopReason  # noqa: E402
from llama_models.llama4.chat_format import ChatFormat  # noqa: E402
from llama_models.llama4.tokenizer import Tokenizer  # noqa: E402

H = "<|header_start|>assistant<|header_end|>\n\n"
REPLIES = [
    "Hello there!<|eot|>",
    "Hello there!",
    "  padded reply  <|eot|>",
    H + "With header.<|eot|>",
    "Partial answer<|eom|>",
    "[get_weather(city=\"San Francisco\"), get_weather(city=\"Seattle\")]<|eot|>",
    "[get_weather(city='Paris', days=3, metric=True, extra=None)]",
    "[search(q=\"x\", tags=[\"a\", \"b\"], opts={\"k\": 1, \"v\": 2.5}, n=-4)]<|eom|>",
    "[f()]",
    "[f(1)]",
    "[f(a=1), 3]",
    "[]",
    "[f(a=1)] trailing text",
    "\n[f(a=\"multi\\nline\")]\n",
    " [f(a=1)]",
    "<function=trending_songs>{\"n\": 10, \"genre\": \"rock\"}</function><|eot|>",
    "<function=trending_songs>{'n': 10}</function>",
    "Sure! <function=get_time>{\"tz\": \"UTC\"}</function> done",
    "<function=bad>{not json}</function>",
    "<function=brave_search>{\"q\": \"llama 4\"}</function>",
    "{\"type\": \"function\", \"name\": \"get_weather\", \"parameters\": {\"city\": \"Tokyo\"}}<|eot|>",
    "{\"name\": \"lookup\", \"parameters\": {\"id\": 7}}",
    "{\"type\": \"other\", \"value\": 1}",
    "{\"a\": 1}",
    "brave_search.call(query=\"latest llama news\")<|eom|>",
    "I'll search: wolfram_alpha.call(query=\"2+2\")",
    "my_tool.call(query=\"x\")",
    "<|python_start|>print(2**10)<|python_end|><|eom|>",
    "<|python_start|>import math\nprint(math.pi)<|python_end|>",
    "<|python_start|>brave_search.call(query=\"q\")<|python_end|>",
    "<|python_start|>[f(a=1)]<|python_end|><|eom|>",
    "Plain text with [brackets] and {braces}.",
    "Unicode reply: 日本語 👍<|eot|>",
    "",
    "<|eot|>",
    "The answer is 42.<|eot|><|eot|>",
]


def main():
    model, root = sys.argv[1], Path(sys.argv[2])
    fmt = ChatFormat(Tokenizer(Path(model)))
    out = root / "tests/data/tokenizer/replies.jsonl"
    with open(out, "w", encoding="utf-8") as f:
        for text in REPLIES:
            for sr in (StopReason.end_of_turn, StopReason.out_of_tokens):
                m = fmt.decode_assistant_message_from_content(text, sr)
                calls = [{"name": c.tool_name.value if hasattr(c.tool_name, "value") else c.tool_name,
                          "arguments": c.arguments} for c in m.tool_calls]
                f.write(json.dumps({"text": text, "stop_reason_in": sr.value, "content": m.content,
                                    "stop_reason": m.stop_reason.value, "tool_calls": calls},
                                   ensure_ascii=False) + "\n")
    print(f"{2 * len(REPLIES)} replies -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
