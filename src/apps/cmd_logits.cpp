// `scout logits`: run token ids through the model and write float32 logits [n_tokens, vocab]
// as .npy. The first K tokens go in one batch, the rest in pieces of N through the KV cache,
// so the same command checks batched prefill and cached decode against the reference.
// --dump DIR also writes every named intermediate tensor (docs/dumps.md). --image FILE (repeatable)
// replaces the rows at the image token (the config's image_token_index) by the images' projected
// vision features, in order: the ids must already hold each image's token block (docs/images.md).
#include <algorithm>
#include <iostream>
#include <optional>

#include "apps/activation_dump.hpp"
#include "apps/backend_flags.hpp"
#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "apps/image_input.hpp"
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
    std::string dump_dir;
    int64_t dump_max_mib = 2048;
    int64_t prefill = -1;  // -1: all tokens in one batch
    int64_t step = 1;
    std::vector<std::string> images;
    std::string mmproj;
    int max_tiles = 0;
    BackendFlags backend;
};

// The projected rows of every image, in order, checked against the image tokens in `ids`.
std::vector<float> image_rows(const LogitsOptions& opt, const engine::Model& model, const std::vector<int32_t>& ids) {
    const std::vector<std::string>& images = opt.images;
    EncodedImages e = encode_image_files(model, opt.mmproj, opt.max_tiles, images, opt.backend.threads);
    const auto in_ids = std::count(ids.begin(), ids.end(), static_cast<int32_t>(model.config.image_token_index));
    if (in_ids != e.image_tokens)
        throw Error(cat("--tokens holds ", in_ids, " image tokens (id ", model.config.image_token_index, ") but the ",
                        images.size(), " image(s) give ", e.image_tokens, ": the ids must hold each image's whole token block"));
    return std::move(e.rows);
}

void run_logits(const LogitsOptions& opt) {
    const std::vector<int32_t> ids = parse_id_list(opt.tokens, "--tokens");
    check(!ids.empty(), "--tokens: give at least one token id");
    check(opt.step >= 1, "--step must be at least 1");
    check(!opt.output.empty() || !opt.dump_dir.empty(), "give -o FILE.npy, --dump DIR, or both");
    check(opt.dump_max_mib >= 0, "--dump-max-mib must not be negative");
    const auto n = static_cast<int64_t>(ids.size());
    const int64_t prefill = opt.prefill < 0 ? n : std::min(opt.prefill, n);

    const auto model = engine::load_model(opt.model_dir);
    if (!opt.mmproj.empty()) adopt_mmproj_image_token(*model, nullptr);  // the ids come as numbers: no tokenizer
    const int64_t V = model->config.text.vocab_size;
    const auto fwd = backend::make_forward(model->config.text, model->plan, model->weights,
                                           resolve_backend(opt.backend, model->config.text, model->plan,
                                                           backend::gpu_weight_bytes(model->weights), n, false));
    const auto kv = fwd->make_kv();
    const std::vector<float> rows = opt.images.empty() ? std::vector<float>{} : image_rows(opt, *model, ids);
    const int64_t D = model->config.text.hidden_size;
    size_t rows_used = 0;
    std::optional<ActivationDump> dump;
    if (!opt.dump_dir.empty()) {
        dump.emplace(static_cast<uint64_t>(opt.dump_max_mib) << 20);
        fwd->set_observer(&*dump);
    }

    std::vector<float> all(static_cast<std::size_t>(n * V));
    std::vector<float> logits;
    int64_t done = 0;
    while (done < n) {
        const int64_t len = done == 0 && prefill > 0 ? prefill : std::min(opt.step, n - done);
        backend::SequenceStep step;
        step.kv = kv.get();
        step.tokens = std::span<const int32_t>(ids).subspan(static_cast<std::size_t>(done), static_cast<std::size_t>(len));
        step.all_logits = true;
        std::vector<int64_t> at;  // this piece's image-token rows
        if (!rows.empty())
            for (int64_t i = 0; i < len; ++i)
                if (step.tokens[static_cast<std::size_t>(i)] == model->config.image_token_index) at.push_back(i);
        step.embedding_rows = at;
        step.embeddings = std::span<const float>(rows).subspan(rows_used * D, at.size() * D);
        rows_used += at.size();
        fwd->forward(backend::Batch(&step, 1), logits);
        std::copy(logits.begin(), logits.end(), all.begin() + done * V);
        done += len;
    }
    if (dump) {
        fwd->set_observer(nullptr);
        dump->write(opt.dump_dir, "scout", ids);
        std::cerr << "wrote " << dump->size() << " tensors (" << human_bytes(static_cast<double>(dump->bytes())) << ") to "
                  << opt.dump_dir << "\n";
    }
    if (!opt.output.empty()) {
        const int64_t shape[2] = {n, V};
        write_npy_f32(opt.output, all, shape);
        std::cerr << "wrote logits [" << n << ", " << V << "] to " << opt.output << "\n";
    }
}

}  // namespace

void register_logits(CLI::App& app) {
    auto opt = std::make_shared<LogitsOptions>();
    CLI::App* cmd = app.add_subcommand("logits", "Write the logits of a token sequence to a .npy file (and with --dump, every named activation)");
    cmd->add_option("-m,--model", opt->model_dir, "Hugging Face checkpoint directory, or a llama.cpp GGUF file (the first part of a split one)")->required();
    cmd->add_option("--tokens", opt->tokens, "Comma-separated token ids, e.g. 200000,1556,19873")->required();
    cmd->add_option("-o,--output", opt->output, "Output .npy file: float32 [n_tokens, vocab]");
    cmd->add_option("--prefill", opt->prefill, "Tokens in the first batch (default: all)");
    cmd->add_option("--step", opt->step, "Tokens per later batch, through the KV cache (default 1)");
    cmd->add_option("--dump", opt->dump_dir,
                    "Also write every named intermediate tensor as DIR/<name>.npy, float32 [n_tokens, ...], "
                    "plus DIR/index.json (names like the Hugging Face modules; see docs/dumps.md)")
        ->type_name("DIR");
    cmd->add_option("--dump-max-mib", opt->dump_max_mib, "Refuse a --dump larger than this many MiB (default 2048)");
    cmd->add_option("--image", opt->images,
                    "Image file (JPEG, PNG, GIF, BMP, WebP; repeatable): its vision features replace the rows at the image "
                    "token, in order. The ids must hold each image's token block. Needs a multimodal Hugging Face checkpoint or --mmproj")
        ->type_name("FILE")
        ->check(CLI::ExistingFile);
    cmd->add_option("--mmproj", opt->mmproj,
                    "llama.cpp's Llama 4 mmproj GGUF for --image (needed with a GGUF model; <|patch|> is then the image token)")
        ->type_name("FILE")
        ->check(CLI::ExistingFile);
    cmd->add_option("--max-tiles", opt->max_tiles, "Most tiles per picture (HF's max_patches; default: preprocessor_config.json, else 16)")
        ->check(CLI::Range(1, 16));
    add_backend_flags(cmd, opt->backend);
    cmd->footer(
        "Examples:\n"
        "  scout logits -m tests/data/models/tiny_text_f32 --tokens 5,17,99,3 --prefill 2 --step 1 -o out.npy\n"
        "  scout logits -m tests/data/models/tiny_text_f32 --tokens 5,17,99,3 --kv-type f32 --dump dump_scout\n"
        "  python tools/reference/dump_activations.py -m tests/data/models/tiny_text_f32 --tokens 5,17,99,3 --out dump_hf\n"
        "  python tools/reference/diff_dumps.py dump_scout dump_hf   # the first tensor that differs");
    cmd->callback([opt] { run_logits(*opt); });
}

}  // namespace scout::apps
