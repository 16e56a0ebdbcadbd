// Typed reads of optional keys from a JSON config file (config.json, generation_config.json):
// an absent or null key keeps the caller's default; a wrong type is a scout::Error naming the
// file and the key.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "base/error.hpp"

namespace scout::io {

template <typename T>
void read_json_key(const nlohmann::json& j, const char* key, T& out, std::string_view file) {
    if (!j.contains(key) || j[key].is_null()) return;
    try {
        out = j[key].get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(cat(file, ": key \"", key, "\" has the wrong type (", j[key].type_name(), ")"));
    }
}

}  // namespace scout::io
