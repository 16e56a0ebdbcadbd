// `scout logits`: run token ids through the model and write float32 logits [n_tokens, vocab]
// as .npy. The first K tokens go in one batch, the rest in pieces of N through the KV cache,
// so the same command checks batched prefill and cached decode against the reference.
#include <algorithm>
#include <iostream>

#include "apps/backend_flags.hpp"
#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "backend/factory.hpp"
#include "base/error.hpp"
#include "base/npy.hpp"
#include "engine/model.hpp"

namespace scout::apps {

namespace {

struct LogitsOptions {
    std::string model_dir;
    std::string tokens;
    std::string output;
    int64_t prefill = -1;  // -1: all tokens in one batch
    int64_t step = 1;
    BackendFlags backend;
};

void run_logits(const LogitsOptions& opt) {
    const std::vector<int32_t> ids = parse_id_list(opt.tokens, "--tokens");
    check(!ids.empty(), "--tokens: give at least one token id");
    check(opt.step >= 1, "--step must be at least 1");
    const auto n = static_cast<int64_t>(ids.size());
    const int64_t prefill = opt.prefill < 0 ? n : std::min(opt.prefill, n);

    const auto model = engine::load_model(opt.model_dir);
    const int64_t V = model->config.text.vocab_size;
    const auto fwd = backend::make_forward(model->config.text, model->plan, model->weights, backend_options(opt.backend));
    const auto kv = fwd->make_kv();

    std::vector<float> all(static_cast<std::size_t>(n * V));
    std::vector<float> logits;
    int64_t done = 0;
    while (done < n) {
        const int64_t len = done == 0 && prefill > 0 ? prefill : std::min(opt.step, n - done);
        fwd->forward(*kv, std::span<const int32_t>(ids).subspan(static_cast<std::size_t>(done), static_cast<std::size_t>(len)),
                    /*all_logits=*/true, logits);
        std::copy(logits.begin(), logits.end(), all.begin() + done * V);
        done += len;
    }
    const int64_t shape[2] = {n, V};
    write_npy_f32(opt.output, all, shape);
    std::cerr << "wrote logits [" << n << ", " << V << "] to " << opt.output << "\n";
}

}  // namespace

void register_logits(CLI::App& app) {
    auto opt = std::make_shared<LogitsOptions>();
    CLI::App* cmd = app.add_subcommand("logits", "Write the logits of a token sequence to a .npy file");
    cmd->add_option("-m,--model", opt->model_dir, "Hugging Face checkpoint directory, or a llama.cpp GGUF file (the first part of a split one)")->required();
    cmd->add_option("--tokens", opt->tokens, "Comma-separated token ids, e.g. 200000,1556,19873")->required();
    cmd->add_option("-o,--output", opt->output, "Output .npy file: float32 [n_tokens, vocab]")->required();
    cmd->add_option("--prefill", opt->prefill, "Tokens in the first batch (default: all)");
    cmd->add_option("--step", opt->step, "Tokens per later batch, through the KV cache (default 1)");
    add_backend_flags(cmd, opt->backend);
    cmd->footer("Example:\n  scout logits -m tests/data/models/tiny_text_f32 --tokens 5,17,99,3 --prefill 2 --step 1 -o out.npy");
    cmd->callback([opt] { run_logits(*opt); });
}

}  // namespace scout::apps
