#include "engine/model.hpp"

namespace scout::engine {

std::unique_ptr<Model> load_model(const std::filesystem::path& dir) {
    auto m = std::make_unique<Model>(Model{io::HfCheckpoint::open(dir), {}, {}, {}});
    m->config = model::parse_model_config(m->checkpoint.config());
    m->plan = model::make_layer_plan(m->config.text);
    m->weights = model::bind_text_weights(m->checkpoint, m->config.text, m->plan);
    return m;
}

}  // namespace scout::engine
