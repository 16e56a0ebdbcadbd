#include "model/layer_plan.hpp"

#include <algorithm>
#include <sstream>

#include "base/error.hpp"

namespace scout::model {

int64_t LayerPlan::n_chunked() const {
    return std::count_if(layers.begin(), layers.end(), [](const LayerRule& r) { return r.chunked; });
}
int64_t LayerPlan::n_moe() const {
    return std::count_if(layers.begin(), layers.end(), [](const LayerRule& r) { return r.moe; });
}
int64_t LayerPlan::n_rope() const {
    return std::count_if(layers.begin(), layers.end(), [](const LayerRule& r) { return r.rope; });
}

LayerPlan make_layer_plan(const TextConfig& c) {
    const int64_t n = c.num_hidden_layers;
    LayerPlan plan;
    plan.chunk_size = c.attention_chunk_size;
    plan.layers.resize(static_cast<std::size_t>(n));

    // An empty or absent no_rope_layers means "derive from the interval" (HF), not "no RoPE".
    std::vector<int> uses_rope = c.no_rope_layers;
    if (uses_rope.empty()) {
        for (int64_t il = 0; il < n; ++il)
            uses_rope.push_back((il + 1) % c.no_rope_layer_interval != 0 ? 1 : 0);
    }
    check(static_cast<int64_t>(uses_rope.size()) == n,
          cat("config.json: no_rope_layers has ", uses_rope.size(), " entries but num_hidden_layers is ", n));
    check(c.layer_types.empty() || static_cast<int64_t>(c.layer_types.size()) == n,
          cat("config.json: layer_types has ", c.layer_types.size(), " entries but num_hidden_layers is ", n));

    std::vector<bool> moe(static_cast<std::size_t>(n), false);
    if (c.moe_layers) {
        for (int64_t il : *c.moe_layers) {
            check(il >= 0 && il < n, cat("config.json: moe_layers names layer ", il, " but there are ", n, " layers"));
            moe[static_cast<std::size_t>(il)] = true;
        }
    } else {
        const int64_t step = c.interleave_moe_layer_step;
        for (int64_t il = step - 1; il < n; il += step) moe[static_cast<std::size_t>(il)] = true;
    }

    for (int64_t il = 0; il < n; ++il) {
        LayerRule& r = plan.layers[static_cast<std::size_t>(il)];
        const auto i = static_cast<std::size_t>(il);
        check(uses_rope[i] == 0 || uses_rope[i] == 1, "config.json: no_rope_layers entries must be 0 or 1");
        r.rope = uses_rope[i] == 1;
        if (!c.layer_types.empty()) {
            const std::string& t = c.layer_types[i];
            check(t == "chunked_attention" || t == "full_attention",
                  cat("config.json: layer_types[", il, "] = \"", t, "\" (expected chunked_attention or full_attention)"));
            r.chunked = t == "chunked_attention";
        } else {
            r.chunked = r.rope;
        }
        if (c.attention_chunk_size == 0) r.chunked = false;
        r.qk_norm = c.use_qk_norm && r.rope;
        r.temperature = c.attn_temperature_tuning && !r.rope;
        r.moe = moe[i];
    }
    return plan;
}

std::string format_layer_plan(const LayerPlan& plan) {
    std::ostringstream os;
    os << "layer  pos   attention  qk-norm  temp  ffn\n";
    for (std::size_t il = 0; il < plan.layers.size(); ++il) {
        const LayerRule& r = plan.layers[il];
        char line[96];
        std::snprintf(line, sizeof line, "%5zu  %-4s  %-9s  %-7s  %-4s  %s\n", il, r.rope ? "rope" : "nope",
                      r.chunked ? "chunked" : "global", r.qk_norm ? "yes" : "no", r.temperature ? "yes" : "no",
                      r.moe ? "moe" : "dense");
        os << line;
    }
    return os.str();
}

}  // namespace scout::model
