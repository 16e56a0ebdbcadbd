#include "io/hf_checkpoint.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include "base/error.hpp"

namespace scout::io {

namespace fs = std::filesystem;

nlohmann::json read_json_file(const fs::path& path) {
    std::ifstream in(path);
    check(static_cast<bool>(in), cat("cannot open ", path));
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::exception& e) {
        throw Error(cat(path, " is not valid JSON: ", e.what()));
    }
}

HfCheckpoint HfCheckpoint::open(const fs::path& dir) {
    check(fs::exists(dir), cat("model path ", dir, " does not exist"));
    check(fs::is_directory(dir),
          cat("model path ", dir, " is not a directory; pass a Hugging Face checkpoint directory ",
              "(the folder holding config.json and *.safetensors)"));
    const fs::path config_path = dir / "config.json";
    check(fs::exists(config_path),
          cat(dir, " is not a Hugging Face checkpoint: config.json not found. Download the whole model ",
              "repository (e.g. `huggingface-cli download meta-llama/Llama-4-Scout-17B-16E-Instruct --local-dir DIR`) ",
              "or create a demo model with `scout demo-model DIR`"));
    HfCheckpoint ckpt;
    ckpt.dir_ = dir;
    ckpt.config_ = read_json_file(config_path);
    check(ckpt.config_.is_object(), cat(config_path, " must hold a JSON object"));
    if (fs::exists(dir / "generation_config.json"))
        ckpt.generation_config_ = read_json_file(dir / "generation_config.json");

    const fs::path index_path = dir / "model.safetensors.index.json";
    const fs::path single_path = dir / "model.safetensors";
    if (fs::exists(index_path)) {
        const nlohmann::json index = read_json_file(index_path);
        check(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(),
              cat(index_path, " has no \"weight_map\" object"));
        std::map<std::string, std::size_t> shard_of_file;
        for (const auto& [name, file] : index["weight_map"].items()) {
            check(file.is_string(), cat(index_path, ": weight_map entry for ", name, " is not a file name"));
            const std::string fname = file.get<std::string>();
            check(fname.find('/') == std::string::npos && fname != ".." ,
                  cat(index_path, ": shard name \"", fname, "\" must be a plain file name"));
            if (!shard_of_file.count(fname)) {
                check(fs::exists(dir / fname), cat(index_path, " lists shard ", fname, " which is missing from ", dir));
                shard_of_file[fname] = ckpt.files_.size();
                ckpt.files_.push_back(std::make_unique<SafetensorsFile>(dir / fname));
            }
            const auto& shard = *ckpt.files_[shard_of_file[fname]];
            const auto it = shard.tensors().find(name);
            check(it != shard.tensors().end(),
                  cat(index_path, " maps tensor \"", name, "\" to ", fname, ", which does not contain it"));
            ckpt.tensors_[name] = &it->second;
        }
    } else if (fs::exists(single_path)) {
        ckpt.files_.push_back(std::make_unique<SafetensorsFile>(single_path));
        for (const auto& [name, view] : ckpt.files_.back()->tensors()) ckpt.tensors_[name] = &view;
    }
    return ckpt;
}

const TensorView* HfCheckpoint::find(const std::string& name) const {
    const auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : it->second;
}

std::size_t HfCheckpoint::total_file_bytes() const {
    std::size_t n = 0;
    for (const auto& f : files_) n += f->file_size();
    return n;
}

std::vector<fs::path> HfCheckpoint::weight_files() const {
    std::vector<fs::path> out;
    for (const auto& f : files_) out.push_back(f->path());
    return out;
}

}  // namespace scout::io

namespace scout::io {

void HfCheckpoint::prefault(const std::function<void(uint64_t, uint64_t)>& on_progress) const {
    const uint64_t total = total_file_bytes();
    uint64_t before = 0;
    for (const auto& f : files_) {
        f->mapping().prefault([&](uint64_t done) {
            if (on_progress) on_progress(before + done, total);
        });
        before += f->file_size();
    }
}

}  // namespace scout::io
