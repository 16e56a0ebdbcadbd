// `scout quantize`: Hugging Face checkpoint -> llama.cpp-style `llama4` GGUF.
#include <cstdio>
#include <filesystem>

#include "apps/commands.hpp"
#include "apps/progress.hpp"
#include "base/error.hpp"
#include "engine/model.hpp"
#include "model/gguf_export.hpp"

namespace scout::apps {

namespace {

struct QuantizeOptions {
    std::string model_dir;
    std::string type = "Q4_K_M";
    std::string output;
    bool force = false;
};

void quantize(const QuantizeOptions& o) {
    namespace fs = std::filesystem;
    const model::GgufMix mix = model::parse_gguf_mix(o.type);
    check(o.force || !fs::exists(o.output), cat(o.output, " exists; pass --force to overwrite it"));
    check(fs::is_directory(o.model_dir), cat(o.model_dir, " is not a Hugging Face checkpoint directory"));
    const auto m = engine::load_model(o.model_dir);
    std::unique_ptr<ProgressBar> progress;
    model::export_llama4_gguf(*m->hf, m->config, m->plan, m->weights, o.output, {mix, fs::path(o.model_dir).filename().string()},
                              [&](uint64_t done, uint64_t total) {
                                  if (!progress) progress = std::make_unique<ProgressBar>("quantizing to " + o.type, total);
                                  progress->update(done);
                              });
    if (progress) progress->finish();
    std::fprintf(stderr, "wrote %s (%s)\n", o.output.c_str(), o.type.c_str());
}

}  // namespace

void register_quantize(CLI::App& app) {
    auto opt = std::make_shared<QuantizeOptions>();
    CLI::App* cmd = app.add_subcommand("quantize", "Convert a Hugging Face checkpoint to a llama4 GGUF file");
    cmd->add_option("-m,--model", opt->model_dir, "Hugging Face checkpoint directory")->required();
    cmd->add_option("--type", opt->type, "Q4_K_M, Q4_0, Q8_0, BF16, F16 or F32")->capture_default_str();
    cmd->add_option("-o,--output", opt->output, "GGUF file to write")->required();
    cmd->add_flag("--force", opt->force, "Overwrite an existing output file");
    cmd->footer("Tensor names and layout follow llama.cpp's converter; norms, the router and rope_freqs stay F32.\n\n"
                "Example:\n  scout quantize -m Llama-4-Scout-17B-16E-Instruct --type Q4_K_M -o scout-q4_k_m.gguf\n"
                "  scout run -m scout-q4_k_m.gguf --tokenizer Llama-4-Scout-17B-16E-Instruct/tokenizer.model -p Hi");
    cmd->callback([opt] { quantize(*opt); });
}

}  // namespace scout::apps
