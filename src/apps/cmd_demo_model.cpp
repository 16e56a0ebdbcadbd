// `scout demo-model OUT_DIR`: write the built-in random-weight Llama 4 checkpoint.
#include <cstdio>
#include <filesystem>

#include "apps/commands.hpp"
#include "apps/progress.hpp"
#include "base/error.hpp"
#include "model/demo_model.hpp"

namespace scout::apps {

namespace {

struct DemoOptions {
    std::string out_dir;
    uint64_t seed = 0;
    std::string tokenizer;
    std::string size = "small";
    bool vision = false;
    bool force = false;
};

void demo(const DemoOptions& o) {
    namespace fs = std::filesystem;
    check(!o.tokenizer.empty(), "--tokenizer is required: the path of Llama 4's tokenizer.model "
                                "(get it with `tools/fetch_tokenizer.sh ~/.cache/scout/tokenizer.model`)");
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
    cmd->footer("The weights are random, so the model writes gibberish; it exercises every code path of a real\n"
                "checkpoint (16 experts + shared expert, NoPE every 4th layer, chunked attention, QK norm).\n\n"
                "Example:\n  scout demo-model demo-model --tokenizer ~/.cache/scout/tokenizer.model\n"
                "  scout run -m demo-model -p \"Hello\" -n 32\n"
                "  scout demo-model demo-vision --vision --tokenizer ~/.cache/scout/tokenizer.model\n"
                "  scout run -m demo-vision --image photo.jpg -p \"What is in this picture?\" -n 16\n"
                "  scout demo-model bench-1b --size 1b --tokenizer ~/.cache/scout/tokenizer.model   # 2.6 GB");
    cmd->callback([opt] { demo(*opt); });
}

}  // namespace scout::apps
