// A Hugging Face model directory: config.json, optional generation_config.json,
// and weights in model.safetensors or in shards listed by model.safetensors.index.json.
// A directory with only config.json is valid (has_weights() is false): `scout info` uses it.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/safetensors.hpp"

namespace scout::io {

class HfCheckpoint {
public:
    // Throws scout::Error when the directory or its config.json is missing or malformed,
    // or when the index names a shard or tensor that does not exist.
    static HfCheckpoint open(const std::filesystem::path& dir);

    const std::filesystem::path& dir() const { return dir_; }
    const nlohmann::json& config() const { return config_; }
    // generation_config.json, or null when absent.
    const nlohmann::json& generation_config() const { return generation_config_; }

    bool has_weights() const { return !files_.empty(); }
    // nullptr when absent.
    const TensorView* find(const std::string& name) const;
    const std::map<std::string, const TensorView*>& tensors() const { return tensors_; }
    std::size_t total_file_bytes() const;
    std::vector<std::filesystem::path> weight_files() const;
    // Pages in every weight file; on_progress(done_bytes, total_bytes).
    void prefault(const std::function<void(uint64_t, uint64_t)>& on_progress = {}) const;

private:
    std::filesystem::path dir_;
    nlohmann::json config_;
    nlohmann::json generation_config_;
    std::vector<std::unique_ptr<SafetensorsFile>> files_;
    std::map<std::string, const TensorView*> tensors_;
};

nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace scout::io
