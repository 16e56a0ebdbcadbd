// `scout run`: plain text completion, streamed to stdout.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/commands.hpp"
#include "apps/image_input.hpp"
#include "apps/interrupt.hpp"
#include "apps/runner.hpp"
#include "base/error.hpp"
#include "engine/session.hpp"
#include "grammar/json_schema.hpp"
#include "grammar/token_mask.hpp"
#include "sample/sampler.hpp"
#include "text/image_layout.hpp"
#include "text/special_tokens.hpp"

namespace scout::apps {

namespace {

struct RunOptions {
    GenerationFlags gen;
    std::string prompt;
    std::string prompt_file;
    bool no_bos = false;
    bool json = false;             // --json: the output is a JSON object
    std::string json_schema_file;  // --json-schema FILE: the output validates against it
    std::vector<std::string> images;  // --image FILE: their token blocks go before the prompt text
};

// The grammar --json / --json-schema ask for, or null (docs/structured-output.md).
std::shared_ptr<const grammar::Grammar> output_grammar(const RunOptions& o) {
    check(!(o.json && !o.json_schema_file.empty()), "give at most one of --json and --json-schema");
    if (o.json) return grammar::json_object_grammar();
    if (o.json_schema_file.empty()) return nullptr;
    std::ifstream in(o.json_schema_file, std::ios::binary);
    check(static_cast<bool>(in), cat("cannot read the JSON schema file ", o.json_schema_file));
    nlohmann::ordered_json schema;
    try {
        schema = nlohmann::ordered_json::parse(in);
    } catch (const std::exception& e) {
        throw Error(cat(o.json_schema_file, " is not valid JSON: ", e.what()));
    }
    try {
        return grammar::json_schema_to_grammar(schema);
    } catch (const Error& e) {
        throw Error(cat(o.json_schema_file, ": ", e.what()));
    }
}

std::string read_prompt(const RunOptions& o) {
    check(o.prompt.empty() != o.prompt_file.empty(), "give the prompt with exactly one of -p TEXT or -f FILE");
    if (!o.prompt_file.empty()) {
        std::stringstream ss;
        if (o.prompt_file == "-") {
            ss << std::cin.rdbuf();
        } else {
            std::ifstream in(o.prompt_file, std::ios::binary);
            check(static_cast<bool>(in), cat("cannot read prompt file ", o.prompt_file));
            ss << in.rdbuf();
        }
        return ss.str();
    }
    return o.prompt;
}

void run(const RunOptions& o) {
    const std::string prompt_text = read_prompt(o);
    const std::shared_ptr<const grammar::Grammar> constraint = output_grammar(o);  // errors before loading
    auto r = make_runner(o.gen);
    text::EncodeOptions enc;
    enc.bos = !o.no_bos;
    std::vector<int32_t> prompt = r->tokenizer->encode(prompt_text, enc);
    // Images: <|begin_of_text|>, each image's token block (llama4-spec.md §4.2), then the text.
    EncodedImages images;
    if (!o.images.empty()) {
        // Says so for a text-only checkpoint, or a GGUF model without --mmproj.
        images = encode_image_files(*r->model, o.gen.mmproj, o.gen.max_tiles, o.images, o.gen.backend.threads);
        check(r->model->config.image_token_index == text::token::patch,
              cat("the checkpoint's image_token_index is ", r->model->config.image_token_index, ", not <|patch|> (",
                  text::token::patch, "): its vocabulary is not Llama 4's, so scout cannot lay out image tokens for it"));
        const std::ptrdiff_t at = !prompt.empty() && prompt[0] == text::token::bos ? 1 : 0;
        std::vector<int32_t> blocks;
        text::ImageTokenParams params;
        params.patches_per_tile = static_cast<int>(images.tokens_per_tile);
        for (const auto& layout : images.layouts) {
            const auto b = text::image_tokens(layout, params);
            blocks.insert(blocks.end(), b.begin(), b.end());
        }
        prompt.insert(prompt.begin() + at, blocks.begin(), blocks.end());
    }
    check(!prompt.empty(), "the prompt is empty (and --no-bos leaves no token to start from)");
    check(static_cast<int64_t>(prompt.size()) < r->context_length,
          cat("the prompt is ", prompt.size(), " tokens but the context is ", r->context_length,
              " tokens; raise --ctx (the model allows up to ", r->model->config.text.max_position_embeddings,
              ") or shorten the prompt"));

    std::atomic<bool>& interrupted = install_interrupt_handler();
    engine::Session session(*r->forward, {.context_length = r->context_length});
    Sampler sampler(r->sampling);
    engine::GenerateOptions opt = r->generate_options;
    opt.cancel = &interrupted;
    opt.images = {static_cast<int32_t>(r->model->config.image_token_index), images.rows};
    if (constraint) {
        opt.grammar = constraint;
        opt.trie = std::make_shared<const grammar::TokenTrie>(grammar::TokenTrie::from_tokenizer(*r->tokenizer));
    }
    std::fwrite(prompt_text.data(), 1, prompt_text.size(), stdout);
    std::fflush(stdout);
    const auto result = engine::generate(session, sampler, r->tokenizer.get(), prompt, opt, [](std::string_view s) {
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::fflush(stdout);
    });
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (!o.gen.quiet) print_stats(*r, result);
}

}  // namespace

void register_run(CLI::App& app) {
    auto opt = std::make_shared<RunOptions>();
    CLI::App* cmd = app.add_subcommand("run", "Complete a prompt (plain text, no chat template), streaming the output");
    cmd->add_option("-p,--prompt", opt->prompt, "Prompt text");
    cmd->add_option("-f,--file", opt->prompt_file, "Read the prompt from a file (- for standard input)");
    cmd->add_flag("--no-bos", opt->no_bos, "Do not put <|begin_of_text|> before the prompt");
    cmd->add_option("--image", opt->images,
                    "Image file (JPEG, PNG, GIF, BMP, WebP; repeatable), placed before the prompt text. Needs a "
                    "multimodal Hugging Face checkpoint (e.g. Llama-4-Scout-17B-16E-Instruct)")
        ->type_name("FILE")
        ->check(CLI::ExistingFile);
    cmd->add_flag("--json", opt->json, "Constrain the output to a JSON object");
    cmd->add_option("--json-schema", opt->json_schema_file,
                    "Constrain the output to JSON valid against this JSON Schema file (docs/structured-output.md)");
    add_generation_flags(cmd, opt->gen, 256);
    cmd->footer(
        "Generation stops at <|eot|>, <|eom|>, <|end_of_text|>, a --stop string, -n tokens or Ctrl-C.\n"
        "Sampling defaults come from the checkpoint's generation_config.json (Scout: temperature 0.6, top-p 0.9).\n\n"
        "Examples:\n"
        "  scout run -m demo-model -p \"The capital of France is\" -n 32\n"
        "  scout run -m Llama-4-Scout-17B-16E-Instruct -f prompt.txt --temp 0 --stop \"\\n\\n\"\n"
        "  scout run -m demo-model -p \"A user record:\" --json-schema user.schema.json\n"
        "  scout run -m Llama-4-Scout-17B-16E-Instruct --image photo.jpg -p \"This picture shows\" -n 64");
    cmd->callback([opt] { run(*opt); });
}

}  // namespace scout::apps
