// `scout info -m DIR|FILE.gguf [--json]`: what a checkpoint is, without loading its weights.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "apps/backend_flags.hpp"
#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "backend/factory.hpp"
#include "base/error.hpp"
#include "io/gguf.hpp"
#include "io/hf_checkpoint.hpp"
#include "model/config.hpp"
#include "model/gguf_config.hpp"
#include "model/gguf_tokenizer_read.hpp"
#include "model/layer_plan.hpp"
#include "kv/kv_size.hpp"
#include "model/model_size.hpp"

namespace scout::apps {

namespace {

struct InfoOptions {
    std::string model_dir;
    bool json = false;
    std::string ctx;     // --ctx: token counts to size the KV memory for
    std::string kv_ram;  // --kv-ram: RAM budget of the global layers' KV (the rest in a file)
    std::string kv_type;         // --kv-type: the chunk rings' type of the combined row (default f16)
    std::string kv_type_global;  // --kv-type-global: adds a row with the global layers in this type
};

// A row of the KV tables: one type for all layers ("f16"), or chunk rings and global layers in
// two types ("f16/q4_0", from --kv-type and --kv-type-global).
struct KvRow {
    std::string name;
    kv::KvSize size;
    bool is_default = false;
};

// Of one sequence's KV at n tokens, the bytes past a --kv-ram budget (global layers only: chunk
// rings always stay in RAM). Page granularity aside, what the file would hold.
int64_t kv_in_file(const kv::KvSize& ks, int64_t n, uint64_t kv_ram) {
    return kv_ram == 0 ? 0 : std::max<int64_t>(0, ks.bytes_per_token * n - static_cast<int64_t>(kv_ram));
}

// The weights a checkpoint holds: a Hugging Face directory's safetensors files, or a GGUF file
// (llama.cpp's llama4 layout; split models from their first part) with its tensor types.
struct WeightsInfo {
    bool present = false;
    uint64_t bytes = 0;
    std::size_t files = 0;
    std::string format;                      // "safetensors" or "GGUF"
    std::map<std::string, int> tensor_types; // GGUF: type name -> tensor count
    model::GgufTokenizerInfo tokenizer;      // GGUF: the vocabulary and chat template it carries
};

// One sequence's KV memory at each context length of --ctx, per KV type: the global layers'
// rows for every position plus the chunk rings (filled up to the chunk size), as allocated.
void print_kv_at_ctx(const std::vector<KvRow>& kv_sizes, const std::vector<int64_t>& ctx,
                     int64_t chunk_size, int64_t max_positions, uint64_t kv_ram) {
    std::cout << "kv at --ctx  one sequence, all layers (global rows for every position + chunk rings):\n"
              << "  " << std::string(13, ' ');
    for (int64_t n : ctx) {
        const std::string h = group_thousands(n) + (n > max_positions ? "*" : "");
        std::cout << std::string(h.size() < 14 ? 14 - h.size() : 1, ' ') << h;
    }
    std::cout << "\n";
    for (const auto& [name, ks, is_default] : kv_sizes) {
        std::cout << "  " << name << std::string(13 - std::min<std::size_t>(12, name.size()), ' ');
        for (int64_t n : ctx) {
            const std::string v = human_bytes(static_cast<double>(ks.bytes_for(n, chunk_size)));
            std::cout << std::string(v.size() < 14 ? 14 - v.size() : 1, ' ') << v;
        }
        std::cout << "\n";
    }
    if (kv_ram > 0) {
        std::cout << "  of which in the --kv-ram file (RAM budget " << human_bytes(static_cast<double>(kv_ram))
                  << " for the global layers; chunk rings stay in RAM):\n";
        for (const auto& [name, ks, is_default] : kv_sizes) {
            std::cout << "  " << name << std::string(13 - std::min<std::size_t>(12, name.size()), ' ');
            for (int64_t n : ctx) {
                const std::string v = human_bytes(static_cast<double>(kv_in_file(ks, n, kv_ram)));
                std::cout << std::string(v.size() < 14 ? 14 - v.size() : 1, ' ') << v;
            }
            std::cout << "\n";
        }
    }
    for (int64_t n : ctx)
        if (n > max_positions) {
            std::cout << "  * beyond this model's " << group_thousands(max_positions) << " positions\n";
            break;
        }
}

void run_info(const InfoOptions& opt) {
    model::ModelConfig mc;
    WeightsInfo wi;
    if (std::filesystem::is_regular_file(opt.model_dir)) {
        const io::GgufFile f(opt.model_dir);  // the config comes from its metadata
        mc = model::gguf_model_config(f).config;
        wi = {true, 0, f.n_files(), "GGUF", {}, model::gguf_tokenizer_info(f)};
        for (const auto& t : f.tensors()) {
            wi.bytes += t.nbytes;
            ++wi.tensor_types[std::string(t.type_name)];
        }
    } else {
        const auto ckpt = io::HfCheckpoint::open(opt.model_dir);
        mc = model::parse_model_config(ckpt.config());
        wi = {ckpt.has_weights(), ckpt.total_file_bytes(), ckpt.weight_files().size(), "safetensors", {}, {}};
    }
    const model::TextConfig& c = mc.text;
    const model::LayerPlan plan = model::make_layer_plan(c);
    const model::ModelSize size = model::compute_model_size(c, plan);
    // KV memory per KV type, as allocated (types that cannot store this head size are left out).
    std::vector<KvRow> kv_sizes;
    for (kv::KvType t : kv::all_kv_types())
        if (c.head_dim % kv::kv_block_elems(t) == 0)
            kv_sizes.push_back({std::string(kv::kv_type_name(t)), kv::kv_size(c, plan, t), t == kv::kDefaultKvType});
    // --kv-type-global: one more row, chunk rings in --kv-type and global layers in that type.
    const kv::KvType chunked_type = opt.kv_type.empty() ? kv::kDefaultKvType : parse_kv_type_flag(opt.kv_type, "--kv-type");
    const kv::KvType global_type =
        opt.kv_type_global.empty() ? chunked_type : parse_kv_type_flag(opt.kv_type_global, "--kv-type-global");
    const bool mixed = global_type != chunked_type;
    const std::string mixed_name = cat(kv::kv_type_name(chunked_type), "/", kv::kv_type_name(global_type));
    if (mixed) kv_sizes.push_back({mixed_name, kv::kv_size(c, plan, chunked_type, global_type)});
    const kv::KvSize kv_default = kv::kv_size(c, plan, kv::kDefaultKvType);
    const std::vector<int64_t> ctx = opt.ctx.empty() ? std::vector<int64_t>{} : parse_token_counts(opt.ctx, "--ctx");
    const uint64_t kv_ram = opt.kv_ram.empty() ? 0 : parse_byte_size(opt.kv_ram, "--kv-ram");
    check(kv_ram == 0 || !ctx.empty(), "--kv-ram needs --ctx (it splits the KV sizes --ctx prints)");

    // The GPUs, and whether the weights (as stored in the files), one sequence's KV at the longest
    // --ctx (default 8,192 positions, default KV type) and ~1 GiB of activations fit in their free memory.
    std::string why_no_gpu;
    const std::vector<backend::GpuSummary> gpus = backend::list_gpus(&why_no_gpu);
    const int64_t fit_ctx = ctx.empty() ? std::min<int64_t>(8192, c.max_position_embeddings) : *std::max_element(ctx.begin(), ctx.end());
    const kv::KvSize fit_kv = kv::kv_size(c, plan, chunked_type, global_type);
    const uint64_t kv_fit_bytes = static_cast<uint64_t>(fit_kv.bytes_for(fit_ctx, plan.chunk_size));
    const uint64_t gpu_need = wi.bytes + kv_fit_bytes + (uint64_t{1} << 30);

    if (opt.json) {
        nlohmann::json j;
        nlohmann::json gj = nlohmann::json::array();
        for (const auto& g : gpus)
            gj.push_back({{"device", g.device}, {"name", g.name}, {"total_bytes", g.total_bytes}, {"free_bytes", g.free_bytes},
                          {"need_bytes", gpu_need}, {"context_tokens", fit_ctx}, {"fits", wi.present && gpu_need <= g.free_bytes}});
        j["gpus"] = gj;
        if (gpus.empty()) j["gpu_none_reason"] = why_no_gpu;
        j["model_type"] = mc.model_type;
        j["architecture"] = mc.architecture;
        j["multimodal"] = mc.multimodal;
        j["n_layers"] = plan.n_layers();
        j["n_chunked_layers"] = plan.n_chunked();
        j["n_global_layers"] = plan.n_global();
        j["n_rope_layers"] = plan.n_rope();
        j["n_moe_layers"] = plan.n_moe();
        j["n_dense_layers"] = plan.n_dense();
        j["n_params_text"] = size.n_params_text;
        j["n_params_active"] = size.n_params_active;
        j["kv_type_default"] = std::string(kv::kv_type_name(kv::kDefaultKvType));
        j["kv_bytes_per_token"] = kv_default.bytes_per_token;
        j["kv_chunk_ring_bytes"] = kv_default.chunk_ring_bytes;
        nlohmann::json kvj = nlohmann::json::object();
        for (const auto& [name, ks, is_default] : kv_sizes)
            kvj[name] = {{"bytes_per_token", ks.bytes_per_token}, {"chunk_ring_bytes", ks.chunk_ring_bytes}};
        j["kv"] = kvj;
        if (mixed)  // the key of the combined row in "kv" and "kv_at_ctx"
            j["kv_types"] = {{"name", mixed_name},
                             {"chunked", std::string(kv::kv_type_name(chunked_type))},
                             {"global", std::string(kv::kv_type_name(global_type))}};
        if (!ctx.empty()) {
            nlohmann::json at = nlohmann::json::array();
            for (int64_t n : ctx) {
                nlohmann::json by = nlohmann::json::object();
                nlohmann::json file = nlohmann::json::object();
                for (const auto& [name, ks, is_default] : kv_sizes) {
                    by[name] = ks.bytes_for(n, plan.chunk_size);
                    file[name] = kv_in_file(ks, n, kv_ram);
                }
                at.push_back({{"tokens", n}, {"within_model_context", n <= c.max_position_embeddings}, {"kv_bytes", by},
                              {"kv_bytes_in_file", file}});
            }
            j["kv_at_ctx"] = at;
        }
        j["attention_chunk_size"] = plan.chunk_size;
        j["dtype"] = std::string(dtype_name(c.dtype));
        j["has_weights"] = wi.present;
        j["weight_format"] = wi.format;
        j["weight_file_bytes"] = wi.bytes;
        if (!wi.tensor_types.empty()) j["tensor_types"] = wi.tensor_types;
        if (wi.format == "GGUF") {
            j["tokenizer_in_file"] = wi.tokenizer.has_vocab;
            j["chat_template_in_file"] = wi.tokenizer.has_chat_template;  // not used: see the text output
        }
        nlohmann::json layers = nlohmann::json::array();
        for (const auto& r : plan.layers)
            layers.push_back({{"rope", r.rope}, {"chunked", r.chunked}, {"qk_norm", r.qk_norm},
                              {"temperature", r.temperature}, {"moe", r.moe}});
        j["layers"] = layers;
        std::cout << j.dump(2) << "\n";
        return;
    }
    std::cout << "model        " << opt.model_dir << "\n"
              << "type         " << mc.model_type << (mc.architecture.empty() ? "" : " (" + mc.architecture + ")")
              << (mc.multimodal ? ", multimodal checkpoint (text part used)" : "") << "\n"
              << "dtype        " << dtype_name(c.dtype) << "\n"
              << "vocab        " << group_thousands(c.vocab_size) << "\n"
              << "hidden       " << c.hidden_size << ", " << c.num_hidden_layers << " layers, " << c.num_attention_heads
              << " heads x " << c.head_dim << " (" << c.num_key_value_heads << " kv heads)\n"
              << "experts      " << c.num_local_experts << " routed (top-" << c.num_experts_per_tok
              << ") + 1 shared, width " << c.intermediate_size << "; dense width " << c.intermediate_size_mlp << "\n"
              << "rope         theta " << c.rope_theta;
    if (c.rope_scaling.type == model::RopeType::Llama3)
        std::cout << ", llama3 scaling factor " << c.rope_scaling.factor << " low " << c.rope_scaling.low_freq_factor
                  << " high " << c.rope_scaling.high_freq_factor << " original "
                  << c.rope_scaling.original_max_position_embeddings;
    std::cout << "\nattention    chunk " << plan.chunk_size << ", qk-norm " << (c.use_qk_norm ? "on" : "off")
              << ", temperature tuning " << (c.attn_temperature_tuning ? "on" : "off") << " (floor " << c.floor_scale
              << ", scale " << c.attn_scale << ")\n"
              << "context      " << group_thousands(c.max_position_embeddings) << " positions\n\n"
              << format_layer_plan(plan) << "\n"
              << "layers       " << plan.n_layers() << " = " << plan.n_chunked() << " chunked + " << plan.n_global()
              << " global; " << plan.n_moe() << " moe + " << plan.n_dense() << " dense\n"
              << "parameters   " << group_thousands(size.n_params_text) << " text ("
              << human_bytes(static_cast<double>(size.n_params_text) * size.dtype_bytes) << " at "
              << dtype_name(c.dtype) << "), " << group_thousands(size.n_params_active) << " active per token\n"
              << "kv memory    per token of the global layers + fixed for the chunk rings, by --kv-type:\n";
    for (const auto& [type_name, ks, is_default] : kv_sizes) {
        const std::string name = type_name + (is_default ? " (default)" : "");
        std::cout << "  " << name << std::string(name.size() < 15 ? 15 - name.size() : 1, ' ') << std::string(9 - std::min<std::size_t>(9, group_thousands(ks.bytes_per_token).size()), ' ')
                  << group_thousands(ks.bytes_per_token) << " bytes per token + "
                  << human_bytes(static_cast<double>(ks.chunk_ring_bytes)) << "\n";
    }
    if (mixed)
        std::cout << "  " << mixed_name << ": chunk rings in " << kv::kv_type_name(chunked_type) << " (--kv-type), global layers in "
                  << kv::kv_type_name(global_type) << " (--kv-type-global)\n";
    if (!ctx.empty()) print_kv_at_ctx(kv_sizes, ctx, plan.chunk_size, c.max_position_embeddings, kv_ram);
    std::cout << "weights      "
              << (wi.present ? human_bytes(static_cast<double>(wi.bytes)) + " in " + std::to_string(wi.files) + " " +
                                   wi.format + " file(s)"
                             : std::string("none (config only)"));
    if (!wi.tensor_types.empty()) {
        std::cout << "; tensors";
        for (const auto& [type, n] : wi.tensor_types) std::cout << " " << type << " x" << n;
    }
    std::cout << "\n";
    if (gpus.empty()) std::cout << "gpu          none (" << why_no_gpu << "): --device auto runs on the CPU\n";
    for (const auto& g : gpus) {
        std::cout << "gpu          " << g.device << " " << g.name << ", " << human_bytes(static_cast<double>(g.total_bytes)) << " ("
                  << human_bytes(static_cast<double>(g.free_bytes)) << " free)";
        if (!wi.present) {
            std::cout << "\n";
            continue;
        }
        std::cout << ": weights " << human_bytes(static_cast<double>(wi.bytes)) << " + KV at " << group_thousands(fit_ctx)
                  << " tokens " << human_bytes(static_cast<double>(kv_fit_bytes)) << " + ~1 GiB of activations "
                  << (gpu_need <= g.free_bytes ? "fit (--device auto uses it)" : "do not fit (--device auto runs on the CPU)")
                  << "\n";
    }
    if (wi.format == "GGUF") {
        const model::GgufTokenizerInfo& t = wi.tokenizer;
        std::cout << "tokenizer    "
                  << (t.has_vocab ? "in the file (" + t.model + "/" + t.pre + ", " +
                                        group_thousands(static_cast<int64_t>(t.n_tokens)) + " tokens), used unless a "
                                        "tokenizer.model is beside it or --tokenizer is given"
                                  : std::string("none in the file: put tokenizer.model beside it or pass --tokenizer"))
                  << "\n";
        // The file's Jinja template is what llama.cpp would render; scout renders Meta's format
        // itself, token for token (docs/tokenizer.md), so the template is never run.
        if (t.has_chat_template)
            std::cout << "chat format  scout's own exact Llama 4 format; the file's tokenizer.chat_template is not used\n";
    }
}

}  // namespace

void register_info(CLI::App& app) {
    auto opt = std::make_shared<InfoOptions>();
    CLI::App* cmd = app.add_subcommand("info", "Describe a checkpoint: config, per-layer plan, parameters, KV memory");
    cmd->add_option("-m,--model", opt->model_dir,
                    "Hugging Face checkpoint directory (config.json alone is enough) or llama4 GGUF file")
        ->required();
    cmd->add_flag("--json", opt->json, "Print a JSON object instead of the table");
    cmd->add_option("--ctx", opt->ctx,
                    "Also size one sequence's KV memory at these context lengths, per --kv-type "
                    "(comma-separated; K = 1,024, M = 1,048,576; e.g. 128K,1M,10M)");
    cmd->add_option("--kv-ram", opt->kv_ram,
                    "With --ctx: also show how much of that KV would go to the file under this RAM budget "
                    "(as run/serve --kv-ram; e.g. 64G)");
    cmd->add_option("--kv-type", opt->kv_type,
                    "With --kv-type-global: the chunk rings' type of the combined row (default " +
                        std::string(kv::kv_type_name(kv::kDefaultKvType)) + ")");
    cmd->add_option("--kv-type-global", opt->kv_type_global,
                    "Also size the KV with the global layers in this type and the chunk rings in --kv-type "
                    "(a row named e.g. f16/q4_0), as run/serve --kv-type-global");
    cmd->footer("Example:\n  scout info -m Llama-4-Scout-17B-16E-Instruct\n  scout info -m scout-q4_k_m.gguf\n"
                "  scout info -m DIR --json\n  scout info -m Llama-4-Scout-17B-16E-Instruct --ctx 128K,1M,10M\n"
                "  scout info -m Llama-4-Scout-17B-16E-Instruct --ctx 128K,1M,10M --kv-type-global q4_0");
    cmd->callback([opt] { run_info(*opt); });
}

}  // namespace scout::apps
