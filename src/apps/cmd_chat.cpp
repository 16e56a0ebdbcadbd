// `scout chat`: an interactive multi-turn conversation in the Llama 4 chat format.
// The KV memory is kept between turns: each turn feeds only the new tokens.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "apps/commands.hpp"
#include "apps/image_input.hpp"
#include "apps/interrupt.hpp"
#include "apps/runner.hpp"
#include "base/error.hpp"
#include "engine/session.hpp"
#include "engine/stop_reason.hpp"
#include "sample/sampler.hpp"
#include "text/chat_format.hpp"
#include "text/special_tokens.hpp"

namespace scout::apps {

namespace {

struct ChatOptions {
    GenerationFlags gen;
    std::string system;
};

constexpr const char* kHelp =
    "commands: /reset (forget the conversation), /system TEXT (set the system prompt and reset),\n"
    "          /image PATH (attach a picture to your next message; multimodal checkpoints),\n"
    "          /quit or /exit (or Ctrl-D). End a line with \\ to continue on the next line.\n"
    "          Ctrl-C stops the current reply.\n";

// Reads one user message (joining lines that end in a backslash). False on EOF or Ctrl-C.
bool read_message(std::string& out, bool tty, const std::atomic<bool>& interrupted) {
    out.clear();
    std::string line;
    for (;;) {
        if (tty) {
            std::fputs(out.empty() ? "> " : ". ", stdout);
            std::fflush(stdout);
        }
        if (!std::getline(std::cin, line) || interrupted.load()) return false;
        if (!line.empty() && line.back() == '\\') {
            line.pop_back();
            out += line + "\n";
            continue;
        }
        out += line;
        return true;
    }
}

void chat(const ChatOptions& o) {
    std::atomic<bool>& interrupted = install_interrupt_handler();
    auto r = make_runner(o.gen);
    const text::ChatFormat format(*r->tokenizer);
    const bool tty = ::isatty(STDIN_FILENO) != 0;
    engine::Session session(*r->forward, {.context_length = r->context_length});
    Sampler sampler(r->sampling);
    std::string system = o.system;
    std::vector<int32_t> history;  // every id the model should have seen, in order
    const int32_t eot = r->tokenizer->special_id_or_throw("<|eot|>");

    // /image: the vision tower (loaded on first use) and the pictures for the next message.
    std::unique_ptr<vision::VisionTower> tower;
    std::vector<text::TileLayout> pending_layouts;
    std::vector<float> pending_rows;
    auto reset = [&] {
        session.reset();
        pending_layouts.clear();
        pending_rows.clear();
        history = {r->tokenizer->special_id_or_throw("<|begin_of_text|>")};
        if (!system.empty()) format.encode_message(text::ChatMessage::make("system", system), history);
    };
    reset();
    if (tty) std::fprintf(stderr, "scout chat — %s", kHelp);

    std::string message;
    while (read_message(message, tty, interrupted)) {
        if (message.empty()) continue;
        if (message == "/quit" || message == "/exit") break;
        if (message == "/help") {
            std::fputs(kHelp, stderr);
            continue;
        }
        if (message == "/reset") {
            reset();
            std::fputs("[conversation reset]\n", stderr);
            continue;
        }
        if (message.rfind("/image", 0) == 0) {
            const std::string path = message.size() > 7 ? message.substr(7) : "";
            try {
                check(!path.empty(), "give the picture's path: /image PATH");
                check(r->model->config.image_token_index == text::token::patch,
                      "this model reads text only (no Llama 4 vision tower; with a GGUF model, give llama.cpp's mmproj file with --mmproj)");
                if (!tower)
                    tower = std::make_unique<vision::VisionTower>(load_vision_tower_of(*r->model, o.gen.mmproj, o.gen.max_tiles));
                EncodedImages e = encode_image_files(*tower, {path}, o.gen.backend.threads);
                pending_layouts.push_back(e.layouts.front());
                pending_rows.insert(pending_rows.end(), e.rows.begin(), e.rows.end());
                std::fputs("[picture attached to your next message]\n", stderr);
            } catch (const Error& e) {
                std::fprintf(stderr, "[/image: %s]\n", e.what());
            }
            continue;
        }
        if (message.rfind("/system", 0) == 0) {
            system = message.size() > 8 ? message.substr(8) : "";
            reset();
            std::fputs("[system prompt set; conversation reset]\n", stderr);
            continue;
        }
        const std::size_t before = history.size();
        text::ChatMessage user = text::ChatMessage::make("user", message);
        for (auto it = pending_layouts.rbegin(); it != pending_layouts.rend(); ++it)  // pictures first
            user.content.insert(user.content.begin(), text::ContentPart::make_image(*it));
        if (!pending_layouts.empty()) user.content_is_list = true;
        format.encode_message(user, history);
        format.encode_header("assistant", history);
        const std::span<const int32_t> new_ids =
            std::span<const int32_t>(history).subspan(session.tokens().size());
        if (static_cast<int64_t>(new_ids.size()) >= session.remaining()) {
            history.resize(before);
            std::fprintf(stderr, "[the context of %lld tokens is full: /reset to start over, or restart with a larger --ctx]\n",
                         static_cast<long long>(session.context_length()));
            continue;
        }
        interrupted.store(false);
        engine::GenerateOptions opt = r->generate_options;
        opt.cancel = &interrupted;
        const std::vector<float> rows = std::move(pending_rows);  // this turn's pictures, now in the history
        pending_rows.clear();
        pending_layouts.clear();
        opt.images = {text::token::patch, rows};
        const auto result = engine::generate(session, sampler, r->tokenizer.get(), new_ids, opt, [](std::string_view s) {
            std::fwrite(s.data(), 1, s.size(), stdout);
            std::fflush(stdout);
        });
        std::fputc('\n', stdout);
        std::fflush(stdout);
        // The reply becomes part of the conversation; one that does not end with <|eot|> or <|eom|>
        // (cut short by a limit or Ctrl-C, or ended by <|end_of_text|>) is closed with <|eot|>.
        history.insert(history.end(), result.tokens.begin(), result.tokens.end());
        const int32_t last = result.tokens.empty() ? -1 : result.tokens.back();
        if (engine::message_end(result.reason, last) == text::MessageEnd::none) history.push_back(eot);
        if (result.reason == engine::StopReason::cancelled) std::fputs("[stopped]\n", stderr);
        interrupted.store(false);
        if (!o.gen.quiet) print_stats(*r, result);
    }
}

}  // namespace

void register_chat(CLI::App& app) {
    auto opt = std::make_shared<ChatOptions>();
    CLI::App* cmd = app.add_subcommand("chat", "Chat with an instruct model (Llama 4 chat format), interactively");
    cmd->add_option("--system", opt->system, "System prompt");
    add_generation_flags(cmd, opt->gen, 1024);
    cmd->footer(std::string("Type a message and press Enter; the reply streams as it is generated.\n") + kHelp +
                "\nExamples:\n"
                "  scout chat -m Llama-4-Scout-17B-16E-Instruct --system \"You are a concise assistant.\"\n"
                "  printf 'Hello\\n/quit\\n' | scout chat -m demo-model -n 16");
    cmd->callback([opt] { chat(*opt); });
}

}  // namespace scout::apps
