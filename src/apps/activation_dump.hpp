// `scout logits --dump DIR`: collects the named intermediate tensors a backend reports
// (backend::ActivationObserver) over every forward call of a run and writes them as
// DIR/<name>.npy + DIR/index.json, the layout tools/reference/dump_activations.py writes from
// transformers, so that two runs are compared by diffing two folders (docs/dumps.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backend/forward.hpp"

namespace scout::apps {

class ActivationDump final : public backend::ActivationObserver {
public:
    // A run is refused (scout::Error) as soon as the collected floats would pass max_bytes:
    // every layer keeps several [tokens, hidden] rows, so a long prompt on a real model would
    // otherwise fill the memory before anything is written.
    explicit ActivationDump(uint64_t max_bytes) : max_bytes_(max_bytes) {}

    // Rows of the same name from later forward calls (prefill, then decode steps) are appended,
    // so a dump is [n_tokens, ...] whatever the split. The trailing dims must not change.
    void on_tensor(std::string_view name, std::span<const float> data, std::span<const int64_t> shape) override;

    // Writes DIR/<name>.npy for each name and DIR/index.json ({"source", "tokens", "tensors":
    // [{"name", "shape"}...]} in first-reported order, i.e. forward order).
    void write(const std::filesystem::path& dir, std::string_view source, std::span<const int32_t> tokens) const;

    uint64_t bytes() const { return bytes_; }
    std::size_t size() const { return tensors_.size(); }

private:
    struct Tensor {
        std::string name;
        std::vector<int64_t> row_shape;  // shape without the leading rows dim
        int64_t rows = 0;
        std::vector<float> data;
    };
    std::vector<Tensor> tensors_;                         // in the order first seen
    std::unordered_map<std::string, std::size_t> index_;  // name -> position in tensors_
    uint64_t bytes_ = 0;
    uint64_t max_bytes_;
};

}  // namespace scout::apps
