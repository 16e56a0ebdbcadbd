#include "engine/model.hpp"

#include "base/error.hpp"
#include "base/mapped_file.hpp"
#include "model/gguf_config.hpp"
#include "model/gguf_weights.hpp"

namespace scout::engine {

namespace fs = std::filesystem;

std::unique_ptr<Model> load_model(const fs::path& path) {
    auto m = std::make_unique<Model>();
    if (fs::is_regular_file(path)) {
        // A single file can only be a GGUF (a safetensors file alone lacks its config.json).
        m->gguf.emplace(path);
        model::GgufModelConfig g = model::gguf_model_config(*m->gguf);
        m->config = std::move(g.config);
        m->plan = model::make_layer_plan(m->config.text);
        m->weights = model::bind_gguf_text_weights(*m->gguf, m->config.text, m->plan);
        if (!g.rope_freq_factors.empty()) m->weights.rope_inv_freq = model::gguf_rope_inv_freq(g);
        const fs::path gen = path.parent_path() / "generation_config.json";
        if (fs::exists(gen)) m->generation_config = io::read_json_file(gen);
        return m;
    }
    m->hf.emplace(io::HfCheckpoint::open(path));
    m->config = model::parse_model_config(m->hf->config());
    m->plan = model::make_layer_plan(m->config.text);
    m->weights = model::bind_text_weights(*m->hf, m->config.text, m->plan);
    m->generation_config = m->hf->generation_config();
    return m;
}

uint64_t Model::file_bytes() const {
    if (gguf) return gguf->bytes().size();
    return hf ? hf->total_file_bytes() : 0;
}

void Model::prefault(const std::function<void(uint64_t, uint64_t)>& on_progress) const {
    if (hf) {
        hf->prefault(on_progress);
        return;
    }
    if (!gguf) return;
    const uint64_t total = gguf->bytes().size();
    prefault_bytes(gguf->bytes(), [&](uint64_t done) {
        if (on_progress) on_progress(done, total);
    });
}

}  // namespace scout::engine
