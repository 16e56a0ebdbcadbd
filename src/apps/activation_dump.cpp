#include "apps/activation_dump.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "apps/cli_util.hpp"
#include "base/error.hpp"
#include "base/npy.hpp"

namespace scout::apps {

namespace {

// Names become file names: allow only what Hugging Face module paths use, so no name can
// reach outside DIR ("/", "..") or need quoting in a shell.
bool valid_name(std::string_view name) {
    if (name.empty() || name.front() == '.') return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string shape_text(std::span<const int64_t> shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

}  // namespace

void ActivationDump::on_tensor(std::string_view name, std::span<const float> data, std::span<const int64_t> shape) {
    // Called per tensor per forward call: messages are built only when thrown (base/error.hpp).
    if (!valid_name(name)) throw Error(cat("--dump: the backend reported a tensor with an unusable name \"", name, "\""));
    if (shape.empty()) throw Error(cat("--dump: tensor ", name, " has no rows dimension"));
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    if (count != static_cast<int64_t>(data.size()))
        throw Error(cat("--dump: tensor ", name, " has shape ", shape_text(shape), " but ", data.size(), " values"));

    const uint64_t add = data.size_bytes();
    if (bytes_ + add > max_bytes_)
        throw Error(cat("--dump: the activations of this run would pass the limit of ", human_bytes(static_cast<double>(max_bytes_)),
                        " (", human_bytes(static_cast<double>(bytes_)), " collected, at ", name,
                        "); dump fewer tokens or raise --dump-max-mib"));

    const std::string key(name);
    auto it = index_.find(key);
    if (it == index_.end()) {
        it = index_.emplace(key, tensors_.size()).first;
        tensors_.push_back({key, std::vector<int64_t>(shape.begin() + 1, shape.end()), 0, {}});
    }
    Tensor& t = tensors_[it->second];
    // A later call must report rows of the same width, or appending them would garble the array.
    if (!std::equal(t.row_shape.begin(), t.row_shape.end(), shape.begin() + 1, shape.end()))
        throw Error(cat("--dump: tensor ", name, " changed shape between forward calls: rows of ", shape_text(t.row_shape),
                        " then ", shape_text(shape.subspan(1))));
    t.data.insert(t.data.end(), data.begin(), data.end());
    t.rows += shape[0];
    bytes_ += add;
}

void ActivationDump::write(const std::filesystem::path& dir, std::string_view source, std::span<const int32_t> tokens) const {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    check(!ec && std::filesystem::is_directory(dir), cat("--dump: cannot create directory ", dir, ": ", ec.message()));
    // One tensor per line, in forward order, so the index itself reads (and diffs) as a table.
    std::string text = cat("{\"source\": ", nlohmann::json(source).dump(), ",\n \"tokens\": ",
                           nlohmann::json(std::vector<int32_t>(tokens.begin(), tokens.end())).dump(), ",\n \"tensors\": [");
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
        const Tensor& t = tensors_[i];
        std::vector<int64_t> shape{t.rows};
        shape.insert(shape.end(), t.row_shape.begin(), t.row_shape.end());
        write_npy_f32(dir / (t.name + ".npy"), t.data, shape);
        const nlohmann::json entry = {{"name", t.name}, {"file", t.name + ".npy"}, {"shape", shape}};
        text += cat(i ? ",\n  " : "\n  ", entry.dump());
    }
    text += "\n ]}\n";
    std::ofstream out(dir / "index.json");
    out << text;
    check(static_cast<bool>(out), cat("--dump: error writing ", dir / "index.json"));
}

}  // namespace scout::apps
