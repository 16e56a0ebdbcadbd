"""Tool calls constrained by the functions' schemas (docs/structured-output.md, "Tool calls"): with
tool_choice "required" or a named function, `scout serve` masks every token so that the reply is
Llama 4's pythonic call list with arguments valid for the function's parameters. On the
random-weight demo model, whose free text is gibberish, every seeded request must come back as
`tool_calls` whose arguments validate with jsonschema. --tool-seeds (default 200) sets the count."""
import json
from concurrent.futures import ThreadPoolExecutor

import jsonschema
import openai
import pytest

FUNCTIONS = {
    "get_weather": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 1, "maxLength": 12},
            "unit": {"enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
    "set_alarm": {
        "type": "object",
        "properties": {
            "time": {"type": "string", "pattern": "^[0-2]\\d:[0-5]\\d$"},
            "days": {"type": "array", "items": {"enum": ["mon", "tue", "wed", "thu", "fri"]}, "minItems": 1,
                     "maxItems": 3},
            "label": {"type": ["string", "null"], "maxLength": 8},
            "loud": {"type": "boolean"},
            "snooze": {"$ref": "#/$defs/snooze"},
        },
        "required": ["time", "days", "loud"],
        "$defs": {"snooze": {"type": "object", "properties": {"minutes": {"type": "number"}}, "required": ["minutes"]}},
    },
    "ping": {"type": "object", "properties": {}},
}
TOOLS = [{"type": "function", "function": {"name": n, "description": f"the {n} function", "parameters": p}}
         for n, p in FUNCTIONS.items()]
USER = [{"role": "user", "content": "Do something useful."}]
MAX_TOKENS = 400


def call_tools(client, seed, **kw):
    kw.setdefault("temperature", 1.0)
    r = client.chat.completions.create(model="demo", messages=USER, tools=TOOLS, max_tokens=MAX_TOKENS, seed=seed,
                                       **kw)
    return r.choices[0]


def check_calls(choice, names):
    assert choice.finish_reason == "tool_calls", f"{choice.finish_reason}: {choice.message.content!r}"
    calls = choice.message.tool_calls
    assert calls
    for c in calls:
        assert c.function.name in names
        jsonschema.validate(json.loads(c.function.arguments), FUNCTIONS[c.function.name])
    return calls


def test_required_always_parses(client, request):
    # One call per reply (parallel_tool_calls false): a random model closes a call list only by
    # chance, so with parallel calls its list can outrun max_tokens (test_parallel_calls).
    n = int(request.config.getoption("--tool-seeds"))
    with ThreadPoolExecutor(8) as pool:
        choices = list(pool.map(lambda s: call_tools(client, s, tool_choice="required", parallel_tool_calls=False),
                                range(n)))
    names = set()
    for seed, choice in enumerate(choices):
        try:
            calls = check_calls(choice, FUNCTIONS)
            assert len(calls) == 1
            names.add(calls[0].function.name)
        except AssertionError as e:
            raise AssertionError(f"seed {seed}: {e}") from e
    if n >= 20:  # the sampler reaches every function
        assert names == set(FUNCTIONS)


def test_parallel_calls(client):
    finished = 0
    for seed in range(8):
        choice = call_tools(client, seed, tool_choice="required")
        if choice.finish_reason == "length":  # a list cut by max_tokens: still the start of a call list
            assert choice.message.content.startswith("[")
            continue
        finished += len(check_calls(choice, FUNCTIONS)) > 1
    assert finished >= 1


def test_named_function_and_one_call(client):
    for seed in range(10):
        choice = call_tools(client, seed, tool_choice={"type": "function", "function": {"name": "set_alarm"}},
                            parallel_tool_calls=False)
        assert len(check_calls(choice, {"set_alarm"})) == 1


def test_required_streams_tool_call_deltas(client):
    stream = client.chat.completions.create(model="demo", messages=USER, tools=TOOLS, max_tokens=MAX_TOKENS, seed=7,
                                            temperature=1.0, tool_choice="required", stream=True)
    args, names, finish = {}, {}, None
    for chunk in stream:
        if not chunk.choices:
            continue
        ch = chunk.choices[0]
        finish = ch.finish_reason or finish
        for d in ch.delta.tool_calls or []:
            if d.function and d.function.name:
                names[d.index] = d.function.name
            if d.function and d.function.arguments:
                args[d.index] = args.get(d.index, "") + d.function.arguments
    assert finish == "tool_calls" and names
    for i, name in names.items():
        jsonschema.validate(json.loads(args.get(i, "{}")), FUNCTIONS[name])


def test_greedy_is_deterministic(client):
    outs = [call_tools(client, 0, tool_choice="required", temperature=0).message.tool_calls for _ in range(2)]
    assert [(c.function.name, c.function.arguments) for c in outs[0]] == \
           [(c.function.name, c.function.arguments) for c in outs[1]]


@pytest.mark.parametrize("params,fragment", [
    ({"type": "object", "properties": {"when": {"type": "string", "format": "date"}}}, "'format'"),
    ({"type": "object", "properties": {"user id": {"type": "string"}}}, "'user id'"),
    ({"anyOf": [{"type": "object"}]}, "'anyOf'"),
])
def test_unusable_parameter_schema_is_400(client, params, fragment):
    tools = [{"type": "function", "function": {"name": "odd_tool", "parameters": params}}]
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="demo", messages=USER, tools=tools, tool_choice="required", max_tokens=5)
    assert fragment in str(e.value) and "odd_tool" in str(e.value)


def test_response_format_with_required_is_400(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="demo", messages=USER, tools=TOOLS, tool_choice="required", max_tokens=5,
                                       response_format={"type": "json_object"})
    assert "response_format" in str(e.value)
