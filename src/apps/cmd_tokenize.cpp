// `scout tokenize` and `scout detokenize`: the tokenizer and chat format from the command line.
//   scout tokenize --tokenizer PATH (--text STR | --file F) [--bos] [--eos] [--allow-special] [--json]
//   scout tokenize --tokenizer PATH --chat MESSAGES.json [--render] [--json]
//   scout detokenize --tokenizer PATH --ids 1,2,3
// PATH is a tokenizer.model, a tokenizer.json, or a model directory holding either.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "base/error.hpp"
#include "model/tokenizer_source.hpp"
#include "text/chat_format.hpp"
#include "text/chat_json.hpp"
#include "text/tokenizer.hpp"

namespace scout::apps {
namespace {

struct TokenizeOptions {
    std::string tokenizer;
    std::string text;
    std::string file;
    std::string chat;
    bool bos = false;
    bool eos = false;
    bool allow_special = false;
    bool render = false;
    bool json = false;
};

struct DetokenizeOptions {
    std::string tokenizer;
    std::string ids;
};

std::string read_input_file(const std::string& path, const char* what) {
    if (path == "-") {
        std::ostringstream ss;
        ss << std::cin.rdbuf();
        return ss.str();
    }
    std::ifstream f(path, std::ios::binary);
    check(static_cast<bool>(f), cat("cannot read ", what, " file '", path, "': check the path"));
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void print_ids(const std::vector<int32_t>& ids, bool json) {
    if (json) {
        std::cout << nlohmann::json(ids).dump() << "\n";
        return;
    }
    // Comma-separated, the form `scout detokenize --ids` takes.
    for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? "," : "") << ids[i];
    std::cout << "\n";
}

void run_tokenize(const TokenizeOptions& o) {
    const text::Tokenizer tok = model::load_tokenizer_path(o.tokenizer);
    if (!o.chat.empty()) {
        check(!o.bos && !o.eos && !o.allow_special,
              "--bos, --eos and --allow-special do not apply to --chat (the chat format adds its own special tokens)");
        const std::string body = read_input_file(o.chat, "--chat");
        const auto messages = text::parse_chat_messages(body);
        if (o.render) {
            // A request body {"messages": [...], "tools": [...]} renders its tools as the template does.
            text::HfChatOptions hf;
            const auto j = nlohmann::json::parse(body, nullptr, false);
            if (j.is_object() && j.contains("tools") && !j["tools"].is_null()) hf.tools_json = j["tools"].dump();
            const std::string s = text::render_hf_chat_text(messages, hf);
            if (o.json) std::cout << nlohmann::json(s).dump() << "\n";
            else std::cout << s;
            return;
        }
        print_ids(text::ChatFormat(tok).encode_dialog_prompt(messages), o.json);
        return;
    }
    text::EncodeOptions eo;
    eo.bos = o.bos;
    eo.eos = o.eos;
    eo.allow_special = o.allow_special ? text::AllowSpecial::all : text::AllowSpecial::none;
    const std::string input = o.file.empty() ? o.text : read_input_file(o.file, "--file");
    print_ids(tok.encode(input, eo), o.json);
}

void run_detokenize(const DetokenizeOptions& o) {
    const auto ids = parse_id_list(o.ids, "--ids");
    const text::Tokenizer tok = model::load_tokenizer_path(o.tokenizer);
    const std::string s = tok.decode(ids);
    std::cout << s;
    // Exact text for pipes and scripts; a final newline only for a terminal.
    if (isatty(STDOUT_FILENO)) std::cout << "\n";
    std::cout.flush();
}

}  // namespace

void register_tokenize(CLI::App& app) {
    auto t = std::make_shared<TokenizeOptions>();
    auto* tc = app.add_subcommand("tokenize", "Text or a chat conversation -> Llama 4 token ids");
    tc->add_option("--tokenizer", t->tokenizer, "tokenizer.model, tokenizer.json, a model directory, or a GGUF file (its vocabulary)")->required();
    auto* text_opt = tc->add_option("--text", t->text, "text to encode");
    auto* file_opt = tc->add_option("--file", t->file, "file whose bytes to encode ('-' = stdin)");
    auto* chat_opt = tc->add_option("--chat", t->chat,
                                    "OpenAI-style messages JSON file ('-' = stdin), or a request body with "
                                    "\"messages\": prints the prompt ids for the assistant's reply (Meta ChatFormat)");
    tc->add_flag("--bos", t->bos, "put <|begin_of_text|> first");
    tc->add_flag("--eos", t->eos, "put <|end_of_text|> last");
    tc->add_flag("--allow-special", t->allow_special, "turn special-token text such as <|eot|> into special ids");
    tc->add_flag("--render", t->render, "with --chat: print the Hugging Face chat-template text instead of ids");
    tc->add_flag("--json", t->json, "print a JSON array of ids");
    tc->callback([t, text_opt, file_opt, chat_opt] {
        check(text_opt->count() + file_opt->count() + chat_opt->count() == 1,
              "tokenize needs exactly one input: --text STR, --file F or --chat MESSAGES.json");
        check(!t->render || chat_opt->count() == 1, "--render only applies to --chat");
        run_tokenize(*t);
    });

    auto d = std::make_shared<DetokenizeOptions>();
    auto* dc = app.add_subcommand("detokenize", "Llama 4 token ids -> text");
    dc->add_option("--tokenizer", d->tokenizer, "tokenizer.model, tokenizer.json, a model directory, or a GGUF file (its vocabulary)")->required();
    dc->add_option("--ids", d->ids, "comma-separated token ids, e.g. 19873,3817")->required();
    dc->callback([d] { run_detokenize(*d); });
}

}  // namespace scout::apps
