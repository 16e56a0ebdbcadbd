// JSON text exactly as Python's json.dumps writes it (", " and ": " separators, or indent=N),
// since both references serialize with it: llama-models for tool calls (ensure_ascii=True) and
// the HF chat template's tojson (ensure_ascii=False). Object keys keep their input order.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace scout::text {

std::string py_json_dumps(const nlohmann::ordered_json& value, bool ensure_ascii, int indent = -1);

}  // namespace scout::text
