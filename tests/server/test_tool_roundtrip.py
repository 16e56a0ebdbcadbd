"""Tool calls end to end with a model that really emits one: `scout serve` on the tool-call model
(tool_call_model.py: one layer, weights set by hand so every chat reply is
`[get_weather(city="Paris")]<|eot|>`), driven by the official openai client.

The server must parse the model's pythonic call into OpenAI `tool_calls` (non-streaming and
streamed as deltas), accept the conversation sent back with the assistant's call and the tool's
result (rendered as an ipython turn), and leave the text alone with tool_choice="none"."""
import json

import pytest

from conftest import TOOL_CALL_REPLY, Server, scout_tokenize

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city name"}},
            "required": ["city"],
        },
    },
}]
USER = [{"role": "user", "content": "What is the weather in Paris?"}]
TOOL_RESULT = '{"temperature": 18, "unit": "celsius", "sky": "cloudy"}'


@pytest.fixture(scope="module")
def tool_server(scout_bin, tool_model):
    s = Server(scout_bin, tool_model, "--parallel", "2", "--ctx", "4096", "-t", "1")
    yield s
    s.stop()
    assert s.proc.returncode == 0, "the server did not exit cleanly"


@pytest.fixture(scope="module")
def tool_client(tool_server):
    from openai import OpenAI
    return OpenAI(base_url=tool_server.base + "/v1", api_key="unused", max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def n_reply(scout_bin, tool_model):
    """The reply's tokens plus the <|eot|> that ends it (usage counts the stop token)."""
    return len(scout_tokenize(scout_bin, tool_model, text=TOOL_CALL_REPLY)) + 1


def create(client, messages, **kw):
    return client.chat.completions.create(model="x", messages=messages, max_tokens=32, temperature=0, **kw)


def stream(client, messages, **kw):
    """Streams a chat; returns (content text, {index: {id, type, name, arguments}}, finish, usage)."""
    content, calls, finish, usage = [], {}, None, None
    for ch in create(client, messages, stream=True, stream_options={"include_usage": True}, **kw):
        if ch.usage:
            usage = ch.usage
        for c in ch.choices:
            if c.delta.content:
                content.append(c.delta.content)
            for tc in c.delta.tool_calls or []:
                call = calls.setdefault(tc.index, {"id": "", "type": "", "name": "", "arguments": ""})
                call["id"] += tc.id or ""
                call["type"] += tc.type or ""
                if tc.function:
                    call["name"] += tc.function.name or ""
                    call["arguments"] += tc.function.arguments or ""
            if c.finish_reason:
                assert finish is None, "two finish reasons"
                finish = c.finish_reason
    return "".join(content), calls, finish, usage


def test_the_model_emits_the_call_as_text(tool_client, n_reply):
    # Without tools the server passes the text through: this is what the model generates.
    r = create(tool_client, USER)
    assert r.choices[0].message.content == TOOL_CALL_REPLY
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.tool_calls is None
    assert r.usage.completion_tokens == n_reply


def test_tool_call_non_streaming(tool_client, n_reply):
    r = create(tool_client, USER, tools=TOOLS)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.role == "assistant"
    assert not choice.message.content
    assert len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.id.startswith("call_") and len(call.id) > len("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert r.usage.completion_tokens == n_reply


def test_tool_call_streaming(tool_client, n_reply):
    content, calls, finish, usage = stream(tool_client, USER, tools=TOOLS)
    assert finish == "tool_calls"
    assert content == ""  # the call list is held back, never streamed as text
    assert list(calls) == [0]
    call = calls[0]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    assert usage.completion_tokens == n_reply


def test_tool_choice_required_and_named(tool_client):
    for choice in ("required", {"type": "function", "function": {"name": "get_weather"}}):
        r = create(tool_client, USER, tools=TOOLS, tool_choice=choice)
        assert r.choices[0].finish_reason == "tool_calls", choice
        call = r.choices[0].message.tool_calls[0]
        assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})


def test_tool_choice_none(tool_client, scout_bin, tool_model):
    # "none": the tools stay out of the prompt and the reply is not parsed: the call is plain text.
    plain = create(tool_client, USER)
    with_tools = create(tool_client, USER, tools=TOOLS)
    r = create(tool_client, USER, tools=TOOLS, tool_choice="none")
    assert r.usage.prompt_tokens == plain.usage.prompt_tokens == len(scout_tokenize(scout_bin, tool_model, chat=USER))
    assert with_tools.usage.prompt_tokens > plain.usage.prompt_tokens + 50  # the tools prompt
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.content == TOOL_CALL_REPLY
    assert r.choices[0].message.tool_calls is None
    content, calls, finish, _ = stream(tool_client, USER, tools=TOOLS, tool_choice="none")
    assert (content, calls, finish) == (TOOL_CALL_REPLY, {}, "stop")


def test_round_trip_with_tool_result(tool_client, scout_bin, tool_model):
    first = create(tool_client, USER, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    # Send the conversation back the way openai-client users do: the assistant message as
    # returned (tool_calls, content None) and the tool's answer tied to the call id.
    assistant = first.choices[0].message.model_dump(exclude_none=True)
    assert assistant["tool_calls"][0]["id"] == call.id
    tool_msg = {"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULT}
    before_tool = USER + [assistant]
    convo = before_tool + [tool_msg]

    r = create(tool_client, convo, tools=TOOLS)
    assert r.object == "chat.completion" and len(r.choices) == 1
    assert r.choices[0].message.role == "assistant"
    # This model answers every prompt with the call again; a real one would now use the result.
    assert r.choices[0].finish_reason == "tool_calls"
    assert r.choices[0].message.tool_calls[0].function.name == "get_weather"
    assert r.usage.prompt_tokens_details.cached_tokens > 0  # the first turn's prefix was reused

    # The tool message is in the prompt, as Meta's ChatFormat renders it:
    # <|header_start|>ipython<|header_end|>\n\n + result + <|eom|> (5 + n + 1 tokens).
    without = create(tool_client, before_tool, tools=TOOLS)
    n_result = len(scout_tokenize(scout_bin, tool_model, text=TOOL_RESULT))
    assert r.usage.prompt_tokens == without.usage.prompt_tokens + 5 + n_result + 1
    # ... and the assistant's call too: the conversation without tools renders the same turns.
    assert create(tool_client, convo).usage.prompt_tokens > create(tool_client, USER).usage.prompt_tokens + n_result

    # The same round trip streamed.
    content, calls, finish, usage = stream(tool_client, convo, tools=TOOLS)
    assert finish == "tool_calls" and content == ""
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}
    assert usage.prompt_tokens == r.usage.prompt_tokens


def test_tool_result_without_tools_is_accepted(tool_client):
    # A client may drop `tools` on the follow-up turn; the history still renders (no parsing then).
    first = create(tool_client, USER, tools=TOOLS)
    assistant = first.choices[0].message.model_dump(exclude_none=True)
    tool_msg = {"role": "tool", "tool_call_id": assistant["tool_calls"][0]["id"], "content": TOOL_RESULT}
    r = create(tool_client, USER + [assistant, tool_msg])
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.content == TOOL_CALL_REPLY
