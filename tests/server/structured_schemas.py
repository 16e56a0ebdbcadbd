"""The JSON Schemas the structured-output tests (test_structured_output.py) and the benchmark
(bench/structured_output.py) generate against: nested objects, bounded arrays, enums, anyOf,
$ref (recursive too), patterns, Unicode. Strings carry a maxLength where the random-weight demo
model would otherwise write long ones (a string ends only when it samples a quote)."""

SCHEMAS = {
    "integer": {"type": "integer"},
    "boolean_or_null": {"type": ["boolean", "null"]},
    "enum_mixed": {"enum": ["red", "green", 3, None, "naïve ☃"]},
    "const_object": {"const": {"k": [1, "é"]}},
    "short_string": {"type": "string", "minLength": 1, "maxLength": 12},
    "unicode_enum_array": {"type": "array", "items": {"enum": ["日本", "Ελλάδα", "😀", "ü"]}, "minItems": 2,
                           "maxItems": 4},
    "bounded_numbers": {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 3},
    "person": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 10},
            "age": {"type": "integer"},
            "email": {"type": "string", "maxLength": 8},
        },
        "required": ["name", "age"],
        "additionalProperties": False,
    },
    "nested": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "meta": {
                "type": "object",
                "properties": {"tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 3},
                               "ok": {"type": "boolean"}},
                "required": ["tags", "ok"],
            },
        },
        "required": ["id", "meta"],
    },
    "any_of": {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 4},
                         {"type": "object", "properties": {"x": {"type": "null"}}, "required": ["x"]}]},
    "one_of": {"oneOf": [{"const": "a"}, {"type": "array", "items": {"type": "boolean"}, "maxItems": 2}]},
    "ref_defs": {
        "$defs": {"point": {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
                            "required": ["x", "y"]}},
        "type": "object",
        "properties": {"from": {"$ref": "#/$defs/point"}, "to": {"$ref": "#/$defs/point"}},
        "required": ["from", "to"],
    },
    "recursive_list": {
        "$defs": {"node": {"type": "object",
                           "properties": {"v": {"type": "integer"},
                                          "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}},
                           "required": ["v", "next"]}},
        "$ref": "#/$defs/node",
    },
    "pattern_code": {"type": "string", "pattern": "^[A-Z]{2}-\\d{3,4}$"},
    "pattern_alternation": {"type": "object",
                            "properties": {"pet": {"type": "string", "pattern": "^(cat|dog|emu)s?$"},
                                           "date": {"type": "string", "pattern": "^\\d{4}-[01]\\d-[0-3]\\d$"}},
                            "required": ["pet", "date"]},
    "unicode_pattern": {"type": "string", "pattern": "^[à-ÿ]{1,3}€$"},
    "definitions_legacy": {"definitions": {"s": {"type": "string", "maxLength": 3}},
                           "type": "array", "items": {"$ref": "#/definitions/s"}, "maxItems": 2},
}

# Schemas the server must refuse with a 400 naming what is wrong (a fragment of the message).
BAD_SCHEMAS = [
    ({"type": "string", "format": "date-time"}, "format"),
    ({"allOf": [{"type": "integer"}]}, "allOf"),
    ({"type": "integer", "minimum": 0}, "minimum"),
    ({"enum": []}, "admits no value"),
    ({"type": "array", "minItems": 3, "maxItems": 1}, "admits no value"),
    ({"type": "string", "minLength": 5, "maxLength": 2}, "admits no value"),
    ({"type": "string", "pattern": "(?<=a)b"}, "lookaround"),
    ({"$ref": "#/$defs/nowhere"}, "does not resolve"),
    ({"type": "bogus"}, "unknown type"),
]
