// `scout quantize`: Hugging Face checkpoint -> llama.cpp-style `llama4` GGUF.
#include <cstdio>
#include <filesystem>
#include <optional>

#include "apps/commands.hpp"
#include "apps/progress.hpp"
#include "base/error.hpp"
#include "engine/model.hpp"
#include "model/gguf_export.hpp"
#include "text/tokenizer.hpp"
#include "vision/mmproj_writer.hpp"

namespace scout::apps {

namespace {

struct QuantizeOptions {
    std::string model_dir;
    std::string type = "Q4_K_M";
    std::string output;
    std::string tokenizer;  // empty: the checkpoint's own, when it has one
    int threads = 0;  // 0: all hardware threads
    bool force = false;
    std::string mmproj;              // where the vision tower goes (default: mmproj-<output name> beside it)
    std::string mmproj_type = "F16";
    bool no_mmproj = false;
};

// The default mmproj path: "mmproj-" + the output's file name, in the output's directory.
std::filesystem::path default_mmproj_path(const std::filesystem::path& output) {
    return output.parent_path() / ("mmproj-" + output.filename().string());
}

// The tokenizer whose vocabulary goes into the file (llama.cpp needs it; scout does not). A
// checkpoint without one, or whose vocab_size is smaller than the tokenizer's (the tiny test
// fixtures), is still exported, without tokenizer metadata, with a warning.
std::optional<text::Tokenizer> load_tokenizer(const QuantizeOptions& o, int64_t vocab_size) {
    namespace fs = std::filesystem;
    fs::path path = o.tokenizer;
    if (path.empty()) {
        if (!fs::exists(fs::path(o.model_dir) / "tokenizer.model") && !fs::exists(fs::path(o.model_dir) / "tokenizer.json")) {
            std::fprintf(stderr, "warning: %s has no tokenizer.model or tokenizer.json, so the GGUF gets no tokenizer "
                                 "metadata and llama.cpp will not load it; pass --tokenizer PATH\n", o.model_dir.c_str());
            return std::nullopt;
        }
        path = text::find_tokenizer_file(o.model_dir);
    }
    text::Tokenizer tok = text::Tokenizer::load(path);
    if (tok.n_vocab() > vocab_size) {
        check(o.tokenizer.empty(), cat(path.string(), " has ", tok.n_vocab(), " tokens but the model's vocab_size is ",
                                       vocab_size, ": they do not belong together"));
        std::fprintf(stderr, "warning: %s has %d tokens, more than the model's vocab_size %lld; writing no tokenizer "
                             "metadata\n", path.string().c_str(), tok.n_vocab(), static_cast<long long>(vocab_size));
        return std::nullopt;
    }
    return tok;
}

void quantize(const QuantizeOptions& o) {
    namespace fs = std::filesystem;
    const model::GgufMix mix = model::parse_gguf_mix(o.type);
    check(o.force || !fs::exists(o.output), cat(o.output, " exists; pass --force to overwrite it"));
    check(fs::is_directory(o.model_dir), cat(o.model_dir, " is not a Hugging Face checkpoint directory"));
    check(o.mmproj_type == "F16" || o.mmproj_type == "F32", cat("--mmproj-type ", o.mmproj_type, ": give F16 or F32"));
    const auto m = engine::load_model(o.model_dir);
    // A multimodal checkpoint's vision tower goes to llama.cpp's mmproj file (docs/images.md).
    const bool vision = !o.no_mmproj && !m->config.vision_config.is_null() && m->hf->find("vision_model.class_embedding");
    const fs::path mmproj = o.mmproj.empty() ? default_mmproj_path(o.output) : fs::path(o.mmproj);
    if (vision) check(o.force || !fs::exists(mmproj), cat(mmproj.string(), " exists; pass --force to overwrite it"));
    model::GgufExportOptions options{mix, fs::path(o.model_dir).filename().string()};
    const std::optional<text::Tokenizer> tokenizer = load_tokenizer(o, m->config.text.vocab_size);
    if (tokenizer) options.tokenizer = &*tokenizer;
    options.threads = o.threads;
    LazyProgressBar progress("quantizing to " + o.type);
    model::export_llama4_gguf(*m->hf, m->config, m->plan, m->weights, o.output, options, progress.callback());
    progress.finish();
    std::fprintf(stderr, "wrote %s (%s)\n", o.output.c_str(), o.type.c_str());
    if (vision) {
        vision::write_llama4_mmproj(*m->hf, m->config.vision_config, m->config.text.hidden_size, mmproj,
                                    {o.mmproj_type == "F16" ? vision::MmprojType::F16 : vision::MmprojType::F32,
                                     fs::path(o.model_dir).filename().string()});
        std::fprintf(stderr, "wrote %s (the vision tower, %s: use it with --mmproj, or llama-mtmd-cli --mmproj)\n",
                     mmproj.string().c_str(), o.mmproj_type.c_str());
    }
}

}  // namespace

void register_quantize(CLI::App& app) {
    auto opt = std::make_shared<QuantizeOptions>();
    CLI::App* cmd = app.add_subcommand("quantize", "Convert a Hugging Face checkpoint to a llama4 GGUF file");
    cmd->add_option("-m,--model", opt->model_dir, "Hugging Face checkpoint directory")->required();
    cmd->add_option("--type", opt->type, "Q4_K_M, Q4_0, Q8_0, BF16, F16 or F32")->capture_default_str();
    cmd->add_option("-o,--output", opt->output, "GGUF file to write")->required();
    cmd->add_option("--tokenizer", opt->tokenizer,
                    "tokenizer.model or tokenizer.json whose vocabulary to write (default: the checkpoint's own)");
    cmd->add_option("-t,--threads", opt->threads, "Threads that quantize rows (default: all cores; the file is the same)");
    cmd->add_flag("--force", opt->force, "Overwrite existing output files");
    cmd->add_option("--mmproj", opt->mmproj,
                    "Where a multimodal checkpoint's vision tower goes, as llama.cpp's mmproj GGUF (default: mmproj-<output "
                    "name> beside the output)")
        ->type_name("FILE");
    cmd->add_option("--mmproj-type", opt->mmproj_type, "F16 (llama.cpp's default) or F32")->capture_default_str();
    cmd->add_flag("--no-mmproj", opt->no_mmproj, "Do not write the mmproj file");
    cmd->footer("Tensor names and layout follow llama.cpp's converter; norms, the router and rope_freqs stay F32.\n"
                "The checkpoint's tokenizer (or --tokenizer) is written as llama.cpp's gpt2/llama4 vocabulary, which\n"
                "llama.cpp needs to load the file. A multimodal checkpoint's vision tower is written beside it as the\n"
                "mmproj file that `scout run --mmproj` and `llama-mtmd-cli --mmproj` take.\n\n"
                "Example:\n  scout quantize -m Llama-4-Scout-17B-16E-Instruct --type Q4_K_M -o scout-q4_k_m.gguf\n"
                "  scout run -m scout-q4_k_m.gguf --mmproj mmproj-scout-q4_k_m.gguf --image photo.jpg -p \"Describe it.\"");
    cmd->callback([opt] { quantize(*opt); });
}

}  // namespace scout::apps
