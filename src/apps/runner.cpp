#include "apps/runner.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "apps/cli_util.hpp"
#include "apps/image_input.hpp"
#include "apps/progress.hpp"
#include "base/error.hpp"
#include "model/tokenizer_source.hpp"
#include "model/weight_traffic.hpp"

namespace scout::apps {

void add_generation_flags(CLI::App* cmd, GenerationFlags& f, int64_t default_max_tokens) {
    f.max_tokens = default_max_tokens;
    cmd->add_option("-m,--model", f.model_dir, "Hugging Face checkpoint directory, or a llama.cpp GGUF file (the first part of a split one)")->required();
    cmd->add_option("--tokenizer", f.tokenizer,
                    "tokenizer.model, tokenizer.json or a GGUF file (default: the one in the model directory or beside the "
                    "GGUF file, else the GGUF's own vocabulary)");
    cmd->add_option("-n,--max-tokens", f.max_tokens, "Stop after this many new tokens")->capture_default_str();
    cmd->add_option("--temp", f.temperature, "Temperature; 0 = greedy (default: generation_config.json, else 0.6)");
    cmd->add_option("--top-k", f.top_k, "Keep the k most likely tokens; 0 = off");
    cmd->add_option("--top-p", f.top_p, "Nucleus sampling mass; 1 = off (default: generation_config.json, else 0.9)");
    cmd->add_option("--min-p", f.min_p, "Drop tokens below min-p times the top probability; 0 = off");
    cmd->add_option("--repeat-penalty", f.repeat_penalty, "Repetition penalty over the last 64 tokens; 1 = off");
    cmd->add_option("--frequency-penalty", f.frequency_penalty, "OpenAI-style frequency penalty; 0 = off");
    cmd->add_option("--presence-penalty", f.presence_penalty, "OpenAI-style presence penalty; 0 = off");
    cmd->add_option("--seed", f.seed, "Random seed (default: random); the same seed gives the same output");
    cmd->add_option("--stop", f.stop, "Stop when this text appears (repeatable); the text is not printed");
    add_backend_flags(cmd, f.backend);
    cmd->add_option("-c,--ctx", f.ctx, "Context length in tokens (default: min(8192, the model's maximum))");
    cmd->add_option("--mmproj", f.mmproj,
                    "llama.cpp's Llama 4 mmproj GGUF (the vision tower and projector, as `llama-mtmd-cli --mmproj` takes) "
                    "for pictures; needed with a GGUF model, optional with a multimodal checkpoint directory")
        ->type_name("FILE")
        ->check(CLI::ExistingFile);
    cmd->add_option("--max-tiles", f.max_tiles,
                    "Most 336-pixel tiles per picture, as the HF processor's max_patches (default: the checkpoint's "
                    "preprocessor_config.json, else 16); fewer tiles encode faster and take fewer tokens")
        ->check(CLI::Range(1, 16));
    cmd->add_flag("--no-prefault", f.no_prefault, "Do not page the weights in before starting");
    cmd->add_flag("-q,--quiet", f.quiet, "No loading progress and no speed report");
}

std::unique_ptr<Runner> make_runner(const GenerationFlags& f) {
    auto r = std::make_unique<Runner>();
    namespace fs = std::filesystem;
    // Tokenizer first: a missing tokenizer is the most common setup mistake, and cheap to detect.
    model::ModelTokenizer tok = model::load_model_tokenizer(f.model_dir, f.tokenizer);
    if (!f.quiet) std::fprintf(stderr, "tokenizer: %s\n", tok.origin.c_str());
    r->tokenizer = std::make_unique<text::Tokenizer>(std::move(tok.tokenizer));
    r->model = engine::load_model(f.model_dir);
    if (!f.mmproj.empty()) adopt_mmproj_image_token(*r->model, r->tokenizer.get());
    const model::TextConfig& c = r->model->config.text;
    check(r->tokenizer->n_vocab() <= c.vocab_size,
          cat("tokenizer ", tok.origin, " has ", r->tokenizer->n_vocab(), " tokens but the model's vocabulary is ",
              c.vocab_size, ": they do not belong together"));
    if (!f.no_prefault) {
        ProgressBar bar("loading " + fs::path(f.model_dir).filename().string(), r->model->file_bytes());
        if (!f.quiet) r->model->prefault([&](uint64_t done, uint64_t) { bar.update(done); });
        else r->model->prefault();
        if (!f.quiet) bar.finish();
    }
    const int64_t max_ctx = c.max_position_embeddings;
    r->context_length = f.ctx > 0 ? f.ctx : std::min<int64_t>(8192, max_ctx);
    check(r->context_length <= max_ctx, cat("--ctx ", f.ctx, " exceeds the model's maximum of ", max_ctx, " positions"));
    r->forward = backend::make_forward(
        c, r->model->plan, r->model->weights,
        resolve_backend(f.backend, c, r->model->plan, backend::gpu_weight_bytes(r->model->weights), r->context_length, f.quiet));

    const engine::GenerationDefaults d =
        engine::read_generation_defaults(r->model->generation_config, r->model->config);
    SamplingParams& s = r->sampling;
    s = d.sampling;
    if (f.temperature) s.temperature = *f.temperature;
    if (f.top_k) s.top_k = *f.top_k;
    if (f.top_p) s.top_p = *f.top_p;
    if (f.min_p) s.min_p = *f.min_p;
    if (f.repeat_penalty) s.repetition_penalty = *f.repeat_penalty;
    if (f.frequency_penalty) s.frequency_penalty = *f.frequency_penalty;
    if (f.presence_penalty) s.presence_penalty = *f.presence_penalty;
    s.seed = f.seed ? *f.seed : std::random_device{}();
    validate(s);

    check(f.max_tokens >= 0, "--max-tokens must not be negative");
    r->generate_options.max_new_tokens = f.max_tokens;
    r->generate_options.stop_strings = f.stop;
    // Stop at <|eot|>, <|eom|>, <|end_of_text|> and whatever the checkpoint declares as EOS.
    r->generate_options.stop_tokens = r->tokenizer->stop_tokens();
    for (int32_t id : d.eos_token_ids) r->generate_options.stop_tokens.push_back(id);

    r->weight_bytes_per_token = model::weight_bytes_per_token(r->model->weights, c, r->model->plan);
    return r;
}

void print_stats(const Runner& r, const engine::GenerateResult& res) {
    const double pp = res.prompt_seconds > 0 ? static_cast<double>(res.n_prompt) / res.prompt_seconds : 0;
    const auto n_decoded = static_cast<double>(res.tokens.size() > 1 ? res.tokens.size() - 1 : 0);
    const double tg = res.gen_seconds > 0 ? n_decoded / res.gen_seconds : 0;
    std::fprintf(stderr, "\n[prompt %lld tok, %.1f tok/s | generation %zu tok, %.1f tok/s, %s/s weights read | stop: %s]\n",
                 static_cast<long long>(res.n_prompt), pp, res.tokens.size(), tg,
                 human_bytes(tg * r.weight_bytes_per_token).c_str(), engine::stop_reason_name(res.reason));
}

}  // namespace scout::apps
