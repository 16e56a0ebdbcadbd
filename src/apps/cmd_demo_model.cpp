// `scout demo-model OUT_DIR`: write the built-in random-weight Llama 4 checkpoint.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "apps/commands.hpp"
#include "apps/progress.hpp"
#include "base/error.hpp"
#include "model/config.hpp"
#include "model/demo_model.hpp"
#include "model/gguf_export.hpp"
#include "model/layer_plan.hpp"
#include "text/tokenizer.hpp"

namespace scout::apps {

namespace {

struct DemoOptions {
    std::string out_dir;
    uint64_t seed = 0;
    std::string tokenizer;
    std::string size = "small";
    bool vision = false;
    bool force = false;
    std::string gguf;    // --gguf TYPE: write a GGUF file of random weights instead of a checkpoint
    std::string config;  // --config FILE: the dimensions of this config.json instead of --size
    int64_t layers = 0;  // --layers N: keep the first N layers of the config
};

// The config's JSON with its text part cut to the first n layers (per-layer lists shortened).
nlohmann::json with_layers(nlohmann::json cfg, int64_t n) {
    nlohmann::json& t = cfg.contains("text_config") ? cfg["text_config"] : cfg;
    const int64_t had = t.value("num_hidden_layers", int64_t{0});
    check(n <= had, cat("--layers ", n, " is more than the config's ", had, " layers"));
    t["num_hidden_layers"] = n;
    for (const char* key : {"no_rope_layers", "layer_types"})
        if (t.contains(key) && t[key].is_array() && static_cast<int64_t>(t[key].size()) > n)
            t[key].erase(t[key].begin() + n, t[key].end());
    if (t.contains("moe_layers") && t["moe_layers"].is_array()) {
        nlohmann::json kept = nlohmann::json::array();
        for (const auto& l : t["moe_layers"])
            if (l.is_number_integer() && l.get<int64_t>() < n) kept.push_back(l);
        t["moe_layers"] = kept;
    }
    return cfg;
}

// --gguf: a GGUF file with the keys, tokenizer and tensors llama.cpp's converter would write for
// the config, filled with random weights; no checkpoint in between (Scout's real dimensions at
// 4 layers are ~6 GB at Q4_K_M, its bf16 checkpoint would be 22 GB).
void demo_gguf(const DemoOptions& o) {
    namespace fs = std::filesystem;
    check(o.force || !fs::exists(o.out_dir), cat(o.out_dir, " already exists; pass --force to overwrite it"));
    nlohmann::json cfg;
    if (!o.config.empty()) {
        std::ifstream f(o.config);
        check(f.good(), cat("cannot open --config ", o.config));
        try {
            cfg = nlohmann::json::parse(f);
        } catch (const nlohmann::json::exception& e) {
            throw Error(cat(o.config, " is not valid JSON: ", e.what()));
        }
    } else {
        cfg = model::demo_model_config(model::parse_demo_size(o.size));
    }
    if (o.layers > 0) cfg = with_layers(std::move(cfg), o.layers);
    const model::ModelConfig config = model::parse_model_config(cfg);
    const model::LayerPlan plan = model::make_layer_plan(config.text);
    const text::Tokenizer tokenizer = text::Tokenizer::load(o.tokenizer);
    check(tokenizer.n_vocab() <= config.text.vocab_size,
          cat(o.tokenizer, " has ", tokenizer.n_vocab(), " tokens, more than the config's vocab_size ", config.text.vocab_size));
    model::GgufExportOptions options;
    options.mix = model::parse_gguf_mix(o.gguf);
    options.name = "random-weight Llama 4";
    options.tokenizer = &tokenizer;
    LazyProgressBar progress("writing random " + o.gguf + " GGUF");
    model::write_random_llama4_gguf(config, plan, o.seed, o.out_dir, options, progress.callback());
    progress.finish();
    std::fprintf(stderr, "wrote a random-weight %s GGUF (%lld layers, hidden %lld, %lld experts, seed %llu) to %s\n",
                 o.gguf.c_str(), static_cast<long long>(config.text.num_hidden_layers),
                 static_cast<long long>(config.text.hidden_size), static_cast<long long>(config.text.num_local_experts),
                 static_cast<unsigned long long>(o.seed), o.out_dir.c_str());
}

void demo(const DemoOptions& o) {
    namespace fs = std::filesystem;
    check(!o.tokenizer.empty(), "--tokenizer is required: the path of Llama 4's tokenizer.model "
                                "(get it with `tools/fetch_tokenizer.sh ~/.cache/scout/tokenizer.model`)");
    check(o.layers >= 0, "--layers must be positive");
    if (!o.gguf.empty()) {
        check(!o.vision, "--vision writes a checkpoint; it cannot go with --gguf (a GGUF holds the text model)");
        demo_gguf(o);
        return;
    }
    check(o.config.empty() && o.layers == 0, "--config and --layers go with --gguf (a checkpoint is written at --size)");
    check(o.force || !fs::exists(fs::path(o.out_dir) / "model.safetensors"),
          cat(o.out_dir, " already holds a model; pass --force to overwrite it"));
    LazyProgressBar progress("writing demo model");
    model::write_demo_model(o.out_dir, {o.seed, o.tokenizer, model::parse_demo_size(o.size), o.vision},
                            progress.callback());
    progress.finish();
    std::fprintf(stderr, "wrote a random-weight Llama 4 demo model (size %s%s, seed %llu) to %s\n", o.size.c_str(),
                 o.vision ? ", with a vision tower" : "",
                 static_cast<unsigned long long>(o.seed), o.out_dir.c_str());
}

}  // namespace

void register_demo_model(CLI::App& app) {
    auto opt = std::make_shared<DemoOptions>();
    CLI::App* cmd = app.add_subcommand(
        "demo-model", "Write a small random-weight Llama 4 checkpoint (Scout's structure, real vocabulary)");
    cmd->add_option("out_dir", opt->out_dir, "Directory to create")->required();
    cmd->add_option("--seed", opt->seed, "Seed of the random weights (same seed, same files)")->capture_default_str();
    cmd->add_option("--tokenizer", opt->tokenizer, "Llama 4 tokenizer.model to copy into the checkpoint")->required();
    cmd->add_option("--size", opt->size,
                    "small: the quick-start demo (~0.13 B parameters); 1b: Scout's structure at ~1.3 B parameters "
                    "(hidden 1024, 16 layers, chunk 8192), for benchmarks")
        ->capture_default_str()
        ->check(CLI::IsMember({"small", "1b"}));
    cmd->add_flag("--vision", opt->vision,
                  "Also write a small vision tower (336-pixel tiles, 144 tokens per tile, as Scout), so that "
                  "--image works; the checkpoint then has the Llama4ForConditionalGeneration layout");
    cmd->add_flag("--force", opt->force, "Overwrite an existing model in out_dir");
    cmd->add_option("--gguf", opt->gguf,
                    "Write a llama.cpp GGUF file (out_dir is then the file's path) of random weights in this type "
                    "mix instead of a checkpoint: F32, F16, BF16, Q8_0, Q4_0 or Q4_K_M; any config's dimensions "
                    "without its download, for benchmarks against llama.cpp");
    cmd->add_option("--config", opt->config,
                    "With --gguf: the dimensions of this config.json (a Hugging Face Llama 4 config, e.g. "
                    "tests/data/configs/scout/config.json) instead of --size");
    cmd->add_option("--layers", opt->layers, "With --gguf: keep only the first N layers of the config");
    cmd->footer("The weights are random, so the model writes gibberish; it exercises every code path of a real\n"
                "checkpoint (16 experts + shared expert, NoPE every 4th layer, chunked attention, QK norm).\n\n"
                "Example:\n  scout demo-model demo-model --tokenizer ~/.cache/scout/tokenizer.model\n"
                "  scout run -m demo-model -p \"Hello\" -n 32\n"
                "  scout demo-model demo-vision --vision --tokenizer ~/.cache/scout/tokenizer.model\n"
                "  scout run -m demo-vision --image photo.jpg -p \"What is in this picture?\" -n 16\n"
                "  scout demo-model bench-1b --size 1b --tokenizer ~/.cache/scout/tokenizer.model   # 2.6 GB\n"
                "  scout demo-model scout-4l.gguf --gguf Q4_K_M --config tests/data/configs/scout/config.json \\\n"
                "      --layers 4 --tokenizer ~/.cache/scout/tokenizer.model   # Scout's dimensions, 4 layers: 6 GB");
    cmd->callback([opt] { demo(*opt); });
}

}  // namespace scout::apps
