#include "model/tokenizer_source.hpp"

#include <array>
#include <fstream>

#include "base/error.hpp"
#include "io/gguf.hpp"
#include "model/gguf_tokenizer_read.hpp"

namespace scout::model {

namespace fs = std::filesystem;

bool is_gguf_file(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return false;
    std::ifstream f(path, std::ios::binary);
    std::array<char, 4> magic{};
    return f.read(magic.data(), magic.size()) && std::string_view(magic.data(), magic.size()) == "GGUF";
}

text::Tokenizer load_tokenizer_path(const fs::path& path) {
    if (is_gguf_file(path)) return tokenizer_from_gguf(io::GgufFile(path));
    return text::Tokenizer::load(path);
}

ModelTokenizer load_model_tokenizer(const fs::path& model, const fs::path& flag) {
    if (!flag.empty()) {
        text::Tokenizer tok = load_tokenizer_path(flag);
        std::string origin = tok.source();
        return {std::move(tok), std::move(origin)};
    }
    std::error_code ec;
    check(fs::exists(model, ec), cat("model path ", model.string(), " does not exist"));
    if (fs::is_directory(model, ec)) {
        const fs::path p = text::find_tokenizer_file(model);  // its error says to pass --tokenizer
        return {text::Tokenizer::load(p), p.string()};
    }
    // A GGUF file: a tokenizer file beside it first, then its own vocabulary.
    const fs::path dir = model.parent_path().empty() ? fs::path(".") : model.parent_path();
    for (const char* name : {"tokenizer.model", "tokenizer.json"})
        if (fs::is_regular_file(dir / name, ec)) return {text::Tokenizer::load(dir / name), (dir / name).string()};
    const io::GgufFile file(model);
    check(gguf_tokenizer_info(file).has_vocab,
          cat(model.string(), " has no tokenizer.ggml.* vocabulary and there is no tokenizer.model or tokenizer.json "
              "beside it: pass --tokenizer with Llama 4's tokenizer.model (tools/fetch_tokenizer.sh fetches it)"));
    text::Tokenizer tok = tokenizer_from_gguf(file);
    std::string origin = tok.source();
    return {std::move(tok), std::move(origin)};
}

}  // namespace scout::model
