// The generation loop: prompt -> prefill -> (sample -> decode)* until a stop condition,
// streaming whole UTF-8 characters as they are produced.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/session.hpp"
#include "grammar/token_mask.hpp"
#include "engine/stop_reason.hpp"
#include "sample/sampler.hpp"
#include "text/tokenizer.hpp"

namespace scout::engine {

struct GenerateOptions {
    int64_t max_new_tokens = 256;
    std::vector<int32_t> stop_tokens;       // e.g. <|eot|>, <|eom|>, <|end_of_text|>
    std::vector<std::string> stop_strings;  // user stop strings; the text is cut before them
    const std::atomic<bool>* cancel = nullptr;  // set to true (e.g. by Ctrl-C) to stop early
    // Structured output (docs/structured-output.md): the reply stays inside this grammar and ends
    // with a stop token once complete. Needs the tokenizer and `trie` built from it.
    std::shared_ptr<const grammar::Grammar> grammar;
    std::shared_ptr<const grammar::TokenTrie> trie;
    PromptImages images;  // vision features for the prompt's image tokens (none: text only)
};

struct GenerateResult {
    std::vector<int32_t> tokens;  // generated ids, including a final stop token if one was produced
    std::string text;             // their text, without stop tokens or stop strings
    StopReason reason = StopReason::none;  // stop_token, stop_string, max_tokens, context_full or cancelled
    int64_t n_prompt = 0;
    double prompt_seconds = 0.0;  // prefill time
    double gen_seconds = 0.0;     // time of the decode steps (after the first sampled token)
};

// Called with each newly completed piece of text (may be called with several characters).
using TextCallback = std::function<void(std::string_view)>;

// Feeds `prompt` (non-empty; appended to what the session already holds, so a chat keeps its
// KV between turns) and generates. `tokenizer` may be null: then no text is produced and stop
// strings are not checked. The last generated token is NOT fed to the session (its logits are
// not needed): a caller that continues (chat) feeds it with the next turn's tokens.
GenerateResult generate(Session& session, Sampler& sampler, const text::Tokenizer* tokenizer,
                        std::span<const int32_t> prompt, const GenerateOptions& options,
                        const TextCallback& on_text = {});

}  // namespace scout::engine
