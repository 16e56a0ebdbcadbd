// Loading the vocabulary from the two file forms users have (tokenizer.md §1.1 and §4).
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "text/base64.hpp"
#include "text/byte_level.hpp"
#include "text/special_tokens.hpp"
#include "text/tokenizer.hpp"

namespace scout::text {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_fetch_hint =
    "use the tokenizer.model from your Llama 4 checkpoint, or fetch it with tools/fetch_tokenizer.sh";

std::string read_file(const fs::path& path) {
    std::ifstream f(path, std::ios::binary);
    check(static_cast<bool>(f), cat("cannot open tokenizer file ", path.string(), ": ", k_fetch_hint));
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// tokenizer_config.json carries nothing the ids depend on, but a checkpoint whose config names
// other special tokens than Llama 4's is not a Llama 4 tokenizer: say so instead of mis-encoding.
void check_tokenizer_config(const fs::path& path, const std::vector<std::string>& specials) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(read_file(path));
    } catch (const nlohmann::json::exception& e) {
        throw Error(cat(path.string(), ": not valid JSON (", e.what(), "); re-download it or remove it"));
    }
    if (!j.is_object() || !j.contains("added_tokens_decoder") || !j["added_tokens_decoder"].is_object()) return;
    for (const auto& [key, t] : j["added_tokens_decoder"].items()) {
        int64_t id = -1;
        try {
            id = std::stoll(key);
        } catch (const std::exception&) {
            throw Error(cat(path.string(), ": added_tokens_decoder key '", key, "' is not a token id"));
        }
        if (id < k_n_regular || id >= 201134 || !t.is_object() || !t.contains("content")) continue;
        const std::string content = t["content"].is_string() ? t["content"].get<std::string>() : "";
        if (specials[id - k_n_regular] != content)
            throw Error(cat(path.string(), ": token ", id, " is '", content, "' but Llama 4 has '", specials[id - k_n_regular],
                            "'; this is not a Llama 4 tokenizer (", k_fetch_hint, ")"));
    }
}

}  // namespace

Tokenizer Tokenizer::from_tiktoken_model(std::string_view contents, const std::string& source) {
    std::vector<std::string> tokens;
    tokens.reserve(k_n_regular);
    size_t line_no = 0;
    size_t pos = 0;
    std::string bytes;
    while (pos < contents.size()) {
        size_t eol = contents.find('\n', pos);
        if (eol == std::string_view::npos) eol = contents.size();
        std::string_view line = contents.substr(pos, eol - pos);
        pos = eol + 1;
        ++line_no;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        if (line.empty()) continue;  // blank lines are skipped, as llama-models does
        const size_t sp = line.find(' ');
        const auto where = [&] { return cat(source, " line ", line_no, ": "); };
        // Messages are built only on failure: this loop runs 200,000 times per load.
        if (sp == std::string_view::npos)
            throw Error(cat(where(), "expected '<base64 token> <rank>'; this is not a tiktoken tokenizer.model (",
                            k_fetch_hint, ")"));
        if (!base64_decode(line.substr(0, sp), bytes))
            throw Error(cat(where(), "invalid base64 token text; the file is corrupt (", k_fetch_hint, ")"));
        const std::string_view rank_text = line.substr(sp + 1);
        size_t rank = 0;
        bool ok = !rank_text.empty() && rank_text.size() < 10;
        for (char c : rank_text) {
            ok = ok && c >= '0' && c <= '9';
            rank = rank * 10 + static_cast<size_t>(c - '0');
        }
        if (!ok) throw Error(cat(where(), "the rank '", std::string(rank_text.substr(0, 20)), "' is not a number"));
        if (rank != tokens.size())
            throw Error(cat(where(), "rank ", rank, " found where ", tokens.size(),
                            " was expected (ranks must run 0,1,2,... in order); the file is corrupt"));
        tokens.push_back(bytes);
    }
    check(tokens.size() == static_cast<size_t>(k_n_regular),
          cat(source, ": has ", tokens.size(), " tokens but Llama 4's tokenizer.model has ", k_n_regular,
              "; the file is truncated or from another model (", k_fetch_hint, ")"));
    return Tokenizer(std::move(tokens), llama4_special_tokens(), source);
}

Tokenizer Tokenizer::from_hf_json(std::string_view contents, const std::string& source) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(contents);
    } catch (const nlohmann::json::exception& e) {
        throw Error(cat(source, ": not valid JSON (", e.what(), "); re-download tokenizer.json or use tokenizer.model"));
    }
    const auto bad = [&](const std::string& what) {
        return Error(cat(source, ": ", what, "; this is not a Llama 4 tokenizer.json (", k_fetch_hint, ")"));
    };
    if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) throw bad("no \"model\" object");
    const auto& model = j["model"];
    if (model.value("type", std::string()) != "BPE") throw bad("model.type is not \"BPE\"");
    if (!model.contains("vocab") || !model["vocab"].is_object()) throw bad("no model.vocab object");

    std::vector<std::string> tokens(k_n_regular);
    std::vector<uint8_t> seen(k_n_regular, 0);
    std::string bytes;
    for (const auto& [text, id_json] : model["vocab"].items()) {
        if (!id_json.is_number_integer()) throw bad(cat("vocab entry '", text, "' has no integer id"));
        const int64_t id = id_json.get<int64_t>();
        // Some files also list special tokens in the vocab; their ids come from the rule below.
        if (id >= k_n_regular && id < k_n_vocab) continue;
        if (id < 0 || id >= k_n_regular) throw bad(cat("vocab id ", id, " is outside 0..202047"));
        // Token strings are bytes written in GPT-2's byte-level alphabet.
        if (!byte_level_decode(text, bytes)) throw bad(cat("vocab entry '", text, "' is not byte-level text"));
        if (seen[id]) throw bad(cat("vocab id ", id, " appears twice"));
        seen[id] = 1;
        tokens[id] = bytes;
    }
    for (int32_t id = 0; id < k_n_regular; ++id)
        if (!seen[id]) throw bad(cat("vocab id ", id, " is missing (expected ids 0..199999)"));

    // The converter registers only ids 200000..201133 as added tokens (tokenizer.md §4); the rest of
    // the 2,048 follow the reference rule. Names it does register must agree with that rule.
    std::vector<std::string> specials = llama4_special_tokens();
    if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
        for (const auto& t : j["added_tokens"]) {
            if (!t.is_object() || !t.contains("id") || !t.contains("content")) throw bad("malformed added_tokens entry");
            const int64_t id = t["id"].get<int64_t>();
            const std::string content = t["content"].get<std::string>();
            if (id < k_n_regular || id >= k_n_vocab) continue;
            // Ids from 201134 on may hold a converter artefact such as <|finetune_right_pad_id|>.
            if (id < 201134 && specials[id - k_n_regular] != content)
                throw bad(cat("added token ", id, " is '", content, "' but Llama 4 has '", specials[id - k_n_regular], "'"));
        }
    }
    return Tokenizer(std::move(tokens), std::move(specials), source);
}

Tokenizer Tokenizer::from_vocab(std::vector<std::string> regular, std::vector<std::string> specials,
                                const std::string& source) {
    // The chat format and stop tokens address specials by Llama 4's ids, so the counts must match.
    check(regular.size() == static_cast<size_t>(k_n_regular) && specials.size() == static_cast<size_t>(k_n_special),
          cat(source, ": has ", regular.size(), " regular and ", specials.size(), " special tokens but Llama 4 has ",
              k_n_regular, " and ", k_n_special, "; this is not a Llama 4 tokenizer (", k_fetch_hint, ")"));
    return Tokenizer(std::move(regular), std::move(specials), source);
}

Tokenizer Tokenizer::load(const fs::path& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) return load(find_tokenizer_file(path));
    check(fs::exists(path, ec), cat("tokenizer file ", path.string(), " does not exist: ", k_fetch_hint));
    const std::string contents = read_file(path);
    if (path.extension() == ".json") {
        // tokenizer_config.json is optional: the special tokens come from the rule.
        const fs::path config = path.parent_path() / "tokenizer_config.json";
        if (fs::is_regular_file(config, ec)) check_tokenizer_config(config, llama4_special_tokens());
        return from_hf_json(contents, path.string());
    }
    return from_tiktoken_model(contents, path.string());
}

fs::path find_tokenizer_file(const fs::path& dir) {
    for (const char* name : {"tokenizer.model", "tokenizer.json"}) {
        const fs::path p = dir / name;
        std::error_code ec;
        if (fs::is_regular_file(p, ec)) return p;
    }
    throw Error(cat("no tokenizer.model or tokenizer.json in ", dir.string(), ": ", k_fetch_hint,
                    " and pass its path with --tokenizer"));
}

}  // namespace scout::text
